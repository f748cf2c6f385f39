//! The SQL names of the dense types' functions. The bodies are generic
//! over the element type; these macros give each type its own C symbols.

/// Declares `<name>(a, b) RETURNS float8` as a plain version-1 C function
/// whose two arguments `$arguments(fcinfo)` reads. Distances run once per
/// row in an exact scan, so they skip pgrx's general argument and
/// memory-context wrapper; the `#[pg_guard]` still turns a panic into an ERROR.
macro_rules! distance_function {
    ($arguments:expr, $name:ident, $finfo:ident, |$a:ident, $b:ident| $value:expr) => {
        #[no_mangle]
        pub extern "C" fn $finfo() -> &'static pgrx::pg_sys::Pg_finfo_record {
            const V1: pgrx::pg_sys::Pg_finfo_record = pgrx::pg_sys::Pg_finfo_record { api_version: 1 };
            &V1
        }

        #[no_mangle]
        #[pgrx::pg_guard]
        pub unsafe extern "C-unwind" fn $name(fcinfo: pgrx::pg_sys::FunctionCallInfo) -> pgrx::pg_sys::Datum {
            // SAFETY: declared STRICT with the two arguments `$arguments` reads, in vector_ext.sql.
            let ($a, $b) = unsafe { $arguments(fcinfo) };
            let value: f64 = $value;
            pgrx::pg_sys::Datum::from(value.to_bits())
        }
    };
}

/// Declares every SQL function a dense type has, under the names given.
macro_rules! dense_type {
    (
        $element:ty,
        distances: {
            l2_distance: $l2:ident / $l2_info:ident,
            l2_squared_distance: $l2_squared:ident / $l2_squared_info:ident,
            inner_product: $ip:ident / $ip_info:ident,
            negative_inner_product: $negative_ip:ident / $negative_ip_info:ident,
            cosine_distance: $cosine:ident / $cosine_info:ident,
            l1_distance: $l1:ident / $l1_info:ident,
            spherical_distance: $spherical:ident / $spherical_info:ident $(,)?
        },
        io: { $input:ident, $output:ident, $typmod_in:ident, $receive:ident, $send:ident $(,)? },
        functions: {
            dims: $dims:ident, norm: $norm:ident, l2_normalize: $l2_normalize:ident,
            binary_quantize: $binary_quantize:ident, subvector: $subvector:ident $(,)?
        },
        operators: { add: $add:ident, sub: $sub:ident, mul: $mul:ident, concat: $concat:ident $(,)? },
        comparisons: { cmp: $cmp:ident, lt: $lt:ident, le: $le:ident, eq: $eq:ident, ne: $ne:ident, ge: $ge:ident, gt: $gt:ident $(,)? },
        aggregates: { accum: $accum:ident, avg: $avg:ident, combine: $combine:ident $(,)? },
        casts: { coerce: $coerce:ident, from_array: $from_array:ident, to_float4: $to_float4:ident $(,)? } $(,)?
    ) => {
        use std::ffi::{CStr, CString};

        use pgrx::datum::Array;
        use pgrx::prelude::*;
        use pgrx::{pg_sys, AnyArray, Internal};
        use vector_core::distance::{self, Metric};

        use super::bit::PgBit;
        use super::dense::PgDense;
        use super::functions::two_vectors;
        use super::{aggregates, casts, functions, io};

        type Dense = PgDense<$element>;

        distance_function!(two_vectors::<$element>, $l2, $l2_info, |a, b| Metric::L2.distance(a.as_slice(), b.as_slice()));
        distance_function!(two_vectors::<$element>, $l2_squared, $l2_squared_info, |a, b| distance::l2_squared(
            a.as_slice(),
            b.as_slice()
        ) as f64);
        distance_function!(two_vectors::<$element>, $ip, $ip_info, |a, b| distance::dot(a.as_slice(), b.as_slice()) as f64);
        distance_function!(two_vectors::<$element>, $negative_ip, $negative_ip_info, |a, b| Metric::InnerProduct
            .distance(a.as_slice(), b.as_slice()));
        distance_function!(two_vectors::<$element>, $cosine, $cosine_info, |a, b| Metric::Cosine
            .distance(a.as_slice(), b.as_slice()));
        distance_function!(two_vectors::<$element>, $l1, $l1_info, |a, b| Metric::L1.distance(a.as_slice(), b.as_slice()));
        distance_function!(two_vectors::<$element>, $spherical, $spherical_info, |a, b| functions::spherical_distance(
            a.as_slice(),
            b.as_slice()
        ));

        #[pg_extern(sql = false)]
        fn $input(input: &CStr, _type_oid: pg_sys::Oid, typmod: i32) -> Dense {
            io::input(input, typmod)
        }

        #[pg_extern(sql = false)]
        fn $output(vector: Dense) -> CString {
            io::output(vector)
        }

        #[pg_extern(sql = false)]
        fn $typmod_in(modifiers: Array<&CStr>) -> i32 {
            io::typmod_in(modifiers, <$element as vector_core::types::Element>::TYPE_NAME, vector_core::VECTOR_MAX_DIM)
        }

        #[pg_extern(sql = false)]
        fn $receive(buffer: Internal, _type_oid: pg_sys::Oid, typmod: i32) -> Dense {
            io::receive(buffer, typmod)
        }

        #[pg_extern(sql = false)]
        fn $send(vector: Dense) -> Vec<u8> {
            io::send(vector)
        }

        #[pg_extern(sql = false)]
        fn $dims(vector: Dense) -> i32 {
            vector.dim() as i32
        }

        #[pg_extern(sql = false)]
        fn $norm(vector: Dense) -> f64 {
            functions::norm(vector)
        }

        #[pg_extern(sql = false)]
        fn $l2_normalize(vector: Dense) -> Dense {
            functions::l2_normalize(vector)
        }

        #[pg_extern(sql = false)]
        fn $binary_quantize(vector: Dense) -> PgBit {
            functions::binary_quantize(vector)
        }

        #[pg_extern(sql = false)]
        fn $subvector(vector: Dense, start: i32, count: i32) -> Dense {
            functions::subvector(vector, start, count)
        }

        #[pg_extern(sql = false)]
        fn $add(a: Dense, b: Dense) -> Dense {
            functions::elementwise(a, b, vector_core::arith::add)
        }

        #[pg_extern(sql = false)]
        fn $sub(a: Dense, b: Dense) -> Dense {
            functions::elementwise(a, b, vector_core::arith::sub)
        }

        #[pg_extern(sql = false)]
        fn $mul(a: Dense, b: Dense) -> Dense {
            functions::elementwise(a, b, vector_core::arith::mul)
        }

        #[pg_extern(sql = false)]
        fn $concat(a: Dense, b: Dense) -> Dense {
            functions::concat(a, b)
        }

        #[pg_extern(sql = false)]
        fn $cmp(a: Dense, b: Dense) -> i32 {
            functions::order(a, b) as i32
        }

        #[pg_extern(sql = false)]
        fn $lt(a: Dense, b: Dense) -> bool {
            functions::order(a, b).is_lt()
        }

        #[pg_extern(sql = false)]
        fn $le(a: Dense, b: Dense) -> bool {
            functions::order(a, b).is_le()
        }

        #[pg_extern(sql = false)]
        fn $eq(a: Dense, b: Dense) -> bool {
            functions::order(a, b).is_eq()
        }

        #[pg_extern(sql = false)]
        fn $ne(a: Dense, b: Dense) -> bool {
            functions::order(a, b).is_ne()
        }

        #[pg_extern(sql = false)]
        fn $ge(a: Dense, b: Dense) -> bool {
            functions::order(a, b).is_ge()
        }

        #[pg_extern(sql = false)]
        fn $gt(a: Dense, b: Dense) -> bool {
            functions::order(a, b).is_gt()
        }

        #[pg_extern(sql = false)]
        fn $accum(state: AnyArray, value: Dense) -> Vec<f64> {
            aggregates::accumulate(state, value, stringify!($accum))
        }

        #[pg_extern(sql = false)]
        fn $avg(state: AnyArray) -> Option<Dense> {
            aggregates::average(state, stringify!($avg))
        }

        #[pg_extern(sql = false)]
        fn $combine(state: AnyArray, other: AnyArray) -> Vec<f64> {
            aggregates::combine(state, other, stringify!($combine), <$element as vector_core::types::Element>::TYPE_NAME)
        }

        #[pg_extern(sql = false)]
        fn $coerce(vector: Dense, typmod: i32, _explicit: bool) -> Dense {
            casts::coerce(vector, typmod)
        }

        #[pg_extern(sql = false)]
        fn $from_array(array: AnyArray, typmod: i32, _explicit: bool) -> Dense {
            casts::from_array(array, typmod)
        }

        #[pg_extern(sql = false)]
        fn $to_float4(vector: Dense, _typmod: i32, _explicit: bool) -> Vec<f32> {
            casts::to_float4(vector)
        }
    };
}
