//! Graphs over subsets of a graph's elements: the per-value graphs of an
//! index's linked filter columns (the extension's `hnsw/values.rs`).
//!
//! Each subset gets an HNSW graph of its own (Algorithm 1 over its elements
//! alone, with the findability and reachability passes of a build), of
//! which only layer 0 is kept: a walk of a subset starts at the subset's
//! entry point and stays on layer 0, which `link_unreachable` makes reach
//! every element from there.

use super::{HnswParams, MemoryGraph};
use crate::distance::Metric;
use crate::flat::FlatVectors;

/// Layer 0 of each subset's graph, in `graph`'s node numbers.
pub struct SubsetLinks {
    /// Per node of `graph`, its links within its subset (empty for nodes
    /// in none).
    pub links: Vec<Vec<u32>>,
    /// Per subset, the node its walks start from.
    pub entries: Vec<u32>,
}

/// Builds a graph over each of `subsets` (disjoint lists of `graph`'s
/// nodes) with `params`; the larger ones on `threads` threads. `progress`
/// hears the elements linked so far after each subset.
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
    let mut entries = Vec::with_capacity(subsets.len());
    let mut done = 0;
    for members in subsets {
        let mut vectors = FlatVectors::new();
        for &node in members {
            vectors.push(graph.vector(node));
        }
        // Below a few thousand elements threads cost more than they save.
        let threads = if members.len() < 10_000 { 1 } else { threads };
        let subset = MemoryGraph::build_parallel(graph.dim(), metric, params, vectors, seed, threads, &mut |_, _, _| {});
        for (i, &node) in members.iter().enumerate() {
            links[node as usize] = subset.links(i as u32, 0).iter().map(|&j| members[j as usize]).collect();
        }
        let (entry, _) = subset.entry().expect("a subset has elements");
        entries.push(members[entry as usize]);
        done += members.len();
        progress(done);
    }
    SubsetLinks { links, entries }
}
