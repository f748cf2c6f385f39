//! CREATE INDEX: the heap scan collects the rows; k-means runs on a sample
//! of at most 50 rows per list; every row goes to its nearest centroid; the
//! meta page, the centroid pages and each list's pages are then written in
//! one sequential pass and WAL-logged at the end.

use std::ffi::c_void;

use pgrx::prelude::*;
use pgrx::{pg_sys, PgMemoryContexts};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use vector_core::ivf;

use super::format::{self, MetaPage, CENTROID_PAGE, LINK_BYTES, LIST_PAGE, MAX_DIMENSIONS, META_BYTES, META_PAGE};
use super::options;
use crate::am::hnsw::format::{Address, StoredMetric};
use crate::am::{column_dimensions, opclass_metric, prepare_vector, report_progress};
use crate::storage::{item_space, BuildPage, Index, EMPTY_PAGE_BYTES, INVALID_BLOCK};
use crate::vector::PgVector;

const PHASE_KMEANS: i64 = 2;
const PHASE_ASSIGN: i64 = 3;
const PHASE_LOAD: i64 = 4;
/// Rows per list k-means looks at (pgvector's choice).
const SAMPLE_PER_LIST: usize = 50;
const SEED: u64 = 0x1f1f_a77e;

struct BuildState {
    metric: StoredMetric,
    dimensions: usize,
    vectors: Vec<f32>,
    heap_tids: Vec<Address>,
    memory_limit: usize,
    tuple_context: PgMemoryContexts,
}

#[pg_guard]
pub unsafe extern "C-unwind" fn ambuild(
    heap: pg_sys::Relation,
    index_relation: pg_sys::Relation,
    index_info: *mut pg_sys::IndexInfo,
) -> *mut pg_sys::IndexBuildResult {
    // SAFETY: PostgreSQL passes an open, locked, empty index.
    let index = unsafe { Index::from_raw(index_relation) };
    let lists = options::lists(index_relation);
    let dimensions = column_dimensions(index_relation, MAX_DIMENSIONS, "ivfflat");
    let mut state = BuildState {
        metric: opclass_metric(index_relation),
        dimensions,
        vectors: Vec::new(),
        heap_tids: Vec::new(),
        // SAFETY: reading a GUC variable.
        memory_limit: unsafe { pg_sys::maintenance_work_mem } as usize * 1024,
        tuple_context: PgMemoryContexts::new("ivfflat build tuple"),
    };
    report_progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_LOAD);
    // SAFETY: the callback gets `state` back.
    let heap_tuples = unsafe {
        pg_sys::table_index_build_scan(heap, index_relation, index_info, true, true, Some(collect), (&mut state as *mut BuildState).cast::<c_void>(), std::ptr::null_mut())
    };
    let rows = state.heap_tids.len();
    if rows < lists {
        pgrx::pg_sys::panic::ErrorReport::new(PgSqlErrorCode::ERRCODE_SUCCESSFUL_COMPLETION, "ivfflat index created with little data", "ivfflat build")
            .set_detail("This will cause low recall.")
            .set_hint("Drop the index until the table has more data.")
            .report(pgrx::PgLogLevel::NOTICE);
    }
    report_progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_KMEANS);
    let centroids = train(&state, lists);
    report_progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_ASSIGN);
    let metric = state.metric.metric();
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); lists];
    for (row, vector) in state.vectors.chunks_exact(dimensions).enumerate() {
        members[ivf::nearest_centroid(vector, &centroids, dimensions, metric)].push(row);
    }
    report_progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_LOAD);
    write_index(&index, &state, &centroids, &members);

    let mut result = unsafe { PgBox::<pg_sys::IndexBuildResult>::alloc0() };
    result.heap_tuples = heap_tuples;
    result.index_tuples = rows as f64;
    result.into_pg()
}

#[pg_guard]
pub unsafe extern "C-unwind" fn ambuildempty(_index_relation: pg_sys::Relation) {
    ereport!(ERROR, PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED, "ivfflat indexes on unlogged tables are not supported");
}

#[pg_guard]
pub unsafe extern "C-unwind" fn ambuildphasename(phase: i64) -> *mut std::ffi::c_char {
    match phase {
        PHASE_KMEANS => c"performing k-means".as_ptr().cast_mut(),
        PHASE_ASSIGN => c"assigning tuples".as_ptr().cast_mut(),
        PHASE_LOAD => c"loading tuples".as_ptr().cast_mut(),
        _ => std::ptr::null_mut(),
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn collect(
    _index: pg_sys::Relation,
    tid: pg_sys::ItemPointer,
    values: *mut pg_sys::Datum,
    is_null: *mut bool,
    _tuple_is_alive: bool,
    state: *mut c_void,
) {
    // SAFETY: `state` is the BuildState ambuild passed; one key column.
    let state = unsafe { &mut *state.cast::<BuildState>() };
    if unsafe { *is_null } {
        return;
    }
    let (block, offset) = pgrx::itemptr::item_pointer_get_both(unsafe { *tid });
    let metric = state.metric.metric();
    let datum = unsafe { *values };
    let vector = state.tuple_context.switch_to(|_| {
        // SAFETY: the key column is a non-null vector.
        let vector = unsafe { PgVector::from_datum_unchecked(datum) };
        prepare_vector(metric, vector.as_slice())
    });
    state.tuple_context.reset();
    let Some(vector) = vector else { return };
    state.vectors.extend_from_slice(&vector);
    state.heap_tids.push(Address { block, offset });
    let used = state.vectors.len() * 4 + state.heap_tids.len() * 8;
    if used > state.memory_limit {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!("ivfflat build needs more than maintenance_work_mem ({} kB) after {} rows", state.memory_limit / 1024, state.heap_tids.len()),
            "Increase maintenance_work_mem."
        );
    }
    report_progress(pg_sys::PROGRESS_CREATEIDX_TUPLES_DONE, state.heap_tids.len() as i64);
}

/// k-means on a seeded sample of the rows; random centroids for an empty table.
fn train(state: &BuildState, lists: usize) -> Vec<f32> {
    let dim = state.dimensions;
    let rows = state.heap_tids.len();
    let metric = state.metric.metric();
    let mut rng = SmallRng::seed_from_u64(SEED);
    if rows == 0 {
        let mut random: Vec<f32> = (0..lists * dim).map(|_| rng.gen_range(-1.0..1.0)).collect();
        if metric.normalizes() || metric == vector_core::distance::Metric::InnerProduct {
            for c in random.chunks_exact_mut(dim) {
                let norm = vector_core::distance::norm(c) as f32;
                c.iter_mut().for_each(|x| *x /= norm);
            }
        }
        return random;
    }
    let wanted = (lists * SAMPLE_PER_LIST).min(rows);
    let sample: Vec<f32> = if wanted == rows {
        state.vectors.clone()
    } else {
        rand::seq::index::sample(&mut rng, rows, wanted)
            .into_iter()
            .flat_map(|row| state.vectors[row * dim..(row + 1) * dim].iter().copied())
            .collect()
    };
    ivf::kmeans(&sample, dim, lists, metric, SEED)
}

/// Writes meta, centroid and list pages in block order and logs them.
fn write_index(index: &Index, state: &BuildState, centroids: &[f32], members: &[Vec<usize>]) {
    let dim = state.dimensions;
    let lists = members.len();
    let centroid_space = item_space(format::centroid_bytes(dim));
    let entry_space = item_space(format::entry_bytes(dim));
    let link_space = item_space(LINK_BYTES);
    let centroids_per_page = EMPTY_PAGE_BYTES / centroid_space;
    let centroid_pages = lists.div_ceil(centroids_per_page);
    let entries_per_page = (EMPTY_PAGE_BYTES - link_space) / entry_space;
    // Every list owns at least one page, so inserts always have a last page.
    let pages_of = |list: usize| members[list].len().div_ceil(entries_per_page).max(1);
    let mut first_block = Vec::with_capacity(lists);
    let mut next = 1 + centroid_pages as u32;
    for list in 0..lists {
        first_block.push(next);
        next += pages_of(list) as u32;
    }

    let meta = MetaPage { dimensions: dim as u32, lists: lists as u32, metric: state.metric, centroid_pages: centroid_pages as u32 };
    let mut page = index.extend_for_build(META_PAGE);
    meta.encode(page.page().contents_mut(META_BYTES));
    drop(page);

    let mut bytes = Vec::new();
    for chunk in (0..lists).collect::<Vec<_>>().chunks(centroids_per_page) {
        let mut page = index.extend_for_build(CENTROID_PAGE);
        for &list in chunk {
            let last = first_block[list] + pages_of(list) as u32 - 1;
            format::encode_centroid(list as u32, first_block[list], last, &centroids[list * dim..(list + 1) * dim], &mut bytes);
            page.page().add_item(&bytes).expect("sized to fit");
        }
    }
    for list in 0..lists {
        let pages = pages_of(list);
        let mut rows = members[list].iter();
        for p in 0..pages {
            let mut page: BuildPage = index.extend_for_build(LIST_PAGE);
            debug_assert_eq!(page.block(), first_block[list] + p as u32);
            let next = if p + 1 < pages { page.block() + 1 } else { INVALID_BLOCK };
            page.page().add_item(&format::encode_link(next)).expect("an empty page holds a link");
            for &row in rows.by_ref().take(entries_per_page) {
                format::encode_entry(state.heap_tids[row], &state.vectors[row * dim..(row + 1) * dim], &mut bytes);
                page.page().add_item(&bytes).expect("sized to fit");
            }
        }
    }
    index.log_all_pages();
}

