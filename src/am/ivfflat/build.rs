//! CREATE INDEX in two passes over the table, with memory bounded by the
//! sample and one page per list, never by the table:
//!
//! 1. a reservoir sample of at most 50 rows per list (pgvector's choice)
//!    trains k-means;
//! 2. a second scan sends every row to its nearest centroid; each list
//!    gathers a page of entries in memory and writes it when full, chained
//!    after the list's previous page.
//!
//! The meta and centroid pages come first (block 0, then 1..C); the
//! centroids, which name each list's first, last and insert pages, are
//! written last. Pages are written without WAL and logged at the end. An
//! unlogged table's empty index (the init fork) is the same build with no
//! rows.

use std::ffi::c_void;

use pgrx::prelude::*;
use pgrx::{pg_sys, PgMemoryContexts};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use vector_core::distance::Metric;
use vector_core::ivf;

use super::format::{self, MetaPage, Precision, Shape, CENTROID_PAGE, LINK_BYTES, LINK_OFFSET, LIST_PAGE, META_BYTES, META_PAGE};
use super::options;
use crate::am::format::{Address, StoredMetric};
use crate::am::filter::{filter_columns, row_filter_values};
use crate::am::{column_dimensions, opclass_metric, report_progress, KeyType};
use crate::storage::{item_space, BlockNumber, Index, EMPTY_PAGE_BYTES, INVALID_BLOCK};

const PHASE_KMEANS: i64 = 2;
const PHASE_ASSIGN: i64 = 3;
const PHASE_LOAD: i64 = 4;
/// Rows per list k-means looks at (pgvector's choice).
const SAMPLE_PER_LIST: usize = 50;
const SEED: u64 = 0x1f1f_a77e;

/// What both heap passes share: the column's shape and a memory context
/// reset after each row.
struct RowReader {
    key_type: KeyType,
    metric: StoredMetric,
    shape: Shape,
    tuple_context: PgMemoryContexts,
    rows: usize,
}

impl RowReader {
    fn new(index_relation: pg_sys::Relation, metric: StoredMetric, shape: Shape) -> Self {
        let key_type = KeyType::of(index_relation);
        Self { key_type, metric, shape, tuple_context: PgMemoryContexts::new("ivfflat build tuple"), rows: 0 }
    }

    /// The prepared vector of a row the scan hands over, or None (NULL, or
    /// no cosine direction).
    fn read(&mut self, values: *mut pg_sys::Datum, is_null: *mut bool) -> Option<Vec<f32>> {
        // SAFETY: one key column, as the build scan passes it.
        if unsafe { *is_null } {
            return None;
        }
        let datum = unsafe { *values };
        let (key_type, metric) = (self.key_type, self.metric.metric());
        // SAFETY: the detoasted copy lives in the per-row context, which is
        // reset once the vector has been copied out.
        let vector = unsafe {
            let vector = self.tuple_context.switch_to(|_| {
                let vector = key_type.read(datum);
                metric.prepare(vector.as_slice())
            });
            self.tuple_context.reset();
            vector
        };
        self.rows += 1;
        report_progress(pg_sys::PROGRESS_CREATEIDX_TUPLES_DONE, self.rows as i64);
        vector
    }
}

/// Pass 1: a uniform sample of the rows (reservoir sampling, Algorithm R).
struct Sampler {
    reader: RowReader,
    capacity: usize,
    seen: usize,
    sample: Vec<f32>,
    rng: SmallRng,
}

/// Pass 2: rows to lists, a page of entries per list at a time.
struct Assigner<'a> {
    reader: RowReader,
    centroids: &'a [f32],
    lists: Vec<ListWriter>,
    index: Index,
    entries_per_page: usize,
    indexed: usize,
}

/// The pages of one list written so far, and the entries of the next.
#[derive(Default)]
struct ListWriter {
    first: Option<BlockNumber>,
    last: Option<BlockNumber>,
    pending: Vec<Vec<u8>>,
}

impl ListWriter {
    /// Writes the pending entries as the list's next page.
    fn flush(&mut self, index: &Index) {
        let mut page = index.extend_for_build(LIST_PAGE);
        let block = page.block();
        page.page().add_item(&format::encode_link(INVALID_BLOCK)).expect("an empty page holds a link");
        for entry in self.pending.drain(..) {
            page.page().add_item(&entry).expect("sized to fit");
        }
        drop(page);
        if let Some(previous) = self.last {
            let mut previous = index.build_page(previous);
            let mut page = previous.page();
            page.item_mut(LINK_OFFSET).expect("written above").copy_from_slice(&format::encode_link(block));
        }
        self.first.get_or_insert(block);
        self.last = Some(block);
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn ambuild(
    heap: pg_sys::Relation,
    index_relation: pg_sys::Relation,
    index_info: *mut pg_sys::IndexInfo,
) -> *mut pg_sys::IndexBuildResult {
    // SAFETY: PostgreSQL passes an open, locked, empty index.
    let index = unsafe { Index::from_raw(index_relation) };
    let (metric, shape, lists) = index_shape(index_relation);
    let reader = RowReader::new(index_relation, metric, shape);
    let capacity = lists * SAMPLE_PER_LIST;
    let mut sampler = Sampler { reader, capacity, seen: 0, sample: Vec::new(), rng: SmallRng::seed_from_u64(SEED) };
    report_progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_LOAD);
    // SAFETY: the callback gets `sampler` back.
    let heap_tuples = unsafe {
        pg_sys::table_index_build_scan(heap, index_relation, index_info, true, true, Some(sample_row), (&mut sampler as *mut Sampler).cast::<c_void>(), std::ptr::null_mut())
    };
    if sampler.seen < lists {
        pgrx::pg_sys::panic::ErrorReport::new(PgSqlErrorCode::ERRCODE_SUCCESSFUL_COMPLETION, "ivfflat index created with little data", "ivfflat build")
            .set_detail("This will cause low recall.")
            .set_hint("Drop the index until the table has more data.")
            .report(pgrx::PgLogLevel::NOTICE);
    }
    report_progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_KMEANS);
    let centroids = train(&sampler.sample, shape.dimensions, lists, metric.metric());
    let mut reader = sampler.reader;
    reader.rows = 0;
    report_progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_ASSIGN);
    let mut assigner = start_index(index, reader, &centroids, lists);
    // SAFETY: as above, with `assigner`.
    unsafe {
        pg_sys::table_index_build_scan(heap, index_relation, index_info, true, true, Some(assign_row), (&mut assigner as *mut Assigner).cast::<c_void>(), std::ptr::null_mut());
    }
    let indexed = assigner.indexed;
    finish_index(assigner);

    let mut result = unsafe { PgBox::<pg_sys::IndexBuildResult>::alloc0() };
    result.heap_tuples = heap_tuples;
    result.index_tuples = indexed as f64;
    result.into_pg()
}

/// An unlogged table's index, empty, in its init fork.
#[pg_guard]
pub unsafe extern "C-unwind" fn ambuildempty(index_relation: pg_sys::Relation) {
    // SAFETY: PostgreSQL passes an open index.
    let index = unsafe { Index::from_raw(index_relation) }.init_fork();
    let (metric, shape, lists) = index_shape(index_relation);
    let reader = RowReader::new(index_relation, metric, shape);
    let centroids = train(&[], shape.dimensions, lists, metric.metric());
    finish_index(start_index(index, reader, &centroids, lists));
}

/// The index's metric, tuple shape and list count. A halfvec index keeps
/// float2 elements, as its column does; the columns after the vector are
/// filter columns (am/filter.rs).
fn index_shape(index_relation: pg_sys::Relation) -> (StoredMetric, Shape, usize) {
    let filter_columns = filter_columns(index_relation, "ivfflat");
    let precision = if KeyType::of(index_relation) == KeyType::HalfVec { Precision::Float2 } else { Precision::Float4 };
    let dimensions = column_dimensions(index_relation, precision.max_dimensions(), "ivfflat");
    (opclass_metric(index_relation), Shape { dimensions, precision, filter_columns }, options::lists(index_relation))
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
unsafe extern "C-unwind" fn sample_row(
    _index: pg_sys::Relation,
    _tid: pg_sys::ItemPointer,
    values: *mut pg_sys::Datum,
    is_null: *mut bool,
    _tuple_is_alive: bool,
    state: *mut c_void,
) {
    // SAFETY: `state` is the Sampler ambuild passed.
    let sampler = unsafe { &mut *state.cast::<Sampler>() };
    let Some(vector) = sampler.reader.read(values, is_null) else { return };
    let dim = sampler.reader.shape.dimensions;
    sampler.seen += 1;
    if sampler.sample.len() < sampler.capacity * dim {
        sampler.sample.extend_from_slice(&vector);
    } else {
        let slot = sampler.rng.gen_range(0..sampler.seen);
        if slot < sampler.capacity {
            sampler.sample[slot * dim..(slot + 1) * dim].copy_from_slice(&vector);
        }
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn assign_row(
    index: pg_sys::Relation,
    tid: pg_sys::ItemPointer,
    values: *mut pg_sys::Datum,
    is_null: *mut bool,
    _tuple_is_alive: bool,
    state: *mut c_void,
) {
    // SAFETY: `state` is the Assigner ambuild passed.
    let assigner = unsafe { &mut *state.cast::<Assigner>() };
    let Some(vector) = assigner.reader.read(values, is_null) else { return };
    // SAFETY: one value per key column.
    let filter = unsafe { row_filter_values(index, values, is_null) };
    let (block, offset) = pgrx::itemptr::item_pointer_get_both(unsafe { *tid });
    let shape = assigner.reader.shape;
    let list = ivf::nearest_centroid(&vector, assigner.centroids, shape.dimensions, assigner.reader.metric.metric());
    let mut entry = Vec::with_capacity(shape.entry_bytes());
    format::encode_entry(Address { block, offset }, &vector, shape.precision, &filter, &mut entry);
    let writer = &mut assigner.lists[list];
    writer.pending.push(entry);
    if writer.pending.len() == assigner.entries_per_page {
        writer.flush(&assigner.index);
    }
    assigner.indexed += 1;
}

/// k-means on the sample; random centroids when there is none.
fn train(sample: &[f32], dim: usize, lists: usize, metric: Metric) -> Vec<f32> {
    if sample.is_empty() {
        let mut rng = SmallRng::seed_from_u64(SEED);
        let mut random: Vec<f32> = (0..lists * dim).map(|_| rng.gen_range(-1.0..1.0)).collect();
        if metric.normalizes() || metric == Metric::InnerProduct {
            for c in random.chunks_exact_mut(dim) {
                let norm = vector_core::distance::norm(c) as f32;
                c.iter_mut().for_each(|x| *x /= norm);
            }
        }
        return random;
    }
    ivf::kmeans(sample, dim, lists, metric, SEED, &mut || {
        pgrx::check_for_interrupts!();
    })
}

/// Writes the meta page and room for the centroid pages, which
/// [`finish_index`] fills once the lists are written.
fn start_index<'a>(index: Index, reader: RowReader, centroids: &'a [f32], lists: usize) -> Assigner<'a> {
    let shape = reader.shape;
    let centroids_per_page = EMPTY_PAGE_BYTES / item_space(shape.centroid_bytes());
    let centroid_pages = lists.div_ceil(centroids_per_page);
    let meta = MetaPage {
        dimensions: shape.dimensions as u32,
        lists: lists as u32,
        metric: reader.metric,
        precision: shape.precision,
        centroid_pages: centroid_pages as u32,
        filter_columns: shape.filter_columns as u8,
    };
    let mut page = index.extend_for_build(META_PAGE);
    meta.encode(page.page().contents_mut(META_BYTES));
    drop(page);
    for _ in 0..centroid_pages {
        drop(index.extend_for_build(CENTROID_PAGE));
    }
    let entries_per_page = (EMPTY_PAGE_BYTES - item_space(LINK_BYTES)) / item_space(shape.entry_bytes());
    Assigner { reader, centroids, lists: (0..lists).map(|_| ListWriter::default()).collect(), index, entries_per_page, indexed: 0 }
}

/// Writes each list's last page (every list owns at least one, so inserts
/// always have one), then the centroids, and logs every page.
fn finish_index(mut assigner: Assigner<'_>) {
    let index = assigner.index;
    let shape = assigner.reader.shape;
    let dim = shape.dimensions;
    for writer in &mut assigner.lists {
        if !writer.pending.is_empty() || writer.last.is_none() {
            writer.flush(&index);
        }
    }
    let centroids_per_page = EMPTY_PAGE_BYTES / item_space(shape.centroid_bytes());
    let mut bytes = Vec::new();
    for (page_number, lists) in assigner.lists.chunks(centroids_per_page).enumerate() {
        let mut page = index.build_page(1 + page_number as BlockNumber);
        for (i, writer) in lists.iter().enumerate() {
            let list = page_number * centroids_per_page + i;
            let (first, last) = (writer.first.expect("flushed above"), writer.last.expect("flushed above"));
            format::encode_centroid(list as u32, first, last, &assigner.centroids[list * dim..(list + 1) * dim], shape.precision, &mut bytes);
            page.page().add_item(&bytes).expect("sized to fit");
        }
    }
    index.log_all_pages();
}
