//! VACUUM, in three passes:
//!
//! 1. remove TIDs: every element whose heap row is dead is marked Deleted
//!    (scans stop returning it at once, but may still walk through it);
//! 2. repair the graph: with inserts held off (UPDATE_LOCK), every list that
//!    points at a deleted element is rebuilt from the deleted element's own
//!    neighbors, and a deleted entry point is replaced by the highest live
//!    element;
//! 3. free slots: nothing links to the deleted elements any more, so they
//!    become Free for inserts to reuse, and the meta page points inserts at
//!    the first page that has one.
//!
//! Before returning, VACUUM waits for the scans that started before it
//! (SCAN_LOCK), since they may still hold TIDs of rows it removed.

use std::collections::HashSet;

use pgrx::prelude::*;
use pgrx::pg_sys;
use vector_core::hnsw::repair_neighbors;

use super::format::{self, Address, Element, ElementState, GRAPH_PAGE, SCAN_LOCK, UPDATE_LOCK};
use super::graph::{read_meta, update_meta, PageGraph};
use crate::storage::{Index, WalRecord, INVALID_BLOCK};

type DeadCallback = pg_sys::IndexBulkDeleteCallback;

#[pg_guard]
pub unsafe extern "C-unwind" fn ambulkdelete(
    info: *mut pg_sys::IndexVacuumInfo,
    stats: *mut pg_sys::IndexBulkDeleteResult,
    callback: DeadCallback,
    callback_state: *mut std::ffi::c_void,
) -> *mut pg_sys::IndexBulkDeleteResult {
    // SAFETY: PostgreSQL passes an open index in `info`.
    let index = unsafe { Index::from_raw((*info).index) };
    let stats = unsafe { crate::am::stats_or_new(stats) };
    let is_dead = |tid: Address| {
        let mut item = pg_sys::ItemPointerData::default();
        pgrx::itemptr::item_pointer_set_all(&mut item, tid.block, tid.offset);
        // SAFETY: the callback and its state come from VACUUM, as a pair.
        unsafe { callback.expect("VACUUM passes a callback")(&mut item, callback_state) }
    };

    let deleted = remove_dead_tids(&index, &is_dead, stats);
    if !deleted.is_empty() {
        // Inserts stay out until no scan that could still reach a freed
        // slot is running, so a reused slot is never read half-written.
        let _inserts_held_off = index.lock_pseudo_page(UPDATE_LOCK, true);
        repair_graph(&index, &deleted);
        free_slots(&index, &deleted);
        wait_for_older_scans(&index);
    }
    stats
}

/// Older scans may still return TIDs of rows this VACUUM removed; the heap
/// must not reuse those slots until they are done.
fn wait_for_older_scans(index: &Index) {
    drop(index.lock_pseudo_page(SCAN_LOCK, true));
}

#[pg_guard]
pub unsafe extern "C-unwind" fn amvacuumcleanup(
    info: *mut pg_sys::IndexVacuumInfo,
    stats: *mut pg_sys::IndexBulkDeleteResult,
) -> *mut pg_sys::IndexBulkDeleteResult {
    // SAFETY: as above.
    let info = unsafe { &*info };
    if info.analyze_only {
        return stats;
    }
    let index = unsafe { Index::from_raw(info.index) };
    let stats = unsafe { crate::am::stats_or_new(stats) };
    let live = live_elements(&index).len();
    // SAFETY: a palloc'd result.
    unsafe {
        (*stats).num_pages = index.block_count();
        (*stats).num_index_tuples = live as f64;
    }
    stats
}


/// Pass 1: marks the elements of dead rows Deleted, one WAL record per page.
fn remove_dead_tids(index: &Index, is_dead: &dyn Fn(Address) -> bool, stats: *mut pg_sys::IndexBulkDeleteResult) -> HashSet<Address> {
    let meta = read_meta(index);
    let dimensions = meta.dimensions as usize;
    let mut deleted = HashSet::new();
    for block in 1..index.block_count() {
        // SAFETY: honouring vacuum_cost_delay between pages.
        unsafe { pg_sys::vacuum_delay_point() };
        let dead: Vec<u16> = {
            let page = index.read(block, GRAPH_PAGE);
            let page = page.page();
            (1..=page.max_offset())
                .filter(|&offset| {
                    page.item(offset)
                        .and_then(|bytes| Element::decode(bytes, dimensions).ok())
                        .is_some_and(|e| e.state() == ElementState::Live && is_dead(e.heap_tid()))
                })
                .collect()
        };
        if dead.is_empty() {
            continue;
        }
        let mut record = WalRecord::start(index);
        let slot = record.register(index.lock_exclusive(block, GRAPH_PAGE));
        let mut page = record.page(slot);
        for &offset in &dead {
            format::set_element_state(page.item_mut(offset).expect("found above"), ElementState::Deleted);
            deleted.insert(Address { block, offset });
        }
        record.commit();
    }
    // SAFETY: the stats VACUUM gave us or we allocated.
    unsafe { (*stats).tuples_removed += deleted.len() as f64 };
    deleted
}

/// Pass 2: rebuilds every list that links to a deleted element.
fn repair_graph(index: &Index, deleted: &HashSet<Address>) {
    let meta = read_meta(index);
    let params = PageGraph::params(&meta);
    let mut graph = PageGraph::open(*index, &meta);
    let is_deleted = |node: Address| deleted.contains(&node);

    if deleted.contains(&meta.entry) {
        let new_entry = highest_live_element(index);
        update_meta(index, |meta| {
            (meta.entry, meta.entry_level) = match new_entry {
                Some((at, level)) => (at, level as u8),
                None => (Address::INVALID, 0),
            };
        });
    }
    for (node, level) in live_elements(index) {
        // SAFETY: honouring vacuum_cost_delay.
        unsafe { pg_sys::vacuum_delay_point() };
        for layer in 0..=level {
            repair_neighbors(&mut graph, &params, node, layer, &is_deleted);
        }
    }
}

/// Pass 3: deleted elements become free slots.
fn free_slots(index: &Index, deleted: &HashSet<Address>) {
    let mut blocks: Vec<u32> = deleted.iter().map(|a| a.block).collect();
    blocks.sort_unstable();
    blocks.dedup();
    for &block in &blocks {
        let mut record = WalRecord::start(index);
        let slot = record.register(index.lock_exclusive(block, GRAPH_PAGE));
        let mut page = record.page(slot);
        for offset in deleted.iter().filter(|a| a.block == block).map(|a| a.offset) {
            format::set_element_state(page.item_mut(offset).expect("marked in pass 1"), ElementState::Free);
        }
        record.commit();
    }
    if let Some(&first) = blocks.first() {
        update_meta(index, |meta| {
            if meta.free_block == INVALID_BLOCK || first < meta.free_block {
                meta.free_block = first;
            }
        });
    }
}

/// Every live element with its level, page by page.
fn live_elements(index: &Index) -> Vec<(Address, usize)> {
    let dimensions = read_meta(index).dimensions as usize;
    let mut elements = Vec::new();
    for block in 1..index.block_count() {
        let page = index.read(block, GRAPH_PAGE);
        let page = page.page();
        for offset in 1..=page.max_offset() {
            if let Some(element) = page.item(offset).and_then(|bytes| Element::decode(bytes, dimensions).ok()) {
                if element.state() == ElementState::Live {
                    elements.push((Address { block, offset }, element.level()));
                }
            }
        }
    }
    elements
}

fn highest_live_element(index: &Index) -> Option<(Address, usize)> {
    live_elements(index).into_iter().max_by_key(|&(at, level)| (level, std::cmp::Reverse(at)))
}
