//! The in-memory graph: flat arrays, as hnswlib keeps them. Index builds
//! grow the graph here and then write it to pages in one pass; the unit
//! tests check the algorithms on it against brute force.

use rand::rngs::SmallRng;
use rand::SeedableRng;

use super::estimated::{EstimateQuery, EstimatingGraph};
use super::{insert, knn_search, link_if_unfindable, relink_cut_off, repair_neighbors, BuildStage, Graph, GraphMut, GenerationVisited, HnswParams, LevelGenerator, LinkVerdict, PROGRESS_EVERY};
use crate::distance::Metric;
use crate::flat::FlatVectors;
use crate::quant::int8::Int8Vectors;
use crate::quant::{Estimate, RabitqEncoder};

pub struct MemoryGraph {
    /// Every vector's length; for sparse vectors (each of its own length)
    /// the dimensions of their space.
    dim: usize,
    lengths_vary: bool,
    params: HnswParams,
    score: fn(&[f32], &[f32]) -> f32,
    /// Nearness in space (`Metric::space_score_fn`).
    space_score: fn(&[f32], &[f32]) -> f32,
    /// Element i's vector is vectors.get(i).
    vectors: FlatVectors,
    levels: Vec<u8>,
    /// Layer-0 links: element i owns layer0[i * 2m..(i + 1) * 2m], of which
    /// the first layer0_len[i] are used.
    layer0: Vec<u32>,
    layer0_len: Vec<u8>,
    /// Links on layers 1..=level, for the few elements that have them.
    upper: Vec<Vec<Vec<u32>>>,
    entry: Option<(u32, usize)>,
    deleted: Vec<bool>,
    /// RaBitQ codes of every element, once `encode_all` made them.
    codes: Option<Codes>,
    /// Algorithm 4's verdicts on each element's layer-0 list (see
    /// `Graph::cached_verdicts`), empty until its list was full once.
    verdicts: Vec<Vec<LinkVerdict<u32>>>,
    /// Set while a build inserts, before its findability pass
    /// (`GraphMut::findability_checked_later`).
    findability_checked_later: bool,
    /// While a build inserts: its vectors in 8 bits, which its searches
    /// and link choices score with (a quarter of the memory traffic).
    insert_scores: Option<Int8Vectors>,
}

struct Codes {
    encoder: RabitqEncoder,
    /// Element i's code is bytes[i * len..(i + 1) * len].
    bytes: Vec<u8>,
}

impl MemoryGraph {
    pub fn new(dim: usize, metric: Metric, params: HnswParams) -> Self {
        assert!(params.max_degree(0) <= u8::MAX as usize, "m is at most 127");
        Self {
            dim,
            lengths_vary: metric.compares_sparse(),
            params,
            score: metric.score_fn(),
            space_score: metric.space_score_fn(),
            vectors: FlatVectors::new(),
            levels: Vec::new(),
            layer0: Vec::new(),
            layer0_len: Vec::new(),
            upper: Vec::new(),
            entry: None,
            deleted: Vec::new(),
            codes: None,
            verdicts: Vec::new(),
            findability_checked_later: false,
            insert_scores: None,
        }
    }

    /// Gives every element, and every later one, a RaBitQ code of `bits`
    /// bits per dimension around the mean of the live vectors.
    pub fn encode_all(&mut self, bits: usize, seed: u64) {
        let live = (0..self.len() as u32).filter(|&n| !self.deleted[n as usize]);
        let encoder = RabitqEncoder::with_mean_centroid(self.dim, bits, seed, live.map(|n| self.vector(n)));
        let mut bytes = vec![0; self.len() * encoder.code_bytes()];
        for (node, code) in bytes.chunks_exact_mut(encoder.code_bytes()).enumerate() {
            encoder.encode_into(self.vector(node as u32), code);
        }
        self.codes = Some(Codes { encoder, bytes });
    }

    /// The encoder of `encode_all`, if it ran.
    pub fn encoder(&self) -> Option<&RabitqEncoder> {
        self.codes.as_ref().map(|c| &c.encoder)
    }

    /// Room for `elements` more without reallocating (moving a large
    /// graph costs as much as inserting into it).
    pub fn reserve(&mut self, elements: usize) {
        self.vectors.reserve(elements, if self.lengths_vary { 0 } else { elements * self.dim });
        self.levels.reserve(elements);
        self.layer0.reserve(elements * self.params.max_degree(0));
        self.layer0_len.reserve(elements);
        self.verdicts.reserve(elements);
        self.upper.reserve(elements);
        self.deleted.reserve(elements);
    }

    /// Builds a graph over `vectors` (flattened, `dim` each), inserting them in order.
    pub fn build(dim: usize, metric: Metric, params: HnswParams, vectors: &[f32], seed: u64) -> Self {
        Self::build_reporting(dim, metric, params, &FlatVectors::from_fixed(vectors.to_vec(), dim), seed, &mut |_, _, _| {})
    }

    /// [`MemoryGraph::build`], telling `progress` how far it is (see
    /// [`BuildStage`]) every [`PROGRESS_EVERY`] elements.
    pub(super) fn build_reporting(
        dim: usize,
        metric: Metric,
        params: HnswParams,
        vectors: &FlatVectors,
        seed: u64,
        progress: &mut dyn FnMut(BuildStage, usize, usize),
    ) -> Self {
        let count = vectors.len();
        let mut graph = Self::new(dim, metric, params);
        graph.reserve(count);
        let mut builder = graph.builder(seed);
        graph.findability_checked_later = true;
        graph.insert_scores = Int8Vectors::encode(vectors, dim, metric);
        for (done, vector) in vectors.iter().enumerate() {
            if done % PROGRESS_EVERY == 0 {
                progress(BuildStage::Inserting, done, count);
            }
            builder.insert(&mut graph, vector);
        }
        graph.insert_scores = None;
        graph.findability_checked_later = false;
        let mut visited = graph.new_visited();
        for node in 0..count as u32 {
            if node as usize % PROGRESS_EVERY == 0 {
                progress(BuildStage::CheckingFindability, node as usize, count);
            }
            link_if_unfindable(&mut graph, &params, node, &mut visited);
        }
        graph.link_unreachable();
        graph
    }

    /// Links every element that layer 0 cannot reach from the entry point,
    /// so that an exhaustive search can return it. `link_if_unfindable`
    /// does not see these under inner product, where a search for an element's
    /// own vector need not return it: short vectors lose every search to
    /// long ones, Algorithm 4 prunes them from every list (a long neighbor
    /// scores higher with anything), and the links forced on the few long
    /// hosts displace each other. Measured after `link_if_unfindable`: 3,982
    /// of 5,000 skewed 3-d rows unreachable, 114 of 300 rows of small integer
    /// coordinates; none after this pass, which for a graph with none costs
    /// one walk. Each unreachable element gets a link from the reachable
    /// element nearest to it in space among its own list and a search for
    /// it, in place of the host's furthest link whose target has another
    /// incoming link. (Nearest by score instead put thousands of links on
    /// the long hosts and cut recall@20 on skewed data from 0.95 to 0.71.)
    pub fn link_unreachable(&mut self) {
        let Some((entry, _)) = self.entry else { return };
        let max_degree = self.params.max_degree(0);
        // A replaced link can cut off what only it reached: a few rounds
        // relink those too (one is nearly always enough). A link this pass
        // made, in any round, is never the one replaced: two unreachable
        // elements linked to each other took turns displacing the other's,
        // and across rounds a host's new link was taken back because its
        // target had one other in-link, from the partner only it reached
        // (a zero vector and a [1,1,1] among 300 coarse-grid rows under
        // inner product, 5 of 100 two-thread builds).
        let mut relinked = vec![false; self.len()];
        for _ in 0..4 {
            let mut in_degree = vec![0u32; self.len()];
            for node in 0..self.len() as u32 {
                for &target in self.links(node, 0) {
                    in_degree[target as usize] += 1;
                }
            }
            let mut reached = vec![false; self.len()];
            self.mark_reachable(entry, &mut reached);
            if reached.iter().zip(&self.deleted).all(|(&r, &d)| r || d) {
                return;
            }
            let mut visited = self.new_visited();
            let mut vector = Vec::new();
            for node in 0..self.len() as u32 {
                if reached[node as usize] || self.deleted[node as usize] {
                    continue;
                }
                vector.clear();
                vector.extend_from_slice(self.vector(node));
                let found = knn_search(self, &vector, self.params.ef_construction, &mut visited);
                let mut hosts: Vec<u32> = self.links(node, 0).iter().copied().chain(found.iter().map(|c| c.node)).collect();
                hosts.sort_unstable();
                hosts.dedup();
                hosts.retain(|&h| h != node && reached[h as usize] && !self.deleted[h as usize]);
                // Nearest in space, not by score: under inner product the best-scoring
                // hosts are the few long vectors, whose links searches need.
                let near = |h: u32| (self.space_score)(self.vector(node), self.vector(h));
                hosts.sort_by(|&a, &b| near(a).total_cmp(&near(b)));
                for host in hosts {
                    let start = host as usize * max_degree;
                    let len = self.layer0_len[host as usize] as usize;
                    let slot = if len < max_degree {
                        self.layer0_len[host as usize] += 1;
                        Some(len)
                    } else {
                        (0..len)
                            .filter(|&s| {
                                let target = self.layer0[start + s] as usize;
                                in_degree[target] >= 2 && !relinked[target]
                            })
                            .max_by(|&a, &b| {
                                let (a, b) = (self.layer0[start + a], self.layer0[start + b]);
                                self.score_between(host, a).total_cmp(&self.score_between(host, b))
                            })
                    };
                    if let Some(slot) = slot {
                        if slot < len {
                            in_degree[self.layer0[start + slot] as usize] -= 1;
                        }
                        self.layer0[start + slot] = node;
                        in_degree[node as usize] += 1;
                        relinked[node as usize] = true;
                        self.mark_reachable(node, &mut reached);
                        break;
                    }
                }
            }
        }
    }

    fn score_between(&self, a: u32, b: u32) -> f32 {
        (self.score)(self.vector(a), self.vector(b))
    }

    /// Marks what layer 0 reaches from `start` (and `start`).
    fn mark_reachable(&self, start: u32, reached: &mut [bool]) {
        if reached[start as usize] {
            return;
        }
        reached[start as usize] = true;
        let mut queue = vec![start];
        while let Some(node) = queue.pop() {
            for &next in self.links(node, 0) {
                if !reached[next as usize] {
                    reached[next as usize] = true;
                    queue.push(next);
                }
            }
        }
    }

    /// A graph from its parts: `links[i][l]` is element i's list on layer l,
    /// `verdicts[i]` the verdicts kept on its layer-0 list.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn from_parts(
        dim: usize,
        metric: Metric,
        params: HnswParams,
        vectors: FlatVectors,
        levels: &[usize],
        links: Vec<Vec<Vec<u32>>>,
        verdicts: Vec<Vec<LinkVerdict<u32>>>,
        entry: Option<(u32, usize)>,
    ) -> Self {
        let mut graph = Self::new(dim, metric, params);
        graph.reserve(levels.len());
        let degree = params.max_degree(0);
        for (node, mut lists) in links.into_iter().enumerate() {
            graph.levels.push(levels[node] as u8);
            let layer0 = &lists[0];
            graph.layer0.extend_from_slice(layer0);
            graph.layer0.resize(graph.layer0.len() + degree - layer0.len(), 0);
            graph.layer0_len.push(layer0.len() as u8);
            lists.remove(0);
            graph.upper.push(lists);
            graph.deleted.push(false);
        }
        graph.verdicts = verdicts;
        graph.vectors = vectors;
        graph.entry = entry;
        graph
    }

    /// A stateful inserter: level generator, RNG and visited set.
    pub fn builder(&self, seed: u64) -> MemoryBuilder {
        MemoryBuilder {
            rng: SmallRng::seed_from_u64(seed),
            levels: LevelGenerator::new(&self.params),
            visited: GenerationVisited::new(self.len()),
        }
    }

    pub fn len(&self) -> usize {
        self.levels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn params(&self) -> &HnswParams {
        &self.params
    }

    /// Every element's vector, in node order.
    pub fn vectors(&self) -> &FlatVectors {
        &self.vectors
    }

    #[inline]
    pub fn vector(&self, node: u32) -> &[f32] {
        self.vectors.get(node as usize)
    }

    pub fn level(&self, node: u32) -> usize {
        self.levels[node as usize] as usize
    }

    pub fn links(&self, node: u32, level: usize) -> &[u32] {
        let i = node as usize;
        if level == 0 {
            let start = i * self.params.max_degree(0);
            &self.layer0[start..start + self.layer0_len[i] as usize]
        } else {
            &self.upper[i][level - 1]
        }
    }

    /// Algorithm 4's verdicts on `node`'s layer-0 list, in the list's
    /// order, if they were kept for the list it holds now.
    pub fn layer0_verdicts(&self, node: u32) -> Option<&[LinkVerdict<u32>]> {
        let verdicts = &self.verdicts[node as usize];
        verdicts_match(verdicts, self.links(node, 0)).then_some(verdicts.as_slice())
    }

    pub fn entry(&self) -> Option<(u32, usize)> {
        self.entry
    }

    /// A breadth-first walk of layer 0 from the entry point: elements linked
    /// to each other end up on the same or nearby pages. Elements the walk
    /// does not reach follow in insertion order. (Builds write pages in
    /// `ivf::bisection_order`, which the layout bench measured better.)
    pub fn breadth_first_order(&self) -> Vec<u32> {
        let mut placed = vec![false; self.len()];
        let mut order = Vec::with_capacity(self.len());
        let starts = self.entry.map(|(entry, _)| entry).into_iter().chain(0..self.len() as u32);
        for start in starts {
            if placed[start as usize] {
                continue;
            }
            placed[start as usize] = true;
            let mut next = order.len();
            order.push(start);
            while next < order.len() {
                let node = order[next];
                next += 1;
                for &neighbor in self.links(node, 0) {
                    if !placed[neighbor as usize] {
                        placed[neighbor as usize] = true;
                        order.push(neighbor);
                    }
                }
            }
        }
        order
    }

    pub fn is_deleted(&self, node: u32) -> bool {
        self.deleted[node as usize]
    }

    /// Stores a vector as an unlinked element of the given level.
    fn push(&mut self, vector: &[f32], level: usize) -> u32 {
        assert!(self.lengths_vary || vector.len() == self.dim, "every element has the graph's dimensions");
        let node = u32::try_from(self.levels.len()).expect("fewer than 2^32 elements");
        self.vectors.push(vector);
        self.levels.push(level as u8);
        self.layer0.resize(self.layer0.len() + self.params.max_degree(0), 0);
        self.layer0_len.push(0);
        self.upper.push(vec![Vec::new(); level]);
        self.deleted.push(false);
        self.verdicts.push(Vec::new());
        if let Some(codes) = &mut self.codes {
            let start = codes.bytes.len();
            codes.bytes.resize(start + codes.encoder.code_bytes(), 0);
            codes.encoder.encode_into(vector, &mut codes.bytes[start..]);
        }
        node
    }

    /// Marks elements deleted, repairs every list that pointed at them and
    /// moves the entry point off them (what VACUUM does on pages).
    pub fn delete(&mut self, nodes: &[u32]) {
        for &n in nodes {
            self.deleted[n as usize] = true;
        }
        let deleted = self.deleted.clone();
        let is_deleted = move |n: u32| deleted[n as usize];
        let params = self.params;
        if self.entry.is_some_and(|(e, _)| is_deleted(e)) {
            self.entry = (0..self.len() as u32).filter(|&n| !is_deleted(n)).map(|n| (n, self.level(n))).max_by_key(|&(_, l)| l);
        }
        let mut cut_off: Vec<u32> = nodes.iter().flat_map(|&n| self.links(n, 0).to_vec()).filter(|&n| !is_deleted(n)).collect();
        for node in 0..self.len() as u32 {
            if is_deleted(node) {
                continue;
            }
            for level in 0..=self.level(node) {
                repair_neighbors(self, &params, node, level, &is_deleted, &mut cut_off);
            }
        }
        relink_cut_off(self, &params, cut_off, &mut || {});
    }
}

pub struct MemoryBuilder {
    rng: SmallRng,
    levels: LevelGenerator,
    visited: GenerationVisited,
}

impl MemoryBuilder {
    /// Adds a vector to the graph and links it in; returns its node id.
    pub fn insert(&mut self, graph: &mut MemoryGraph, vector: &[f32]) -> u32 {
        let level = self.levels.draw(&mut self.rng);
        let node = graph.push(vector, level);
        let params = graph.params;
        // The vector is re-borrowed from the graph by the search; copy it once.
        let vector = vector.to_vec();
        insert(graph, &params, node, &vector, level, &mut self.visited);
        node
    }
}

impl Graph for MemoryGraph {
    type Node = u32;
    type Visited = GenerationVisited;

    fn entry_point(&mut self) -> Option<(u32, usize)> {
        self.entry
    }

    #[inline]
    fn distance(&mut self, query: &[f32], node: u32) -> f32 {
        match &self.insert_scores {
            Some(codes) => codes.score(query, node),
            None => (self.score)(query, self.vector(node)),
        }
    }

    /// hnswlib's pattern: start loading the next vector while scoring this
    /// one (the hardware prefetcher follows a vector once it is started).
    fn distances(&mut self, query: &[f32], nodes: &[u32], out: &mut Vec<f32>) {
        out.clear();
        if let Some(codes) = &self.insert_scores {
            return codes.scores(query, nodes, out);
        }
        if let Some(&first) = nodes.first() {
            crate::distance::prefetch(self.vector(first).as_ptr().cast(), 2);
        }
        for (i, &node) in nodes.iter().enumerate() {
            if let Some(&next) = nodes.get(i + 1) {
                crate::distance::prefetch(self.vector(next).as_ptr().cast(), 2);
            }
            out.push((self.score)(query, self.vector(node)));
        }
    }

    #[inline]
    fn distance_between(&mut self, a: u32, b: u32) -> f32 {
        match &self.insert_scores {
            Some(codes) => codes.score_between(a, b),
            None => (self.score)(self.vector(a), self.vector(b)),
        }
    }

    fn load_vector(&mut self, node: u32, out: &mut Vec<f32>) {
        out.clear();
        out.extend_from_slice(self.vector(node));
    }

    fn cached_verdicts(&mut self, owner: u32, level: usize, links: &[u32]) -> Option<Vec<LinkVerdict<u32>>> {
        let verdicts = &self.verdicts[owner as usize];
        (level == 0 && verdicts_match(verdicts, links)).then(|| verdicts.clone())
    }

    fn cache_verdicts(&mut self, owner: u32, level: usize, verdicts: Vec<LinkVerdict<u32>>) {
        if level == 0 {
            self.verdicts[owner as usize] = verdicts;
        }
    }

    #[inline]
    fn neighbors(&mut self, node: u32, level: usize, out: &mut Vec<u32>) {
        out.extend_from_slice(self.links(node, level));
    }

    fn is_deleted(&mut self, node: u32) -> bool {
        MemoryGraph::is_deleted(self, node)
    }

    fn new_visited(&self) -> GenerationVisited {
        GenerationVisited::new(self.len())
    }
}

impl EstimatingGraph for MemoryGraph {
    fn estimates(&mut self, query: &EstimateQuery, nodes: &[u32], out: &mut Vec<Estimate>) {
        let codes = self.codes.as_ref().expect("estimates need encode_all first");
        let len = codes.encoder.code_bytes();
        out.clear();
        out.extend(nodes.iter().map(|&n| query.score(&codes.bytes[n as usize * len..(n as usize + 1) * len])));
    }
}

impl GraphMut for MemoryGraph {
    fn update_neighbors(&mut self, node: u32, level: usize, update: &mut dyn FnMut(&mut Self, &[u32]) -> Vec<u32>) {
        let current = self.links(node, level).to_vec();
        let new = update(self, &current);
        let max = self.params.max_degree(level);
        assert!(new.len() <= max, "a neighbor list never exceeds its layer's degree");
        let i = node as usize;
        if level == 0 {
            let start = i * max;
            self.layer0[start..start + new.len()].copy_from_slice(&new);
            self.layer0_len[i] = new.len() as u8;
        } else {
            self.upper[i][level - 1] = new;
        }
    }

    fn claim_entry_point(&mut self, node: u32, level: usize) -> Option<(u32, usize)> {
        if self.entry.is_none() {
            self.entry = Some((node, level));
            return None;
        }
        self.entry
    }

    fn promote_entry_point(&mut self, node: u32, level: usize) {
        if self.entry.is_none_or(|(_, top)| level > top) {
            self.entry = Some((node, level));
        }
    }

    fn findability_checked_later(&self) -> bool {
        self.findability_checked_later
    }
}

/// Whether `verdicts` were kept for exactly the list `links`.
pub(super) fn verdicts_match(verdicts: &[LinkVerdict<u32>], links: &[u32]) -> bool {
    verdicts.len() == links.len() && verdicts.iter().zip(links).all(|(v, &node)| v.node == node)
}
