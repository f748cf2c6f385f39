//! The in-memory layout of `vector` and `halfvec` values, byte-for-byte pgvector's:
//!
//! ```text
//! int32 varlena header | int16 dim | int16 unused (0) | float4 x[dim]   (vector)
//! int32 varlena header | int16 dim | int16 unused (0) | float2 x[dim]   (halfvec)
//! ```
//!
//! [`PgDense`] is the one place that reads and writes that layout. Values
//! coming from PostgreSQL are detoasted once when the argument is unboxed;
//! new values are palloc'd in the current memory context and handed back to
//! PostgreSQL as they are, without a copy.

use std::marker::PhantomData;
use std::ptr::NonNull;
use std::slice;

use pgrx::callconv::{Arg, ArgAbi, BoxRet, FcInfo};
use pgrx::datum::Datum;
use pgrx::{pg_sys, FromDatum, IntoDatum};
use vector_core::types::{Element, Half};
use vector_core::VECTOR_MAX_DIM;

/// Bytes before the first element.
const HEADER_BYTES: usize = 8;

/// A dense vector datum in PostgreSQL memory, with elements of type `E`.
pub struct PgDense<E> {
    ptr: NonNull<pg_sys::varlena>,
    element: PhantomData<E>,
}

/// A `vector` datum.
pub type PgVector = PgDense<f32>;
/// A `halfvec` datum.
pub type PgHalfVec = PgDense<Half>;

impl<E: Element> PgDense<E> {
    /// A new palloc'd vector whose elements `fill` writes (they start as zeros).
    pub fn build(dim: usize, fill: impl FnOnce(&mut [E])) -> Self {
        assert!((1..=VECTOR_MAX_DIM).contains(&dim), "vector dimensions are checked before building");
        let size = HEADER_BYTES + E::BYTES * dim;
        // SAFETY: palloc0 returns `size` zeroed bytes aligned for any type (or
        // raises an ERROR); we write the header inside them and hand out the
        // element slice only for the span after it.
        unsafe {
            let bytes = pg_sys::palloc0(size).cast::<u8>();
            pgrx::set_varsize_4b(bytes.cast(), size as i32);
            bytes.add(4).cast::<i16>().write(dim as i16);
            // All-zero bytes are the element zero of both types.
            fill(slice::from_raw_parts_mut(bytes.add(HEADER_BYTES).cast::<E>(), dim));
            Self { ptr: NonNull::new_unchecked(bytes.cast()), element: PhantomData }
        }
    }

    pub fn from_slice(elements: &[E]) -> Self {
        Self::build(elements.len(), |out| out.copy_from_slice(elements))
    }

    /// Reads a datum; `datum` must be a non-null value of this type.
    ///
    /// # Safety
    /// The datum must point at a (possibly toasted) varlena of this type.
    pub unsafe fn from_datum_unchecked(datum: pg_sys::Datum) -> Self {
        // SAFETY: the caller promises a vector varlena. A plain 4-byte header
        // has its two low bits clear (on little-endian machines, as every
        // machine this builds for is); anything else (short, compressed,
        // external) is detoasted into a plain copy. Skipping the call when it
        // would do nothing matters for exact scans, which read every row.
        let ptr = unsafe {
            let raw: *mut pg_sys::varlena = datum.cast_mut_ptr();
            if cfg!(target_endian = "little") && *raw.cast::<u8>() & 0x03 == 0 {
                raw
            } else {
                pg_sys::pg_detoast_datum(raw)
            }
        };
        let vector = Self { ptr: NonNull::new(ptr).expect("detoasting never returns null"), element: PhantomData };
        let size = unsafe { pgrx::varsize_any(ptr) };
        let dim = vector.dim();
        // A value that lies about its length is corruption: stop with an ERROR
        // rather than read past it.
        assert!(
            size >= HEADER_BYTES && HEADER_BYTES + E::BYTES * dim <= size,
            "corrupt {} datum: {dim} dimensions in {size} bytes",
            E::TYPE_NAME
        );
        vector
    }

    pub fn dim(&self) -> usize {
        // SAFETY: every PgVector points at least HEADER_BYTES of a vector.
        unsafe { self.ptr.as_ptr().cast::<u8>().add(4).cast::<u16>().read() as usize }
    }

    pub fn as_slice(&self) -> &[E] {
        // SAFETY: construction checked that dim elements follow the header,
        // which is 8 bytes, so they are aligned for both element types.
        unsafe { slice::from_raw_parts(self.ptr.as_ptr().cast::<u8>().add(HEADER_BYTES).cast::<E>(), self.dim()) }
    }

    pub fn into_raw_datum(self) -> pg_sys::Datum {
        pg_sys::Datum::from(self.ptr.as_ptr())
    }
}

impl<E: Element> FromDatum for PgDense<E> {
    unsafe fn from_polymorphic_datum(datum: pg_sys::Datum, is_null: bool, _typoid: pg_sys::Oid) -> Option<Self> {
        // SAFETY: a non-null datum of this type, by the function's SQL signature.
        (!is_null).then(|| unsafe { Self::from_datum_unchecked(datum) })
    }
}

impl<E: Element> IntoDatum for PgDense<E> {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        Some(self.into_raw_datum())
    }

    fn type_oid() -> pg_sys::Oid {
        pgrx::regtypein(E::TYPE_NAME)
    }
}

unsafe impl<'fcx, E: Element> ArgAbi<'fcx> for PgDense<E> {
    unsafe fn unbox_arg_unchecked(arg: Arg<'_, 'fcx>) -> Self {
        let index = arg.index();
        // SAFETY: the SQL signature says this argument has this type.
        unsafe { arg.unbox_arg_using_from_datum().unwrap_or_else(|| panic!("argument {index} must not be null")) }
    }
}

unsafe impl<E: Element> BoxRet for PgDense<E> {
    unsafe fn box_into<'fcx>(self, fcinfo: &mut FcInfo<'fcx>) -> Datum<'fcx> {
        // SAFETY: the datum is a palloc'd value in the function's memory context.
        unsafe { fcinfo.return_raw_datum(self.into_raw_datum()) }
    }
}

pgrx::impl_sql_translatable!(PgVector, "vector");
pgrx::impl_sql_translatable!(PgHalfVec, "halfvec");
