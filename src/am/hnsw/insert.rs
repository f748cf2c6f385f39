//! INSERT into a built index.
//!
//! The insert searches for the new vector's neighbors first. A row whose
//! vector an element already holds joins that element (duplicates.rs);
//! any other is stored as a new element, unlinked, then linked in (its own
//! lists, then the reverse links), so a concurrent scan only ever reaches
//! complete elements. Concurrent inserts meet only in
//! single-page updates (see `PageGraph::update_neighbors`); VACUUM keeps them
//! out while it repairs the graph (UPDATE_LOCK).

use std::cell::RefCell;

use pgrx::prelude::*;
use pgrx::pg_sys;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use vector_core::hnsw::{self, EstimateQuery, Graph, LevelGenerator};

use super::format::{Address, UPDATE_LOCK};
use super::duplicates::add_duplicate;
use super::graph::{add_element, read_encoder, read_meta, NewElement, PageGraph};
use super::values;
use crate::am::filter::row_filter_values;
use crate::am::inserted_row;
use crate::storage::Index;

thread_local! {
    /// Level draws for inserts; seeded per backend.
    static RNG: RefCell<SmallRng> = RefCell::new(SmallRng::seed_from_u64(
        // SAFETY: reading the backend's pid and the current timestamp.
        unsafe { (pg_sys::MyProcPid as u64) << 32 ^ pg_sys::GetCurrentTimestamp() as u64 }
    ));
}

#[pg_guard]
pub unsafe extern "C-unwind" fn aminsert(
    index_relation: pg_sys::Relation,
    values: *mut pg_sys::Datum,
    is_null: *mut bool,
    heap_tid: pg_sys::ItemPointer,
    _heap: pg_sys::Relation,
    _check_unique: pg_sys::IndexUniqueCheck::Type,
    _index_unchanged: bool,
    _index_info: *mut pg_sys::IndexInfo,
) -> bool {
    // SAFETY: PostgreSQL's arguments.
    let Some((vector, heap_tid)) = (unsafe { inserted_row(index_relation, values, is_null, heap_tid) }) else { return false };
    let index = unsafe { Index::from_raw(index_relation) };
    let filter = unsafe { row_filter_values(index_relation, values, is_null) };
    let metric = read_meta(&index).metric.metric();
    if let Some(vector) = metric.prepare(vector.as_slice()) {
        insert_vector(&index, heap_tid, &vector, &filter);
    }
    false
}

/// Adds one prepared vector, with its row's filter values, to the index on disk.
pub fn insert_vector(index: &Index, heap_tid: Address, vector: &[f32], filter: &[Option<i64>]) {
    let _update = index.lock_pseudo_page(UPDATE_LOCK, false);
    let meta = read_meta(index);
    if !meta.shape().holds(vector) {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
            format!("expected {} dimensions, not {}", meta.dimensions, vector.len())
        );
    }
    let params = PageGraph::params(&meta);
    let max_level = super::format::max_level(params.m, meta.value_lists());
    let level = RNG.with(|rng| LevelGenerator::new(&params).draw(&mut *rng.borrow_mut())).min(max_level);
    let mut graph = PageGraph::open(*index, &meta);
    let mut visited = graph.new_visited();
    let metric = meta.metric.metric();
    let encoder = read_encoder(index, &meta);
    let query = encoder.as_ref().and_then(|encoder| EstimateQuery::new(encoder, vector, metric));
    let plan = match &query {
        Some(query) => hnsw::plan_insert_estimated(&mut graph, &params, query, level, &mut visited),
        None => hnsw::plan_insert(&mut graph, &params, vector, level, &mut visited),
    };
    let own_score = metric.score_fn()(vector, vector);
    let original = plan.as_ref().and_then(|plan| plan.exact_duplicate(&mut graph, vector, own_score));
    // A row joins an element only if the filter values are the same too.
    let original = original.filter(|&original| filter.is_empty() || graph.filter_values(original) == filter);
    if original.is_some_and(|original| add_duplicate(index, meta.shape(), original, heap_tid)) {
        return;
    }
    let code = encoder.map(|encoder| encoder.encode(vector)).unwrap_or_default();
    let (node, level) = add_element(index, &meta, &NewElement { heap_tid, vector, code: &code, filter, level });
    hnsw::link_planned(&mut graph, &params, node, vector, level, plan, &mut visited);
    if meta.linked_columns != 0 {
        values::link_new_element(graph, index, &meta, node, vector, filter, query.as_ref());
    }
}
