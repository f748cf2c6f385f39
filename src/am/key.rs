//! The index key: which SQL type an index's column holds, read from its
//! operator class, and the key datum as the index stores and searches it.
//!
//! Both access methods keep float4 vectors whatever the column's type: a
//! `halfvec` key is widened (exactly) when it is read, so one graph and one
//! list format serve both types.

use std::ffi::CStr;

use pgrx::pg_sys;
use pgrx::prelude::*;
use vector_core::types::widen;

use crate::types::{PgHalfVec, PgVector};

/// The SQL type of an index's key column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyType {
    Vector,
    HalfVec,
}

impl KeyType {
    /// The input type of the index's operator class.
    pub(crate) fn of(index: pg_sys::Relation) -> Self {
        // SAFETY: an open index has one operator class input type per key column.
        let type_oid = unsafe { *(*index).rd_opcintype };
        // SAFETY: format_type_be returns a palloc'd name, schema-qualified
        // when the schema is not on the search path.
        let name = unsafe { CStr::from_ptr(pg_sys::format_type_be(type_oid)) }.to_string_lossy();
        match name.rsplit('.').next() {
            Some("vector") => KeyType::Vector,
            Some("halfvec") => KeyType::HalfVec,
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
        }
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
            }
        }
    }
}

/// A key datum as float4: the datum itself for `vector`, a widened copy for `halfvec`.
pub(crate) enum KeyVector {
    Vector(PgVector),
    Widened(Vec<f32>),
}

impl KeyVector {
    pub(crate) fn as_slice(&self) -> &[f32] {
        match self {
            KeyVector::Vector(vector) => vector.as_slice(),
            KeyVector::Widened(values) => values,
        }
    }
}
