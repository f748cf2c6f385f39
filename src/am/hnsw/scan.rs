//! Index scans: `ORDER BY embedding <-> $1 LIMIT k`.
//!
//! The first amgettuple runs the search (greedy descent, then an ef_search
//! wide search on layer 0) and keeps the results; later calls hand them out
//! nearest first. With hnsw.iterative_scan on, a scan that runs out (a
//! selective WHERE clause discarding rows) searches again with a doubled ef,
//! up to hnsw.max_scan_tuples, skipping rows already returned.
//!
//! A query with no direction (`<-> NULL`, or a zero vector under cosine)
//! orders nothing: every row has the same (NULL or NaN) distance, so the
//! scan returns every indexed row, page by page, as a sequential scan would.
//!
//! Each search holds SCAN_LOCK shared while it walks the graph, and nothing
//! between amgettuple calls (see `am::scan`): VACUUM waits for running
//! searches before it frees the slots of deleted elements, never for an
//! idle cursor.

use std::collections::{HashSet, VecDeque};

use pgrx::pg_sys;
use pgrx::prelude::*;
use vector_core::check_same_dimensions;
use vector_core::hnsw::{knn_search, knn_search_estimated, EstimateQuery, Graph, HashVisited, SearchCounters};

use super::{counters, duplicates};
use super::format::{Address, Element, ElementState, Shape, GRAPH_PAGE, SCAN_LOCK};
use super::graph::{read_encoder, read_meta, PageGraph};
use super::counters::ScanCounters;
use super::options::{IterativeScan, EF_SEARCH, ITERATIVE_SCAN, MAX_SCAN_TUPLES, SCAN_MEM_MULTIPLIER};
use crate::am::scan;
use crate::storage::{BlockNumber, Index};
use crate::types::OrRaise;

#[derive(Default)]
enum Phase {
    #[default]
    NotStarted,
    /// Graph searches for this prepared query, walked by code estimates
    /// when the index has codes; `exhausted` once a search found fewer
    /// than ef elements (it saw the whole reachable graph).
    Searching { query: Query, ef: usize, exhausted: bool },
    /// A query with no direction: every element, from this page on.
    EveryElement { next_block: BlockNumber, shape: Shape },
}

/// A query vector, prepared against the index's codes if it has them.
enum Query {
    Exact(Vec<f32>),
    Estimated(EstimateQuery),
}

struct ScanState {
    phase: Phase,
    /// Found but not yet returned, nearest first.
    pending: VecDeque<Address>,
    /// Heap TIDs already queued, so a wider search does not repeat them.
    returned: HashSet<Address>,
    /// The largest distance queued so far (strict_order returns nothing closer).
    last_score: f32,
    /// What the last search held in memory, by [`search_memory`].
    search_bytes: usize,
}

impl Default for ScanState {
    fn default() -> Self {
        Self {
            phase: Phase::NotStarted,
            pending: VecDeque::new(),
            returned: HashSet::new(),
            last_score: f32::NEG_INFINITY,
            search_bytes: 0,
        }
    }
}

scan::begin_and_rescan!(ScanState);

#[pg_guard]
pub unsafe extern "C-unwind" fn amgettuple(scan: pg_sys::IndexScanDesc, _direction: pg_sys::ScanDirection::Type) -> bool {
    // SAFETY: our scan, begun with a ScanState.
    let state = unsafe { scan::state::<ScanState>(scan) };
    let scan = unsafe { &mut *scan };
    let index = unsafe { Index::from_raw(scan.indexRelation) };
    if matches!(state.phase, Phase::NotStarted) {
        start(&index, scan, state);
    }
    loop {
        if let Some(heap_tid) = state.pending.pop_front() {
            counters::count(|c| c.rows += 1);
            return scan::return_row(scan, heap_tid);
        }
        if !find_more(&index, state) {
            return false;
        }
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn amendscan(scan: pg_sys::IndexScanDesc) {
    // SAFETY: our scan; its memory context frees the state itself, this
    // only lets go of what the state holds a little earlier.
    unsafe { *scan::state::<ScanState>(scan) = ScanState::default() };
}

/// Reads the query and runs the first search.
fn start(index: &Index, scan: &pg_sys::IndexScanDescData, state: &mut ScanState) {
    counters::start_scan();
    let meta = read_meta(index);
    let query = scan::start(scan, "hnsw").map(|(query, key_type)| {
        if !meta.shape().lengths_vary {
            check_same_dimensions(meta.dimensions as usize, query.as_slice().len()).or_raise_as(key_type.name());
        }
        meta.metric.metric().prepare(query.as_slice())
    });
    match query {
        Some(Some(vector)) => {
            let metric = meta.metric.metric();
            let estimated = read_encoder(index, &meta).and_then(|encoder| EstimateQuery::new(&encoder, &vector, metric));
            let query = estimated.map_or(Query::Exact(vector), Query::Estimated);
            state.phase = Phase::Searching { query, ef: EF_SEARCH.get() as usize, exhausted: false };
            search(index, state);
        }
        // NULL, or a zero vector that has no cosine direction
        Some(None) | None => state.phase = Phase::EveryElement { next_block: 1, shape: meta.shape() },
    }
}

/// Queues more rows; false when there are no more to find.
fn find_more(index: &Index, state: &mut ScanState) -> bool {
    match &mut state.phase {
        Phase::NotStarted => false,
        Phase::EveryElement { next_block, shape } => {
            if *next_block >= index.block_count() {
                return false;
            }
            queue_page(index, *next_block, *shape, &mut state.pending);
            *next_block += 1;
            true
        }
        // With iterative scans on, a search with twice the ef.
        Phase::Searching { ef, exhausted, .. } => {
            if !may_widen(*ef, *exhausted, state.search_bytes) {
                return false;
            }
            *ef = (*ef * 2).min(MAX_SCAN_TUPLES.get().max(1) as usize);
            search(index, state);
            true
        }
    }
}

/// Whether an iterative scan runs a wider search after one with `ef` that
/// held `search_bytes`: while it found ef rows, stays within
/// `hnsw.max_scan_tuples`, and the next search (twice as wide) within
/// `work_mem` × `hnsw.scan_mem_multiplier`.
fn may_widen(ef: usize, exhausted: bool, search_bytes: usize) -> bool {
    ITERATIVE_SCAN.get() != IterativeScan::Off
        && !exhausted
        && ef < MAX_SCAN_TUPLES.get().max(1) as usize
        && 2 * search_bytes <= scan_memory_limit()
}

/// What a search holds besides its visited set, per element it scores: a
/// candidate entry (a score and an address, 12 bytes); and per row the scan
/// has queued, its TID in `returned` and `pending` (with the hash table's
/// slack).
const BYTES_PER_SCORED: usize = 12;
const BYTES_PER_ROW: usize = 32;

/// The memory a search held: its visited set, its candidates (from
/// `counters`), and the rows the scan has queued.
fn search_memory(visited: &HashVisited<Address>, counters: &ScanCounters, rows_queued: usize) -> usize {
    visited.memory_bytes() + (counters.distances + counters.estimates) as usize * BYTES_PER_SCORED + rows_queued * BYTES_PER_ROW
}

/// `work_mem` × `hnsw.scan_mem_multiplier`, in bytes: what an iterative
/// scan may use (as in pgvector).
fn scan_memory_limit() -> usize {
    // SAFETY: reading a GUC variable (kilobytes).
    let work_mem = unsafe { pg_sys::work_mem } as f64 * 1024.0;
    (work_mem * SCAN_MEM_MULTIPLIER.get()) as usize
}

/// Searches with the current ef and queues the results not yet returned.
fn search(index: &Index, state: &mut ScanState) {
    let Phase::Searching { query, ef, exhausted } = &mut state.phase else { return };
    let meta = read_meta(index);
    let mut graph = PageGraph::open(*index, &meta);
    let mut visited = graph.new_visited();
    let mut found = {
        // Slots VACUUM frees are not reused while a search may walk them.
        let _searching = index.lock_pseudo_page(SCAN_LOCK, false);
        match query {
            Query::Exact(vector) => knn_search(&mut graph, vector, *ef, &mut visited),
            Query::Estimated(query) => knn_search_estimated(&mut graph, query, *ef, &mut visited, &mut SearchCounters::default()),
        }
    };
    counters::count(|c| {
        c.searches += 1;
        c.ef = c.ef.max(*ef as u64);
        graph.count_into(c);
    });
    let mut this_search = ScanCounters::default();
    graph.count_into(&mut this_search);
    state.search_bytes = search_memory(&visited, &this_search, state.returned.len() + found.len());
    *exhausted = found.len() < *ef;
    let iterative = ITERATIVE_SCAN.get();
    let wider_search_follows = may_widen(*ef, *exhausted, state.search_bytes);
    if wider_search_follows {
        // The far end of a result list is the least reliable; the next,
        // wider search finds those rows again, and more accurately.
        found.truncate(ef.div_ceil(2));
    }
    let strict = iterative == IterativeScan::StrictOrder;
    let mut heap_tids = Vec::new();
    for candidate in found {
        if strict && candidate.distance < state.last_score {
            continue; // returning it now would break the order
        }
        heap_tids.clear();
        if !graph.live_heap_tids(candidate.node, &mut heap_tids) {
            continue;
        }
        for &heap_tid in &heap_tids {
            if state.returned.insert(heap_tid) {
                state.pending.push_back(heap_tid);
                state.last_score = state.last_score.max(candidate.distance);
            }
        }
    }
}

/// Queues the heap TIDs of the live elements on one page.
fn queue_page(index: &Index, block: BlockNumber, shape: Shape, pending: &mut VecDeque<Address>) {
    let mut heap_tids = Vec::new();
    let mut chains = Vec::new();
    {
        let Some(page) = index.read_initialized(block, GRAPH_PAGE) else { return };
        let page = page.page();
        for offset in 1..=page.max_offset() {
            let element = page.item(offset).and_then(|bytes| Element::decode(bytes, shape).ok());
            if let Some(element) = element.filter(|e| e.state() == ElementState::Live) {
                heap_tids.extend(Some(element.heap_tid()).filter(Address::is_valid));
                chains.push(element.duplicates());
            }
        }
    }
    // One page lock at a time: the chains after the page is released.
    for head in chains {
        duplicates::read_chain(index, head, &mut heap_tids);
    }
    pending.extend(heap_tids);
}
