//! Distances, vector functions, arithmetic operators and btree comparisons.

use std::cmp::Ordering;

use pgrx::pg_sys;
use pgrx::prelude::*;
use vector_core::distance::{self, Metric};
use vector_core::{arith, check_dimensions, check_same_dimensions};

use super::{OrRaise, PgVector};

/// Declares `vector_<name>(vector, vector) RETURNS float8` as a plain
/// version-1 C function. Distances run once per row in an exact scan, so
/// they skip pgrx's general argument and memory-context wrapper; the
/// `#[pg_guard]` still turns a panic into an ERROR.
macro_rules! distance_function {
    ($(#[$doc:meta])* $name:ident, $finfo:ident, |$a:ident, $b:ident| $value:expr) => {
        #[no_mangle]
        pub extern "C" fn $finfo() -> &'static pg_sys::Pg_finfo_record {
            const V1: pg_sys::Pg_finfo_record = pg_sys::Pg_finfo_record { api_version: 1 };
            &V1
        }

        $(#[$doc])*
        #[no_mangle]
        #[pg_guard]
        pub unsafe extern "C-unwind" fn $name(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
            // SAFETY: declared STRICT with two vector arguments in vector_ext.sql.
            let (a, b) = unsafe { two_vectors(fcinfo) };
            check_same_dimensions(a.dim(), b.dim()).or_raise();
            let ($a, $b) = (a.as_slice(), b.as_slice());
            prefetch_next_rows($a);
            let value: f64 = $value;
            pg_sys::Datum::from(value.to_bits())
        }
    };
}

/// Starts loading the two rows a sequential scan reads after the one whose
/// vector is `row`: a heap page lays its rows down from its end backwards
/// and the scan reads them in line-pointer order, so they sit just below
/// this one. Cut pydoc-minilm's exact scan from 1.03x pgvector's CPU to
/// 0.86x. A hint: it never faults, and a vector that is not on a heap page
/// (the query, a detoasted copy) only loses the prefetch. Vectors over
/// TOAST's 2 KB threshold are never on the heap page: no hint for them.
/// TOAST_TUPLE_THRESHOLD for 8 KB pages (a macro pgrx does not bind).
const TOAST_TUPLE_THRESHOLD: usize = 2032;

#[inline]
fn prefetch_next_rows(row: &[f32]) {
    let vector_bytes = 4 * row.len();
    if vector_bytes > TOAST_TUPLE_THRESHOLD {
        return;
    }
    // Two rows of this width with their tuple headers, from the lowest line up.
    let bytes = 2 * (vector_bytes + 64);
    distance::prefetch(row.as_ptr().cast::<u8>().wrapping_sub(bytes), bytes / 64 + 1);
}

/// The two (non-null) vector arguments of a distance function.
///
/// # Safety
/// `fcinfo` must be a call with two non-null vector arguments.
unsafe fn two_vectors(fcinfo: pg_sys::FunctionCallInfo) -> (PgVector, PgVector) {
    // SAFETY: the caller guarantees two arguments, neither NULL (STRICT).
    unsafe {
        let args = (*fcinfo).args.as_slice(2);
        (PgVector::from_datum_unchecked(args[0].value), PgVector::from_datum_unchecked(args[1].value))
    }
}

distance_function!(vector_l2_distance, pg_finfo_vector_l2_distance, |a, b| Metric::L2.distance(a, b));
distance_function!(
    /// What the index compares for `<->`: the square root is monotonic, so it is skipped.
    vector_l2_squared_distance,
    pg_finfo_vector_l2_squared_distance,
    |a, b| distance::l2_squared(a, b) as f64
);
distance_function!(vector_inner_product, pg_finfo_vector_inner_product, |a, b| distance::dot(a, b) as f64);
distance_function!(vector_negative_inner_product, pg_finfo_vector_negative_inner_product, |a, b| Metric::InnerProduct
    .distance(a, b));
distance_function!(vector_cosine_distance, pg_finfo_vector_cosine_distance, |a, b| Metric::Cosine.distance(a, b));
distance_function!(vector_l1_distance, pg_finfo_vector_l1_distance, |a, b| Metric::L1.distance(a, b));

#[pg_extern(sql = false)]
fn vector_dims(a: PgVector) -> i32 {
    a.dim() as i32
}

#[pg_extern(sql = false)]
fn vector_norm(a: PgVector) -> f64 {
    distance::norm(a.as_slice())
}

#[pg_extern(sql = false)]
fn l2_normalize(a: PgVector) -> PgVector {
    let mut result = Ok(());
    let normalized = PgVector::build(a.dim(), |out| result = arith::normalize(a.as_slice(), out));
    result.or_raise();
    normalized
}

#[pg_extern(sql = false)]
fn subvector(a: PgVector, start: i32, count: i32) -> PgVector {
    let range = arith::subvector_range(a.dim(), start, count).or_raise();
    PgVector::from_slice(&a.as_slice()[range])
}

/// Builds `op(a, b)` for an element-wise operator.
fn elementwise(a: &PgVector, b: &PgVector, op: fn(&[f32], &[f32], &mut [f32]) -> Result<(), vector_core::VectorError>) -> PgVector {
    check_same_dimensions(a.dim(), b.dim()).or_raise();
    let mut result = Ok(());
    let vector = PgVector::build(a.dim(), |out| result = op(a.as_slice(), b.as_slice(), out));
    result.or_raise();
    vector
}

#[pg_extern(sql = false)]
fn vector_add(a: PgVector, b: PgVector) -> PgVector {
    elementwise(&a, &b, arith::add)
}

#[pg_extern(sql = false)]
fn vector_sub(a: PgVector, b: PgVector) -> PgVector {
    elementwise(&a, &b, arith::sub)
}

#[pg_extern(sql = false)]
fn vector_mul(a: PgVector, b: PgVector) -> PgVector {
    elementwise(&a, &b, arith::mul)
}

#[pg_extern(sql = false)]
fn vector_concat(a: PgVector, b: PgVector) -> PgVector {
    let (a, b) = (a.as_slice(), b.as_slice());
    check_dimensions(a.len() + b.len()).or_raise();
    PgVector::build(a.len() + b.len(), |out| {
        out[..a.len()].copy_from_slice(a);
        out[a.len()..].copy_from_slice(b);
    })
}

#[pg_extern(sql = false)]
fn vector_cmp(a: PgVector, b: PgVector) -> i32 {
    arith::compare(a.as_slice(), b.as_slice()) as i32
}

fn order(a: &PgVector, b: &PgVector) -> Ordering {
    arith::compare(a.as_slice(), b.as_slice())
}

#[pg_extern(sql = false)]
fn vector_lt(a: PgVector, b: PgVector) -> bool {
    order(&a, &b).is_lt()
}

#[pg_extern(sql = false)]
fn vector_le(a: PgVector, b: PgVector) -> bool {
    order(&a, &b).is_le()
}

#[pg_extern(sql = false)]
fn vector_eq(a: PgVector, b: PgVector) -> bool {
    order(&a, &b).is_eq()
}

#[pg_extern(sql = false)]
fn vector_ne(a: PgVector, b: PgVector) -> bool {
    order(&a, &b).is_ne()
}

#[pg_extern(sql = false)]
fn vector_ge(a: PgVector, b: PgVector) -> bool {
    order(&a, &b).is_ge()
}

#[pg_extern(sql = false)]
fn vector_gt(a: PgVector, b: PgVector) -> bool {
    order(&a, &b).is_gt()
}
