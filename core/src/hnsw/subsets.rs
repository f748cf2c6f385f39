//! Graphs over subsets of a graph's elements: the per-value graphs of an
//! index's linked filter columns (the extension's `hnsw/values.rs`).
//!
//! A subset of at most a quarter of the elements gets an HNSW graph of its
//! own (Algorithm 1 over its elements alone, with the findability and
//! reachability passes of a build), of which only layer 0 is kept. A larger
//! subset takes its lists from the graph's own neighborhoods instead
//! (`derived_subset`), for less than half the cost at the same recall. A walk
//! of a subset starts at the subset's entry point and stays on layer 0,
//! which `link_unreachable` makes reach every element from there.

use std::thread;

use super::{knn_search, select_neighbors, Candidate, Graph, GraphMut, HnswParams, MemoryGraph, Visited};
use crate::distance::Metric;
use crate::flat::FlatVectors;

/// Subsets holding more than 1 / DERIVED_SHARE of the elements get derived
/// lists: each member meets enough of them within two hops of the graph.
/// (On pydoc-minilm a derived 10% subset lost 0.02 of recall@10 against a
/// built one; 39% and 50% subsets none.)
const DERIVED_SHARE: usize = 4;

/// A derived list is selected from at most this many candidates per link,
/// the nearest hops first: all of them cost 1.3x as much for the same
/// recall (pydoc-minilm, a 50% subset).
const CANDIDATES_PER_LINK: usize = 16;

/// Layer 0 of each subset's graph, in `graph`'s node numbers.
pub struct SubsetLinks {
    /// Per node of `graph`, its links within its subset (empty for nodes
    /// in none).
    pub links: Vec<Vec<u32>>,
    /// Per subset, the node its walks start from.
    pub entries: Vec<u32>,
}

/// Builds a graph over each of `subsets` (disjoint lists of `graph`'s
/// nodes) with `params`: the larger ones on `threads` threads, the derived
/// ones side by side. `progress` hears the elements linked so far after
/// each subset.
pub fn subset_links(
    graph: &MemoryGraph,
    metric: Metric,
    subsets: &[Vec<u32>],
    params: HnswParams,
    seed: u64,
    threads: usize,
    progress: &mut dyn FnMut(usize),
) -> SubsetLinks {
    let mut links = vec![Vec::new(); graph.len()];
    let mut entries = vec![0; subsets.len()];
    let mut done = 0;
    let mut keep = |links: &mut Vec<Vec<u32>>, members: &[u32], subset: &MemoryGraph| {
        for (i, &node) in members.iter().enumerate() {
            links[node as usize] = subset.links(i as u32, 0).iter().map(|&j| members[j as usize]).collect();
        }
        let (entry, _) = subset.entry().expect("a subset has elements");
        done += members.len();
        progress(done);
        members[entry as usize]
    };
    let derived = |members: &Vec<u32>| members.len() * DERIVED_SHARE > graph.len();
    for (number, members) in subsets.iter().enumerate().filter(|(_, members)| !derived(members)) {
        // Below a few thousand elements threads cost more than they save.
        let threads = if members.len() < 10_000 { 1 } else { threads };
        let subset = MemoryGraph::build_parallel(graph.dim(), metric, params, member_vectors(graph, members), seed, threads, &mut |_, _, _| {});
        entries[number] = keep(&mut links, members, &subset);
    }
    let large: Vec<usize> = (0..subsets.len()).filter(|&number| derived(&subsets[number])).collect();
    for batch in large.chunks(threads.max(1)) {
        let derive = |number: usize| derived_subset(graph, metric, &subsets[number], params);
        let graphs: Vec<MemoryGraph> = if batch.len() == 1 {
            vec![derive(batch[0])]
        } else {
            thread::scope(|scope| {
                let running: Vec<_> = batch.iter().map(|&number| scope.spawn(move || derive(number))).collect();
                running.into_iter().map(|handle| handle.join().expect("deriving a subset's lists does not panic")).collect()
            })
        };
        for (&number, subset) in batch.iter().zip(&graphs) {
            entries[number] = keep(&mut links, &subsets[number], subset);
        }
    }
    SubsetLinks { links, entries }
}

/// Layer 0 over `members` derived from `graph`'s own layer 0 instead of
/// built: each member's candidates are the members among its neighbors and
/// their neighbors (the two-hop expansion of ACORN, Patel et al., SIGMOD
/// 2024), the first CANDIDATES_PER_LINK x degree met, of which the nearest
/// 3 x degree go through Algorithm 4; a second round adds the reverse
/// links each member received and selects again, so that lists link both
/// ways as an HNSW build's do (without it, recall@10 at ef 20 fell from
/// 0.92 to 0.87 on a 39% value of pydoc-minilm). A
/// member left with no list (no other member within two hops, none linking
/// to it) gets one from a search of the others for its vector. Walks start
/// from the member on the highest layer of `graph`, as a built graph's
/// start from its top element, and every member is made reachable from it.
fn derived_subset(graph: &MemoryGraph, metric: Metric, members: &[u32], params: HnswParams) -> MemoryGraph {
    let count = members.len();
    let mut position = vec![u32::MAX; graph.len()];
    for (i, &node) in members.iter().enumerate() {
        position[node as usize] = i as u32;
    }
    let no_links = vec![vec![Vec::new()]; count];
    let vectors = member_vectors(graph, members);
    let mut subset = MemoryGraph::from_parts(graph.dim(), metric, params, vectors, &vec![0; count], no_links, vec![Vec::new(); count], None);
    let degree = params.max_degree(0);
    let mut seen = subset.new_visited();
    let mut scores = Vec::new();
    let mut owner_vector = Vec::new();
    // Algorithm 4 over the nearest 3 x degree of `others` (members, repeats
    // and `owner` itself allowed).
    let mut select = |subset: &mut MemoryGraph, owner: u32, others: &mut dyn Iterator<Item = u32>| {
        seen.reset();
        seen.first_visit(owner);
        let unique: Vec<u32> = others.filter(|&other| seen.first_visit(other)).take(CANDIDATES_PER_LINK * degree).collect();
        subset.load_vector(owner, &mut owner_vector);
        subset.distances(&owner_vector, &unique, &mut scores);
        let mut scored: Vec<Candidate<u32>> = unique.into_iter().zip(&scores).map(|(node, &distance)| Candidate { distance, node }).collect();
        scored.sort_unstable();
        scored.truncate(3 * degree);
        select_neighbors(subset, &scored, degree, true).into_iter().map(|c| c.node).collect::<Vec<u32>>()
    };
    let mut lists = Vec::with_capacity(count);
    for (i, &node) in members.iter().enumerate() {
        let two_hops = graph.links(node, 0).iter().flat_map(|&near| std::iter::once(near).chain(graph.links(near, 0).iter().copied()));
        let mut candidates = two_hops.map(|n| position[n as usize]).filter(|&p| p != u32::MAX);
        lists.push(select(&mut subset, i as u32, &mut candidates));
    }
    let mut incoming = vec![Vec::new(); count];
    for (i, list) in lists.iter().enumerate() {
        for &to in list {
            incoming[to as usize].push(i as u32);
        }
    }
    for (i, (list, incoming)) in lists.into_iter().zip(incoming).enumerate() {
        let list = select(&mut subset, i as u32, &mut list.into_iter().chain(incoming));
        subset.update_neighbors(i as u32, 0, &mut |_, _| list.clone());
    }
    let entry = (0..count as u32).max_by_key(|&i| (graph.level(members[i as usize]), std::cmp::Reverse(i))).expect("a subset has members");
    subset.claim_entry_point(entry, 0);
    let mut visited = subset.new_visited();
    let mut vector = Vec::new();
    for i in 0..count as u32 {
        if subset.links(i, 0).is_empty() && count > 1 {
            subset.load_vector(i, &mut vector);
            let found = knn_search(&mut subset, &vector, params.ef_construction, &mut visited);
            let list = select(&mut subset, i, &mut found.into_iter().map(|c| c.node));
            subset.update_neighbors(i, 0, &mut |_, _| list.clone());
        }
    }
    subset.link_unreachable();
    subset
}

/// The vectors of `members`, in their order.
fn member_vectors(graph: &MemoryGraph, members: &[u32]) -> FlatVectors {
    let mut vectors = FlatVectors::new();
    for &node in members {
        vectors.push(graph.vector(node));
    }
    vectors
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    /// pydoc-minilm's first 10,000 rows under labels of 50%, 35%, 10% and
    /// 5% (the first two derived, the others built): every subset's lists
    /// stay within it and within the degree, reach every member from its
    /// entry, and a layer-0 walk from the entry finds its nearest members.
    #[test]
    fn subset_graphs_derived_and_built_find_their_members() {
        let base = crate::test_data::pydoc_base(10_000);
        let queries = crate::test_data::pydoc_queries(100);
        let metric = Metric::Cosine;
        let graph = MemoryGraph::build_parallel(base.dim, metric, HnswParams::new(16, 64), FlatVectors::from_fixed(base.data, base.dim), 7, 2, &mut |_, _, _| {});
        let mut rng = SmallRng::seed_from_u64(3);
        let shares = [0.5, 0.35, 0.1, 0.05];
        let mut subsets = vec![Vec::new(); shares.len()];
        for node in 0..graph.len() as u32 {
            let mut draw: f64 = rng.gen();
            if let Some(label) = shares.iter().position(|&share| { draw -= share; draw < 0.0 }) {
                subsets[label].push(node);
            }
        }
        let params = HnswParams::new(8, 64);
        let mut reported = 0;
        let linked = subset_links(&graph, metric, &subsets, params, 7, 2, &mut |done| reported = done);
        assert_eq!(reported, subsets.iter().map(Vec::len).sum::<usize>());
        for (number, members) in subsets.iter().enumerate() {
            assert_eq!(members.len() * DERIVED_SHARE > graph.len(), number < 2, "the two largest subsets are derived");
            let own: HashSet<u32> = members.iter().copied().collect();
            let position = |node: u32| members.binary_search(&node).expect("a member") as u32;
            for &node in members {
                let list = &linked.links[node as usize];
                assert!(list.len() <= params.max_degree(0) && !list.is_empty());
                assert!(list.iter().all(|&to| to != node && own.contains(&to)), "links stay within the subset");
            }
            let layer0 = members.iter().map(|&node| vec![linked.links[node as usize].iter().map(|&to| position(to)).collect()]).collect();
            let entry = position(linked.entries[number]);
            let mut walk = MemoryGraph::from_parts(graph.dim(), metric, params, member_vectors(&graph, members), &vec![0; members.len()], layer0, vec![Vec::new(); members.len()], Some((entry, 0)));
            let mut reached = vec![false; members.len()];
            let mut stack = vec![entry];
            reached[entry as usize] = true;
            while let Some(at) = stack.pop() {
                for &to in walk.links(at, 0) {
                    if !std::mem::replace(&mut reached[to as usize], true) {
                        stack.push(to);
                    }
                }
            }
            assert!(reached.iter().all(|&r| r), "subset {number}: every member reachable from its entry");
            let score = metric.score_fn();
            let mut visited = walk.new_visited();
            let mut hits = 0;
            for query in queries.rows() {
                let mut exact: Vec<(f32, u32)> = (0..members.len() as u32).map(|i| (score(query, walk.vector(i)), i)).collect();
                exact.sort_by(|a, b| a.0.total_cmp(&b.0));
                let truth: HashSet<u32> = exact.iter().take(10).map(|&(_, i)| i).collect();
                hits += knn_search(&mut walk, query, 40, &mut visited).iter().take(10).filter(|c| truth.contains(&c.node)).count();
            }
            let recall = hits as f64 / (10 * queries.len()) as f64;
            assert!(recall >= 0.93, "subset {number} ({} members): recall@10 at ef 40 {recall:.3}", members.len());
        }
    }
}
