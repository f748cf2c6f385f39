//! Whether a search for an element's own vector finds it, and a link for
//! it where that search ends when it does not: a build asks this of every
//! element, VACUUM of every element its repair may have cut off.

use super::insert::force_link;
use super::{knn_search, Candidate, Graph, GraphMut, HnswParams};

/// How wide the first search for an element's own vector is. Measured on
/// 20,000 pydoc-minilm vectors (m 16, ef_construction 64, serial build):
/// it finds all but 18 elements, and the build's findability pass costs a
/// fraction of what one search at ef_construction per element did (build
/// 12.5 s -> 8.1 s).
const QUICK_EF: usize = 10;

/// The nodes a search for `node`'s own `vector` at `ef` finds when they
/// miss it, `None` when it is found. A search at ef [`QUICK_EF`] asks
/// first: an element it finds, a wider search finds too.
pub fn search_for_itself<G: Graph>(
    graph: &mut G,
    node: G::Node,
    vector: &[f32],
    ef: usize,
    visited: &mut G::Visited,
) -> Option<Vec<Candidate<G::Node>>> {
    if ef > QUICK_EF && knn_search(graph, vector, QUICK_EF, visited).iter().any(|c| c.node == node) {
        return None;
    }
    let found = knn_search(graph, vector, ef, visited);
    (!found.iter().any(|c| c.node == node)).then_some(found)
}

/// Links `node` from the nearest live element a search for its own vector
/// finds, if that search (at ef_construction) misses it; returns whether it
/// did. Inserts link an element from its nearest neighbors of the moment;
/// an early outlier's region later fills with elements that are nearer to
/// it but have so many nearer ones of their own that none picks it, so
/// searches for it stop among them (SIFT 5k: 10 such elements of 5,000).
/// A VACUUM repair that rewrites lists can leave an element so, too.
pub fn link_if_unfindable<G: GraphMut>(graph: &mut G, params: &HnswParams, node: G::Node, visited: &mut G::Visited) -> bool {
    if graph.is_deleted(node) || graph.entry_point().is_some_and(|(entry, _)| entry == node) {
        return false;
    }
    let mut vector = Vec::new();
    graph.load_vector(node, &mut vector);
    let Some(found) = search_for_itself(graph, node, &vector, params.ef_construction, visited) else { return false };
    let Some(host) = found.into_iter().find(|c| !graph.is_deleted(c.node)) else { return false };
    force_link(graph, params, host.node, node, 0, visited)
}
