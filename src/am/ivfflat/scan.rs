//! Index scans: the `ivfflat.probes` cells nearest the query are read whole,
//! their entries sorted by distance and returned nearest first. With
//! `ivfflat.iterative_scan = relaxed_order`, a scan that runs out probes the
//! next cells, up to `ivfflat.max_probes`. Like hnsw scans, a scan holds
//! SCAN_LOCK shared until it ends, so VACUUM cannot finish under it.

use std::collections::VecDeque;

use pgrx::pg_sys;
use pgrx::prelude::*;
use vector_core::{check_same_dimensions, ivf};

use super::format::{decode_link, Entry, LINK_OFFSET, LIST_PAGE, SCAN_LOCK};
use super::options::{IterativeScan, ITERATIVE_SCAN, MAX_PROBES, PROBES};
use super::{read_centroids, read_meta};
use crate::am::hnsw::format::Address;
use crate::am::prepare_vector;
use crate::storage::{corrupted, Index, PageLock, INVALID_BLOCK};
use crate::vector::{OrRaise, PgVector};

struct ScanState {
    started: bool,
    /// Cells in probing order, with their first pages; `probed` of them done.
    cells: Vec<u32>,
    probed: usize,
    query: Vec<f32>,
    pending: VecDeque<Address>,
    _scan_lock: Option<PageLock>,
}

impl ScanState {
    fn new() -> Self {
        Self { started: false, cells: Vec::new(), probed: 0, query: Vec::new(), pending: VecDeque::new(), _scan_lock: None }
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn ambeginscan(index: pg_sys::Relation, nkeys: i32, norderbys: i32) -> pg_sys::IndexScanDesc {
    // SAFETY: PostgreSQL's scan descriptor constructor.
    let scan = unsafe { pg_sys::RelationGetIndexScan(index, nkeys, norderbys) };
    unsafe { (*scan).opaque = Box::into_raw(Box::new(ScanState::new())).cast() };
    scan
}

#[pg_guard]
pub unsafe extern "C-unwind" fn amrescan(scan: pg_sys::IndexScanDesc, _keys: pg_sys::ScanKey, _nkeys: i32, orderbys: pg_sys::ScanKey, norderbys: i32) {
    // SAFETY: our scan; orderbys holds norderbys keys.
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
        if let Some(heap_tid) = state.pending.pop_front() {
            pgrx::itemptr::item_pointer_set_all(&mut scan.xs_heaptid, heap_tid.block, heap_tid.offset);
            scan.xs_recheck = false;
            scan.xs_recheckorderby = false;
            return true;
        }
        let more = ITERATIVE_SCAN.get() == IterativeScan::RelaxedOrder && state.probed < state.cells.len().min(MAX_PROBES.get() as usize);
        if !more {
            return false;
        }
        probe(&index, state, state.probed + PROBES.get() as usize);
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn amendscan(scan: pg_sys::IndexScanDesc) {
    // SAFETY: the state ambeginscan boxed.
    unsafe {
        drop(Box::from_raw((*scan).opaque.cast::<ScanState>()));
        (*scan).opaque = std::ptr::null_mut();
    }
}

fn start(index: &Index, scan: &pg_sys::IndexScanDescData, state: &mut ScanState) {
    state.started = true;
    if scan.numberOfOrderBys == 0 {
        ereport!(ERROR, PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED, "ivfflat index scans need an ORDER BY distance");
    }
    // SAFETY: amrescan copied the key.
    let key = unsafe { &*scan.orderByData };
    if key.sk_flags & pg_sys::SK_ISNULL as i32 != 0 {
        return;
    }
    let meta = read_meta(index);
    // SAFETY: the ORDER BY argument of our operators is a vector.
    let query = unsafe { PgVector::from_datum_unchecked(key.sk_argument) };
    check_same_dimensions(meta.dimensions as usize, query.dim()).or_raise();
    let metric = meta.metric.metric();
    let Some(query) = prepare_vector(metric, query.as_slice()) else { return };
    state._scan_lock = Some(index.lock_pseudo_page(SCAN_LOCK, false));
    let centroids = read_centroids(index, &meta);
    let flat: Vec<f32> = centroids.iter().flat_map(|(c, _, _)| c.vector.iter().copied()).collect();
    let order = ivf::nearest_cells(&query, &flat, meta.dimensions as usize, metric, centroids.len());
    state.cells = order.into_iter().map(|cell| centroids[cell].0.first).collect();
    state.query = query;
    probe(index, state, PROBES.get() as usize);
}

/// Reads the cells up to `until` (in probing order) and queues their live
/// entries nearest first.
fn probe(index: &Index, state: &mut ScanState, until: usize) {
    let meta = read_meta(index);
    let dimensions = meta.dimensions as usize;
    let score = meta.metric.metric().score_fn();
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
                let entry = Entry::decode(bytes, dimensions).unwrap_or_else(|e| corrupted(index, block, &e.to_string()));
                if !entry.is_dead() {
                    found.push((score(&state.query, entry.vector()), entry.heap_tid()));
                }
            }
            block = link;
        }
    }
    state.probed = until;
    found.sort_by(|a, b| a.0.total_cmp(&b.0));
    state.pending.extend(found.into_iter().map(|(_, tid)| tid));
}
