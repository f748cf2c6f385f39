//! The HNSW graph as it lives in index pages: the [`Graph`] and [`GraphMut`]
//! implementations that let the pure-Rust algorithms walk and change it, and
//! the placement of new elements.

use std::borrow::Cow;

use vector_core::hnsw::{EstimateQuery, EstimatingGraph, Graph, GraphMut, HashVisited, HnswParams, LinkVerdict};
use vector_core::quant::{Estimate, RabitqEncoder};
use vector_core::types::sparse;

use super::duplicates;
use super::format::{
    self, Address, Element, ElementState, ListShape, MetaPage, Neighbors, Shape, StoredVerdict, VectorChunk, GRAPH_PAGE,
    META_BLOCK, META_BYTES, META_PAGE, VECTOR_CHUNK,
};
use crate::am::filter::ScanFilter;
use crate::storage::{corrupted, item_space, BlockNumber, Index, PageRef, PinnedPages, WalRecord, INVALID_BLOCK};

/// Reads and decodes the meta page.
pub fn read_meta(index: &Index) -> MetaPage {
    let page = index.read(META_BLOCK, META_PAGE);
    decode_meta(index, page.page())
}

/// The meta page if the index has one of this format, else None (an index
/// being built, or one that needs a REINDEX): for the planner, which must
/// not fail a query that may not use the index.
pub fn read_meta_if_current(index: &Index) -> Option<MetaPage> {
    if index.block_count() == 0 {
        return None;
    }
    let page = index.read_unchecked(META_BLOCK);
    let page = page.page();
    (page.tag() == Some(META_PAGE)).then(|| page.contents(META_BYTES).and_then(|bytes| MetaPage::decode(bytes).ok())).flatten()
}

pub(super) fn decode_meta(index: &Index, page: PageRef<'_>) -> MetaPage {
    let bytes = page.contents(META_BYTES).unwrap_or_else(|| corrupted(index, META_BLOCK, "has no meta data"));
    MetaPage::decode(bytes).unwrap_or_else(|e| crate::am::bad_meta(index, e))
}

/// The encoder of the index's codes, `None` for an index without codes
/// (L1, Hamming, Jaccard): the meta page's bits and seed and the centroid its tuples hold.
pub fn read_encoder(index: &Index, meta: &MetaPage) -> Option<RabitqEncoder> {
    if meta.code_bits == 0 {
        return None;
    }
    let dimensions = meta.dimensions as usize;
    let mut centroid = Vec::with_capacity(dimensions);
    for block in meta.centroid_blocks() {
        let page = index.read(block, GRAPH_PAGE);
        let chunk = page.page().item(1).and_then(|bytes| format::decode_centroid_chunk(bytes).ok());
        let chunk = chunk.unwrap_or_else(|| corrupted(index, block, "lacks its centroid tuple"));
        centroid.extend_from_slice(chunk);
    }
    if centroid.len() != dimensions {
        corrupted(index, 1, "holds a centroid of the wrong dimension");
    }
    Some(RabitqEncoder::new(dimensions, meta.code_bits as usize, meta.rotation_seed, centroid))
}

/// Changes the meta page under one WAL record.
pub fn update_meta(index: &Index, change: impl FnOnce(&mut MetaPage)) {
    let buffer = index.lock_exclusive(META_BLOCK, META_PAGE);
    let mut meta = decode_meta(index, buffer.page());
    change(&mut meta);
    let mut record = WalRecord::start(index);
    let slot = record.register(buffer);
    meta.encode(record.page(slot).contents_mut(META_BYTES));
    record.commit();
}

pub struct PageGraph {
    index: Index,
    pages: PinnedPages,
    shape: Shape,
    lists: ListShape,
    score: fn(&[f32], &[f32]) -> f32,
    /// The vector `distance_between` last loaded, by address.
    cached: Option<(Address, Vec<f32>)>,
    /// Where a vector of several chunks is gathered.
    gathered: Vec<f32>,
    /// Exact distances and code estimates computed, and neighbor lists
    /// read so far.
    distances_computed: u64,
    estimates_computed: u64,
    lists_read: u64,
    /// The layer-0 list `update_neighbors` is changing (owner, links) and
    /// the verdicts stored with it; what `cache_verdicts` kept for the list
    /// about to be written.
    stored_verdicts: Option<(Address, Vec<Address>, Vec<StoredVerdict>)>,
    new_verdicts: Option<(Address, Vec<LinkVerdict<Address>>)>,
}

impl PageGraph {
    pub fn open(index: Index, meta: &MetaPage) -> Self {
        Self {
            index,
            pages: PinnedPages::new(index),
            shape: meta.shape(),
            lists: meta.lists(),
            score: meta.metric.metric().score_fn(),
            cached: None,
            gathered: Vec::new(),
            distances_computed: 0,
            estimates_computed: 0,
            lists_read: 0,
            stored_verdicts: None,
            new_verdicts: None,
        }
    }

    /// What this graph has done so far, into the current scan's counters
    /// (hnsw_last_scan()).
    pub fn count_into_scan(&self) {
        super::counters::count(|counters| {
            counters.distances += self.distances_computed;
            counters.estimates += self.estimates_computed;
            counters.neighbor_lists += self.lists_read;
            counters.pages += self.pages.pins_taken();
        });
    }

    /// Whether a scan may return the element at `node`: it is live and its
    /// filter values meet `filter` (the values, like the code, are
    /// immutable parts of the element).
    pub fn may_return(&mut self, node: Address, filter: Option<&ScanFilter>) -> bool {
        self.with_element(node, |element| {
            element.state() == ElementState::Live && filter.is_none_or(|filter| filter.accepts(element.filter_values()))
        })
    }

    /// The element's filter values.
    pub fn filter_values(&mut self, node: Address) -> Vec<Option<i64>> {
        self.with_element(node, |element| element.filter_values().to_vec())
    }

    pub fn params(meta: &MetaPage) -> HnswParams {
        HnswParams::new(meta.m as usize, meta.ef_construction as usize)
    }

    /// Runs `f` on the element at `node`. The page is pinned, not locked:
    /// `f` may read only the code, the vector's address and the state (the
    /// format's immutable parts; a state change is a single byte).
    fn with_element<R>(&mut self, node: Address, f: impl FnOnce(Element<'_>) -> R) -> R {
        self.pages.trim();
        let pinned = self.pages.pin(node.block);
        let element = decode_element(&self.index, self.pages.page(pinned), node, self.shape);
        f(element)
    }

    /// Runs `f` on the full vector of the element at `node` (pinned: a
    /// vector changes only in a free slot being reused, which no search
    /// walks; see SCAN_LOCK).
    /// A vector in one chunk is read in place, a longer one gathered.
    fn with_vector<R>(&mut self, node: Address, f: impl FnOnce(&[f32]) -> R) -> R {
        let at = self.with_element(node, |element| element.vector());
        let pinned = self.pages.pin(at.block);
        let chunk = decode_vector_chunk(&self.index, self.pages.page(pinned), at);
        if !chunk.next().is_valid() {
            return f(checked_length(&self.index, at, chunk.floats(), self.shape));
        }
        let mut gathered = std::mem::take(&mut self.gathered);
        gathered.clear();
        gathered.extend_from_slice(chunk.floats());
        let mut next = chunk.next();
        while next.is_valid() && gathered.len() < self.shape.max_floats() {
            let pinned = self.pages.pin(next.block);
            let chunk = decode_vector_chunk(&self.index, self.pages.page(pinned), next);
            gathered.extend_from_slice(chunk.floats());
            next = chunk.next();
        }
        let result = f(checked_length(&self.index, at, &gathered, self.shape));
        self.gathered = gathered;
        result
    }

    /// Appends the heap TIDs of a live element (its own row's and its
    /// duplicates'); false if it is not live. The TIDs change in place
    /// (VACUUM, duplicates), so they are read under a share lock.
    pub fn live_heap_tids(&mut self, node: Address, out: &mut Vec<Address>) -> bool {
        self.pages.trim();
        let head = {
            let lock = self.pages.shared(node.block);
            let element = decode_element(&self.index, lock.page(), node, self.shape);
            if element.state() != ElementState::Live {
                return false;
            }
            out.extend(Some(element.heap_tid()).filter(Address::is_valid));
            element.duplicates()
        };
        duplicates::read_chain(&self.index, head, out);
        true
    }

    fn decode_neighbors<'p>(&self, page: PageRef<'p>, at: Address) -> Neighbors<'p> {
        let bytes = page.item(at.offset).unwrap_or_else(|| corrupted(&self.index, at.block, "lacks a neighbor tuple"));
        Neighbors::decode(bytes, self.lists).unwrap_or_else(|e| corrupted(&self.index, at.block, &e.to_string()))
    }

    /// The address of `node`'s neighbor tuple and its links on `level`,
    /// read under a share lock (links change in place); with `verdicts`,
    /// also the layer-0 verdicts stored with them. The element itself is
    /// read under its pin: where its neighbor tuple is never changes, and
    /// its state is one byte.
    fn read_links(&mut self, node: Address, level: usize, out: &mut Vec<Address>, verdicts: Option<&mut Vec<StoredVerdict>>) -> Address {
        self.lists_read += 1;
        let (at, free) = self.with_element(node, |element| (element.neighbors(), element.state() == ElementState::Free));
        if free {
            return at;
        }
        let lock = self.pages.shared(at.block);
        let neighbors = self.decode_neighbors(lock.page(), at);
        neighbors.read_layer(level, out);
        if let Some(verdicts) = verdicts {
            neighbors.read_verdicts(verdicts);
        }
        at
    }

    /// Appends `node`'s value list `list` (values.rs), read under a share
    /// lock as `read_links` reads a layer; returns where its neighbor tuple is.
    pub(super) fn read_value_list(&mut self, node: Address, list: usize, out: &mut Vec<Address>) -> Address {
        self.lists_read += 1;
        let (at, free) = self.with_element(node, |element| (element.neighbors(), element.state() == ElementState::Free));
        if free {
            return at;
        }
        let lock = self.pages.shared(at.block);
        self.decode_neighbors(lock.page(), at).read_value_list(list, out);
        at
    }

    /// Writes value list `list` of the neighbor tuple at `at` if it still
    /// holds `current`; false if a concurrent insert changed it.
    pub(super) fn write_value_list(&mut self, at: Address, list: usize, current: &[Address], new: &[Address]) -> bool {
        let buffer = self.index.lock_exclusive(at.block, GRAPH_PAGE);
        if !self.decode_neighbors(buffer.page(), at).value_list_equals(list, current) {
            return false;
        }
        let mut record = WalRecord::start(&self.index);
        let slot = record.register(buffer);
        let mut page = record.page(slot);
        format::write_value_list(page.item_mut(at.offset).expect("checked above"), self.lists, list, new);
        record.commit();
        true
    }

    /// The verdicts `cache_verdicts` kept for `owner`'s layer-0 list if that
    /// list is `links`, as stored: each pruner by its slot in `links`.
    fn verdicts_to_store(&mut self, owner: Address, links: &[Address]) -> Option<Vec<StoredVerdict>> {
        let (kept_for, verdicts) = self.new_verdicts.take()?;
        if kept_for != owner || verdicts.len() != links.len() || verdicts.iter().zip(links).any(|(v, &link)| v.node != link) {
            return None;
        }
        Some(StoredVerdict::of_list(links, &verdicts))
    }
}

/// The element at `node` on a locked or pinned page; an ERROR if there is none.
pub(super) fn decode_element<'p>(index: &Index, page: PageRef<'p>, node: Address, shape: Shape) -> Element<'p> {
    let bytes = page.item(node.offset).unwrap_or_else(|| corrupted(index, node.block, "lacks a linked element"));
    Element::decode(bytes, shape).unwrap_or_else(|e| corrupted(index, node.block, &e.to_string()))
}

/// The vector tuple at `at` on a pinned or locked page; an ERROR if there is none.
pub(super) fn decode_vector_chunk<'p>(index: &Index, page: PageRef<'p>, at: Address) -> VectorChunk<'p> {
    let bytes = page.item(at.offset).unwrap_or_else(|| corrupted(index, at.block, "lacks an element's vector"));
    VectorChunk::decode(bytes).unwrap_or_else(|e| corrupted(index, at.block, &e.to_string()))
}

/// `vector`, a whole vector read from the chunks starting at `at`; an
/// ERROR if it is not one the index holds (see `Shape::holds`).
fn checked_length<'v>(index: &Index, at: Address, vector: &'v [f32], shape: Shape) -> &'v [f32] {
    if !shape.holds(vector) {
        corrupted(index, at.block, "holds a vector of the wrong dimensions");
    }
    vector
}

/// Reads the whole vector whose first chunk is at `at` into `out`, one
/// share-locked page at a time (for checks; searches use [`PageGraph`]).
pub fn read_vector(index: &Index, at: Address, shape: Shape, out: &mut Vec<f32>) {
    out.clear();
    let mut next = at;
    while next.is_valid() && out.len() < shape.max_floats() {
        let page = index.read(next.block, GRAPH_PAGE);
        let chunk = decode_vector_chunk(index, page.page(), next);
        out.extend_from_slice(chunk.floats());
        next = chunk.next();
    }
    checked_length(index, at, out, shape);
}

impl Graph for PageGraph {
    type Node = Address;
    type Visited = HashVisited<Address>;

    fn entry_point(&mut self) -> Option<(Address, usize)> {
        let meta = read_meta(&self.index);
        meta.entry.is_valid().then_some((meta.entry, meta.entry_level as usize))
    }

    fn distance(&mut self, query: &[f32], node: Address) -> f32 {
        self.distances_computed += 1;
        let score = self.score;
        self.with_vector(node, |vector| score(query, vector))
    }

    /// Overlaps the cache misses of a batch: the elements' pages first (to
    /// learn where the vectors are), then every vector prefetched before
    /// any is scored. A vector longer than its first tuple (a long sparse
    /// one) is gathered and scored after the others.
    fn distances(&mut self, query: &[f32], nodes: &[Address], out: &mut Vec<f32>) {
        out.clear();
        if !self.shape.first_chunk_usually_whole() {
            // Each vector spans pages: gathering it is the cost, not the misses.
            for &node in nodes {
                let distance = self.distance(query, node);
                out.push(distance);
            }
            return;
        }
        self.distances_computed += nodes.len() as u64;
        self.pages.trim();
        let vectors: Vec<(BlockNumber, u16)> = nodes
            .iter()
            .map(|&node| self.with_element(node, |element| element.vector()))
            .map(|at| (at.block, at.offset))
            .collect();
        let mut longer = Vec::new();
        let (index, shape, score) = (self.index, self.shape, self.score);
        self.pages.prefetched_items(vectors.iter().copied(), shape.prefetch_bytes(), |i, bytes| {
            let (block, offset) = vectors[i];
            let bytes = bytes.unwrap_or_else(|| corrupted(&index, block, "lacks an element's vector"));
            let chunk = VectorChunk::decode(bytes).unwrap_or_else(|e| corrupted(&index, block, &e.to_string()));
            if chunk.next().is_valid() {
                longer.push(i);
                out.push(f32::NAN);
                return;
            }
            let vector = checked_length(&index, Address { block, offset }, chunk.floats(), shape);
            out.push(score(query, vector));
        });
        for i in longer {
            self.distances_computed -= 1; // counted again by distance()
            out[i] = self.distance(query, nodes[i]);
        }
    }

    fn distance_between(&mut self, a: Address, b: Address) -> f32 {
        if self.cached.as_ref().is_none_or(|(at, _)| *at != a) {
            let mut vector = self.cached.take().map(|(_, v)| v).unwrap_or_default();
            self.load_vector(a, &mut vector);
            self.cached = Some((a, vector));
        }
        let (_, vector) = self.cached.take().expect("just cached");
        let distance = self.distance(&vector, b);
        self.cached = Some((a, vector));
        distance
    }

    fn load_vector(&mut self, node: Address, out: &mut Vec<f32>) {
        out.clear();
        self.with_vector(node, |vector| out.extend_from_slice(vector));
    }

    fn neighbors(&mut self, node: Address, level: usize, out: &mut Vec<Address>) {
        self.read_links(node, level, out, None);
    }

    /// The verdicts stored with the layer-0 list `update_neighbors` is
    /// changing, if every one is known; each link's score is recomputed,
    /// all in one batch (`distances`: the vectors' cache misses overlap).
    fn cached_verdicts(&mut self, owner: Address, level: usize, links: &[Address]) -> Option<Vec<LinkVerdict<Address>>> {
        let (stored_for, stored_links, stored) = self.stored_verdicts.as_ref()?;
        if level != 0 || *stored_for != owner || stored_links != links {
            return None;
        }
        let pruners: Vec<Option<Address>> = stored
            .iter()
            .map(|verdict| match *verdict {
                StoredVerdict::Kept => Some(None),
                StoredVerdict::PrunedBy(slot) => links.get(slot).map(|&pruner| Some(pruner)),
                StoredVerdict::Unknown => None,
            })
            .collect::<Option<_>>()?;
        // The owner's vector as `distance_between` keeps it, so the score
        // of the new link that follows reads no page again.
        let owner_vector = match self.cached.take() {
            Some((at, vector)) if at == owner => vector,
            other => {
                let mut vector = other.map(|(_, v)| v).unwrap_or_default();
                self.load_vector(owner, &mut vector);
                vector
            }
        };
        let mut scores = Vec::with_capacity(links.len());
        self.distances(&owner_vector, links, &mut scores);
        self.cached = Some((owner, owner_vector));
        Some(
            links
                .iter()
                .zip(pruners)
                .zip(scores)
                .map(|((&node, pruned_by), distance)| LinkVerdict { node, distance, pruned_by })
                .collect(),
        )
    }

    fn cache_verdicts(&mut self, owner: Address, level: usize, verdicts: Vec<LinkVerdict<Address>>) {
        if level == 0 {
            self.new_verdicts = Some((owner, verdicts));
        }
    }

    fn new_visited(&self) -> HashVisited<Address> {
        HashVisited::default()
    }

    /// Deleted or already freed; the state byte may be read under the pin.
    fn is_deleted(&mut self, node: Address) -> bool {
        self.with_element(node, |element| element.state() != ElementState::Live)
    }
}

impl EstimatingGraph for PageGraph {
    /// Reads the codes in place, every one prefetched before any is scored.
    fn estimates(&mut self, query: &EstimateQuery, nodes: &[Address], out: &mut Vec<Estimate>) {
        self.estimates_computed += nodes.len() as u64;
        out.clear();
        self.pages.trim();
        let (index, shape) = (self.index, self.shape);
        let at = nodes.iter().map(|node| (node.block, node.offset));
        self.pages.prefetched_items(at, shape.element_bytes(), |i, bytes| {
            let block = nodes[i].block;
            let bytes = bytes.unwrap_or_else(|| corrupted(&index, block, "lacks a linked element"));
            let element = Element::decode(bytes, shape).unwrap_or_else(|e| corrupted(&index, block, &e.to_string()));
            out.push(query.score(element.code()));
        });
    }
}

impl GraphMut for PageGraph {
    /// Optimistic: the new list is computed without holding a lock (it reads
    /// other pages), then written only if the list did not change meanwhile.
    /// On layer 0 the verdicts `cache_verdicts` kept for the new list are
    /// written with it, and alone when the list stays as it was but its
    /// stored verdicts were not all known.
    fn update_neighbors(&mut self, node: Address, level: usize, update: &mut dyn FnMut(&mut Self, &[Address]) -> Vec<Address>) {
        loop {
            let mut current = Vec::new();
            let mut stored = Vec::new();
            let at = self.read_links(node, level, &mut current, (level == 0).then_some(&mut stored));
            let all_known = stored.iter().all(|&v| v != StoredVerdict::Unknown);
            self.stored_verdicts = (level == 0).then(|| (node, current.clone(), stored));
            self.new_verdicts = None;
            let new = update(self, &current);
            self.stored_verdicts = None;
            let verdicts = if level == 0 { self.verdicts_to_store(node, &new) } else { None };
            if new == current && (all_known || verdicts.is_none()) {
                return;
            }
            let buffer = self.index.lock_exclusive(at.block, GRAPH_PAGE);
            if !self.decode_neighbors(buffer.page(), at).layer_equals(level, &current) {
                continue; // a concurrent insert changed it: recompute
            }
            let mut record = WalRecord::start(&self.index);
            let slot = record.register(buffer);
            let mut page = record.page(slot);
            let bytes = page.item_mut(at.offset).expect("checked above");
            format::write_layer(bytes, self.lists.m, level, &new, verdicts.as_deref());
            record.commit();
            return;
        }
    }

    /// Checks and sets under the meta page's exclusive lock (`update_meta`),
    /// so of two concurrent first inserts one wins and the other learns it.
    fn claim_entry_point(&mut self, node: Address, level: usize) -> Option<(Address, usize)> {
        let mut winner = None;
        update_meta(&self.index, |meta| {
            if meta.entry.is_valid() {
                winner = Some((meta.entry, meta.entry_level as usize));
            } else {
                meta.entry = node;
                meta.entry_level = level as u8;
            }
        });
        winner
    }

    fn promote_entry_point(&mut self, node: Address, level: usize) {
        update_meta(&self.index, |meta| {
            if !meta.entry.is_valid() || level > meta.entry_level as usize {
                meta.entry = node;
                meta.entry_level = level as u8;
            }
        });
    }
}

/// A row about to become an element: its heap TID, prepared vector, code
/// and drawn level.
pub struct NewElement<'a> {
    pub heap_tid: Address,
    pub vector: &'a [f32],
    pub code: &'a [u8],
    /// The values of its filter columns (empty without).
    pub filter: &'a [Option<i64>],
    pub level: usize,
}

/// Stores a new, unlinked element and returns its address and level. A slot
/// VACUUM freed is reused whenever there is one, so the index does not grow
/// across delete and insert cycles; the element's level is then capped at
/// what the slot's neighbor tuple holds (a rare, harmless bend of the level
/// distribution). Vectors of several chunks do not reuse slots: a slot's
/// tuples must change in one WAL record, which covers at most four pages.
/// A sparse vector takes a slot whose vector tuple holds as many floats or
/// more, padded with explicit zeros to fill it (`sparse::padded_slots`).
/// The caller links the element with `hnsw::insert`.
pub fn add_element(index: &Index, meta: &MetaPage, new: &NewElement<'_>) -> (Address, usize) {
    let shape = meta.shape();
    let fits_one_chunk = shape.one_chunk_each() || (shape.lengths_vary && new.vector.len() <= VECTOR_CHUNK);
    if meta.free_block != INVALID_BLOCK && fits_one_chunk {
        if let Some(placed) = reuse_free_slot(index, meta, new) {
            return placed;
        }
    }
    (append_element(index, meta, new), new.level)
}

/// A freed element found on a page: its offset, the addresses of its
/// neighbor and vector tuples, the highest level its neighbor tuple holds
/// and the floats its vector tuple holds (0 if the vector has more chunks).
struct FreeSlot {
    offset: u16,
    neighbors: Address,
    vector: Address,
    top_level: usize,
    vector_floats: usize,
}

/// The freed elements on one page.
fn free_slots(index: &Index, block: BlockNumber, shape: Shape, lists: ListShape) -> Vec<FreeSlot> {
    let mut free: Vec<FreeSlot> = {
        let Some(page) = index.read_initialized(block, GRAPH_PAGE) else { return Vec::new() };
        let page = page.page();
        let elements = (1..=page.max_offset()).filter_map(|offset| Some((offset, Element::decode(page.item(offset)?, shape).ok()?)));
        elements
            .filter(|(_, e)| e.state() == ElementState::Free)
            .map(|(offset, e)| FreeSlot { offset, neighbors: e.neighbors(), vector: e.vector(), top_level: 0, vector_floats: shape.dimensions })
            .collect()
    };
    // The neighbor tuples may be on other pages: read after this one is let go.
    for slot in &mut free {
        let page = index.read(slot.neighbors.block, GRAPH_PAGE);
        let layers = page.page().item(slot.neighbors.offset).and_then(|bytes| Neighbors::decode(bytes, lists).ok()).map(|n| n.layers());
        slot.top_level = layers.unwrap_or_else(|| corrupted(index, slot.neighbors.block, "lacks a free element's neighbor tuple")) - 1;
        if shape.lengths_vary {
            let page = index.read(slot.vector.block, GRAPH_PAGE);
            let chunk = decode_vector_chunk(index, page.page(), slot.vector);
            slot.vector_floats = if chunk.next().is_valid() { 0 } else { chunk.floats().len() };
        }
    }
    free
}

/// Looks for a freed element from the meta page's hint on, preferring one
/// whose neighbor tuple has room for the new level; forgets the hint when
/// there is none left.
fn reuse_free_slot(index: &Index, meta: &MetaPage, new: &NewElement<'_>) -> Option<(Address, usize)> {
    let shape = meta.shape();
    let lists = meta.lists();
    for block in meta.free_block..index.block_count() {
        let mut free = free_slots(index, block, shape, lists);
        free.retain(|slot| slot.vector_floats >= new.vector.len());
        let best = free.iter().filter(|slot| slot.top_level >= new.level).min_by_key(|slot| slot.top_level);
        let Some(slot) = best.or_else(|| free.iter().max_by_key(|slot| slot.top_level)) else { continue };
        let level = new.level.min(slot.top_level);
        // The element, its vector and its neighbor tuple change together;
        // recheck under the exclusive locks: another insert may have taken it.
        let mut record = WalRecord::start(index);
        let slots = record.register_in_block_order(index, &[block, slot.vector.block, slot.neighbors.block], GRAPH_PAGE);
        let still_free = record.page(slots[0]).as_ref().item(slot.offset).and_then(|bytes| Element::decode(bytes, shape).ok()).is_some_and(|e| e.state() == ElementState::Free);
        if !still_free {
            continue;
        }
        {
            let mut vector_page = record.page(slots[1]);
            let vector_bytes = vector_page.item_mut(slot.vector.offset).unwrap_or_else(|| corrupted(index, slot.vector.block, "lacks a free element's vector"));
            let stored = if shape.lengths_vary {
                let floats = VectorChunk::decode(vector_bytes).unwrap_or_else(|e| corrupted(index, slot.vector.block, &e.to_string())).floats().len();
                let Some(padded) = sparse::padded_slots(new.vector, floats, meta.dimensions as usize) else { continue };
                Cow::Owned(padded)
            } else {
                Cow::Borrowed(new.vector)
            };
            format::write_vector_chunk(vector_bytes, &stored);
        }
        format::reuse_element(record.page(slots[0]).item_mut(slot.offset).expect("checked"), level, new.heap_tid, new.code, new.filter);
        format::clear_layers(record.page(slots[2]).item_mut(slot.neighbors.offset).expect("read above"), lists);
        record.commit();
        if block != meta.free_block {
            update_meta(index, |meta| meta.free_block = block);
        }
        return Some((Address { block, offset: slot.offset }, level));
    }
    update_meta(index, |meta| meta.free_block = INVALID_BLOCK);
    None
}

/// Appends an element with its empty neighbor tuple and its vector: all on
/// the last page when they fit there, else on new pages. The chunks of a
/// vector past the first are appended first, each in a WAL record of its
/// own and the last one first, so each knows where the next is; nothing
/// reaches them until the element is written (a crash in between leaves
/// them unreferenced).
fn append_element(index: &Index, meta: &MetaPage, new: &NewElement<'_>) -> Address {
    let mut bytes = Vec::new();
    let mut chunks = new.vector.chunks(VECTOR_CHUNK);
    let first = chunks.next().expect("a vector has dimensions");
    let mut next = Address::INVALID;
    for chunk in chunks.rev() {
        format::encode_vector_chunk(chunk, next, &mut bytes);
        let mut append = Append::start(index, item_space(bytes.len()));
        next = append.add(index, &bytes);
        append.commit();
    }
    let mut vector_bytes = Vec::new();
    format::encode_vector_chunk(first, next, &mut vector_bytes);
    let mut neighbor_bytes = Vec::new();
    format::encode_empty_neighbors(meta.lists(), new.level, &mut neighbor_bytes);
    let element_bytes = meta.shape().element_bytes();
    let needed = item_space(element_bytes) + item_space(vector_bytes.len()) + item_space(neighbor_bytes.len());
    let mut append = Append::start(index, needed);
    let vector_at = append.add(index, &vector_bytes);
    let neighbors_at = append.add(index, &neighbor_bytes);
    format::encode_element(new.level, new.heap_tid, neighbors_at, vector_at, new.code, new.filter, &mut bytes);
    let address = append.add(index, &bytes);
    append.commit();
    address
}

/// Appends a duplicates tuple holding `heap_tid` whose chain goes on at `next`.
pub fn append_duplicates(index: &Index, heap_tid: Address, next: Address) -> Address {
    let mut bytes = Vec::new();
    format::encode_duplicates(&[heap_tid], next, &mut bytes);
    let mut append = Append::start(index, item_space(bytes.len()));
    let address = append.add(index, &bytes);
    append.commit();
    address
}

/// One WAL record that adds tuples at the end of the graph: the last page
/// if it has room, else a new one. Holds the meta page (block 0, locked
/// first) until it commits, so concurrent inserts agree on the last page.
struct Append {
    record: WalRecord,
    meta_slot: usize,
    meta: MetaPage,
    /// The page with room for the tuples asked for.
    slot: usize,
}

impl Append {
    fn start(index: &Index, needed: usize) -> Self {
        let meta_buffer = index.lock_exclusive(META_BLOCK, META_PAGE);
        let meta = decode_meta(index, meta_buffer.page());
        let mut record = WalRecord::start(index);
        let meta_slot = record.register(meta_buffer);
        let last = (meta.insert_block != INVALID_BLOCK).then(|| record.register(index.lock_exclusive(meta.insert_block, GRAPH_PAGE)));
        let mut append = Self { record, meta_slot, meta, slot: 0 };
        append.slot = match last {
            Some(slot) if append.record.page(slot).as_ref().free_space() + 4 >= needed => slot,
            _ => append.new_page(index),
        };
        append
    }

    /// Adds an item to the page being filled, or to a new one if it has no
    /// room left.
    fn add(&mut self, index: &Index, item: &[u8]) -> Address {
        if !self.record.page(self.slot).as_ref().fits(item.len()) {
            self.slot = self.new_page(index);
        }
        let offset = self.record.page(self.slot).add_item(item).expect("room was checked");
        Address { block: self.record.block(self.slot), offset }
    }

    fn new_page(&mut self, index: &Index) -> usize {
        let slot = self.record.register(index.extend());
        self.record.page(slot).init(GRAPH_PAGE);
        // Extension adds the highest block: the new last page.
        self.meta.insert_block = self.record.block(slot);
        slot
    }

    fn commit(mut self) {
        self.meta.encode(self.record.page(self.meta_slot).contents_mut(META_BYTES));
        self.record.commit();
    }
}

/// Calls `visit` with each live element on page `block` that meets
/// `filter` (every live element without one), under the page's share lock.
pub fn for_each_live_element(index: &Index, block: BlockNumber, shape: Shape, filter: Option<&ScanFilter>, mut visit: impl FnMut(Address, Element<'_>)) {
    let Some(page) = index.read_initialized(block, GRAPH_PAGE) else { return };
    let page = page.page();
    for offset in 1..=page.max_offset() {
        let element = page.item(offset).and_then(|bytes| Element::decode(bytes, shape).ok());
        let wanted = |e: &Element<'_>| e.state() == ElementState::Live && filter.is_none_or(|f| f.accepts(e.filter_values()));
        if let Some(element) = element.filter(wanted) {
            visit(Address { block, offset }, element);
        }
    }
}
