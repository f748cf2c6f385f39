//! `sparsevec`: its datum layout, byte-for-byte pgvector's,
//!
//! ```text
//! int32 varlena header | int32 dim | int32 nnz | int32 unused (0) | int32 indices[nnz] | float4 values[nnz]
//! ```
//!
//! and its functions, operators and casts. The formats and distances are
//! `vector_core::types::sparse`; SQL symbols are pgvector's names.

use std::ffi::{CStr, CString};
use std::ptr::NonNull;
use std::slice;

use pgrx::callconv::{Arg, ArgAbi, BoxRet, FcInfo};
use pgrx::datum::{Array, Datum};
use pgrx::prelude::*;
use pgrx::{pg_sys, AnyArray, FromDatum, Internal, IntoDatum};
use vector_core::types::sparse::{self, SparseRef, SparseVector, SPARSE_MAX_DIM};
use vector_core::types::{narrow_all, Half};
use vector_core::{check_element, check_same_dimensions, check_typmod};

use super::dense::{PgDense, PgHalfVec, PgVector};
use super::{casts, io, OrRaise};

const TYPE_NAME: &str = "sparsevec";

/// Bytes before the first index.
const HEADER_BYTES: usize = 16;

/// A `sparsevec` datum in PostgreSQL memory.
pub struct PgSparseVec {
    ptr: NonNull<pg_sys::varlena>,
}

impl PgSparseVec {
    /// A new palloc'd sparsevec holding `vector`.
    pub fn from_sparse(vector: SparseRef<'_>) -> Self {
        let nonzeros = vector.indices.len();
        let size = HEADER_BYTES + 8 * nonzeros;
        // SAFETY: palloc0 returns `size` zeroed bytes aligned for any type (or
        // raises an ERROR); the header, indices and values are written inside them.
        unsafe {
            let bytes = pg_sys::palloc0(size).cast::<u8>();
            pgrx::set_varsize_4b(bytes.cast(), size as i32);
            bytes.add(4).cast::<i32>().write(vector.dim as i32);
            bytes.add(8).cast::<i32>().write(nonzeros as i32);
            let indices = bytes.add(HEADER_BYTES).cast::<i32>();
            indices.copy_from_nonoverlapping(vector.indices.as_ptr(), nonzeros);
            indices.add(nonzeros).cast::<f32>().copy_from_nonoverlapping(vector.values.as_ptr(), nonzeros);
            Self { ptr: NonNull::new_unchecked(bytes.cast()) }
        }
    }

    /// Reads a non-null `sparsevec` datum.
    ///
    /// # Safety
    /// The datum must point at a (possibly toasted) sparsevec varlena.
    pub unsafe fn from_datum_unchecked(datum: pg_sys::Datum) -> Self {
        // SAFETY: the caller promises a sparsevec varlena; detoasting gives a plain one.
        let ptr = unsafe { pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) };
        let vector = Self { ptr: NonNull::new(ptr).expect("detoasting never returns null") };
        // SAFETY: a detoasted varlena with a 4-byte header.
        let size = unsafe { pgrx::varsize_any(ptr) };
        let nonzeros = vector.header(8);
        assert!(
            size >= HEADER_BYTES && nonzeros >= 0 && HEADER_BYTES + 8 * nonzeros as usize <= size,
            "corrupt sparsevec datum: {nonzeros} elements in {size} bytes"
        );
        vector
    }

    fn header(&self, at: usize) -> i32 {
        // SAFETY: every PgSparseVec points at least HEADER_BYTES.
        unsafe { self.ptr.as_ptr().cast::<u8>().add(at).cast::<i32>().read() }
    }

    pub fn as_sparse(&self) -> SparseRef<'_> {
        let nonzeros = self.header(8) as usize;
        // SAFETY: construction checked that nnz indices and nnz values follow the header.
        unsafe {
            let indices = self.ptr.as_ptr().cast::<u8>().add(HEADER_BYTES).cast::<i32>();
            SparseRef {
                dim: self.header(4) as usize,
                indices: slice::from_raw_parts(indices, nonzeros),
                values: slice::from_raw_parts(indices.add(nonzeros).cast::<f32>(), nonzeros),
            }
        }
    }
}

impl FromDatum for PgSparseVec {
    unsafe fn from_polymorphic_datum(datum: pg_sys::Datum, is_null: bool, _typoid: pg_sys::Oid) -> Option<Self> {
        // SAFETY: a non-null sparsevec, by the function's SQL signature.
        (!is_null).then(|| unsafe { Self::from_datum_unchecked(datum) })
    }
}

impl IntoDatum for PgSparseVec {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        Some(pg_sys::Datum::from(self.ptr.as_ptr()))
    }

    fn type_oid() -> pg_sys::Oid {
        pgrx::regtypein(TYPE_NAME)
    }
}

unsafe impl<'fcx> ArgAbi<'fcx> for PgSparseVec {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        // SAFETY: the SQL signature says this argument is a sparsevec.
        unsafe { arg.unbox_arg_using_from_datum().unwrap_or_else(|| panic!("argument {index} must not be null")) }
    }
}

unsafe impl BoxRet for PgSparseVec {
    unsafe fn box_into<'fcx>(self, fcinfo: &mut FcInfo<'fcx>) -> Datum<'fcx> {
        // SAFETY: the datum is a palloc'd sparsevec in the function's memory context.
        unsafe { fcinfo.return_raw_datum(pg_sys::Datum::from(self.ptr.as_ptr())) }
    }
}

pgrx::impl_sql_translatable!(PgSparseVec, "sparsevec");

#[pg_extern(sql = false)]
fn sparsevec_in(input: &CStr, _type_oid: pg_sys::Oid, typmod: i32) -> PgSparseVec {
    let vector = sparse::parse_sparse(&String::from_utf8_lossy(input.to_bytes())).or_raise_as(TYPE_NAME);
    check_typmod(vector.dim, typmod).or_raise_as(TYPE_NAME);
    PgSparseVec::from_sparse(vector.as_ref())
}

#[pg_extern(sql = false)]
fn sparsevec_out(vector: PgSparseVec) -> CString {
    let mut out = String::new();
    sparse::format_sparse(vector.as_sparse(), &mut out);
    CString::new(out).expect("a formatted sparsevec has no NUL bytes")
}

#[pg_extern(sql = false)]
fn sparsevec_typmod_in(modifiers: Array<&CStr>) -> i32 {
    io::typmod_in(modifiers, TYPE_NAME, SPARSE_MAX_DIM)
}

#[pg_extern(sql = false)]
fn sparsevec_recv(mut buffer: Internal, _type_oid: pg_sys::Oid, typmod: i32) -> PgSparseVec {
    let vector = io::with_received_bytes(&mut buffer, sparse::decode_sparse).or_raise_as(TYPE_NAME);
    check_typmod(vector.dim, typmod).or_raise_as(TYPE_NAME);
    PgSparseVec::from_sparse(vector.as_ref())
}

#[pg_extern(sql = false)]
fn sparsevec_send(vector: PgSparseVec) -> Vec<u8> {
    let mut out = Vec::new();
    sparse::encode_sparse(vector.as_sparse(), &mut out);
    out
}

/// The two (non-null) sparsevec arguments of a distance function, of equal dimensions.
///
/// # Safety
/// `fcinfo` must be a call with two non-null sparsevec arguments.
unsafe fn two_sparse_vectors(fcinfo: pg_sys::FunctionCallInfo) -> (PgSparseVec, PgSparseVec) {
    // SAFETY: the caller guarantees two arguments, neither NULL (STRICT).
    let (a, b) = unsafe {
        let args = (*fcinfo).args.as_slice(2);
        (PgSparseVec::from_datum_unchecked(args[0].value), PgSparseVec::from_datum_unchecked(args[1].value))
    };
    check_same_dimensions(a.as_sparse().dim, b.as_sparse().dim).or_raise_as(TYPE_NAME);
    (a, b)
}

distance_function!(two_sparse_vectors, sparsevec_l2_distance, pg_finfo_sparsevec_l2_distance, |a, b| (sparse::l2_squared(
    a.as_sparse(),
    b.as_sparse()
) as f64)
    .sqrt());
distance_function!(two_sparse_vectors, sparsevec_l2_squared_distance, pg_finfo_sparsevec_l2_squared_distance, |a, b| {
    sparse::l2_squared(a.as_sparse(), b.as_sparse()) as f64
});
distance_function!(two_sparse_vectors, sparsevec_inner_product, pg_finfo_sparsevec_inner_product, |a, b| sparse::dot(
    a.as_sparse(),
    b.as_sparse()
) as f64);
distance_function!(two_sparse_vectors, sparsevec_negative_inner_product, pg_finfo_sparsevec_negative_inner_product, |a, b| {
    -(sparse::dot(a.as_sparse(), b.as_sparse()) as f64)
});
distance_function!(two_sparse_vectors, sparsevec_cosine_distance, pg_finfo_sparsevec_cosine_distance, |a, b| {
    sparse::cosine_distance(a.as_sparse(), b.as_sparse())
});
distance_function!(two_sparse_vectors, sparsevec_l1_distance, pg_finfo_sparsevec_l1_distance, |a, b| sparse::l1(
    a.as_sparse(),
    b.as_sparse()
) as f64);

#[pg_extern(sql = false)]
fn sparsevec_l2_norm(vector: PgSparseVec) -> f64 {
    vector.as_sparse().norm()
}

#[pg_extern(sql = false)]
fn sparsevec_l2_normalize(vector: PgSparseVec) -> PgSparseVec {
    PgSparseVec::from_sparse(sparse::normalize(vector.as_sparse()).or_raise_as(TYPE_NAME).as_ref())
}

#[pg_extern(sql = false)]
fn sparsevec_cmp(a: PgSparseVec, b: PgSparseVec) -> i32 {
    sparse::compare(a.as_sparse(), b.as_sparse()) as i32
}

#[pg_extern(sql = false)]
fn sparsevec_lt(a: PgSparseVec, b: PgSparseVec) -> bool {
    sparse::compare(a.as_sparse(), b.as_sparse()).is_lt()
}

#[pg_extern(sql = false)]
fn sparsevec_le(a: PgSparseVec, b: PgSparseVec) -> bool {
    sparse::compare(a.as_sparse(), b.as_sparse()).is_le()
}

#[pg_extern(sql = false)]
fn sparsevec_eq(a: PgSparseVec, b: PgSparseVec) -> bool {
    sparse::compare(a.as_sparse(), b.as_sparse()).is_eq()
}

#[pg_extern(sql = false)]
fn sparsevec_ne(a: PgSparseVec, b: PgSparseVec) -> bool {
    sparse::compare(a.as_sparse(), b.as_sparse()).is_ne()
}

#[pg_extern(sql = false)]
fn sparsevec_ge(a: PgSparseVec, b: PgSparseVec) -> bool {
    sparse::compare(a.as_sparse(), b.as_sparse()).is_ge()
}

#[pg_extern(sql = false)]
fn sparsevec_gt(a: PgSparseVec, b: PgSparseVec) -> bool {
    sparse::compare(a.as_sparse(), b.as_sparse()).is_gt()
}

/// The length coercion behind `::sparsevec(5)`.
#[pg_extern(sql = false)]
fn sparsevec(vector: PgSparseVec, typmod: i32, _explicit: bool) -> PgSparseVec {
    check_typmod(vector.as_sparse().dim, typmod).or_raise_as(TYPE_NAME);
    vector
}

/// A dense vector's non-zero elements.
fn from_dense<E: vector_core::types::Element>(vector: PgDense<E>, typmod: i32) -> PgSparseVec {
    let sparse = SparseVector::from_dense(vector.as_slice()).or_raise_as(TYPE_NAME);
    check_typmod(sparse.dim, typmod).or_raise_as(TYPE_NAME);
    PgSparseVec::from_sparse(sparse.as_ref())
}

#[pg_extern(sql = false)]
fn vector_to_sparsevec(vector: PgVector, typmod: i32, _explicit: bool) -> PgSparseVec {
    from_dense(vector, typmod)
}

#[pg_extern(sql = false)]
fn halfvec_to_sparsevec(vector: PgHalfVec, typmod: i32, _explicit: bool) -> PgSparseVec {
    from_dense(vector, typmod)
}

/// The dense vector with these elements: at most 16,000 dimensions, and
/// each value must fit the element type.
fn to_dense<E: vector_core::types::Element>(vector: PgSparseVec, typmod: i32) -> PgDense<E> {
    let elements = narrow_all::<E>(&vector.as_sparse().to_dense()).or_raise_as(E::TYPE_NAME);
    check_typmod(elements.len(), typmod).or_raise_as(E::TYPE_NAME);
    PgDense::from_slice(&elements)
}

#[pg_extern(sql = false)]
fn sparsevec_to_vector(vector: PgSparseVec, typmod: i32, _explicit: bool) -> PgVector {
    to_dense(vector, typmod)
}

#[pg_extern(sql = false)]
fn sparsevec_to_halfvec(vector: PgSparseVec, typmod: i32, _explicit: bool) -> PgDense<Half> {
    to_dense(vector, typmod)
}

/// `integer[]`, `real[]`, `double precision[]` and `numeric[]` to sparsevec:
/// the array's non-zero elements.
#[pg_extern(sql = false)]
fn array_to_sparsevec(array: AnyArray, typmod: i32, _explicit: bool) -> PgSparseVec {
    let values = casts::array_values(&array);
    values.iter().try_for_each(|&x| check_element(x)).or_raise_as(TYPE_NAME);
    let sparse = SparseVector::from_dense(&values).or_raise_as(TYPE_NAME);
    check_typmod(sparse.dim, typmod).or_raise_as(TYPE_NAME);
    PgSparseVec::from_sparse(sparse.as_ref())
}
