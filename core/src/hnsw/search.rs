//! Searching a graph: SEARCH-LAYER (Algorithm 2) and K-NN-SEARCH (Algorithm 5).

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::{Graph, Visited};

/// A node with its score against the current query.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<N> {
    pub distance: f32,
    pub node: N,
}

impl<N> PartialEq for Candidate<N> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<N> Eq for Candidate<N> {}
impl<N> PartialOrd for Candidate<N> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<N> Ord for Candidate<N> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.distance.total_cmp(&other.distance)
    }
}

/// Algorithm 2: the `ef` nearest elements to `query` on `level` reachable
/// from `entry`, nearest first.
pub fn search_layer<G: Graph>(
    graph: &mut G,
    query: &[f32],
    entry: &[Candidate<G::Node>],
    ef: usize,
    level: usize,
    visited: &mut G::Visited,
) -> Vec<Candidate<G::Node>> {
    search_layer_among(graph, query, entry, ef, level, visited, |_| true)
}

/// Algorithm 2 where only the elements `counts` accepts are results; the
/// others are walked through like any element but neither returned nor
/// counted towards `ef` (pgvector's CountElement). Repair needs this: with
/// most elements deleted, `ef` results of which few are live would give
/// the repaired lists too few candidates.
pub fn search_layer_among<G: Graph>(
    graph: &mut G,
    query: &[f32],
    entry: &[Candidate<G::Node>],
    ef: usize,
    level: usize,
    visited: &mut G::Visited,
    counts: impl Fn(G::Node) -> bool,
) -> Vec<Candidate<G::Node>> {
    visited.reset();
    let (mut to_expand, mut nearest) = search_heaps(ef);
    for &e in entry {
        if visited.first_visit(e.node) {
            to_expand.push(Reverse(e));
            if counts(e.node) {
                keep_nearest(&mut nearest, e, ef);
            }
        }
    }
    let mut neighbors = Vec::new();
    let mut distances = Vec::new();
    while let Some(Reverse(closest)) = to_expand.pop() {
        let furthest = nearest.peek().map_or(f32::INFINITY, |f| f.distance);
        if closest.distance > furthest && nearest.len() >= ef {
            break; // every remaining candidate is further than all ef found
        }
        neighbors.clear();
        graph.neighbors(closest.node, level, &mut neighbors);
        neighbors.retain(|&node| visited.first_visit(node));
        // All of them at once: the store can fetch their vectors in parallel.
        graph.distances(query, &neighbors, &mut distances);
        for (&node, &distance) in neighbors.iter().zip(&distances) {
            let furthest = nearest.peek().map_or(f32::INFINITY, |f| f.distance);
            if nearest.len() < ef || distance < furthest {
                let candidate = Candidate { distance, node };
                to_expand.push(Reverse(candidate));
                if counts(node) {
                    keep_nearest(&mut nearest, candidate, ef);
                }
            }
        }
    }
    nearest.into_sorted_vec()
}

/// Algorithm 2's candidates C (nearest first) and results W (furthest
/// first). ef may come from a setting as large as i32::MAX (an iterative
/// scan's bound): the heaps reserve for a typical search and grow with what
/// the graph really holds, so a huge setting cannot fail an allocation.
#[allow(clippy::type_complexity)]
pub(super) fn search_heaps<N>(ef: usize) -> (BinaryHeap<Reverse<Candidate<N>>>, BinaryHeap<Candidate<N>>) {
    let reserve = ef.min(1024);
    (BinaryHeap::with_capacity(reserve * 2), BinaryHeap::with_capacity(reserve + 1))
}

/// Adds `candidate` to the results, keeping the `ef` nearest.
pub(super) fn keep_nearest<N>(nearest: &mut BinaryHeap<Candidate<N>>, candidate: Candidate<N>, ef: usize) {
    nearest.push(candidate);
    if nearest.len() > ef {
        nearest.pop();
    }
}

/// Greedy search (ef = 1) from the top layer down to `target_level + 1`:
/// the entry points for `target_level`.
pub fn greedy_descent<G: Graph>(
    graph: &mut G,
    query: &[f32],
    entry: G::Node,
    entry_level: usize,
    target_level: usize,
    visited: &mut G::Visited,
) -> Vec<Candidate<G::Node>> {
    let mut nearest = vec![Candidate { distance: graph.distance(query, entry), node: entry }];
    for level in (target_level + 1..=entry_level).rev() {
        nearest = search_layer(graph, query, &nearest, 1, level, visited);
    }
    nearest
}

/// Algorithm 5: the `ef` nearest elements on layer 0, nearest first (the
/// caller takes as many as it needs).
pub fn knn_search<G: Graph>(graph: &mut G, query: &[f32], ef: usize, visited: &mut G::Visited) -> Vec<Candidate<G::Node>> {
    let Some((entry, entry_level)) = graph.entry_point() else {
        return Vec::new();
    };
    let entry_points = greedy_descent(graph, query, entry, entry_level, 0, visited);
    search_layer(graph, query, &entry_points, ef, 0, visited)
}
