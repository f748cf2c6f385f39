//! Index scans: the `ivfflat.probes` cells nearest the query are read whole,
//! their entries sorted by distance and returned nearest first. With
//! `ivfflat.iterative_scan = relaxed_order`, a scan that runs out probes the
//! next cells, up to `ivfflat.max_probes`. Conditions on filter columns
//! (`am::filter`) are checked on each entry before its distance is
//! computed, and a scan with them probes on, cell after cell, until the
//! executor has its rows or every cell is read.
//!
//! A query with no direction (`<-> NULL`, or a zero vector under cosine)
//! probes every cell and returns every entry, unordered, as a sequential scan
//! returns every row. Entries are read under a share lock of their page, and
//! nothing is held between amgettuple calls (see `am::scan`).

use std::collections::VecDeque;

use pgrx::pg_sys;
use pgrx::prelude::*;
use vector_core::{check_same_dimensions, ivf};

use super::format::{decode_link, Entry, LINK_OFFSET, LIST_PAGE};
use super::options::{IterativeScan, ITERATIVE_SCAN, MAX_PROBES, PROBES};
use super::{read_centroids, read_meta};
use crate::am::filter::ScanFilter;
use crate::am::format::Address;
use crate::am::scan;
use crate::storage::{corrupted, Index, INVALID_BLOCK};
use crate::types::OrRaise;

#[derive(Default)]
struct ScanState {
    started: bool,
    /// Cells in probing order, with their first pages; `probed` of them done.
    cells: Vec<u32>,
    probed: usize,
    /// The prepared query; None when it has no direction (every entry is returned, unordered).
    query: Option<Vec<f32>>,
    /// The scan's conditions on filter columns.
    filter: Option<ScanFilter>,
    pending: VecDeque<Address>,
}

scan::begin_and_rescan!(ScanState);

#[pg_guard]
pub unsafe extern "C-unwind" fn amgettuple(scan: pg_sys::IndexScanDesc, _direction: pg_sys::ScanDirection::Type) -> bool {
    // SAFETY: our scan, begun with a ScanState.
    let state = unsafe { scan::state::<ScanState>(scan) };
    let scan = unsafe { &mut *scan };
    let index = unsafe { Index::from_raw(scan.indexRelation) };
    if !state.started {
        start(&index, scan, state);
    }
    loop {
        if let Some(heap_tid) = state.pending.pop_front() {
            let lossy = state.filter.as_ref().is_some_and(ScanFilter::lossy);
            return scan::return_row(scan, heap_tid, lossy);
        }
        let more = if state.filter.is_some() {
            state.probed < state.cells.len()
        } else {
            ITERATIVE_SCAN.get() == IterativeScan::RelaxedOrder && state.probed < state.cells.len().min(MAX_PROBES.get() as usize)
        };
        if !more {
            return false;
        }
        probe(&index, state, state.probed + PROBES.get() as usize);
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn amendscan(scan: pg_sys::IndexScanDesc) {
    // SAFETY: our scan; its memory context frees the state itself, this
    // only lets go of what the state holds a little earlier.
    unsafe { *scan::state::<ScanState>(scan) = ScanState::default() };
}

fn start(index: &Index, scan: &pg_sys::IndexScanDescData, state: &mut ScanState) {
    state.started = true;
    let meta = read_meta(index);
    let metric = meta.metric.metric();
    state.query = scan::start(scan, "ivfflat").and_then(|(query, key_type)| {
        check_same_dimensions(meta.dimensions as usize, query.as_slice().len()).or_raise_as(key_type.name());
        // None for a zero vector, which has no cosine direction
        metric.prepare(query.as_slice())
    });
    state.filter = ScanFilter::of_scan(scan);
    let centroids = read_centroids(index, &meta);
    match &state.query {
        Some(query) => {
            let flat: Vec<f32> = centroids.iter().flat_map(|(c, _, _)| c.vector.iter().copied()).collect();
            let order = ivf::nearest_cells(query, &flat, meta.dimensions as usize, metric, centroids.len());
            state.cells = order.into_iter().map(|cell| centroids[cell].0.first).collect();
            probe(index, state, PROBES.get() as usize);
        }
        None => {
            state.cells = centroids.iter().map(|(c, _, _)| c.first).collect();
            probe(index, state, state.cells.len());
        }
    }
}

/// Reads the cells up to `until` (in probing order) and queues their live
/// entries nearest first.
fn probe(index: &Index, state: &mut ScanState, until: usize) {
    let meta = read_meta(index);
    let shape = meta.shape();
    let score = meta.metric.metric().score_fn();
    let mut widened = Vec::new();
    let until = until.min(state.cells.len());
    let mut found: Vec<(f32, Address)> = Vec::new();
    for &first in &state.cells[state.probed..until] {
        let mut block = first;
        while block != INVALID_BLOCK {
            let page = index.read(block, LIST_PAGE);
            let page = page.page();
            let link = page.item(LINK_OFFSET).and_then(|b| decode_link(b).ok()).unwrap_or_else(|| corrupted(index, block, "lacks its link"));
            for offset in LINK_OFFSET + 1..=page.max_offset() {
                let bytes = page.item(offset).unwrap_or_else(|| corrupted(index, block, "lacks an entry"));
                let entry = Entry::decode(bytes, shape).unwrap_or_else(|e| corrupted(index, block, &e.to_string()));
                if state.filter.as_ref().is_some_and(|filter| !filter.accepts(entry.filter_values())) {
                    continue;
                }
                let distance = state.query.as_ref().map_or(0.0, |query| score(query, entry.vector(&mut widened)));
                found.push((distance, entry.heap_tid()));
            }
            block = link;
        }
    }
    state.probed = until;
    found.sort_by(|a, b| a.0.total_cmp(&b.0));
    state.pending.extend(found.into_iter().map(|(_, tid)| tid));
}
