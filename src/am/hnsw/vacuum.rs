//! VACUUM, in three passes:
//!
//! 1. remove TIDs: dead rows leave their elements and duplicates chains;
//!    an element left with no row is marked Deleted (scans stop returning
//!    it at once, but may still walk through it);
//! 2. repair the graph: once the inserts that started before pass 1 are done
//!    (UPDATE_LOCK; later inserts never link to a deleted element), every
//!    list that points at a deleted element is rebuilt, and a deleted entry
//!    point is replaced by the highest live element; then each element the
//!    repair may have cut off is searched for by its own vector and linked
//!    where that search ends if it is not found. Inserts keep running;
//!    the repair walks the pages as they are, new elements included;
//! 3. free slots: no live element links to the deleted elements any more;
//!    once the inserts and searches that started before the repair are done
//!    (UPDATE_LOCK, SCAN_LOCK), they become Free for inserts to reuse, and
//!    the meta page points inserts at the first page that has one.
//!
//! Every pass can be interrupted (a cancel, an ERROR, a crash): pass 1 also
//! collects the elements an earlier VACUUM left Deleted, so the next VACUUM
//! repairs and frees them.
//!
//! The value graphs of linked filter columns (values.rs) are repaired the
//! same way in pass 2, after the HNSW lists.
//!
//! Every VACUUM (autovacuum's after inserts too, with no dead rows) ends in
//! amvacuumcleanup with a walk over layer 0 from the entry point: a live
//! element it does not reach, which inserts can leave behind as an island
//! (`vector_core::hnsw::unreached`), is searched for by its own vector once
//! the inserts under way are done, and linked where that search ends; so
//! is each live element its value graphs do not reach.

use std::collections::HashSet;

use pgrx::prelude::*;
use pgrx::pg_sys;
use vector_core::hnsw::{relink_cut_off, repair_neighbors, unreached, Graph};

use super::duplicates;
use super::format::{self, Address, Element, ElementState, GRAPH_PAGE, SCAN_LOCK, UPDATE_LOCK};
use super::graph::{decode_element, for_each_live_element, read_meta, update_meta, PageGraph};
use super::values::{self, ValueMembers};
use crate::am::DeadRows;
use crate::storage::{BlockNumber, Index, WalRecord, INVALID_BLOCK};

#[pg_guard]
pub unsafe extern "C-unwind" fn ambulkdelete(
    info: *mut pg_sys::IndexVacuumInfo,
    stats: *mut pg_sys::IndexBulkDeleteResult,
    callback: pg_sys::IndexBulkDeleteCallback,
    callback_state: *mut std::ffi::c_void,
) -> *mut pg_sys::IndexBulkDeleteResult {
    // SAFETY: PostgreSQL passes an open index and its buffer strategy in `info`.
    let index = unsafe { Index::from_raw((*info).index).with_strategy((*info).strategy) };
    let stats = unsafe { crate::am::stats_or_new(stats) };
    let dead_rows = DeadRows::new(callback, callback_state);

    let deleted = remove_dead_tids(&index, &dead_rows, stats);
    if !deleted.is_empty() {
        // Inserts that chose their neighbors before pass 1 may link to an
        // element it deleted; later ones never link to a deleted element.
        wait_for_running(&index, UPDATE_LOCK);
        repair_graph(&index, &deleted);
        // Inserts and searches that started before the repair may still
        // walk through deleted elements; later ones cannot reach them.
        wait_for_running(&index, UPDATE_LOCK);
        wait_for_running(&index, SCAN_LOCK);
        free_slots(&index, &deleted);
    }
    stats
}

/// Waits for every insert (UPDATE_LOCK) or graph search (SCAN_LOCK) in
/// progress. Each holds its lock for one insert or one search, never across
/// calls from the executor, so this waits for work in progress, never for
/// an idle cursor or transaction; and VACUUM holds nothing while it waits.
fn wait_for_running(index: &Index, pseudo_page: BlockNumber) {
    drop(index.lock_pseudo_page(pseudo_page, true));
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
    let index = unsafe { Index::from_raw(info.index).with_strategy(info.strategy) };
    let stats = unsafe { crate::am::stats_or_new(stats) };
    let live = LiveElements::gather(&index);
    relink_unreached(&index, &live);
    // SAFETY: a palloc'd result.
    unsafe {
        (*stats).num_pages = index.block_count();
        (*stats).num_index_tuples = live.rows as f64;
    }
    stats
}


/// Pass 1: removes the TIDs of dead rows, from the elements and from their
/// duplicates chains, and marks Deleted the elements left with no row, one
/// WAL record per page (and per changed chain tuple). Returns the deleted
/// elements, with those an interrupted VACUUM left.
fn remove_dead_tids(index: &Index, dead_rows: &DeadRows, stats: *mut pg_sys::IndexBulkDeleteResult) -> HashSet<Address> {
    let meta = read_meta(index);
    let shape = meta.shape();
    let mut deleted = HashSet::new();
    let mut removed = 0;
    for block in 1..index.block_count() {
        // SAFETY: honouring vacuum_cost_delay between pages.
        unsafe { pg_sys::vacuum_delay_point() };
        // Live elements that may have lost their last row, and live chains.
        let mut rowless = Vec::new();
        let mut chains = Vec::new();
        {
            let Some(page) = index.read_initialized(block, GRAPH_PAGE) else { continue };
            let page = page.page();
            for offset in 1..=page.max_offset() {
                let Some(element) = page.item(offset).and_then(|bytes| Element::decode(bytes, shape).ok()) else { continue };
                let at = Address { block, offset };
                match element.state() {
                    ElementState::Live => {
                        let own = element.heap_tid();
                        if element.duplicate_count() > 0 {
                            chains.push((at, element.duplicates(), !own.is_valid()));
                        }
                        if (own.is_valid() && dead_rows.contains(own)) || !element.has_rows() {
                            rowless.push(offset);
                        }
                    }
                    ElementState::Deleted => {
                        deleted.insert(at);
                    }
                    ElementState::Free => {}
                }
            }
        }
        for (at, head, only_duplicates) in chains {
            let gone = duplicates::remove_dead(index, shape, at, head, dead_rows);
            if gone > 0 && only_duplicates && !rowless.contains(&at.offset) {
                rowless.push(at.offset);
            }
            removed += gone;
        }
        if rowless.is_empty() {
            continue;
        }
        let mut record = WalRecord::start(index);
        let slot = record.register(index.lock_exclusive(block, GRAPH_PAGE));
        let mut page = record.page(slot);
        for &offset in &rowless {
            let bytes = page.item_mut(offset).expect("found above");
            // Decided under the page lock: an insert adds a duplicate under it.
            let element = Element::decode(bytes, shape).expect("decoded above");
            let own = element.heap_tid();
            if own.is_valid() && dead_rows.contains(own) {
                format::clear_element_heap_tid(bytes);
                removed += 1;
            }
            if !Element::decode(bytes, shape).expect("decoded above").has_rows() {
                format::set_element_state(bytes, ElementState::Deleted);
                deleted.insert(Address { block, offset });
            }
        }
        record.commit();
    }
    // SAFETY: the stats VACUUM gave us or we allocated.
    unsafe { (*stats).tuples_removed += removed as f64 };
    deleted
}

/// Pass 2: rebuilds every list that links to a deleted element, then makes
/// sure a search still finds each element that may have lost an incoming
/// link meanwhile.
fn repair_graph(index: &Index, deleted: &HashSet<Address>) {
    let meta = read_meta(index);
    let params = PageGraph::params(&meta);
    let mut graph = PageGraph::open(*index, &meta);
    let is_deleted = |node: Address| deleted.contains(&node);
    let live = LiveElements::gather(index);

    if deleted.contains(&meta.entry) {
        let new_entry = live.levels.iter().copied().max_by_key(|&(at, level)| (level, std::cmp::Reverse(at)));
        update_meta(index, |meta| {
            (meta.entry, meta.entry_level) = match new_entry {
                Some((at, level)) => (at, level as u8),
                None => (Address::INVALID, 0),
            };
        });
    }
    // The live elements that may lose an incoming link: those the deleted
    // ones link to, and those a repaired list drops.
    let mut cut_off = Vec::new();
    for &node in deleted {
        graph.neighbors(node, 0, &mut cut_off);
    }
    cut_off.retain(|&node| !is_deleted(node));
    for &(node, level) in &live.levels {
        // SAFETY: honouring vacuum_cost_delay.
        unsafe { pg_sys::vacuum_delay_point() };
        for layer in 0..=level {
            repair_neighbors(&mut graph, &params, node, layer, &is_deleted, &mut cut_off);
        }
    }
    // SAFETY: honouring vacuum_cost_delay.
    relink_cut_off(&mut graph, &params, cut_off, &mut || unsafe { pg_sys::vacuum_delay_point() });
    if meta.linked_columns != 0 {
        let mut deleted_members = ValueMembers::new();
        let shape = meta.shape();
        for &node in deleted {
            let page = index.read(node.block, GRAPH_PAGE);
            values::add_member(&meta, &mut deleted_members, node, decode_element(index, page.page(), node, shape).filter_values());
        }
        // SAFETY: honouring vacuum_cost_delay.
        values::repair(index, &meta, &live.value_members, &deleted_members, &mut || unsafe { pg_sys::vacuum_delay_point() });
    }
}

/// The last pass: links back every live element a walk from the entry
/// point does not reach. An element an insert has stored but not yet linked
/// looks unreached too: the walk's finds are searched for by their own
/// vectors only after the inserts under way are done, and linked only if
/// the search misses them.
fn relink_unreached(index: &Index, live: &LiveElements) {
    let meta = read_meta(index);
    let mut graph = PageGraph::open(*index, &meta);
    let elements: Vec<Address> = live.levels.iter().map(|&(at, _)| at).collect();
    let cut_off = unreached(&mut graph, &elements);
    if !cut_off.is_empty() {
        wait_for_running(index, UPDATE_LOCK);
        // SAFETY: honouring vacuum_cost_delay.
        relink_cut_off(&mut graph, &PageGraph::params(&meta), cut_off, &mut || unsafe { pg_sys::vacuum_delay_point() });
    }
    if meta.linked_columns != 0 {
        // SAFETY: honouring vacuum_cost_delay.
        values::relink_unreached(index, &meta, &live.value_members, &mut || unsafe { pg_sys::vacuum_delay_point() });
    }
}

/// Pass 3: deleted elements become free slots, their duplicates chains
/// emptied first (no insert adds to a deleted element).
fn free_slots(index: &Index, deleted: &HashSet<Address>) {
    let shape = read_meta(index).shape();
    let mut blocks: Vec<u32> = deleted.iter().map(|a| a.block).collect();
    blocks.sort_unstable();
    blocks.dedup();
    for &block in &blocks {
        let chains: Vec<Address> = {
            let page = index.read(block, GRAPH_PAGE);
            let page = page.page();
            deleted
                .iter()
                .filter(|a| a.block == block)
                .filter_map(|a| page.item(a.offset).and_then(|bytes| Element::decode(bytes, shape).ok()))
                .map(|element| element.duplicates())
                .filter(Address::is_valid)
                .collect()
        };
        for head in chains {
            duplicates::clear_chain(index, head);
        }
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

/// What a pass of VACUUM needs to know of the live elements, read in one
/// walk over the pages.
struct LiveElements {
    /// Every live element with its level.
    levels: Vec<(Address, usize)>,
    /// The live elements of each value of the linked columns.
    value_members: ValueMembers,
    /// How many heap TIDs they hold.
    rows: usize,
}

impl LiveElements {
    fn gather(index: &Index) -> Self {
        let meta = read_meta(index);
        let shape = meta.shape();
        let mut live = LiveElements { levels: Vec::new(), value_members: ValueMembers::new(), rows: 0 };
        for block in 1..index.block_count() {
            for_each_live_element(index, block, shape, None, |at, element| {
                live.levels.push((at, element.level()));
                live.rows += usize::from(element.heap_tid().is_valid()) + element.duplicate_count();
                values::add_member(&meta, &mut live.value_members, at, element.filter_values());
            });
        }
        live
    }
}
