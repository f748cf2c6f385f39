//! Repairing neighbor lists that point at deleted elements (for VACUUM).

use std::collections::HashSet;

use super::{greedy_descent, search_layer, select_neighbors, Candidate, GraphMut, HnswParams};

/// Rewrites the neighbor list of `node` on `level` without deleted elements.
/// The replacements come from the deleted neighbors' own neighbors (the
/// elements the deleted ones used to connect `node` to), chosen with the
/// selection heuristic. Returns whether the list changed.
pub fn repair_neighbors<G: GraphMut>(
    graph: &mut G,
    params: &HnswParams,
    node: G::Node,
    level: usize,
    is_deleted: &dyn Fn(G::Node) -> bool,
) -> bool {
    let mut changed = false;
    graph.update_neighbors(node, level, &mut |g, current| {
        if !current.iter().any(|&n| is_deleted(n)) {
            changed = false;
            return current.to_vec();
        }
        changed = true;
        let mut pool: Vec<G::Node> = Vec::new();
        let mut second_hop = Vec::new();
        for &neighbor in current {
            if is_deleted(neighbor) {
                second_hop.clear();
                g.neighbors(neighbor, level, &mut second_hop);
                pool.extend(second_hop.iter().copied().filter(|&n| !is_deleted(n) && n != node));
            } else {
                pool.push(neighbor);
            }
        }
        let mut seen = HashSet::new();
        pool.retain(|n| seen.insert(*n));
        let mut candidates: Vec<Candidate<G::Node>> =
            pool.into_iter().map(|n| Candidate { distance: g.distance_between(node, n), node: n }).collect();
        if candidates.is_empty() {
            // Everything around `node` is gone: find it new neighbors the way
            // an insert would.
            candidates = search_from_entry(g, params, node, level);
            candidates.retain(|c| c.node != node && !is_deleted(c.node));
        }
        candidates.sort();
        select_neighbors(g, &candidates, params.max_degree(level), true).into_iter().map(|c| c.node).collect()
    });
    changed
}

/// The ef_construction nearest elements to `node` on `level`, searched from
/// the entry point.
fn search_from_entry<G: GraphMut>(graph: &mut G, params: &HnswParams, node: G::Node, level: usize) -> Vec<Candidate<G::Node>> {
    let Some((entry, entry_level)) = graph.entry_point() else {
        return Vec::new();
    };
    if entry_level < level {
        return Vec::new();
    }
    let mut vector = Vec::new();
    graph.load_vector(node, &mut vector);
    let mut visited = graph.new_visited();
    let entry_points = greedy_descent(graph, &vector, entry, entry_level, level, &mut visited);
    search_layer(graph, &vector, &entry_points, params.ef_construction, level, &mut visited)
}
