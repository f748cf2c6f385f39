//! INSERT (Algorithm 1) with the neighbor-selection heuristic (Algorithm 4).

use super::{
    greedy_descent, knn_search, search_layer, search_layer_estimated, Candidate, EstimateQuery, EstimatingGraph, Graph, GraphMut, HnswParams, LinkVerdict,
    SearchCounters,
};

/// Links `node`, already stored with `vector` and `level` but no links,
/// into the graph.
pub fn insert<G: GraphMut>(
    graph: &mut G,
    params: &HnswParams,
    node: G::Node,
    vector: &[f32],
    level: usize,
    visited: &mut G::Visited,
) {
    let plan = plan_insert(graph, params, vector, level, visited);
    link_planned(graph, params, node, vector, level, plan, visited);
}

/// What the searches of Algorithm 1 found for a new vector, layer by layer
/// from the top, before the element is stored: a caller can then decide
/// not to store it (see `exact_duplicate`).
pub struct InsertPlan<N> {
    /// Search results from min(level, entry level) down to layer 0, nearest first.
    layers: Vec<(usize, Vec<Candidate<N>>)>,
    entry_level: usize,
}

/// The searches of Algorithm 1 (lines 5-11 without the linking) for a new
/// vector of `level`; `None` while the graph is empty.
pub fn plan_insert<G: Graph>(
    graph: &mut G,
    params: &HnswParams,
    vector: &[f32],
    level: usize,
    visited: &mut G::Visited,
) -> Option<InsertPlan<G::Node>> {
    let (entry, entry_level) = graph.entry_point()?;
    Some(plan_from(graph, params, vector, level, entry, entry_level, visited))
}

/// [`plan_insert`] on a graph with codes: each layer's ef_construction wide
/// search ranks the neighbors it discovers by their estimates
/// ([`search_layer_estimated`]) and scores exactly only the elements it
/// expands, which include every element it returns.
pub fn plan_insert_estimated<G: EstimatingGraph>(
    graph: &mut G,
    params: &HnswParams,
    query: &EstimateQuery,
    level: usize,
    visited: &mut G::Visited,
) -> Option<InsertPlan<G::Node>> {
    let (entry, entry_level) = graph.entry_point()?;
    let mut counters = SearchCounters::default();
    let search = |graph: &mut G, entry_points: &[Candidate<G::Node>], lc, visited: &mut G::Visited| {
        search_layer_estimated(graph, query, entry_points, params.ef_construction, lc, visited, &mut counters)
    };
    Some(plan_layers(graph, query.vector(), level, (entry, entry_level), visited, search))
}

fn plan_from<G: Graph>(
    graph: &mut G,
    params: &HnswParams,
    vector: &[f32],
    level: usize,
    entry: G::Node,
    entry_level: usize,
    visited: &mut G::Visited,
) -> InsertPlan<G::Node> {
    let search = |graph: &mut G, entry_points: &[Candidate<G::Node>], lc, visited: &mut G::Visited| {
        search_layer(graph, vector, entry_points, params.ef_construction, lc, visited)
    };
    plan_layers(graph, vector, level, (entry, entry_level), visited, search)
}

/// Algorithm 1 lines 5-11 with `search` as the layer search (Algorithm 2).
fn plan_layers<G: Graph>(
    graph: &mut G,
    vector: &[f32],
    level: usize,
    (entry, entry_level): (G::Node, usize),
    visited: &mut G::Visited,
    mut search: impl FnMut(&mut G, &[Candidate<G::Node>], usize, &mut G::Visited) -> Vec<Candidate<G::Node>>,
) -> InsertPlan<G::Node> {
    // Layers above the new element's: greedy, ef = 1.
    let mut entry_points = greedy_descent(graph, vector, entry, entry_level, level, visited);
    let mut layers = Vec::new();
    for lc in (0..=level.min(entry_level)).rev() {
        let found = search(graph, &entry_points, lc, visited);
        entry_points = found.clone();
        layers.push((lc, found));
    }
    InsertPlan { layers, entry_level }
}

impl<N: Copy + Eq> InsertPlan<N> {
    /// A live element the layer-0 search found whose vector is exactly
    /// `vector` (`own_score` is the score of `vector` against itself).
    /// Identical elements defeat Algorithm 4: each one makes every other
    /// candidate redundant (it is as close to them as the base is), so
    /// copies link only to each other and hide from searches. A caller
    /// should attach the new row to this element instead of storing a copy.
    pub fn exact_duplicate<G: Graph<Node = N>>(&self, graph: &mut G, vector: &[f32], own_score: f32) -> Option<N> {
        let (0, found) = self.layers.last()? else { return None };
        let mut stored = Vec::with_capacity(vector.len());
        found.iter().filter(|c| c.distance == own_score).map(|c| c.node).find(|&node| {
            graph.load_vector(node, &mut stored);
            !graph.is_deleted(node) && stored.iter().zip(vector).all(|(a, b)| a.to_bits() == b.to_bits())
        })
    }
}

/// Links `node`, stored with `vector` and `level` since `plan` was made,
/// into the graph (Algorithm 1, lines 9-17). Only layers up to `level` are
/// linked: a store may have lowered it when placing the element.
///
/// The element's own lists are written on every layer before any other
/// element links to it, so whoever reaches it (a concurrent search or
/// insert) finds it complete.
pub fn link_planned<G: GraphMut>(
    graph: &mut G,
    params: &HnswParams,
    node: G::Node,
    vector: &[f32],
    level: usize,
    plan: Option<InsertPlan<G::Node>>,
    visited: &mut G::Visited,
) {
    let plan = match plan {
        Some(plan) => plan,
        None => match graph.claim_entry_point(node, level) {
            None => return, // the first element: nothing to link to
            // A concurrent first insert won: search from it.
            Some((entry, entry_level)) => plan_from(graph, params, vector, level, entry, entry_level, visited),
        },
    };
    let mut rehomed = Vec::new();
    let mut chosen: Vec<(usize, Vec<G::Node>)> = Vec::new();
    for (lc, found) in plan.layers.into_iter().filter(|&(lc, _)| lc <= level) {
        let mut linkable = Vec::with_capacity(found.len());
        for &candidate in &found {
            if candidate.node != node && !graph.is_deleted(candidate.node) {
                linkable.push(candidate);
            }
        }
        let selected = select_neighbors(graph, &linkable, params.max_degree(lc), true);
        chosen.push((lc, selected.into_iter().map(|c| c.node).collect()));
    }
    for (lc, selected) in &chosen {
        graph.update_neighbors(node, *lc, &mut |_, _| selected.clone());
    }
    for (lc, selected) in chosen {
        let mut linked = false;
        let mut stranded = Vec::new();
        for &neighbor in &selected {
            let outcome = link(graph, params, neighbor, node, lc, Refusal::Allowed, &mut rehomed, visited);
            linked |= outcome.linked;
            stranded.extend(outcome.stranded);
        }
        if !linked {
            // Every neighbor kept its own links instead: without a link to
            // the new element, no search would ever reach it.
            for &host in &selected {
                if link(graph, params, host, node, lc, Refusal::Forbidden, &mut rehomed, visited).linked {
                    break;
                }
            }
        }
        // Only layer 0 decides whether a search finds an element.
        if lc == 0 {
            adopt_stranded(graph, params, node, &selected, stranded, &mut rehomed, visited);
        }
    }
    if level > plan.entry_level {
        graph.promote_entry_point(node, level);
    }
}

/// Links `node` from `host` on `level` even if `host`'s list is full (for
/// elements a search for their own vector does not find).
pub(super) fn force_link<G: GraphMut>(
    graph: &mut G,
    params: &HnswParams,
    host: G::Node,
    node: G::Node,
    level: usize,
    visited: &mut G::Visited,
) -> bool {
    link(graph, params, host, node, level, Refusal::Forbidden, &mut Vec::new(), visited).linked
}

/// Links `node` from `owner` on `level` as an insert's reverse link does.
pub(super) fn link_back<G: GraphMut>(
    graph: &mut G,
    params: &HnswParams,
    owner: G::Node,
    node: G::Node,
    level: usize,
    visited: &mut G::Visited,
) -> bool {
    link(graph, params, owner, node, level, Refusal::Allowed, &mut Vec::new(), visited).linked
}

/// Whether a full list may keep its links and turn the new one away.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// An ordinary reverse link: the new element has other neighbors.
    Allowed,
    /// The new element's last chance of an incoming link.
    Forbidden,
}

/// How many elements one new link may displace in a row (each re-homed
/// one can displace another). Two outliers can take turns displacing each
/// other from the same few hosts (SIFT 5k element 334 was lost that way
/// at 4, not at 8; under cosine after a build, seed 58 at 8, not at 16).
/// The bound guarantees the insert ends.
const MAX_REHOMED: usize = 16;

/// What `link` did.
struct LinkOutcome<N> {
    /// Whether the link was made.
    linked: bool,
    /// Elements the owner links to that the new element is nearer to than
    /// the owner is (see `add_link`), with their distance to the new element.
    stranded: Vec<Candidate<N>>,
}

/// Adds a link from `owner` to `new` on `level`; returns whether it was
/// made. If making room took away the incoming link through which searches
/// for the displaced element found it, that element gets a new one (see
/// `rehome`), and so on down the chain. `rehomed` holds the elements this
/// insert has re-homed so far: one displaced again is re-homed again, since
/// the two-hop path `still_reached_through` finds may be the very link the
/// insert took away (SIFT 5k, four clients' order 83: the one element lost
/// in 140 such orders, 2 -> 1; with four real clients, 2 of 36 runs missed
/// a row before, 1 of 100 after).
///
/// Builds re-home nothing while they insert
/// (`GraphMut::findability_checked_later`): re-homing searched for 2.3
/// displaced elements per insert and took a fifth of a build's time, while
/// the findability pass that ends every build links the few elements
/// inserts leave unfound (pydoc-minilm 41k: 2 elements instead of 1, SIFT
/// 5k: 11 instead of 1; none missed afterwards either way, recall@10 at
/// ef 40 unchanged).
fn link<G: GraphMut>(
    graph: &mut G,
    params: &HnswParams,
    owner: G::Node,
    new: G::Node,
    level: usize,
    refusal: Refusal,
    rehomed: &mut Vec<Rehoming<G::Node>>,
    visited: &mut G::Visited,
) -> LinkOutcome<G::Node> {
    let added = replace_link(graph, params, owner, new, level, refusal);
    let mut displaced = added.displaced.map(|lost| (owner, lost));
    for chain in 0..MAX_REHOMED {
        let Some((former, lost)) = displaced else { break };
        // A deleted element is on its way out: it needs no new home.
        if graph.is_deleted(lost.node)
            || graph.findability_checked_later()
            || (!rehomed.iter().any(|r| r.element == lost.node) && still_reached_through(graph, former, lost.node, level))
        {
            break;
        }
        let careful = chain >= MAX_REHOMED / 2;
        displaced = rehome(graph, params, lost.node, former, level, careful, rehomed, visited);
    }
    LinkOutcome { linked: added.linked, stranded: added.stranded }
}

/// Writes `add_link`'s list and returns its outcome. The last call of the
/// update closure is the one written (a concurrent store may call it
/// again), so its outcome is the one kept.
fn replace_link<G: GraphMut>(
    graph: &mut G,
    params: &HnswParams,
    owner: G::Node,
    new: G::Node,
    level: usize,
    refusal: Refusal,
) -> AddedLink<G::Node> {
    let max_degree = params.max_degree(level);
    let mut outcome = None;
    graph.update_neighbors(owner, level, &mut |g, current| {
        let added = add_link(g, owner, current, new, level, max_degree, refusal);
        let links = added.links.clone();
        outcome = Some(added);
        links
    });
    outcome.expect("update_neighbors calls its update at least once")
}

/// How wide the search for a displaced element's new host is.
const REHOME_EF: usize = 8;

/// A new home one insert gave a displaced element: `host` links to
/// `element` on `level`.
#[derive(Clone, Copy)]
struct Rehoming<N> {
    element: N,
    host: N,
    level: usize,
}

/// Links `lost` from the nearest element a search for its vector finds
/// around `former` (which just dropped it, other than `former` itself)
/// that this insert has not made its host on `level` before; returns that
/// host and the link that made room there. The hosts an insert once gave
/// an early outlier stay where they were, while later elements settle
/// nearer to it; a search for its vector ends among those, so its new
/// in-link must come from there, not from its own (stale) neighbors.
///
/// Measured on SIFT 5k (m 16, ef_construction 64, sequential inserts, no
/// `link_if_unfindable`, seeds 1-3, with `still_reached_through`): a search
/// from `former` at ef 8 loses nothing against one from the entry point at
/// ef_construction (0 elements missed by their own vector either way) and
/// takes pydoc-minilm's 41k inserts from 40 s to 22 s.
///
/// A few outliers that share their nearest hosts can displace each other
/// in a cycle: each takes the nearest host's last slot from the next one,
/// until the chain ends at [`MAX_REHOMED`] with the last one displaced and
/// not re-homed (SIFT 5k under cosine, 500 inserts after a build: a cycle
/// of four outliers cost element 334 its only near in-link in 6 of 200
/// level seeds). A host used once is not used again for the same element,
/// so a cycle moves on to other hosts, whose slots are held by elements
/// reached some other way.
///
/// Where a few hubs hold most elements' only in-links, chains still ran
/// their course: the nearest hosts of every displaced element are the
/// same hubs, each giving up the only in-link of another, until the bound
/// left the last one out or every nearby host was used (1,000 sparse-like
/// 200-d vectors of ten topics, L2: 11 to 42 elements unreachable after
/// 100 inserts, in each of 10 level seeds; the test
/// `inserts_among_hubs_leave_every_element_reachable`). So a host search
/// that finds no host searches again from the entry point, as wide as an
/// insert does, and the second half of a chain is `careful`: it ends the
/// chain on the nearest of those hosts that can link `lost` in place of
/// an element it still reaches some other way (`link_in_place_of_reached`),
/// and displaces as before only where none can (0 unreachable in the same
/// runs, which took 0.2 s instead of 0.6 s).
#[allow(clippy::too_many_arguments)]
fn rehome<G: GraphMut>(
    graph: &mut G,
    params: &HnswParams,
    lost: G::Node,
    former: G::Node,
    level: usize,
    careful: bool,
    rehomed: &mut Vec<Rehoming<G::Node>>,
    visited: &mut G::Visited,
) -> Option<(G::Node, Candidate<G::Node>)> {
    let mut vector = Vec::new();
    graph.load_vector(lost, &mut vector);
    let used_before = |host: G::Node| rehomed.iter().any(|r| r.element == lost && r.host == host && r.level == level);
    let eligible = |found: Vec<Candidate<G::Node>>, graph: &mut G| -> Vec<Candidate<G::Node>> {
        found.into_iter().filter(|c| c.node != lost && c.node != former && !used_before(c.node) && !graph.is_deleted(c.node)).collect()
    };
    let start = Candidate { distance: graph.distance(&vector, former), node: former };
    let mut hosts = eligible(search_layer(graph, &vector, &[start], REHOME_EF, level, visited), graph);
    if (careful || hosts.is_empty()) && level == 0 {
        // From the entry point, wide: more hosts, every one of them reached.
        hosts = eligible(knn_search(graph, &vector, params.ef_construction, visited), graph);
    }
    if careful {
        for host in &hosts {
            if link_in_place_of_reached(graph, params, host.node, lost, level, rehomed) {
                rehomed.push(Rehoming { element: lost, host: host.node, level });
                return None;
            }
        }
    }
    let host = *hosts.first()?;
    rehomed.push(Rehoming { element: lost, host: host.node, level });
    let displaced = replace_link(graph, params, host.node, lost, level, Refusal::Forbidden).displaced;
    displaced.map(|d| (host.node, d))
}

/// Links `new` from `host` on `level` in place of `host`'s furthest link
/// whose element stays reached without it (deleted, or reached through
/// another element: `still_reached_through`, not one this insert re-homed),
/// or in a free slot; false, with nothing changed, if there is neither.
/// Algorithm 4 does not choose the link given up: ending the chain does.
fn link_in_place_of_reached<G: GraphMut>(graph: &mut G, params: &HnswParams, host: G::Node, new: G::Node, level: usize, rehomed: &[Rehoming<G::Node>]) -> bool {
    let mut links = Vec::new();
    graph.neighbors(host, level, &mut links);
    if links.contains(&new) {
        return true;
    }
    let mut furthest_first: Vec<(f32, G::Node)> = links.iter().map(|&n| (graph.distance_between(host, n), n)).collect();
    furthest_first.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut victim = None;
    for (_, n) in furthest_first {
        if graph.is_deleted(n) || (!rehomed.iter().any(|r| r.element == n) && still_reached_through(graph, host, n, level)) {
            victim = Some(n);
            break;
        }
    }
    let max_degree = params.max_degree(level);
    let mut linked = false;
    graph.update_neighbors(host, level, &mut |_, current| {
        let mut list = current.to_vec();
        linked = true;
        match victim.and_then(|v| list.iter().position(|&n| n == v)) {
            Some(slot) => list[slot] = new,
            None if list.len() < max_degree => list.push(new),
            None => linked = false,
        }
        list
    });
    linked
}

/// Whether `former` still reaches `target` on `level` in two hops, through
/// an element both link to that links back to `target`. A search that
/// came to `former` looking for `target` then still finds it.
///
/// An in-link from anywhere is not enough: SIFT 5k element 249, an early
/// outlier, kept four in-links from the outliers inserted with it while
/// the space between filled with 4,000 later elements; searches for it
/// ended among those and never reached the old ones (1 element of 5,000
/// missed by its own vector with "any in-link nearer than `former`";
/// 0 with this check, at 2.3 re-homings per insert instead of 0.1, 4 on
/// pydoc-minilm, where the 41k inserts take 22 s instead of 18 s). Only
/// `target`'s own neighbors are asked (links mostly go both ways): a miss
/// costs a needless re-homing, never a lost element.
fn still_reached_through<G: Graph>(graph: &mut G, former: G::Node, target: G::Node, level: usize) -> bool {
    let mut formers = Vec::new();
    graph.neighbors(former, level, &mut formers);
    let mut outgoing = Vec::new();
    graph.neighbors(target, level, &mut outgoing);
    let mut theirs = Vec::new();
    outgoing.into_iter().filter(|n| formers.contains(n)).any(|n| {
        theirs.clear();
        graph.neighbors(n, level, &mut theirs);
        theirs.contains(&target)
    })
}

/// What `add_link` made of a list.
pub(super) struct AddedLink<N> {
    pub(super) links: Vec<N>,
    /// Whether `links` holds the new element.
    pub(super) linked: bool,
    /// The link given up, with its distance to the owner.
    pub(super) displaced: Option<Candidate<N>>,
    /// The owner's links that Algorithm 4 prunes because the new element
    /// is nearer to them than the owner is, with that nearer distance.
    pub(super) stranded: Vec<Candidate<N>>,
}

/// `current` plus `new`. A full list gives up exactly one link, as in
/// pgvector's HnswUpdateConnection, instead of being re-pruned whole (which
/// stripped lists of many links at once, sometimes an element's only
/// incoming one): the furthest one Algorithm 4 prunes, or the furthest of
/// all if it prunes none (links whose score overflowed last). That may be `new` itself unless `refusal` forbids
/// it. Also reports the links `new` prunes (see `adopt_stranded`): the
/// heuristic compares them with `new` anyway, first, at no extra cost.
///
/// Measured on SIFT 5k (m 16, ef_construction 64): recall@10 at ef 40
/// 0.977 -> 0.991; on 10,000 skewed 3-d vectors under inner product,
/// recall@20 at ef 40 0.87-0.90 -> 1.00 (whole-list pruning left lists of
/// two or three links there).
///
/// Where the store kept the verdicts of the list's last judgement
/// (`Graph::cached_verdicts`), only what `new` changes is judged again
/// (see `judge`), as pgvector's in-memory build does with its `closer`
/// flags: on 20,000 pydoc-minilm vectors (serial build) this function went
/// from 6,650 scores per insert to about 500, 94% of full lists had their
/// verdicts kept, and the build took 12.5 s instead of 14.6 s.
pub(super) fn add_link<G: Graph>(
    graph: &mut G,
    owner: G::Node,
    current: &[G::Node],
    new: G::Node,
    level: usize,
    max_degree: usize,
    refusal: Refusal,
) -> AddedLink<G::Node> {
    let mut links = current.to_vec();
    if links.contains(&new) {
        return AddedLink { links, linked: true, displaced: None, stranded: Vec::new() };
    }
    if links.len() < max_degree {
        links.push(new);
        return AddedLink { links, linked: true, displaced: None, stranded: Vec::new() };
    }
    let cached = graph.cached_verdicts(owner, level, &links);
    // `new` first, then the list in its order; `by_distance` is a stable
    // sort of their positions: among equally distant links (exact
    // duplicates) the oldest goes, so the duplicates' lists keep changing
    // and every copy keeps an incoming link.
    let mut in_list: Vec<LinkVerdict<G::Node>> = Vec::with_capacity(links.len() + 1);
    in_list.push(LinkVerdict { node: new, distance: graph.distance_between(owner, new), pruned_by: None });
    let reuse = cached.is_some();
    match cached {
        Some(verdicts) => in_list.extend(verdicts),
        None => in_list.extend(links.iter().map(|&node| LinkVerdict { node, distance: graph.distance_between(owner, node), pruned_by: None })),
    }
    let mut by_distance: Vec<usize> = (0..in_list.len()).collect();
    by_distance.sort_by(|&a, &b| in_list[a].distance.total_cmp(&in_list[b].distance));
    let mut candidates: Vec<LinkVerdict<G::Node>> = by_distance.iter().map(|&i| in_list[i]).collect();
    let stranded = judge(graph, &mut candidates, new, reuse);
    for (&i, &verdict) in by_distance.iter().zip(&candidates) {
        in_list[i] = verdict;
    }

    // Links at a finite distance go first; among them pruned, then kept,
    // furthest first. A link whose score overflowed (+inf from everything)
    // says nothing about how far it is, and it is likely its element's only
    // in-link: dropping it to make room for another such element started
    // chains of displacements longer than re-homing follows (see the test
    // `outliers_whose_scores_overflow_stay_reachable`).
    let furthest_first = (0..candidates.len()).rev();
    let pruned = |i: &usize| candidates[*i].pruned_by.is_some();
    // (`new` itself may still be turned away: that only refuses a link.)
    let finite = |i: &usize| candidates[*i].distance.is_finite() || candidates[*i].node == new;
    let by_preference = furthest_first.clone().filter(pruned).chain(furthest_first.filter(|i| !pruned(i)));
    let mut victims = by_preference.clone().filter(finite).chain(by_preference.filter(|i| !finite(i)));
    let victim = victims
        .find(|&i| candidates[i].node != new || refusal == Refusal::Allowed)
        .map(|i| Candidate { distance: candidates[i].distance, node: candidates[i].node })
        .expect("a full list has links other than the new one");
    // Dropping the victim changes no other verdict when it is pruned, or
    // when every link is kept and it is the furthest. A forbidden refusal
    // can drop a kept link that prunes others: their verdicts then name a
    // pruner not in the list, which `judge` re-judges and a page stores
    // as unknown.
    if victim.node == new {
        graph.cache_verdicts(owner, level, in_list.split_off(1));
        return AddedLink { links, linked: false, displaced: None, stranded };
    }
    let slot = links.iter().position(|&n| n == victim.node).expect("a candidate from the list");
    links[slot] = new;
    in_list[slot + 1] = in_list[0];
    graph.cache_verdicts(owner, level, in_list.split_off(1));
    AddedLink { links, linked: true, displaced: Some(victim), stranded }
}

/// Algorithm 4 over `candidates` (sorted nearest first, `new` among them):
/// sets each one's `pruned_by`, and returns the candidates `new` is nearer
/// to than the owner is (with that distance), those after `new` if it is
/// kept.
///
/// With `reuse` the other candidates carry the verdicts of the list's last
/// judgement, which hold as long as what they rest on holds: a pruned link
/// stays pruned while its pruner is kept, and a kept link stays kept
/// unless `new` or a link kept only now prunes it. Only those are scored;
/// a link whose pruner was itself pruned now is judged in full.
fn judge<G: Graph>(graph: &mut G, candidates: &mut [LinkVerdict<G::Node>], new: G::Node, reuse: bool) -> Vec<Candidate<G::Node>> {
    let mut kept: Vec<G::Node> = Vec::with_capacity(candidates.len());
    // Links kept now that the last judgement pruned.
    let mut newly_kept: Vec<G::Node> = Vec::new();
    let mut new_kept = false;
    let mut stranded = Vec::new();
    for candidate in candidates.iter_mut() {
        let (node, distance) = (candidate.node, candidate.distance);
        let prunes = |graph: &mut G, k: G::Node| graph.distance_between(node, k) <= distance;
        let pruned_by = if node == new {
            kept.iter().copied().find(|&k| prunes(graph, k))
        } else {
            // Against `new` first: whether it prunes the candidate is reported.
            // (Only a kept `new` prunes: a sentinel of +inf would prune a
            // candidate at +inf, whose score overflowed.)
            let to_new = new_kept.then(|| graph.distance_between(node, new)).filter(|&d| d <= distance);
            if let Some(to_new) = to_new {
                stranded.push(Candidate { distance: to_new, node });
                Some(new)
            } else if !reuse {
                kept.iter().copied().filter(|&k| k != new).find(|&k| prunes(graph, k))
            } else {
                match candidate.pruned_by {
                    Some(pruner) if kept.contains(&pruner) => Some(pruner),
                    Some(_) => {
                        let judged = kept.iter().copied().filter(|&k| k != new).find(|&k| prunes(graph, k));
                        if judged.is_none() {
                            newly_kept.push(node);
                        }
                        judged
                    }
                    None => newly_kept.iter().copied().find(|&k| prunes(graph, k)),
                }
            }
        };
        if pruned_by.is_none() {
            kept.push(node);
            new_kept |= node == new;
        }
        candidate.pruned_by = pruned_by;
    }
    stranded
}

/// How many stranded elements one insert links to at most: its own slots
/// are for its nearest neighbors.
const MAX_ADOPTED: usize = 4;

/// Links `node` (just inserted) to the elements its reverse links found
/// stranded (`add_link`) that no element nearer to them than `node` links
/// to from their own lists (`no_nearer_in_link`), and those back to it.
/// An early outlier's region fills with elements nearer to it than the
/// elements that link to it, but each of those has 2m nearer neighbors of
/// its own, so none selects it, and a search for it stops among them (see
/// `link_if_unfindable`).
/// Linking it from the element that is now its nearest keeps it findable;
/// the link back keeps its own list current for the next such check.
///
/// Measured on SIFT 5k (m 16, ef_construction 64, sequential inserts, no
/// `link_if_unfindable`, 5 level seeds; with a fresh-search `rehome` and
/// MAX_REHOMED 8): elements not found by their own vector 2 -> 1 per seed
/// (the last one, 249, needed `still_reached_through`). Together with
/// re-homing: 10-11 -> 1 on SIFT, 0 -> 0 on pydoc-minilm (41k), recall@10
/// at ef 40 0.990 -> 0.991, per insert 7,170 -> 7,900 distances (+10%),
/// 171 -> 228 list reads (+33%), 17.6 -> 17.8 writes.
fn adopt_stranded<G: GraphMut>(
    graph: &mut G,
    params: &HnswParams,
    node: G::Node,
    selected: &[G::Node],
    mut stranded: Vec<Candidate<G::Node>>,
    rehomed: &mut Vec<Rehoming<G::Node>>,
    visited: &mut G::Visited,
) {
    stranded.sort();
    let mut checked = Vec::with_capacity(stranded.len());
    let mut adopted = 0;
    for orphan in stranded {
        if adopted == MAX_ADOPTED {
            break;
        }
        if selected.contains(&orphan.node) || checked.contains(&orphan.node) {
            continue;
        }
        checked.push(orphan.node);
        if graph.is_deleted(orphan.node) || !no_nearer_in_link(graph, orphan.node, node, orphan.distance) {
            continue;
        }
        link(graph, params, node, orphan.node, 0, Refusal::Forbidden, rehomed, visited);
        link(graph, params, orphan.node, node, 0, Refusal::Allowed, rehomed, visited);
        adopted += 1;
    }
}

/// Whether no element within `distance` of `target` both sits in its
/// layer-0 list and links back to it (`new` aside). Only such an element
/// gives `target` an in-link from nearer than `new`: links go both ways
/// when made, but a full list later drops its side, and a one-way link
/// in `target`'s own list guides no search to it.
///
/// Measured on SIFT 5k (m 16, ef_construction 64, inserts one at a time
/// in the order four clients interleave rows, seeds 1-140): elements
/// missed by their own vector in 28 -> 2 of 140 graphs when only links
/// back count, at no measurable insert cost; in-order inserts stay at 0.
fn no_nearer_in_link<G: Graph>(graph: &mut G, target: G::Node, new: G::Node, distance: f32) -> bool {
    let mut links = Vec::new();
    graph.neighbors(target, 0, &mut links);
    let mut theirs = Vec::new();
    links.into_iter().filter(|&n| n != new).all(|n| {
        if graph.distance_between(target, n) > distance {
            return true;
        }
        theirs.clear();
        graph.neighbors(n, 0, &mut theirs);
        !theirs.contains(&target)
    })
}

/// Algorithm 4 (SELECT-NEIGHBORS-HEURISTIC): walks `candidates` (sorted by
/// distance to the base element) nearest first and keeps one only if it is
/// closer to the base than to every element already kept, so links spread in
/// different directions instead of clustering.
///
/// With `keep_pruned` (the paper's keepPrunedConnections) free slots are then
/// filled with the nearest pruned candidates. A new element's own list is
/// filled: its slots are on disk either way and the links buy recall.
/// Full lists that take a new link drop one (see `add_link`).
pub fn select_neighbors<G: Graph>(
    graph: &mut G,
    candidates: &[Candidate<G::Node>],
    max: usize,
    keep_pruned: bool,
) -> Vec<Candidate<G::Node>> {
    let mut selected: Vec<Candidate<G::Node>> = Vec::with_capacity(max);
    let mut pruned: Vec<Candidate<G::Node>> = Vec::new();
    for &candidate in candidates {
        if selected.len() >= max {
            break;
        }
        let diverse = selected.iter().all(|kept| graph.distance_between(candidate.node, kept.node) > candidate.distance);
        if diverse {
            selected.push(candidate);
        } else if keep_pruned {
            pruned.push(candidate);
        }
    }
    let room = max - selected.len();
    selected.extend(pruned.into_iter().take(room));
    selected
}
