//! Index scans: `ORDER BY embedding <-> $1 LIMIT k`.
//!
//! The first amgettuple runs the search (greedy descent, then an ef_search
//! wide search on layer 0, `vector_core::hnsw::ResumableSearch`) and keeps
//! its first batch; later calls hand the rows out nearest first. When the
//! executor wants more, the search resumes where it stopped for another
//! batch: always when the index evaluates WHERE conditions on filter
//! columns (`am::filter`: elements that fail them are walked through, never
//! returned, so the scan ends only when the reachable graph does), and
//! otherwise with hnsw.iterative_scan on (a WHERE clause the executor
//! checks discarding rows), up to hnsw.max_scan_tuples elements met. With
//! an `=` or `IN` condition on a linked column (`values.rs`) the search
//! walks those values' graphs instead, and once they run out the scan ends
//! with the matching elements that walk did not reach, read from every
//! page and scored exactly (`remaining_matches`). An
//! iterative scan's batches hand out only the nearer half of their results
//! and grow twice as wide each time (see `ResumableSearch`), since the
//! executor is expected to discard rows; a filtered scan's are whole.
//!
//! Between two batches the scan keeps addresses of elements, and no lock:
//! VACUUM may free one of them, and an insert reuse its slot, meanwhile. The
//! search then walks the new element's links, and may return its row, which
//! the executor skips as newer than the scan's MVCC snapshot (`am::scan`).
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
use vector_core::hnsw::{Candidate, EstimateQuery, EstimatingGraph, Graph, HashVisited, ResumableSearch, SearchQuery};

use super::{counters, duplicates};
use super::format::{Address, MetaPage, Shape, SCAN_LOCK};
use super::graph::{for_each_live_element, read_encoder, read_meta, PageGraph};
use super::values::{self, ValueGraph};
use super::options::{IterativeScan, EF_SEARCH, ITERATIVE_SCAN, MAX_SCAN_TUPLES, SCAN_MEM_MULTIPLIER};
use crate::am::filter::ScanFilter;
use crate::am::scan;
use crate::storage::{BlockNumber, Index};
use crate::types::OrRaise;

#[derive(Default)]
enum Phase {
    #[default]
    NotStarted,
    /// The graph search, one batch at a time, for rows that meet `filter`.
    Searching { search: Box<ResumableSearch<PageGraph>>, filter: Option<ScanFilter> },
    /// A walk of the value graphs of `column` (values.rs) for the values
    /// `filter` asks it to equal; once it runs out, the elements that meet
    /// `filter` and it did not return, in exact order (`remaining_matches`).
    SearchingValues { search: Box<ResumableSearch<ValueGraph>>, column: usize, filter: ScanFilter, returned: HashSet<Address> },
    /// Every row found is queued.
    Done,
    /// A query with no direction: every element that meets `filter`,
    /// from this page on.
    EveryElement { next_block: BlockNumber, shape: Shape, filter: Option<ScanFilter> },
}

struct ScanState {
    phase: Phase,
    /// Found but not yet returned, nearest first.
    pending: VecDeque<Address>,
    /// The largest distance queued so far (strict_order returns nothing closer).
    last_score: f32,
    /// Whether the executor rechecks the rows (`ScanFilter::lossy`).
    lossy: bool,
}

impl Default for ScanState {
    fn default() -> Self {
        Self { phase: Phase::NotStarted, pending: VecDeque::new(), last_score: f32::NEG_INFINITY, lossy: false }
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
            return scan::return_row(scan, heap_tid, state.lossy);
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

/// Reads the query and the filter, and runs the first search.
fn start(index: &Index, scan: &pg_sys::IndexScanDescData, state: &mut ScanState) {
    counters::start_scan();
    let meta = read_meta(index);
    let query = scan::start(scan, "hnsw").map(|(query, key_type)| {
        if !meta.shape().lengths_vary {
            check_same_dimensions(meta.dimensions as usize, query.as_slice().len()).or_raise_as(key_type.name());
        }
        meta.metric.metric().prepare(query.as_slice())
    });
    let filter = ScanFilter::of_scan(scan);
    state.lossy = filter.as_ref().is_some_and(ScanFilter::lossy);
    match query {
        Some(Some(vector)) => {
            let ef = EF_SEARCH.get() as usize;
            let value_walk = filter.as_ref().and_then(|filter| value_walk(index, &meta, filter));
            state.phase = match (value_walk, filter) {
                (Some((column, entry_points)), Some(filter)) => {
                    let graph = ValueGraph::open(PageGraph::open(*index, &meta), *index, &meta, column, None);
                    let search = ResumableSearch::from_entry_points(&graph, search_query(index, &meta, vector), ef, entry_points);
                    Phase::SearchingValues { search: Box::new(search), column, filter, returned: HashSet::new() }
                }
                (_, filter) => {
                    let search = Box::new(ResumableSearch::new(&PageGraph::open(*index, &meta), search_query(index, &meta, vector), ef));
                    Phase::Searching { search, filter }
                }
            };
            search_batch(index, state);
        }
        // NULL, or a zero vector that has no cosine direction
        Some(None) | None => state.phase = Phase::EveryElement { next_block: 1, shape: meta.shape(), filter },
    }
}

/// How the query walks the whole graph: over codes when the index has them.
fn search_query(index: &Index, meta: &MetaPage, vector: Vec<f32>) -> SearchQuery {
    let estimated = read_encoder(index, meta).and_then(|encoder| EstimateQuery::new(&encoder, &vector, meta.metric.metric()));
    estimated.map_or(SearchQuery::Exact(vector), SearchQuery::Estimated)
}

/// The linked column whose value graphs the scan walks, and their entry
/// elements: of the linked columns `filter` asks to equal some values, the
/// one with the fewest values.
fn value_walk(index: &Index, meta: &MetaPage, filter: &ScanFilter) -> Option<(usize, Vec<Address>)> {
    let linked = (0..meta.filter_columns as usize).filter(|&column| meta.value_list_of(column).is_some());
    let (column, words) = linked.filter_map(|column| Some((column, filter.equal_words(column)?))).min_by_key(|(_, words)| words.len())?;
    Some((column, values::entry_points(index, column, &words)))
}

/// Queues more rows; false when there are no more to find.
fn find_more(index: &Index, state: &mut ScanState) -> bool {
    match &mut state.phase {
        Phase::NotStarted | Phase::Done => false,
        Phase::EveryElement { next_block, shape, filter } => {
            if *next_block >= index.block_count() {
                return false;
            }
            queue_page(index, *next_block, *shape, filter.as_ref(), &mut state.pending);
            *next_block += 1;
            true
        }
        Phase::Searching { search, filter } => may_go_on(search, filter.is_some(), state.pending.len()) && search_batch(index, state),
        // A filtered scan goes on until the reachable graph is exhausted.
        Phase::SearchingValues { .. } => search_batch(index, state),
    }
}

/// Whether a scan whose first batch did not give the executor all the rows
/// it wanted searches on: always when the index evaluates WHERE conditions
/// (the walk then ends only when the reachable graph does); otherwise only
/// with hnsw.iterative_scan on, while the search has met fewer than
/// `hnsw.max_scan_tuples` elements and holds less than `work_mem` ×
/// `hnsw.scan_mem_multiplier`.
fn may_go_on(search: &ResumableSearch<PageGraph>, filtered: bool, rows_queued: usize) -> bool {
    if filtered {
        return true;
    }
    ITERATIVE_SCAN.get() != IterativeScan::Off
        && search.discovered() < MAX_SCAN_TUPLES.get().max(1) as u64
        && search_memory(search.visited(), search.held(), rows_queued) <= scan_memory_limit()
}

/// What a search holds besides its visited set: an entry (a score, an
/// address and a flag, 16 bytes) per element discovered and not handed out
/// yet, and per row the scan has queued, its TID.
const BYTES_PER_HELD: usize = 16;
const BYTES_PER_ROW: usize = 8;

/// The memory a search holds.
fn search_memory(visited: &HashVisited<Address>, held: usize, rows_queued: usize) -> usize {
    visited.memory_bytes() + held * BYTES_PER_HELD + rows_queued * BYTES_PER_ROW
}

/// `work_mem` × `hnsw.scan_mem_multiplier`, in bytes: what an iterative
/// scan may use (as in pgvector).
fn scan_memory_limit() -> usize {
    // SAFETY: reading a GUC variable (kilobytes).
    let work_mem = unsafe { pg_sys::work_mem } as f64 * 1024.0;
    (work_mem * SCAN_MEM_MULTIPLIER.get()) as usize
}

/// Searches the next batch and queues its rows; false when the search has
/// nothing left. A value walk that has nothing left ends with the matching
/// elements it did not return (`remaining_matches`).
fn search_batch(index: &Index, state: &mut ScanState) -> bool {
    let meta = read_meta(index);
    // Whether the executor is expected to discard rows and ask for more
    // (an iterative scan: `may_go_on`); conditions on filter columns
    // discard nothing the scan returns, so their batches are handed out whole.
    let more_may_follow = ITERATIVE_SCAN.get() != IterativeScan::Off;
    let (batch, mut graph) = match &mut state.phase {
        Phase::Searching { search, filter } => {
            let mut graph = PageGraph::open(*index, &meta);
            let batch = searched(index, search, &mut graph, more_may_follow, |graph, node| graph.may_return(node, filter.as_ref()));
            graph.count_into_scan();
            (batch, graph)
        }
        Phase::SearchingValues { search, column, filter, returned } => {
            let mut values = ValueGraph::open(PageGraph::open(*index, &meta), *index, &meta, *column, None);
            let batch = searched(index, search, &mut values, more_may_follow, |values, node| values.pages().may_return(node, Some(filter)));
            let mut graph = values.into_pages();
            let batch = if batch.is_empty() {
                let remaining = remaining_matches(index, &meta, &mut graph, filter, returned, search.vector());
                state.phase = Phase::Done;
                remaining
            } else {
                returned.extend(batch.iter().map(|candidate| candidate.node));
                batch
            };
            graph.count_into_scan();
            (batch, graph)
        }
        Phase::NotStarted | Phase::EveryElement { .. } | Phase::Done => return false,
    };
    if batch.is_empty() {
        return false;
    }
    let strict = ITERATIVE_SCAN.get() == IterativeScan::StrictOrder;
    let mut heap_tids = Vec::new();
    for candidate in batch {
        if strict && candidate.distance < state.last_score {
            continue; // returning it now would break the order
        }
        heap_tids.clear();
        if graph.live_heap_tids(candidate.node, &mut heap_tids) {
            state.pending.extend(&heap_tids);
            state.last_score = state.last_score.max(candidate.distance);
        }
    }
    true
}

/// The live elements that meet `filter` and are not among `returned`,
/// nearest first: read from every page of the index and scored exactly.
/// What a value walk ends with, so that a scan on a linked column returns
/// every matching row even if its value's graph does not reach them all
/// (VACUUM relinks such elements, `values::relink_unreached`), and pays
/// one pass over the pages, not a walk of the whole graph, to learn that
/// there are no more (as when the values have fewer rows than LIMIT).
fn remaining_matches(index: &Index, meta: &MetaPage, graph: &mut PageGraph, filter: &ScanFilter, returned: &HashSet<Address>, query: &[f32]) -> Vec<Candidate<Address>> {
    let shape = meta.shape();
    let _searching = index.lock_pseudo_page(SCAN_LOCK, false);
    let mut nodes = Vec::new();
    for block in 1..index.block_count() {
        for_each_live_element(index, block, shape, Some(filter), |at, _| {
            if !returned.contains(&at) {
                nodes.push(at);
            }
        });
    }
    let mut scores = Vec::new();
    graph.distances(query, &nodes, &mut scores);
    let mut remaining: Vec<Candidate<Address>> = nodes.into_iter().zip(scores).map(|(node, distance)| Candidate { distance, node }).collect();
    remaining.sort_unstable();
    remaining
}

/// The next batch of `search` over `graph`, holding SCAN_LOCK shared while
/// it walks (slots VACUUM frees are not reused meanwhile); counted in
/// hnsw_last_scan().
fn searched<G: EstimatingGraph<Node = Address>>(
    index: &Index,
    search: &mut ResumableSearch<G>,
    graph: &mut G,
    more_may_follow: bool,
    accepts: impl FnMut(&mut G, Address) -> bool,
) -> Vec<Candidate<Address>> {
    let ef = search.ef();
    let batch = {
        let _searching = index.lock_pseudo_page(SCAN_LOCK, false);
        search.next_batch(graph, accepts, more_may_follow)
    };
    counters::count(|c| {
        c.searches += 1;
        c.ef = c.ef.max(ef as u64);
    });
    batch
}

/// Queues the heap TIDs of the live elements on one page.
fn queue_page(index: &Index, block: BlockNumber, shape: Shape, filter: Option<&ScanFilter>, pending: &mut VecDeque<Address>) {
    let mut heap_tids = Vec::new();
    let mut chains = Vec::new();
    for_each_live_element(index, block, shape, filter, |_, element| {
        heap_tids.extend(Some(element.heap_tid()).filter(Address::is_valid));
        chains.push(element.duplicates());
    });
    // One page lock at a time: the chains after the page is released.
    for head in chains {
        duplicates::read_chain(index, head, &mut heap_tids);
    }
    pending.extend(heap_tids);
}
