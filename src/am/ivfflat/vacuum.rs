//! VACUUM: entries of dead rows are marked dead in place (one WAL record per
//! page); scans skip them. A scan may still hold the TID of a row removed
//! here; it runs under an MVCC snapshot, which never sees a new row stored
//! at that TID (see `am::scan`), so VACUUM need not wait for it.

use pgrx::pg_sys;
use pgrx::prelude::*;

use super::format::{self, Entry, LINK_OFFSET, LIST_PAGE};
use super::read_meta;
use crate::am::DeadRows;
use crate::storage::{Index, WalRecord};

#[pg_guard]
pub unsafe extern "C-unwind" fn ambulkdelete(
    info: *mut pg_sys::IndexVacuumInfo,
    stats: *mut pg_sys::IndexBulkDeleteResult,
    callback: pg_sys::IndexBulkDeleteCallback,
    callback_state: *mut std::ffi::c_void,
) -> *mut pg_sys::IndexBulkDeleteResult {
    // SAFETY: VACUUM passes an open index and its buffer strategy.
    let index = unsafe { Index::from_raw((*info).index).with_strategy((*info).strategy) };
    let stats = unsafe { crate::am::stats_or_new(stats) };
    let dead_rows = DeadRows::new(callback, callback_state);
    let meta = read_meta(&index);
    let dimensions = meta.dimensions as usize;
    let mut removed = 0usize;
    for block in 1 + meta.centroid_pages..index.block_count() {
        // SAFETY: honouring vacuum_cost_delay.
        unsafe { pg_sys::vacuum_delay_point() };
        let dead: Vec<u16> = {
            let Some(page) = index.read_initialized(block, LIST_PAGE) else { continue };
            let page = page.page();
            (LINK_OFFSET + 1..=page.max_offset())
                .filter(|&offset| {
                    page.item(offset)
                        .and_then(|bytes| Entry::decode(bytes, dimensions).ok())
                        .is_some_and(|e| !e.is_dead() && dead_rows.contains(e.heap_tid()))
                })
                .collect()
        };
        if dead.is_empty() {
            continue;
        }
        let mut record = WalRecord::start(&index);
        let slot = record.register(index.lock_exclusive(block, LIST_PAGE));
        let mut page = record.page(slot);
        for &offset in &dead {
            format::mark_entry_dead(page.item_mut(offset).expect("found above"));
        }
        record.commit();
        removed += dead.len();
    }
    // SAFETY: our stats.
    unsafe { (*stats).tuples_removed += removed as f64 };
    stats
}

#[pg_guard]
pub unsafe extern "C-unwind" fn amvacuumcleanup(info: *mut pg_sys::IndexVacuumInfo, stats: *mut pg_sys::IndexBulkDeleteResult) -> *mut pg_sys::IndexBulkDeleteResult {
    // SAFETY: as above.
    let info = unsafe { &*info };
    if info.analyze_only {
        return stats;
    }
    let index = unsafe { Index::from_raw(info.index) };
    let stats = unsafe { crate::am::stats_or_new(stats) };
    unsafe { (*stats).num_pages = index.block_count() };
    stats
}

