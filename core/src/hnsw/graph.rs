//! What the algorithms need from a graph store.

use std::fmt::Debug;
use std::hash::Hash;

use super::Visited;

/// Read access to a stored HNSW graph.
///
/// Methods take `&mut self` so a store may keep caches (decoded vectors,
/// pinned pages) between calls.
pub trait Graph {
    /// The address of an element: an index for the memory store, a
    /// (block, offset) pair for pages.
    type Node: Copy + Eq + Hash + Debug;
    type Visited: Visited<Self::Node>;

    /// The element searches start from, and its level.
    fn entry_point(&mut self) -> Option<(Self::Node, usize)>;

    /// The score of `node` against a query vector: smaller is closer.
    fn distance(&mut self, query: &[f32], node: Self::Node) -> f32;

    /// The scores of several nodes against one query, into `out` (cleared
    /// first). A store can overlap the memory reads of a batch this way.
    fn distances(&mut self, query: &[f32], nodes: &[Self::Node], out: &mut Vec<f32>) {
        out.clear();
        for &node in nodes {
            let d = self.distance(query, node);
            out.push(d);
        }
    }

    /// The score between two stored elements.
    fn distance_between(&mut self, a: Self::Node, b: Self::Node) -> f32;

    /// Copies the vector of `node` into `out`.
    fn load_vector(&mut self, node: Self::Node, out: &mut Vec<f32>);

    /// Appends the neighbors of `node` on `level` to `out`.
    fn neighbors(&mut self, node: Self::Node, level: usize, out: &mut Vec<Self::Node>);

    /// A visited set sized for this graph.
    fn new_visited(&self) -> Self::Visited;

    /// Whether `node` was deleted (by VACUUM) and awaits removal: searches
    /// still walk through it, but nothing may link to it any more, so that
    /// once its neighbors are repaired no list points at it.
    fn is_deleted(&mut self, _node: Self::Node) -> bool {
        false
    }

    /// The verdicts `cache_verdicts` kept for `owner`'s list on `level`, if
    /// the store keeps them and that list is still exactly `links` (same
    /// links in the same order); `None` otherwise, and for stores that keep
    /// none (pages).
    fn cached_verdicts(&mut self, _owner: Self::Node, _level: usize, _links: &[Self::Node]) -> Option<Vec<LinkVerdict<Self::Node>>> {
        None
    }

    /// Keeps Algorithm 4's verdict on each link of a list `owner` is about
    /// to hold on `level` (in the list's order). A store may drop them, or
    /// keep ones whose list never gets written: `cached_verdicts` checks
    /// them against the list.
    fn cache_verdicts(&mut self, _owner: Self::Node, _level: usize, _verdicts: Vec<LinkVerdict<Self::Node>>) {}
}

/// One link of a full neighbor list as Algorithm 4 judged it: its score
/// against the list's owner, and the kept element nearer in the list that
/// prunes it, if one does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkVerdict<N> {
    pub node: N,
    pub distance: f32,
    pub pruned_by: Option<N>,
}

/// Write access, as the insert and repair algorithms need it.
pub trait GraphMut: Graph {
    /// Replaces the neighbor list of `node` on `level` by what `update`
    /// computes from the current one. A concurrent store may call `update`
    /// more than once, if the list changed while the new one was computed.
    fn update_neighbors(
        &mut self,
        node: Self::Node,
        level: usize,
        update: &mut dyn FnMut(&mut Self, &[Self::Node]) -> Vec<Self::Node>,
    );

    /// Makes `node` the entry point of an empty graph, atomically: of two
    /// inserts into an empty graph exactly one wins. Returns `None` if
    /// `node` won, or the entry point that was already there, below which
    /// the caller then links `node` like any other element.
    fn claim_entry_point(&mut self, node: Self::Node, level: usize) -> Option<(Self::Node, usize)>;

    /// Makes `node` the entry point if its level is above the current one
    /// (or if there is none).
    fn promote_entry_point(&mut self, node: Self::Node, level: usize);

    /// Whether every element will be searched for by its own vector once
    /// the inserts under way are done, and linked where that search ends if
    /// it is missed (a build's findability pass, `link_if_unfindable`). An
    /// insert then leaves an element whose in-link it took away to that
    /// pass instead of re-homing it at once (see `insert::link`).
    fn findability_checked_later(&self) -> bool {
        false
    }
}
