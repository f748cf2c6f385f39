//! Index scans: `ORDER BY embedding <-> $1 LIMIT k`.
//!
//! The first amgettuple runs the search (greedy descent, then an ef_search
//! wide search on layer 0) and keeps the results; later calls hand them out
//! nearest first. With hnsw.iterative_scan on, a scan that runs out (a
//! selective WHERE clause discarding rows) searches again with a doubled ef,
//! up to hnsw.max_scan_tuples, skipping rows already returned.
//!
//! A scan holds SCAN_LOCK shared from its first search to its end, so
//! VACUUM cannot finish (and the heap cannot reuse a dead row's slot) while
//! the scan may still return that row's TID.

use std::collections::{HashSet, VecDeque};

use pgrx::prelude::*;
use pgrx::pg_sys;
use vector_core::check_same_dimensions;
use vector_core::hnsw::{knn_search, Graph};

use super::format::{Address, ElementState, SCAN_LOCK};
use super::graph::{read_meta, PageGraph};
use super::options::{IterativeScan, EF_SEARCH, ITERATIVE_SCAN, MAX_SCAN_TUPLES};
use super::prepare_vector;
use crate::storage::{Index, PageLock};
use crate::vector::{OrRaise, PgVector};

struct ScanState {
    /// The prepared query vector; None when there is nothing to return.
    query: Option<Vec<f32>>,
    started: bool,
    ef: usize,
    /// Found but not yet returned, nearest first: (score, heap TID).
    pending: VecDeque<(f32, Address)>,
    returned: HashSet<Address>,
    last_score: f32,
    /// The whole reachable graph has been searched.
    exhausted: bool,
    _scan_lock: Option<PageLock>,
}

impl ScanState {
    fn new() -> Self {
        Self {
            query: None,
            started: false,
            ef: 0,
            pending: VecDeque::new(),
            returned: HashSet::new(),
            last_score: f32::NEG_INFINITY,
            exhausted: false,
            _scan_lock: None,
        }
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn ambeginscan(index: pg_sys::Relation, nkeys: i32, norderbys: i32) -> pg_sys::IndexScanDesc {
    // SAFETY: PostgreSQL's own scan descriptor constructor.
    let scan = unsafe { pg_sys::RelationGetIndexScan(index, nkeys, norderbys) };
    let state = Box::new(ScanState::new());
    unsafe { (*scan).opaque = Box::into_raw(state).cast() };
    scan
}

#[pg_guard]
pub unsafe extern "C-unwind" fn amrescan(
    scan: pg_sys::IndexScanDesc,
    _keys: pg_sys::ScanKey,
    _nkeys: i32,
    orderbys: pg_sys::ScanKey,
    norderbys: i32,
) {
    // SAFETY: our scan; orderbys holds norderbys keys to copy into it.
    unsafe {
        if !orderbys.is_null() && norderbys > 0 {
            std::ptr::copy(orderbys, (*scan).orderByData, norderbys as usize);
        }
        *(*scan).opaque.cast::<ScanState>() = ScanState::new();
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn amgettuple(scan: pg_sys::IndexScanDesc, _direction: pg_sys::ScanDirection::Type) -> bool {
    // SAFETY: our scan and its state.
    let (scan, state) = unsafe { (&mut *scan, &mut *scan.as_ref().unwrap().opaque.cast::<ScanState>()) };
    let index = unsafe { Index::from_raw(scan.indexRelation) };
    if !state.started {
        start(&index, scan, state);
    }
    loop {
        if let Some((_, heap_tid)) = state.pending.pop_front() {
            pgrx::itemptr::item_pointer_set_all(&mut scan.xs_heaptid, heap_tid.block, heap_tid.offset);
            scan.xs_recheck = false;
            scan.xs_recheckorderby = false;
            return true;
        }
        if !search_further(&index, state) {
            return false;
        }
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn amendscan(scan: pg_sys::IndexScanDesc) {
    // SAFETY: the state ambeginscan boxed; dropping it releases the scan lock.
    unsafe {
        drop(Box::from_raw((*scan).opaque.cast::<ScanState>()));
        (*scan).opaque = std::ptr::null_mut();
    }
}

/// Reads the query vector and runs the first search.
fn start(index: &Index, scan: &pg_sys::IndexScanDescData, state: &mut ScanState) {
    state.started = true;
    if scan.numberOfOrderBys == 0 {
        ereport!(ERROR, PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED, "hnsw index scans need an ORDER BY distance");
    }
    // SAFETY: numberOfOrderBys >= 1 keys were copied by amrescan.
    let key = unsafe { &*scan.orderByData };
    if key.sk_flags & pg_sys::SK_ISNULL as i32 != 0 {
        return; // ORDER BY distance to NULL: no row has a distance
    }
    let meta = read_meta(index);
    // SAFETY: the ORDER BY argument of our operators is a vector.
    let query = unsafe { PgVector::from_datum_unchecked(key.sk_argument) };
    check_same_dimensions(meta.dimensions as usize, query.dim()).or_raise();
    // A zero query has no cosine distance to anything: nothing to return.
    state.query = prepare_vector(meta.metric.metric(), query.as_slice());
    state._scan_lock = Some(index.lock_pseudo_page(SCAN_LOCK, false));
    state.ef = EF_SEARCH.get() as usize;
    search(index, state);
}

/// Searches with the current ef and queues the results not yet returned.
fn search(index: &Index, state: &mut ScanState) {
    let Some(query) = state.query.as_ref() else {
        state.exhausted = true;
        return;
    };
    let meta = read_meta(index);
    let mut graph = PageGraph::open(*index, &meta);
    let mut visited = graph.new_visited();
    let mut found = knn_search(&mut graph, query, state.ef, &mut visited);
    state.exhausted = found.len() < state.ef;
    let iterative = ITERATIVE_SCAN.get();
    if iterative != IterativeScan::Off && !state.exhausted {
        // The far end of a result list is the least reliable; the next,
        // wider search finds those rows again, and more accurately.
        found.truncate(state.ef.div_ceil(2));
    }
    let strict = iterative == IterativeScan::StrictOrder;
    for candidate in found {
        let (element_state, heap_tid) = graph.element_status(candidate.node);
        if element_state != ElementState::Live || state.returned.contains(&heap_tid) {
            continue;
        }
        if strict && candidate.distance < state.last_score {
            continue; // returning it now would break the order
        }
        state.returned.insert(heap_tid);
        state.pending.push_back((candidate.distance, heap_tid));
    }
    if let Some(&(score, _)) = state.pending.back() {
        state.last_score = state.last_score.max(score);
    }
}

/// With iterative scans on, searches again with twice the ef; false when
/// there is nothing more to find.
fn search_further(index: &Index, state: &mut ScanState) -> bool {
    let max = MAX_SCAN_TUPLES.get() as usize;
    if ITERATIVE_SCAN.get() == IterativeScan::Off || state.exhausted || state.ef >= max {
        return false;
    }
    state.ef = (state.ef * 2).min(max);
    search(index, state);
    true
}
