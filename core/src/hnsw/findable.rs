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

/// The nodes to link `node` from, nearest first, when a search for its
/// own `vector` does not find it with a margin; `None` when it does: a
/// search at [`QUICK_EF`] finds it, and one of the other live elements
/// that search returns links to it. An element found only through a link
/// from further away hangs by a thread: a change far off in the graph
/// can take the path to it. (SIFT 5k under cosine, 500 sequential inserts
/// after the build, 200 level seeds: 17 elements missed at ef 100 when
/// builds linked only what a search at ef_construction missed, 8 when
/// they linked what a search at ef 10 missed, 1 with this check and
/// `rehome`'s new hosts.)
pub fn search_for_itself<G: Graph>(
    graph: &mut G,
    node: G::Node,
    vector: &[f32],
    ef: usize,
    visited: &mut G::Visited,
) -> Option<Vec<Candidate<G::Node>>> {
    let quick = knn_search(graph, vector, QUICK_EF, visited);
    if !quick.iter().any(|c| c.node == node) {
        return Some(knn_search(graph, vector, ef.max(QUICK_EF), visited));
    }
    let mut links = Vec::new();
    let held_nearby = quick.iter().any(|c| c.node != node && !graph.is_deleted(c.node) && links_to(graph, c.node, node, &mut links));
    (!held_nearby).then_some(quick)
}

fn links_to<G: Graph>(graph: &mut G, from: G::Node, to: G::Node, links: &mut Vec<G::Node>) -> bool {
    graph.neighbors(from, 0, links);
    links.contains(&to)
}

/// Links `node` from the nearest live element that a search for its own
/// vector finds and that does not link to it yet, if that search does not
/// find it with a margin (see [`search_for_itself`]); returns whether it did. Inserts
/// link an element from its nearest neighbors of the moment; an early
/// outlier's region later fills with elements that are nearer to it but
/// have so many nearer ones of their own that none picks it, so searches
/// for it stop among them (SIFT 5k: 10 such elements of 5,000). A VACUUM
/// repair that rewrites lists can leave an element so, too.
pub fn link_if_unfindable<G: GraphMut>(graph: &mut G, params: &HnswParams, node: G::Node, visited: &mut G::Visited) -> bool {
    if graph.is_deleted(node) || graph.entry_point().is_some_and(|(entry, _)| entry == node) {
        return false;
    }
    let mut vector = Vec::new();
    graph.load_vector(node, &mut vector);
    let Some(found) = search_for_itself(graph, node, &vector, params.ef_construction, visited) else { return false };
    let mut links = Vec::new();
    let host = found.into_iter().find(|c| c.node != node && !graph.is_deleted(c.node) && !links_to(graph, c.node, node, &mut links));
    host.is_some_and(|host| force_link(graph, params, host.node, node, 0, visited))
}
