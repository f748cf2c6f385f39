//! VACUUM: each list is walked page by page, and the entries of dead rows
//! are deleted from their page (one WAL record per page), which compacts the
//! page for inserts to fill again; the list's insert page moves back to the
//! first page that gained room. A scan may still hold the TID of a row
//! removed here; it runs under an MVCC snapshot, which never sees a new row
//! stored at that TID (see `am::scan`), so VACUUM need not wait for it.

use pgrx::pg_sys;
use pgrx::prelude::*;

use super::format::{self, decode_link, Entry, Shape, CENTROID_PAGE, LINK_OFFSET, LIST_PAGE};
use super::{read_centroids, read_meta};
use crate::am::DeadRows;
use crate::storage::{corrupted, BlockNumber, Index, WalRecord, INVALID_BLOCK};

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
    for (centroid, centroid_block, centroid_offset) in read_centroids(&index, &meta) {
        let mut first_with_room = INVALID_BLOCK;
        let mut block = centroid.first;
        while block != INVALID_BLOCK {
            // SAFETY: honouring vacuum_cost_delay.
            unsafe { pg_sys::vacuum_delay_point() };
            let (removed, next) = remove_dead_entries(&index, block, meta.shape(), &dead_rows);
            // SAFETY: our stats.
            unsafe { (*stats).tuples_removed += removed as f64 };
            if removed > 0 && first_with_room == INVALID_BLOCK {
                first_with_room = block;
            }
            block = next;
        }
        if first_with_room != INVALID_BLOCK && first_with_room != centroid.insert {
            point_inserts_at(&index, centroid_block, centroid_offset, first_with_room);
        }
    }
    stats
}

/// Deletes the entries of dead rows from one list page; returns how many,
/// and the list's next page.
fn remove_dead_entries(index: &Index, block: BlockNumber, shape: Shape, dead_rows: &DeadRows) -> (usize, BlockNumber) {
    let mut dead: Vec<u16> = Vec::new();
    let next = {
        let page = index.read(block, LIST_PAGE);
        let page = page.page();
        for offset in LINK_OFFSET + 1..=page.max_offset() {
            let entry = page.item(offset).and_then(|bytes| Entry::decode(bytes, shape).ok());
            if entry.is_some_and(|e| dead_rows.contains(e.heap_tid())) {
                dead.push(offset);
            }
        }
        page.item(LINK_OFFSET).and_then(|bytes| decode_link(bytes).ok()).unwrap_or_else(|| corrupted(index, block, "lacks its link"))
    };
    if !dead.is_empty() {
        let mut record = WalRecord::start(index);
        let slot = record.register(index.lock_exclusive(block, LIST_PAGE));
        let mut page = record.page(slot);
        // Inserts only append, so the offsets should still hold the same
        // entries; checked again under the exclusive lock all the same.
        dead.retain(|&offset| {
            let entry = page.as_ref().item(offset).and_then(|bytes| Entry::decode(bytes, shape).ok());
            entry.is_some_and(|e| dead_rows.contains(e.heap_tid()))
        });
        page.delete_items(&mut dead);
        record.commit();
    }
    (dead.len(), next)
}

/// Moves a list's insert page back to `block`, where room was made.
fn point_inserts_at(index: &Index, centroid_block: BlockNumber, centroid_offset: u16, block: BlockNumber) {
    let mut record = WalRecord::start(index);
    let slot = record.register(index.lock_exclusive(centroid_block, CENTROID_PAGE));
    let mut page = record.page(slot);
    let bytes = page.item_mut(centroid_offset).unwrap_or_else(|| corrupted(index, centroid_block, "lacks a centroid"));
    format::set_centroid_insert(bytes, block);
    record.commit();
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
