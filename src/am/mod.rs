//! Index access methods, and what they share: the metric an operator class
//! names, the vector as an index stores it, progress reporting.

mod cost;
mod filter;
pub mod format;
mod handler;
pub mod hnsw;
pub mod ivfflat;
mod key;
mod opclass;
pub(crate) mod paths;
mod scan;
mod validate;
mod verify;

pub(crate) use key::{inserted_row, KeyType};
pub(crate) use opclass::opclass_metric;
pub(crate) use validate::amvalidate;

use pgrx::pg_sys;
use pgrx::prelude::*;

use crate::storage::{corrupted, Index};
use format::{Address, FormatError};

pub(crate) fn report_progress(param: u32, value: i64) {
    // SAFETY: updating our own backend's progress slot.
    unsafe { pg_sys::pgstat_progress_update_param(param as i32, value) };
}

/// The dimensions an index stores per key, in 4-byte slots (see
/// `key.rs`), from the column's typmod: `vector(n)` at most `max`, for
/// access method `am`.
pub(crate) fn column_dimensions(index: pg_sys::Relation, max: usize, am: &str) -> usize {
    KeyType::of(index).slots(index, max, am)
}

/// The statistics VACUUM passed in, or a new, empty set.
///
/// # Safety
/// `stats` is NULL or a valid IndexBulkDeleteResult.
pub(crate) unsafe fn stats_or_new(stats: *mut pg_sys::IndexBulkDeleteResult) -> *mut pg_sys::IndexBulkDeleteResult {
    if stats.is_null() {
        // SAFETY: zeroed memory is a valid empty result.
        unsafe { pg_sys::palloc0(std::mem::size_of::<pg_sys::IndexBulkDeleteResult>()).cast() }
    } else {
        stats
    }
}

/// VACUUM's "is this heap row dead?" callback with its state.
pub(crate) struct DeadRows {
    callback: pg_sys::IndexBulkDeleteCallback,
    state: *mut std::ffi::c_void,
}

impl DeadRows {
    pub(crate) fn new(callback: pg_sys::IndexBulkDeleteCallback, state: *mut std::ffi::c_void) -> Self {
        if callback.is_none() {
            ereport!(ERROR, PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, "VACUUM passed no dead-row callback");
        }
        Self { callback, state }
    }

    /// Asks through pgrx's guarded boundary: the callback is PostgreSQL code
    /// that may ERROR, and an ERROR must not jump over Rust frames.
    pub(crate) fn contains(&self, tid: Address) -> bool {
        let mut item = pg_sys::ItemPointerData::default();
        pgrx::itemptr::item_pointer_set_all(&mut item, tid.block, tid.offset);
        let callback = self.callback.expect("checked in new");
        // SAFETY: the callback and its state come from VACUUM, as a pair.
        unsafe { pg_sys::ffi::pg_guard_ffi_boundary(|| callback(&mut item, self.state)) }
    }
}

/// Raises the error for a meta page (block 0) that does not decode: an index
/// of another format version asks for a REINDEX, anything else is corruption.
pub(crate) fn bad_meta(index: &Index, error: FormatError) -> ! {
    if let FormatError::Version { found, expected } = error {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("index \"{}\" was built with format version {found}; this version of vector_ext reads version {expected}", index.name()),
            format!("REINDEX INDEX {};", index.name())
        );
    }
    corrupted(index, 0, &error.to_string())
}
