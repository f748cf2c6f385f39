//! CREATE INDEX.
//!
//! The heap scan collects the rows' vectors; the graph is then built in
//! memory (flat arrays, no page traffic) by one thread per core, up to
//! max_parallel_maintenance_workers + 1, and written out page by page in one
//! sequential pass, WAL-logged once at the end. If the rows outgrow
//! maintenance_work_mem, the graph of those collected so far is built and
//! written, and the remaining rows are inserted on disk as INSERT would
//! (slower; a NOTICE says so).
//!
//! The worker threads run only pure Rust (no PostgreSQL calls); the
//! backend's own thread builds too and reports progress between elements
//! (phases "building graph" and "checking findability", tuples_done
//! advancing), where it also notices a query cancel and stops them all.

use std::collections::HashMap;
use std::ffi::c_void;
use std::hash::{Hash, Hasher};

use pgrx::prelude::*;
use pgrx::{pg_sys, PgMemoryContexts};
use vector_core::flat::FlatVectors;
use vector_core::hnsw::{subset_links, BuildStage, HnswParams, MemoryGraph, SubsetLinks, PROGRESS_EVERY};
use vector_core::ivf::bisection_order;
use vector_core::quant::int8::Int8Vectors;
use vector_core::quant::RabitqEncoder;

use super::format::{self, Address, MetaPage, Shape, StoredMetric, StoredVerdict, ValueEntry, GRAPH_PAGE, MAX_DIMENSIONS, META_BYTES, META_PAGE, VALUE_ENTRIES, VECTOR_CHUNK};
use crate::am::filter::{filter_columns, linkable_columns, row_filter_values};
use crate::am::{column_dimensions, KeyType};
use super::{insert, opclass_metric, options, report_progress};
use crate::storage::{item_space, BuildPage, Index, EMPTY_PAGE_BYTES, INVALID_BLOCK};

/// pg_stat_progress_create_index phases: rows collected from the heap (or,
/// past maintenance_work_mem, inserted on disk); elements inserted into the
/// in-memory graph; each searched for by its own vector; each vector's
/// code computed; pages written.
const PHASE_LOAD: i64 = 2;
const PHASE_GRAPH: i64 = 3;
const PHASE_FINDABILITY: i64 = 4;
const PHASE_WRITE: i64 = 5;
const PHASE_ENCODE: i64 = 6;
const PHASE_VALUES: i64 = 7;

struct BuildState {
    index: Index,
    key_type: KeyType,
    metric: StoredMetric,
    params: HnswParams,
    dimensions: usize,
    shape: Shape,
    /// The collected rows: vectors, heap TIDs and the values of their
    /// `filter_columns` filter columns (row after row).
    vectors: FlatVectors,
    heap_tids: Vec<Address>,
    filter_columns: usize,
    filters: Vec<Option<i64>>,
    memory_limit: usize,
    /// Set once the graph no longer fits in memory: rows go to disk from then on.
    on_disk: bool,
    indexed: f64,
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
    if index.block_count() != 0 {
        ereport!(ERROR, PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("index \"{}\" already contains data", index.name()));
    }
    let filter_columns = filter_columns(index_relation, "hnsw");
    let params = options::params(index_relation);
    let dimensions = column_dimensions(index_relation, MAX_DIMENSIONS, "hnsw");
    let metric = opclass_metric(index_relation);
    let mut state = BuildState {
        index,
        key_type: KeyType::of(index_relation),
        metric,
        params,
        dimensions,
        shape: empty_meta(params, dimensions, metric, filter_columns).shape(),
        vectors: FlatVectors::new(),
        heap_tids: Vec::new(),
        filter_columns,
        filters: Vec::new(),
        // SAFETY: reading a GUC variable.
        memory_limit: unsafe { pg_sys::maintenance_work_mem } as usize * 1024,
        on_disk: false,
        indexed: 0.0,
        tuple_context: PgMemoryContexts::new("hnsw build tuple"),
    };

    // Room for the rows the table is thought to hold, within the memory
    // budget: growing a large graph by reallocation costs a copy each time.
    // SAFETY: an open heap relation.
    let estimated_rows = unsafe { (*(*heap).rd_rel).reltuples }.max(0.0) as usize;
    let fixed_floats = if state.shape.lengths_vary { 0 } else { dimensions };
    let rows = estimated_rows.min(state.memory_limit / (4 * fixed_floats + row_overhead(&state)));
    state.vectors.reserve(rows, rows * fixed_floats);
    state.heap_tids.reserve(rows);
    state.filters.reserve(rows * filter_columns);
    report_progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_LOAD);
    // SAFETY: the callback gets `state` back as its last argument.
    let heap_tuples = unsafe {
        pg_sys::table_index_build_scan(
            heap,
            index_relation,
            index_info,
            true,
            true,
            Some(build_callback),
            (&mut state as *mut BuildState).cast::<c_void>(),
            std::ptr::null_mut(),
        )
    };
    if !state.on_disk {
        let (graph, duplicates) = build_graph(&mut state);
        write_graph(&state, &graph, &duplicates);
    }

    let mut result = unsafe { PgBox::<pg_sys::IndexBuildResult>::alloc0() };
    result.heap_tuples = heap_tuples;
    result.index_tuples = state.indexed;
    result.into_pg()
}

/// An unlogged index's init fork: the meta page and centroid of an empty index.
#[pg_guard]
pub unsafe extern "C-unwind" fn ambuildempty(index_relation: pg_sys::Relation) {
    // SAFETY: PostgreSQL passes an open index.
    let index = unsafe { Index::from_raw(index_relation) }.init_fork();
    let filter_columns = filter_columns(index_relation, "hnsw");
    let meta = empty_meta(
        options::params(index_relation),
        column_dimensions(index_relation, MAX_DIMENSIONS, "hnsw"),
        opclass_metric(index_relation),
        filter_columns,
    );
    write_meta_and_centroid(&index, &meta, fit_encoder(&meta, std::iter::empty()).as_ref());
    index.log_all_pages();
}

#[pg_guard]
pub unsafe extern "C-unwind" fn ambuildphasename(phase: i64) -> *mut std::ffi::c_char {
    match phase {
        PHASE_LOAD => c"loading tuples".as_ptr().cast_mut(),
        PHASE_GRAPH => c"building graph".as_ptr().cast_mut(),
        PHASE_FINDABILITY => c"checking findability".as_ptr().cast_mut(),
        PHASE_WRITE => c"writing pages".as_ptr().cast_mut(),
        PHASE_ENCODE => c"encoding vectors".as_ptr().cast_mut(),
        PHASE_VALUES => c"linking filter values".as_ptr().cast_mut(),
        _ => std::ptr::null_mut(),
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn build_callback(
    index: pg_sys::Relation,
    tid: pg_sys::ItemPointer,
    values: *mut pg_sys::Datum,
    is_null: *mut bool,
    _tuple_is_alive: bool,
    state: *mut c_void,
) {
    // SAFETY: `state` is the BuildState ambuild passed; the vector is the
    // first key column.
    let state = unsafe { &mut *state.cast::<BuildState>() };
    if unsafe { *is_null } {
        return; // NULL vectors are not indexed
    }
    // SAFETY: one value per key column.
    let filter = unsafe { row_filter_values(index, values, is_null) };
    let (block, offset) = pgrx::itemptr::item_pointer_get_both(unsafe { *tid });
    let heap_tid = Address { block, offset };
    let metric = state.metric.metric();
    let datum = unsafe { *values };
    // Detoasted copies live in a context reset after every row.
    let vector = state.tuple_context.switch_to(|_| {
        // SAFETY: the key column is non-null, of the opclass's type.
        let vector = unsafe { state.key_type.read(datum) };
        metric.prepare(vector.as_slice())
    });
    state.tuple_context.reset();
    let Some(vector) = vector else { return };
    if !state.shape.holds(&vector) {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
            format!("expected {} dimensions, not {}", state.dimensions, vector.len())
        );
    }

    if state.on_disk {
        insert::insert_vector(&state.index, heap_tid, &vector, &filter);
    } else {
        state.vectors.push(&vector);
        state.heap_tids.push(heap_tid);
        state.filters.extend_from_slice(&filter);
        if 4 * state.vectors.values().len() + state.heap_tids.len() * row_overhead(state) > state.memory_limit {
            spill_to_disk(state);
        }
    }
    state.indexed += 1.0;
    super::report_progress(pg_sys::PROGRESS_CREATEIDX_TUPLES_DONE, state.indexed as i64);
}

/// The graph no longer fits: write it out now and go on inserting on disk.
fn spill_to_disk(state: &mut BuildState) {
    pgrx::pg_sys::panic::ErrorReport::new(
        PgSqlErrorCode::ERRCODE_SUCCESSFUL_COMPLETION,
        format!("hnsw graph no longer fits into maintenance_work_mem after {} tuples", state.heap_tids.len()),
        "hnsw build",
    )
    .set_detail("Building will take significantly more time.")
    .set_hint("Increase maintenance_work_mem to speed up builds.")
    .report(pgrx::PgLogLevel::NOTICE);
    let (graph, duplicates) = build_graph(state);
    write_graph(state, &graph, &duplicates);
    report_progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_LOAD);
    report_progress(pg_sys::PROGRESS_CREATEIDX_TUPLES_TOTAL, 0);
    state.on_disk = true;
    state.heap_tids = Vec::new();
    state.filters = Vec::new();
}

/// What a collected row costs in memory besides its vector while its graph
/// is built: its heap TID, where its vector ends, its layer-0 links, its
/// filter values, the 8-bit codes the inserts score with.
fn row_overhead(state: &BuildState) -> usize {
    let codes = if state.shape.lengths_vary { 0 } else { Int8Vectors::bytes_per_vector(state.metric.metric(), state.dimensions) };
    8 + 8 + 4 * state.params.max_degree(0) + 8 + 16 * state.filter_columns + codes
}

/// As many threads as the machine has cores and
/// max_parallel_maintenance_workers allows (plus the backend's own).
fn build_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    // SAFETY: reading a GUC variable.
    let allowed = unsafe { pg_sys::max_parallel_maintenance_workers } as usize + 1;
    cores.min(allowed)
}

/// Builds the graph of the collected rows on as many threads as the
/// machine and max_parallel_maintenance_workers allow; returns it with the
/// TIDs of the rows that joined an element as duplicates.
fn build_graph(state: &mut BuildState) -> (MemoryGraph, Duplicates) {
    let duplicates = group_duplicates(&mut state.vectors, &mut state.heap_tids, &mut state.filters, state.filter_columns);
    // Below a few thousand rows threads cost more than they save.
    let threads = if state.heap_tids.len() < 10_000 { 1 } else { build_threads() };
    let vectors = std::mem::take(&mut state.vectors);
    let mut phase = PHASE_LOAD;
    let mut report = |stage: BuildStage, done: usize, total: usize| {
        let stage_phase = match stage {
            BuildStage::Inserting => PHASE_GRAPH,
            BuildStage::CheckingFindability => PHASE_FINDABILITY,
        };
        if stage_phase != phase {
            phase = stage_phase;
            report_progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, phase);
            report_progress(pg_sys::PROGRESS_CREATEIDX_TUPLES_TOTAL, total as i64);
        }
        report_progress(pg_sys::PROGRESS_CREATEIDX_TUPLES_DONE, done as i64);
        pgrx::check_for_interrupts!();
    };
    let graph = MemoryGraph::build_parallel(state.dimensions, state.metric.metric(), state.params, vectors, build_seed(), threads, &mut report);
    (graph, duplicates)
}

/// The heap TIDs of rows whose vector an earlier row has, by the node of
/// that row's element.
type Duplicates = HashMap<u32, Vec<Address>>;

/// A vector compared and hashed by its bits, as duplicates are found.
struct VectorBits<'a>(&'a [f32]);

impl PartialEq for VectorBits<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && self.0.iter().zip(other.0).all(|(a, b)| a.to_bits() == b.to_bits())
    }
}
impl Eq for VectorBits<'_> {}
impl Hash for VectorBits<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.iter().for_each(|x| state.write_u32(x.to_bits()));
    }
}

/// Rows with identical vectors and filter values share one element (see
/// duplicates.rs): keeps the first row of each in `vectors`, `heap_tids`
/// and `filters` (`filter_columns` values a row), in order, and returns
/// the other rows' TIDs by the node of their element.
fn group_duplicates(vectors: &mut FlatVectors, heap_tids: &mut Vec<Address>, filters: &mut Vec<Option<i64>>, filter_columns: usize) -> Duplicates {
    let filter_of = |row: usize| &filters[row * filter_columns..(row + 1) * filter_columns];
    let first_row: Vec<u32> = {
        let mut first = HashMap::with_capacity(heap_tids.len());
        vectors.iter().enumerate().map(|(row, v)| *first.entry((VectorBits(v), filter_of(row))).or_insert(row as u32)).collect()
    };
    let mut node_of_row = vec![0u32; first_row.len()];
    let mut is_element = vec![false; first_row.len()];
    let mut duplicates = Duplicates::new();
    let mut nodes = 0;
    for (row, &first) in first_row.iter().enumerate() {
        if first as usize == row {
            is_element[row] = true;
            heap_tids[nodes] = heap_tids[row];
            filters.copy_within(row * filter_columns..(row + 1) * filter_columns, nodes * filter_columns);
            node_of_row[row] = nodes as u32;
            nodes += 1;
        } else {
            let rows = duplicates.entry(node_of_row[first as usize]).or_default();
            if rows.len() < format::MAX_DUPLICATES {
                rows.push(heap_tids[row]);
            } else {
                // The element's chain is at its limit: the next rows of this
                // vector go to an element of their own.
                is_element[row] = true;
                heap_tids[nodes] = heap_tids[row];
                filters.copy_within(row * filter_columns..(row + 1) * filter_columns, nodes * filter_columns);
                node_of_row[first as usize] = nodes as u32;
                nodes += 1;
            }
        }
    }
    vectors.retain(&is_element);
    heap_tids.truncate(nodes);
    filters.truncate(nodes * filter_columns);
    duplicates
}

/// The meta page of an index with no elements yet.
fn empty_meta(params: HnswParams, dimensions: usize, metric: StoredMetric, filter_columns: usize) -> MetaPage {
    MetaPage {
        dimensions: dimensions as u32,
        m: params.m as u16,
        ef_construction: params.ef_construction as u16,
        metric,
        entry_level: 0,
        entry: Address::INVALID,
        insert_block: INVALID_BLOCK,
        free_block: INVALID_BLOCK,
        code_bits: format::default_code_bits(dimensions, metric),
        rotation_seed: ROTATION_SEED,
        filter_columns: filter_columns as u8,
        linked_columns: 0,
        directory: Address::INVALID,
    }
}

/// A filter column is linked when some value of it has at least
/// LINKED_GROUP_ELEMENTS elements (enough to fill a LIMIT from its graph
/// alone) and at most 1 / LINKED_GROUP_SHARE of them (so few that a walk of
/// the whole graph meets several failing elements per matching one: the
/// filtered walk's CPU grows as selectivity^-0.76, bench_filter.sh). A
/// unique column or a flag of three values is not worth the links.
const LINKED_GROUP_ELEMENTS: usize = 16;
const LINKED_GROUP_SHARE: usize = 4;

/// The value graphs of the linked filter columns (values.rs).
struct ValueLinks {
    /// Per linked column, in column order: its column and its values'
    /// graphs, whose entries are the elements of `words`.
    columns: Vec<(usize, Vec<i64>, SubsetLinks)>,
}

/// Decides which filter columns to link (integer and text columns with a
/// value worth linking, see LINKED_GROUP_ELEMENTS; as many as the neighbor
/// tuples have room for), marks them in `meta` and builds their value graphs.
fn link_values(state: &BuildState, graph: &MemoryGraph, meta: &mut MetaPage) -> ValueLinks {
    let columns = state.filter_columns;
    let linkable = linkable_columns(state.index.raw());
    let mut linked = Vec::new();
    for column in (0..columns.min(16)).filter(|&c| linkable[c]) {
        if linked.len() == format::max_value_lists(state.params.m) {
            break;
        }
        let mut groups: HashMap<i64, Vec<u32>> = HashMap::new();
        for node in 0..graph.len() {
            if let Some(word) = state.filters[node * columns + column] {
                groups.entry(word).or_default().push(node as u32);
            }
        }
        let worth_linking = |n: usize| n >= LINKED_GROUP_ELEMENTS && n * LINKED_GROUP_SHARE <= graph.len();
        if groups.values().any(|members| worth_linking(members.len())) {
            let mut groups: Vec<(i64, Vec<u32>)> = groups.into_iter().collect();
            groups.sort_unstable_by_key(|(word, _)| *word);
            linked.push((column, groups));
        }
    }
    if linked.is_empty() {
        return ValueLinks { columns: Vec::new() };
    }
    report_progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_VALUES);
    report_progress(pg_sys::PROGRESS_CREATEIDX_TUPLES_TOTAL, (graph.len() * linked.len()) as i64);
    let params = super::values::value_params(meta);
    let mut done_before = 0;
    let mut columns_linked = Vec::new();
    for (column, groups) in linked {
        meta.linked_columns |= 1 << column;
        let (words, members): (Vec<i64>, Vec<Vec<u32>>) = groups.into_iter().unzip();
        let links = subset_links(graph, state.metric.metric(), &members, params, build_seed(), build_threads(), &mut |done| {
            report_progress(pg_sys::PROGRESS_CREATEIDX_TUPLES_DONE, (done_before + done) as i64);
            pgrx::check_for_interrupts!();
        });
        done_before += graph.len();
        columns_linked.push((column, words, links));
    }
    ValueLinks { columns: columns_linked }
}

/// The seed of every index's code rotation (kept in the meta page, so a
/// later version may choose otherwise).
const ROTATION_SEED: u64 = 0x5241_4249_5451_0001;

/// The encoder of a new index's codes, its centroid the mean of `vectors`
/// (zero if there are none); `None` for an index without codes.
fn fit_encoder<'a>(meta: &MetaPage, vectors: impl Iterator<Item = &'a [f32]>) -> Option<RabitqEncoder> {
    let (dimensions, bits) = (meta.dimensions as usize, meta.code_bits as usize);
    (bits > 0).then(|| RabitqEncoder::with_mean_centroid(dimensions, bits, meta.rotation_seed, vectors))
}

/// Writes the meta page (block 0) and the centroid tuples (blocks 1, ...)
/// of a new index.
fn write_meta_and_centroid(index: &Index, meta: &MetaPage, encoder: Option<&RabitqEncoder>) {
    let mut page = index.extend_for_build(META_PAGE);
    meta.encode(page.page().contents_mut(META_BYTES));
    drop(page);
    let Some(encoder) = encoder else { return };
    let mut bytes = Vec::new();
    for chunk in encoder.centroid().chunks(format::CENTROID_CHUNK) {
        let mut page = index.extend_for_build(GRAPH_PAGE);
        format::encode_centroid_chunk(chunk, &mut bytes);
        assert_eq!(page.page().add_item(&bytes), Some(1), "a centroid tuple opens its page");
    }
}

/// Where each tuple goes. Element tuples (the codes) fill pages of their
/// own; then each element's vector tuple and neighbor tuple are written side
/// by side (an expansion reads both), with its duplicates tuples after
/// them. Both go in `order`, a recursive bisection of the vectors, so the
/// elements one search meets, near each other in space, share pages
/// (`cargo bench --bench layout` measured the orders).
struct Layout {
    order: Vec<u32>,
    elements: Vec<Address>,
    /// The vector tuples of each element, in chunk order.
    vectors: Vec<Vec<Address>>,
    neighbors: Vec<Address>,
    /// The duplicates tuples of the elements that have some, in chain order.
    chains: HashMap<u32, Vec<Address>>,
    last_block: u32,
}

/// Fills pages in sequence from `block` on.
struct PagePlan {
    block: u32,
    free: usize,
    next_offset: u16,
}

impl PagePlan {
    fn place(&mut self, space: usize) -> Address {
        if self.free < space {
            self.next_page();
        }
        self.free -= space;
        self.next_offset += 1;
        Address { block: self.block, offset: self.next_offset - 1 }
    }

    fn next_page(&mut self) {
        self.block += 1;
        self.free = EMPTY_PAGE_BYTES;
        self.next_offset = 1;
    }
}

/// The elements the page order keeps together at its finest: fewer than
/// fit a page, so page boundaries cut few groups.
const LEAF_ELEMENTS: usize = 8;

fn plan_layout(graph: &MemoryGraph, duplicates: &Duplicates, meta: &MetaPage) -> Layout {
    let lists = meta.lists();
    let shape = meta.shape();
    // Sparse vectors have no mean to bisect around; their graph's own
    // order keeps linked elements near each other instead.
    let order = if shape.lengths_vary {
        graph.breadth_first_order()
    } else {
        bisection_order(graph.vectors().values(), graph.dim(), meta.metric.metric(), LEAF_ELEMENTS, build_threads())
    };
    let mut plan = PagePlan { block: meta.centroid_blocks().end - 1, free: 0, next_offset: 1 };
    let mut elements = vec![Address::INVALID; graph.len()];
    for &node in &order {
        elements[node as usize] = plan.place(item_space(shape.element_bytes()));
    }
    plan.free = 0;
    let duplicates_space = item_space(format::DUPLICATES_BYTES);
    let mut vectors = vec![Vec::new(); graph.len()];
    let mut neighbors = vec![Address::INVALID; graph.len()];
    let mut chains = HashMap::new();
    for &node in &order {
        // Every chunk but the last fills a page; the last goes with the
        // neighbor tuple.
        let floats = graph.vector(node).len();
        let chunk_spaces: Vec<usize> = (0..floats).step_by(VECTOR_CHUNK).map(|start| item_space(format::vector_chunk_bytes((floats - start).min(VECTOR_CHUNK)))).collect();
        let (last_space, full_spaces) = chunk_spaces.split_last().expect("a vector has at least one float");
        let chunks = &mut vectors[node as usize];
        chunks.extend(full_spaces.iter().map(|&space| plan.place(space)));
        let neighbor_space = item_space(lists.neighbors_bytes(graph.level(node)));
        if plan.free < last_space + neighbor_space && last_space + neighbor_space <= EMPTY_PAGE_BYTES {
            plan.next_page(); // start the pair on a fresh page
        }
        chunks.push(plan.place(*last_space));
        neighbors[node as usize] = plan.place(neighbor_space);
        if let Some(rows) = duplicates.get(&node) {
            let tuples = rows.len().div_ceil(format::DUPLICATE_SLOTS);
            chains.insert(node, (0..tuples).map(|_| plan.place(duplicates_space)).collect());
        }
    }
    Layout { order, elements, vectors, neighbors, chains, last_block: plan.block }
}

/// Writes the meta page, the centroid and the in-memory graph to the
/// (empty) index, then WAL-logs every page.
fn write_graph(state: &BuildState, graph: &MemoryGraph, duplicates: &Duplicates) {
    let index = &state.index;
    let mut meta = empty_meta(state.params, state.dimensions, state.metric, state.filter_columns);
    let encoder = fit_encoder(&meta, (0..graph.len() as u32).map(|node| graph.vector(node)));
    let codes = encode_elements(encoder.as_ref(), graph, build_threads());
    let values = link_values(state, graph, &mut meta);
    report_progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_WRITE);
    let code_bytes = meta.shape().code_bytes;
    let layout = plan_layout(graph, duplicates, &meta);
    if let Some((entry, level)) = graph.entry() {
        meta.entry = layout.elements[entry as usize];
        meta.entry_level = level as u8;
        meta.insert_block = layout.last_block;
    }
    // The values directory: a page per VALUE_ENTRIES values, after the graph's.
    let directory: Vec<ValueEntry> = values
        .columns
        .iter()
        .flat_map(|(column, words, links)| words.iter().zip(&links.entries).map(|(&word, &entry)| ValueEntry { column: *column, word, entry: layout.elements[entry as usize] }))
        .collect();
    let directory_at = |i: usize| Address { block: layout.last_block + 1 + i as u32, offset: 1 };
    if !directory.is_empty() {
        meta.directory = directory_at(0);
    }
    write_meta_and_centroid(index, &meta, encoder.as_ref());

    let (m, lists) = (state.params.m, meta.lists());
    let mut page: Option<BuildPage> = None;
    let mut bytes = Vec::new();
    let mut links = Vec::new();
    let mut write = |at: Address, item: &[u8]| {
        while page.as_ref().is_none_or(|p| p.block() < at.block) {
            page = None; // release the full page first
            page = Some(index.extend_for_build(GRAPH_PAGE));
        }
        let offset = page.as_mut().expect("opened above").page().add_item(item);
        assert_eq!(offset, Some(at.offset), "the planned layout matches the pages");
    };
    for &node in &layout.order {
        let n = node as usize;
        let code = &codes[n * code_bytes..(n + 1) * code_bytes];
        let filter = &state.filters[n * state.filter_columns..(n + 1) * state.filter_columns];
        format::encode_element(graph.level(node), state.heap_tids[n], layout.neighbors[n], layout.vectors[n][0], code, filter, &mut bytes);
        if let Some(chain) = layout.chains.get(&node) {
            format::set_element_duplicates(&mut bytes, chain[0]);
            format::set_element_duplicate_count(&mut bytes, duplicates[&node].len());
        }
        write(layout.elements[n], &bytes);
    }
    for &node in &layout.order {
        let n = node as usize;
        let chunks = &layout.vectors[n];
        for (i, floats) in graph.vector(node).chunks(VECTOR_CHUNK).enumerate() {
            format::encode_vector_chunk(floats, chunks.get(i + 1).copied().unwrap_or(Address::INVALID), &mut bytes);
            write(chunks[i], &bytes);
        }
        format::encode_empty_neighbors(lists, graph.level(node), &mut bytes);
        for level in 0..=graph.level(node) {
            links.clear();
            links.extend(graph.links(node, level).iter().map(|&n| layout.elements[n as usize]));
            let verdicts = (level == 0).then(|| graph.layer0_verdicts(node)).flatten().map(|verdicts| StoredVerdict::of_list(graph.links(node, 0), verdicts));
            format::write_layer(&mut bytes, m, level, &links, verdicts.as_deref());
        }
        for (list, (_, _, value_links)) in values.columns.iter().enumerate() {
            links.clear();
            links.extend(value_links.links[n].iter().map(|&n| layout.elements[n as usize]));
            format::write_value_list(&mut bytes, lists, list, &links);
        }
        write(layout.neighbors[n], &bytes);
        if let (Some(rows), Some(chain)) = (duplicates.get(&node), layout.chains.get(&node)) {
            for (i, tids) in rows.chunks(format::DUPLICATE_SLOTS).enumerate() {
                let next = chain.get(i + 1).copied().unwrap_or(Address::INVALID);
                format::encode_duplicates(tids, next, &mut bytes);
                write(chain[i], &bytes);
            }
        }
    }
    let tuples = directory.len().div_ceil(VALUE_ENTRIES);
    for (i, entries) in directory.chunks(VALUE_ENTRIES).enumerate() {
        let next = if i + 1 < tuples { directory_at(i + 1) } else { Address::INVALID };
        format::encode_values(entries, next, &mut bytes);
        write(directory_at(i), &bytes);
    }
    drop(page);
    index.log_all_pages();
}

/// Every element's code, in node order (empty without an encoder), on
/// `threads` threads: the backend's own encodes the first share and
/// reports the "encoding vectors" phase's progress (scaled to all shares).
fn encode_elements(encoder: Option<&RabitqEncoder>, graph: &MemoryGraph, threads: usize) -> Vec<u8> {
    let Some(encoder) = encoder else { return Vec::new() };
    report_progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_ENCODE);
    report_progress(pg_sys::PROGRESS_CREATEIDX_TUPLES_TOTAL, graph.len() as i64);
    let code_bytes = encoder.code_bytes();
    let mut codes = vec![0; graph.len() * code_bytes];
    let share = graph.len().div_ceil(threads.max(1)).max(1);
    let encode = |first: usize, codes: &mut [u8], progress: &mut dyn FnMut(usize)| {
        for (i, code) in codes.chunks_exact_mut(code_bytes).enumerate() {
            encoder.encode_into(graph.vector((first + i) as u32), code);
            progress(i);
        }
    };
    std::thread::scope(|scope| {
        let mut shares = codes.chunks_mut(share * code_bytes).enumerate();
        let own = shares.next();
        for (i, codes) in shares {
            scope.spawn(move || encode(i * share, codes, &mut |_| {}));
        }
        if let Some((_, codes)) = own {
            encode(0, codes, &mut |done| {
                if done % PROGRESS_EVERY == 0 {
                    report_progress(pg_sys::PROGRESS_CREATEIDX_TUPLES_DONE, (done * threads) as i64);
                    pgrx::check_for_interrupts!();
                }
            });
        }
    });
    codes
}

/// Builds are deterministic for a given table, which keeps tests and
/// benchmarks repeatable.
fn build_seed() -> u64 {
    0x5eed_4e53
}

