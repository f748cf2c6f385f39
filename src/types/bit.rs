//! PostgreSQL's own `bit(n)`: the datum layout (varlena header, int32 bit
//! count, the bits most significant first) and pgvector's distances on it,
//! `<~>` Hamming and `<%>` Jaccard.

use std::ptr::NonNull;
use std::slice;

use pgrx::callconv::{BoxRet, FcInfo};
use pgrx::datum::Datum;
use pgrx::prelude::*;
use pgrx::{pg_sys, IntoDatum};
use vector_core::types::bits;

/// Bytes before the first bit: the varlena header and the bit count.
const HEADER_BYTES: usize = 8;

/// A `bit` datum in PostgreSQL memory.
pub struct PgBit {
    ptr: NonNull<pg_sys::varlena>,
}

impl PgBit {
    /// A new palloc'd string of `len` bits whose bytes `fill` writes (they start as zeros).
    pub fn build(len: usize, fill: impl FnOnce(&mut [u8])) -> Self {
        let size = HEADER_BYTES + bits::bytes_for(len);
        // SAFETY: palloc0 returns `size` zeroed bytes aligned for any type (or
        // raises an ERROR); we write the header inside them and hand out the
        // bytes after it.
        unsafe {
            let bytes = pg_sys::palloc0(size).cast::<u8>();
            pgrx::set_varsize_4b(bytes.cast(), size as i32);
            bytes.add(4).cast::<i32>().write(len as i32);
            fill(slice::from_raw_parts_mut(bytes.add(HEADER_BYTES), bits::bytes_for(len)));
            Self { ptr: NonNull::new_unchecked(bytes.cast()) }
        }
    }

    /// Reads a non-null `bit` datum.
    ///
    /// # Safety
    /// The datum must point at a (possibly toasted) bit varlena.
    pub unsafe fn from_datum_unchecked(datum: pg_sys::Datum) -> Self {
        // SAFETY: the caller promises a bit varlena; detoasting gives a plain copy.
        let ptr = unsafe { pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) };
        let bit = Self { ptr: NonNull::new(ptr).expect("detoasting never returns null") };
        // SAFETY: a detoasted varlena with a 4-byte header.
        let size = unsafe { pgrx::varsize_any(ptr) };
        assert!(
            size >= HEADER_BYTES && HEADER_BYTES + bits::bytes_for(bit.len()) <= size,
            "corrupt bit datum: {} bits in {size} bytes",
            bit.len()
        );
        bit
    }

    /// The number of bits.
    pub fn len(&self) -> usize {
        // SAFETY: every PgBit points at least HEADER_BYTES of a bit datum.
        unsafe { self.ptr.as_ptr().cast::<u8>().add(4).cast::<i32>().read() as usize }
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: construction checked that the bytes follow the header.
        unsafe { slice::from_raw_parts(self.ptr.as_ptr().cast::<u8>().add(HEADER_BYTES), bits::bytes_for(self.len())) }
    }
}

impl IntoDatum for PgBit {
    fn into_datum(self) -> Option<pg_sys::Datum> {
        Some(pg_sys::Datum::from(self.ptr.as_ptr()))
    }

    fn type_oid() -> pg_sys::Oid {
        pg_sys::BITOID
    }
}

unsafe impl BoxRet for PgBit {
    unsafe fn box_into<'fcx>(self, fcinfo: &mut FcInfo<'fcx>) -> Datum<'fcx> {
        // SAFETY: the datum is a palloc'd bit string in the function's memory context.
        unsafe { fcinfo.return_raw_datum(pg_sys::Datum::from(self.ptr.as_ptr())) }
    }
}

pgrx::impl_sql_translatable!(PgBit, "bit");

/// The two (non-null) bit arguments of a distance function, of equal length.
///
/// # Safety
/// `fcinfo` must be a call with two non-null bit arguments.
unsafe fn two_bit_strings(fcinfo: pg_sys::FunctionCallInfo) -> (PgBit, PgBit) {
    // SAFETY: the caller guarantees two arguments, neither NULL (STRICT).
    let (a, b) = unsafe {
        let args = (*fcinfo).args.as_slice(2);
        (PgBit::from_datum_unchecked(args[0].value), PgBit::from_datum_unchecked(args[1].value))
    };
    if a.len() != b.len() {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
            format!("different bit lengths {} and {}", a.len(), b.len())
        );
    }
    (a, b)
}

distance_function!(two_bit_strings, hamming_distance, pg_finfo_hamming_distance, |a, b| bits::hamming(
    a.bytes(),
    b.bytes()
) as f64);
distance_function!(two_bit_strings, jaccard_distance, pg_finfo_jaccard_distance, |a, b| bits::jaccard_distance(
    a.bytes(),
    b.bytes()
));
