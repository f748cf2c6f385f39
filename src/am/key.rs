//! The index key: which SQL type an index's column holds, read from its
//! operator class, and the key datum as the index stores and searches it.
//!
//! Both access methods keep every key in 4-byte slots, whatever the
//! column's type: a `vector` key as its float4 values, a `halfvec` key
//! widened (exactly) to float4, a `bit` key 32 bits to a slot (see
//! `vector_core::types::bits::to_slots`), a `sparsevec` key as its count,
//! indices and values (`vector_core::types::sparse::to_slots`; its length
//! varies). One graph and one list format serve every type; the opclass's
//! metric tells how to compare slots.

use std::ffi::CStr;

use pgrx::pg_sys;
use pgrx::prelude::*;
use vector_core::types::bits::{self, slots_for};
use vector_core::types::sparse::{self, SPARSE_MAX_DIM};
use vector_core::types::widen;

use super::format::Address;
use crate::types::{PgBit, PgHalfVec, PgSparseVec, PgVector};

/// The longest bit string either access method indexes, as pgvector.
const MAX_BITS: usize = 64_000;

/// The SQL type of an index's key column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyType {
    Vector,
    HalfVec,
    Bit,
    SparseVec,
}

impl KeyType {
    /// The input type of the index's operator class. Inserts and scans ask
    /// for every row and query, so the answer is kept in the relcache
    /// entry's `rd_amcache`, which PostgreSQL frees when it rebuilds the
    /// entry (a column's type cannot change under its index).
    pub(crate) fn of(index: pg_sys::Relation) -> Self {
        // SAFETY: an open index; `rd_amcache` is NULL or what this function stored.
        if let Some(cached) = unsafe { (*index).rd_amcache.cast::<KeyType>().as_ref() } {
            return *cached;
        }
        let key_type = Self::look_up(index);
        // SAFETY: `rd_indexcxt` lives as long as the relcache entry does.
        unsafe {
            let slot = pg_sys::MemoryContextAlloc((*index).rd_indexcxt, std::mem::size_of::<KeyType>()).cast::<KeyType>();
            slot.write(key_type);
            (*index).rd_amcache = slot.cast();
        }
        key_type
    }

    fn look_up(index: pg_sys::Relation) -> Self {
        // SAFETY: an open index has one operator class input type per key column.
        let type_oid = unsafe { *(*index).rd_opcintype };
        if type_oid == pg_sys::BITOID {
            return KeyType::Bit;
        }
        // Our own types have no fixed OIDs: they are known by name.
        // SAFETY: format_type_be returns a palloc'd name, schema-qualified
        // when the schema is not on the search path.
        let name = unsafe { CStr::from_ptr(pg_sys::format_type_be(type_oid)) }.to_string_lossy();
        match name.rsplit('.').next() {
            Some("vector") => KeyType::Vector,
            Some("halfvec") => KeyType::HalfVec,
            Some("sparsevec") => KeyType::SparseVec,
            _ => {
                ereport!(
                    ERROR,
                    PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                    format!("type {name} is not supported by this index")
                );
            }
        }
    }

    /// The SQL name messages use.
    pub(crate) fn name(self) -> &'static str {
        match self {
            KeyType::Vector => "vector",
            KeyType::HalfVec => "halfvec",
            KeyType::Bit => "bit",
            KeyType::SparseVec => "sparsevec",
        }
    }

    /// The slots a key of the column's declared size takes: its dimensions
    /// for a vector (at most `max_dimensions`), its bits over 32 for a bit
    /// string (at most [`MAX_BITS`]); `am` names the access method in
    /// messages. For a sparse vector, whose slots vary with its non-zeros,
    /// the dimensions of its space (up to sparsevec's own limit).
    pub(crate) fn slots(self, index: pg_sys::Relation, max_dimensions: usize, am: &str) -> usize {
        let size = column_size(index);
        let max = match self {
            KeyType::Bit => MAX_BITS,
            KeyType::SparseVec => SPARSE_MAX_DIM,
            KeyType::Vector | KeyType::HalfVec => max_dimensions,
        };
        if size < 1 {
            ereport!(ERROR, PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, "column does not have dimensions");
        }
        if size as usize > max {
            ereport!(
                ERROR,
                PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
                format!("column cannot have more than {max} dimensions for {am} index")
            );
        }
        if self == KeyType::Bit { slots_for(size as usize) } else { size as usize }
    }

    /// Reads a non-null key datum as float4.
    ///
    /// # Safety
    /// `datum` must be a non-null value of this type.
    pub(crate) unsafe fn read(self, datum: pg_sys::Datum) -> KeyVector {
        // SAFETY: as the caller promises.
        unsafe {
            match self {
                KeyType::Vector => KeyVector::Vector(PgVector::from_datum_unchecked(datum)),
                KeyType::HalfVec => KeyVector::Widened(widen(PgHalfVec::from_datum_unchecked(datum).as_slice())),
                KeyType::Bit => {
                    let bit = PgBit::from_datum_unchecked(datum);
                    KeyVector::Slots { slots: bits::to_slots(bit.bytes()), size: bit.len() }
                }
                KeyType::SparseVec => {
                    let vector = PgSparseVec::from_datum_unchecked(datum);
                    KeyVector::Slots { slots: sparse::to_slots(vector.as_sparse()), size: vector.as_sparse().dim }
                }
            }
        }
    }

    /// [`KeyType::read`] of a key that did not come from the column (a
    /// query), or may not have: a bit string of another length than the
    /// column's can fill as many slots, a sparse vector of other
    /// dimensions any number; either is an error here, as the operator's.
    ///
    /// # Safety
    /// `datum` must be a non-null value of this type.
    pub(crate) unsafe fn read_checked(self, index: pg_sys::Relation, datum: pg_sys::Datum) -> KeyVector {
        // SAFETY: as the caller promises.
        let key = unsafe { self.read(datum) };
        if let KeyVector::Slots { size, .. } = key {
            let column = column_size(index);
            if size as i64 != column as i64 {
                let what = if self == KeyType::Bit { "bit lengths" } else { "sparsevec dimensions" };
                ereport!(ERROR, PgSqlErrorCode::ERRCODE_DATA_EXCEPTION, format!("different {what} {column} and {size}"));
            }
        }
        key
    }
}

/// The column's declared size (typmod): `vector(n)`'s dimensions, `bit(n)`'s bits.
fn column_size(index: pg_sys::Relation) -> i32 {
    // SAFETY: an open index has a tuple descriptor with one attribute.
    unsafe { (*(*(*index).rd_att).attrs.as_ptr()).atttypmod }
}

/// A key datum in slots: the datum itself for `vector`, a widened copy for
/// `halfvec`, the slots of a `bit` string or `sparsevec` with its size (the
/// bits, the dimensions).
pub(crate) enum KeyVector {
    Vector(PgVector),
    Widened(Vec<f32>),
    Slots { slots: Vec<f32>, size: usize },
}

impl KeyVector {
    pub(crate) fn as_slice(&self) -> &[f32] {
        match self {
            KeyVector::Vector(vector) => vector.as_slice(),
            KeyVector::Widened(values) => values,
            KeyVector::Slots { slots, .. } => slots,
        }
    }
}

/// The row aminsert receives: its key as float4 and its heap TID; None for
/// a NULL key, which is not indexed.
///
/// # Safety
/// aminsert's arguments: an open index with one key column.
pub(crate) unsafe fn inserted_row(
    index: pg_sys::Relation,
    values: *mut pg_sys::Datum,
    is_null: *mut bool,
    heap_tid: pg_sys::ItemPointer,
) -> Option<(KeyVector, Address)> {
    // SAFETY: as the caller promises.
    unsafe {
        if *is_null {
            return None;
        }
        let key = KeyType::of(index).read_checked(index, *values);
        let (block, offset) = pgrx::itemptr::item_pointer_get_both(*heap_tid);
        Some((key, Address { block, offset }))
    }
}
