//! `hnsw_verify(regclass)`: checks an hnsw index the way amcheck checks a
//! btree, and returns one row per problem (none for a healthy index):
//!
//! - the meta page and every graph page carry their tags and this format's
//!   version; pages never initialized (an interrupted extension) are empty;
//! - every item decodes as an element, a vector, a neighbor, a duplicates
//!   or a centroid tuple (the latter only where the format puts them);
//!   every element has a vector of its own (its chunks hold exactly the
//!   index's dimensions) and a neighbor tuple with a layer for each of its
//!   levels;
//! - a live element's code is the code of its vector;
//! - a live element has a row, its duplicates chain ends, and the chain
//!   holds as many heap TIDs as the element counts;
//! - every link of a live element points at an element (live or deleted,
//!   never a free slot) that has the layer, is not the element itself, and
//!   appears once in its list;
//! - the entry point is a live element on the top level;
//! - every live element is reachable from the entry point on layer 0 (so an
//!   exhaustive search finds it), and every heap TID is indexed once;
//! - with linked filter columns (values.rs): every value link of a live
//!   element points at another element (not a free slot) with the same
//!   value, once; the values directory names, once per value a live
//!   element has, a live element of that value; and every live element is
//!   reachable from its value's entry through the value links.
//!
//! It reads page by page under share locks, so a concurrent insert can make
//! it see a link to an element added after its page was read; it therefore
//! belongs in tests and checks of a quiet index.

use std::collections::{HashMap, HashSet, VecDeque};

use pgrx::pg_sys;
use pgrx::prelude::*;

use super::format::{
    self, Address, Duplicates, Element, ElementState, MetaPage, Neighbors, Shape, StoredVerdict, ValueEntry, Values, VectorChunk, GRAPH_PAGE,
    META_BLOCK, META_BYTES, META_PAGE,
};
use super::graph::{read_encoder, read_vector};
use crate::am::verify::{self, OpenIndex, Problems};
use crate::storage::Index;

struct ElementInfo {
    level: usize,
    state: ElementState,
    heap_tid: Address,
    neighbors: Address,
    vector: Address,
    duplicates: Address,
    duplicate_count: usize,
    code: Vec<u8>,
    filter: Vec<Option<i64>>,
}

/// The items of the index by address.
#[derive(Default)]
struct Items {
    elements: HashMap<Address, ElementInfo>,
    /// Each neighbor tuple's links, per layer.
    links: HashMap<Address, Vec<Vec<Address>>>,
    /// Each duplicates tuple's heap TIDs and the next tuple of its chain.
    duplicates: HashMap<Address, (Vec<Address>, Address)>,
    /// Each vector tuple's float count and next chunk.
    vectors: HashMap<Address, (usize, Address)>,
    /// Each neighbor tuple's value lists, in linked column order.
    value_lists: HashMap<Address, Vec<Vec<Address>>>,
    /// The values directory's entries, with the tuple holding each.
    directory: Vec<(Address, ValueEntry)>,
}

impl Items {
    /// The chunks of the vector starting at `first`, if they make one
    /// vector of the index's `shape` (its dimensions; for sparse keys, a
    /// count and as many indices and values fit); else what is wrong.
    fn vector_chunks(&self, first: Address, shape: Shape) -> Result<Vec<Address>, String> {
        let (mut chunks, mut floats, mut at) = (Vec::new(), 0, first);
        while at.is_valid() && floats < shape.max_floats() {
            let &(count, next) = self.vectors.get(&at).ok_or_else(|| format!("vector tuple ({},{}) is missing", at.block, at.offset))?;
            chunks.push(at);
            floats += count;
            at = next;
        }
        let whole = if shape.lengths_vary { floats % 2 == 1 && floats <= shape.max_floats() } else { floats == shape.dimensions };
        if !whole || at.is_valid() {
            let expected = if shape.lengths_vary { "a sparse vector's".to_string() } else { shape.dimensions.to_string() };
            return Err(format!("vector starting at ({},{}) does not hold {expected} floats", first.block, first.offset));
        }
        Ok(chunks)
    }
}

#[pg_extern(sql = false)]
fn hnsw_verify(index: pg_sys::Oid) -> TableIterator<'static, (name!(block, i64), name!(item, i32), name!(problem, String))> {
    let open = OpenIndex::open(index, c"hnsw");
    let mut problems = Problems::default();
    verify(&open.index(), &mut problems);
    problems.into_rows()
}

fn verify(index: &Index, problems: &mut Problems) {
    let Some(meta) = verify::read_meta(index, (META_BLOCK, META_PAGE, META_BYTES), MetaPage::decode, problems) else { return };
    let items = read_graph(index, &meta, problems);
    check_elements(&meta, &items, problems);
    check_codes(index, &meta, &items, problems);
    check_reachability(&meta, &items.elements, &items.links, problems);
    if meta.linked_columns != 0 {
        check_value_links(&meta, &items, problems);
    }
}


fn read_graph(index: &Index, meta: &MetaPage, problems: &mut Problems) -> Items {
    let shape = meta.shape();
    let lists = meta.lists();
    let centroid_blocks = meta.centroid_blocks();
    let mut items = Items::default();
    for block in 1..index.block_count() {
        let page = index.read_unchecked(block);
        let page = page.page();
        if page.is_new() {
            continue;
        }
        if page.tag() != Some(GRAPH_PAGE) {
            problems.add(block, 0, "is not an hnsw graph page");
            continue;
        }
        for offset in 1..=page.max_offset() {
            let Some(bytes) = page.item(offset) else { continue };
            let at = Address { block, offset };
            if let Ok(element) = Element::decode(bytes, shape) {
                let info = ElementInfo {
                    level: element.level(),
                    state: element.state(),
                    heap_tid: element.heap_tid(),
                    neighbors: element.neighbors(),
                    vector: element.vector(),
                    duplicates: element.duplicates(),
                    duplicate_count: element.duplicate_count(),
                    code: element.code().to_vec(),
                    filter: element.filter_values().to_vec(),
                };
                items.elements.insert(at, info);
            } else if let Ok(chunk) = VectorChunk::decode(bytes) {
                items.vectors.insert(at, (chunk.floats().len(), chunk.next()));
            } else if offset == 1 && centroid_blocks.contains(&block) && format::decode_centroid_chunk(bytes).is_ok() {
                // read by `read_encoder` in `check_codes`
            } else if let Ok(neighbors) = Neighbors::decode(bytes, lists) {
                check_verdicts(neighbors, Address { block, offset }, problems);
                let value_lists = (0..lists.value_lists)
                    .map(|list| {
                        let mut out = Vec::new();
                        neighbors.read_value_list(list, &mut out);
                        out
                    })
                    .collect();
                items.value_lists.insert(at, value_lists);
                let layers = (0..neighbors.layers())
                    .map(|layer| {
                        let mut out = Vec::new();
                        neighbors.read_layer(layer, &mut out);
                        out
                    })
                    .collect();
                items.links.insert(at, layers);
            } else if let Ok(duplicates) = Duplicates::decode(bytes) {
                let mut heap_tids = Vec::new();
                duplicates.read_heap_tids(&mut heap_tids);
                items.duplicates.insert(at, (heap_tids, duplicates.next()));
            } else if let Ok(values) = Values::decode(bytes) {
                items.directory.extend(values.entries().map(|entry| (at, entry)));
            } else {
                problems.add(block, offset, "holds a tuple that is not an element, vector, neighbor, duplicates, values or centroid tuple");
            }
        }
    }
    items
}

/// A stored layer-0 verdict that names a pruner names a kept link of the
/// same list (Algorithm 4 prunes only by links it keeps).
fn check_verdicts(neighbors: Neighbors<'_>, at: Address, problems: &mut Problems) {
    let mut verdicts = Vec::new();
    neighbors.read_verdicts(&mut verdicts);
    for (slot, verdict) in verdicts.iter().enumerate() {
        if let StoredVerdict::PrunedBy(pruner) = *verdict {
            if verdicts.get(pruner) != Some(&StoredVerdict::Kept) {
                problems.add(at.block, at.offset, format!("layer-0 link {slot} is marked pruned by slot {pruner}, which is not a kept link"));
            }
        }
    }
}

/// The heap TIDs of a live element's duplicates chain, with a problem row
/// for a chain that is broken, loops, or holds another count than the
/// element's.
fn chain_heap_tids(at: Address, element: &ElementInfo, items: &Items, problems: &mut Problems) -> Vec<Address> {
    let mut heap_tids = Vec::new();
    let mut seen = HashSet::new();
    let mut next = element.duplicates;
    while next.is_valid() {
        if !seen.insert(next) {
            problems.add(at.block, at.offset, "element's duplicates chain loops");
            break;
        }
        let Some((tids, after)) = items.duplicates.get(&next) else {
            problems.add(at.block, at.offset, format!("element's duplicates chain reaches ({},{}), not a duplicates tuple", next.block, next.offset));
            break;
        };
        heap_tids.extend_from_slice(tids);
        next = *after;
    }
    if heap_tids.len() != element.duplicate_count {
        problems.add(at.block, at.offset, format!("element counts {} duplicates, its chain holds {}", element.duplicate_count, heap_tids.len()));
    }
    heap_tids
}

fn check_elements(meta: &MetaPage, items: &Items, problems: &mut Problems) {
    let (elements, links) = (&items.elements, &items.links);
    let mut heap_tids = HashSet::new();
    let mut top_level = None;
    let mut chunks_used = HashSet::new();
    for (&at, element) in elements {
        match items.vector_chunks(element.vector, meta.shape()) {
            Ok(chunks) => {
                if !chunks.into_iter().all(|chunk| chunks_used.insert(chunk)) {
                    problems.add(at.block, at.offset, "element's vector shares a tuple with another's");
                }
            }
            Err(problem) => problems.add(at.block, at.offset, format!("element's {problem}")),
        }
        let Some(layers) = links.get(&element.neighbors) else {
            problems.add(at.block, at.offset, format!("element's neighbor tuple ({},{}) is missing", element.neighbors.block, element.neighbors.offset));
            continue;
        };
        if layers.len() <= element.level {
            problems.add(at.block, at.offset, format!("element of level {} has a neighbor tuple of {} layers", element.level, layers.len()));
        }
        if element.state != ElementState::Live {
            continue;
        }
        top_level = top_level.max(Some(element.level));
        let own = Some(element.heap_tid).filter(Address::is_valid);
        let rows: Vec<Address> = own.into_iter().chain(chain_heap_tids(at, element, items, problems)).collect();
        if rows.is_empty() {
            problems.add(at.block, at.offset, "live element has no row");
        }
        for tid in rows {
            if !heap_tids.insert(tid) {
                problems.add(at.block, at.offset, format!("heap TID ({},{}) is indexed twice", tid.block, tid.offset));
            }
        }
        for (layer, list) in layers.iter().enumerate().take(element.level + 1) {
            let mut seen = HashSet::new();
            for &target in list {
                let problem = match elements.get(&target) {
                    _ if target == at => Some("links to itself".to_owned()),
                    _ if !seen.insert(target) => Some("links twice to the same element".to_owned()),
                    None => Some("links to something that is not an element".to_owned()),
                    Some(t) if t.state == ElementState::Free => Some("links to a free slot".to_owned()),
                    Some(t) if t.level < layer => Some(format!("links to an element of level {} on layer {layer}", t.level)),
                    Some(_) => None,
                };
                if let Some(problem) = problem {
                    problems.add(at.block, at.offset, format!("{problem} ({},{}) on layer {layer}", target.block, target.offset));
                }
            }
        }
    }
    let Some(top_level) = top_level else {
        return; // no live element: any entry point will do
    };
    match elements.get(&meta.entry) {
        None => problems.add(0, 0, "the entry point is not an element"),
        Some(entry) if entry.state != ElementState::Live => problems.add(0, 0, "the entry point is not a live element"),
        Some(entry) if entry.level != meta.entry_level as usize || entry.level < top_level => problems.add(
            0,
            0,
            format!("the entry point has level {} (meta page: {}), the top live level is {top_level}", entry.level, meta.entry_level),
        ),
        Some(_) => {}
    }
}

/// A live element's code must be what the index's encoder makes of its
/// vector: the walk ranks neighbors by codes alone, so a stale code would
/// hide an element silently.
fn check_codes(index: &Index, meta: &MetaPage, items: &Items, problems: &mut Problems) {
    let Some(encoder) = read_encoder(index, meta) else { return };
    let mut code = vec![0; encoder.code_bytes()];
    let mut vector = Vec::new();
    for (&at, element) in items.elements.iter().filter(|(_, e)| e.state == ElementState::Live) {
        if items.vector_chunks(element.vector, meta.shape()).is_err() {
            continue; // reported by check_elements
        }
        read_vector(index, element.vector, meta.shape(), &mut vector);
        encoder.encode_into(&vector, &mut code);
        if code != element.code {
            problems.add(at.block, at.offset, "element's code is not the code of its vector");
        }
    }
}

/// Every live element must be reachable on layer 0 from the entry point,
/// walking through live and deleted elements as searches do.
fn check_reachability(meta: &MetaPage, elements: &HashMap<Address, ElementInfo>, links: &HashMap<Address, Vec<Vec<Address>>>, problems: &mut Problems) {
    let mut reached = HashSet::new();
    if elements.get(&meta.entry).is_some_and(|e| e.state != ElementState::Free) {
        let mut queue = VecDeque::from([meta.entry]);
        reached.insert(meta.entry);
        while let Some(node) = queue.pop_front() {
            let Some(element) = elements.get(&node) else { continue };
            if element.state == ElementState::Free {
                continue;
            }
            let layer0 = links.get(&element.neighbors).and_then(|layers| layers.first());
            for &next in layer0.into_iter().flatten() {
                if reached.insert(next) {
                    queue.push_back(next);
                }
            }
        }
    }
    let mut unreachable: Vec<Address> =
        elements.iter().filter(|(at, e)| e.state == ElementState::Live && !reached.contains(at)).map(|(&at, _)| at).collect();
    unreachable.sort();
    for at in unreachable {
        problems.add(at.block, at.offset, "live element is not reachable from the entry point");
    }
}

/// The value graphs of the linked columns: links to elements of the same
/// value, a directory entry per value naming a live element of it, and
/// every live element reachable from its value's entry.
fn check_value_links(meta: &MetaPage, items: &Items, problems: &mut Problems) {
    let elements = &items.elements;
    let linked: Vec<usize> = (0..meta.filter_columns as usize).filter(|&c| meta.value_list_of(c).is_some()).collect();
    let value_list = |element: &ElementInfo, list: usize| items.value_lists.get(&element.neighbors).and_then(|lists| lists.get(list));
    for (&at, element) in elements.iter().filter(|(_, e)| e.state == ElementState::Live) {
        for (list, &column) in linked.iter().enumerate() {
            let mut seen = HashSet::new();
            for &target in value_list(element, list).into_iter().flatten() {
                let problem = match elements.get(&target) {
                    _ if target == at => Some("links to itself"),
                    _ if !seen.insert(target) => Some("links twice to the same element"),
                    None => Some("links to something that is not an element"),
                    Some(t) if t.state == ElementState::Free => Some("links to a free slot"),
                    Some(t) if t.filter[column].is_none() || t.filter[column] != element.filter[column] => Some("links to an element of another value"),
                    Some(_) => None,
                };
                if let Some(problem) = problem {
                    problems.add(at.block, at.offset, format!("{problem} ({},{}) in the value list of filter column {}", target.block, target.offset, column + 1));
                }
            }
        }
    }
    let mut entries: HashMap<(usize, i64), Address> = HashMap::new();
    for &(tuple, entry) in items.directory.iter().filter(|(_, e)| e.entry.is_valid()) {
        let problem = match elements.get(&entry.entry) {
            _ if entries.insert((entry.column, entry.word), entry.entry).is_some() => Some("names a value twice"),
            _ if !linked.contains(&entry.column) => Some("names a value of a column that is not linked"),
            Some(e) if e.state == ElementState::Live && e.filter[entry.column] == Some(entry.word) => None,
            _ => Some("names an entry that is not a live element of the value"),
        };
        if let Some(problem) = problem {
            problems.add(tuple.block, tuple.offset, format!("values directory {problem} (filter column {}, ({},{}))", entry.column + 1, entry.entry.block, entry.entry.offset));
        }
    }
    for (list, &column) in linked.iter().enumerate() {
        let mut reached = HashSet::new();
        for (_, &entry) in entries.iter().filter(|((c, _), _)| *c == column) {
            let mut queue = VecDeque::from([entry]);
            reached.insert(entry);
            while let Some(node) = queue.pop_front() {
                let Some(element) = elements.get(&node).filter(|e| e.state != ElementState::Free) else { continue };
                for &next in value_list(element, list).into_iter().flatten() {
                    if reached.insert(next) {
                        queue.push_back(next);
                    }
                }
            }
        }
        let mut unreachable: Vec<(Address, i64)> = elements
            .iter()
            .filter(|(at, e)| e.state == ElementState::Live && !reached.contains(at))
            .filter_map(|(&at, e)| Some((at, e.filter[column]?)))
            .collect();
        unreachable.sort();
        for (at, word) in unreachable {
            let why = if entries.contains_key(&(column, word)) { "is not reachable from its value's entry" } else { "has a value the directory does not name" };
            problems.add(at.block, at.offset, format!("live element {why} (filter column {})", column + 1));
        }
    }
}
