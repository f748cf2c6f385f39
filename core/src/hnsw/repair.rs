//! Repairing neighbor lists that point at deleted elements (for VACUUM).

use std::collections::HashSet;

use super::{greedy_descent, search_layer, select_neighbors, Candidate, GraphMut, HnswParams};

/// Rewrites the neighbor list of `node` on `level` without deleted elements.
/// The replacements come from the deleted neighbors' own neighbors (the
/// elements the deleted ones used to connect `node` to); when those cannot
/// fill the list (a whole region was deleted), a search from the entry point
/// adds the nearest live elements, so the graph does not fall apart into
/// pieces. Deleted elements keep their links until every list is repaired,
/// so that search can still cross them. Returns whether the list changed.
pub fn repair_neighbors<G: GraphMut>(
    graph: &mut G,
    params: &HnswParams,
    node: G::Node,
    level: usize,
    is_deleted: &dyn Fn(G::Node) -> bool,
) -> bool {
    let mut changed = false;
    let max_degree = params.max_degree(level);
    graph.update_neighbors(node, level, &mut |g, current| {
        changed = current.iter().any(|&n| is_deleted(n));
        if !changed {
            return current.to_vec();
        }
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
        if pool.len() < max_degree {
            let found = search_from_entry(g, params, node, level);
            pool.extend(found.into_iter().map(|c| c.node).filter(|&n| n != node && !is_deleted(n) && seen.insert(n)));
        }
        let mut candidates: Vec<Candidate<G::Node>> =
            pool.into_iter().map(|n| Candidate { distance: g.distance_between(node, n), node: n }).collect();
        candidates.sort();
        select_neighbors(g, &candidates, max_degree, true).into_iter().map(|c| c.node).collect()
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
