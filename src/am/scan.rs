//! What hnsw and ivfflat scans share: where the per-scan state lives, the
//! ORDER BY key, the MVCC requirement and the statistics.
//!
//! Neither access method holds a lock or a pin between two amgettuple
//! calls, so an idle cursor never holds up VACUUM or anyone queued behind
//! it. That is safe because scans run under an MVCC snapshot: a TID the scan
//! found before VACUUM removed its row may be reused by the heap for a new
//! row, but that row is newer than the snapshot and the executor skips it
//! (the same argument nbtree makes for dropping its pins).

use pgrx::pg_sys;
use pgrx::prelude::*;
use pgrx::PgMemoryContexts;

use crate::am::format::Address;
use crate::am::key::{KeyType, KeyVector};

/// Starts a scan whose state is `state`. The state belongs to the memory
/// context the scan is created in (the executor's per-query context), and is
/// dropped when that context goes, after an ERROR or a cancel as well; it
/// must therefore own memory only, never pins or locks.
///
/// # Safety
/// Called from ambeginscan with its arguments.
pub(crate) unsafe fn begin<S>(index: pg_sys::Relation, nkeys: i32, norderbys: i32, state: S) -> pg_sys::IndexScanDesc {
    // SAFETY: PostgreSQL's own scan descriptor constructor.
    let scan = unsafe { pg_sys::RelationGetIndexScan(index, nkeys, norderbys) };
    let state = PgMemoryContexts::CurrentMemoryContext.leak_and_drop_on_delete(state);
    // SAFETY: a fresh scan descriptor.
    unsafe { (*scan).opaque = state.cast() };
    scan
}

/// The state [`begin`] attached to `scan`.
///
/// # Safety
/// `scan` was started by [`begin`] with a state of type `S`.
pub(crate) unsafe fn state<'a, S>(scan: pg_sys::IndexScanDesc) -> &'a mut S {
    // SAFETY: as the caller promises.
    unsafe { &mut *(*scan).opaque.cast::<S>() }
}

/// ambeginscan and amrescan of an access method whose per-scan state is
/// `$state`, its `Default` being a scan not started yet: a rescan starts
/// over with the new ORDER BY key.
macro_rules! begin_and_rescan {
    ($state:ty) => {
        #[pgrx::pg_guard]
        pub unsafe extern "C-unwind" fn ambeginscan(
            index: pgrx::pg_sys::Relation,
            nkeys: i32,
            norderbys: i32,
        ) -> pgrx::pg_sys::IndexScanDesc {
            // SAFETY: our arguments.
            unsafe { $crate::am::scan::begin(index, nkeys, norderbys, <$state>::default()) }
        }

        #[pgrx::pg_guard]
        pub unsafe extern "C-unwind" fn amrescan(
            scan: pgrx::pg_sys::IndexScanDesc,
            keys: pgrx::pg_sys::ScanKey,
            nkeys: i32,
            orderbys: pgrx::pg_sys::ScanKey,
            norderbys: i32,
        ) {
            // SAFETY: our scan, begun with this state type.
            unsafe {
                $crate::am::scan::copy_keys(scan, keys, nkeys, orderbys, norderbys);
                *$crate::am::scan::state::<$state>(scan) = <$state>::default();
            }
        }
    };
}
pub(crate) use begin_and_rescan;

/// Hands the executor `heap_tid` as the scan's next row; returns true, as
/// amgettuple then does. Rows come in the index's distance order; the
/// executor rechecks the WHERE conditions the index evaluated when they
/// were `lossy` (see `am::filter`).
pub(crate) fn return_row(scan: &mut pg_sys::IndexScanDescData, heap_tid: Address, lossy: bool) -> bool {
    pgrx::itemptr::item_pointer_set_all(&mut scan.xs_heaptid, heap_tid.block, heap_tid.offset);
    scan.xs_recheck = lossy;
    scan.xs_recheckorderby = false;
    true
}

/// Copies the WHERE and ORDER BY keys amrescan receives into the scan.
///
/// # Safety
/// `keys` holds `nkeys` keys and `orderbys` `norderbys`; `scan` has room
/// for them.
pub(crate) unsafe fn copy_keys(scan: pg_sys::IndexScanDesc, keys: pg_sys::ScanKey, nkeys: i32, orderbys: pg_sys::ScanKey, norderbys: i32) {
    // SAFETY: as the caller promises.
    unsafe {
        if !keys.is_null() && nkeys > 0 {
            std::ptr::copy(keys, (*scan).keyData, nkeys as usize);
        }
        if !orderbys.is_null() && norderbys > 0 {
            std::ptr::copy(orderbys, (*scan).orderByData, norderbys as usize);
        }
    }
}

/// Checks what every scan needs at its first amgettuple, counts the scan in
/// pg_stat_user_indexes (idx_scan), and returns the query vector with the
/// key's type: None for `ORDER BY embedding <-> NULL`.
pub(crate) fn start(scan: &pg_sys::IndexScanDescData, am: &str) -> Option<(KeyVector, KeyType)> {
    if scan.numberOfOrderBys == 0 {
        ereport!(ERROR, PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED, format!("{am} index scans need an ORDER BY distance"));
    }
    // SAFETY: a snapshot the executor set, read only.
    let mvcc = !scan.xs_snapshot.is_null()
        && matches!(
            unsafe { (*scan.xs_snapshot).snapshot_type },
            pg_sys::SnapshotType::SNAPSHOT_MVCC | pg_sys::SnapshotType::SNAPSHOT_HISTORIC_MVCC
        );
    if !mvcc {
        // See the module doc: without MVCC a reused TID could be returned.
        ereport!(ERROR, PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED, format!("{am} index scans need an MVCC snapshot"));
    }
    count_scan(scan.indexRelation);
    // SAFETY: amrescan copied numberOfOrderBys >= 1 keys.
    let key = unsafe { &*scan.orderByData };
    if key.sk_flags & pg_sys::SK_ISNULL as i32 != 0 {
        return None;
    }
    // SAFETY: the ORDER BY argument of the opclass's operators has its input type.
    let key_type = KeyType::of(scan.indexRelation);
    Some((unsafe { key_type.read_checked(scan.indexRelation, key.sk_argument) }, key_type))
}

/// pgstat_count_index_scan, a macro in PostgreSQL's headers.
fn count_scan(rel: pg_sys::Relation) {
    // SAFETY: an open relation; its statistics entry is created on demand.
    unsafe {
        if (*rel).pgstat_info.is_null() && (*rel).pgstat_enabled {
            pg_sys::pgstat_assoc_relation(rel);
        }
        if !(*rel).pgstat_info.is_null() {
            (*(*rel).pgstat_info).t_counts.t_numscans += 1;
        }
    }
}
