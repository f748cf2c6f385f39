//! Building a graph on every core.
//!
//! The elements' vectors and levels are fixed up front; worker threads then
//! take elements in turn and run the ordinary insert algorithm against a
//! shared graph whose neighbor lists each sit behind their own lock. List
//! updates are optimistic, as on disk: the new list is computed from a copy
//! and written only if the list did not change meanwhile, so no thread ever
//! holds two locks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rand::rngs::SmallRng;
use rand::SeedableRng;

use super::{insert, GenerationVisited, Graph, GraphMut, HnswParams, LevelGenerator, MemoryGraph};
use crate::distance::Metric;

/// The links of one element, one list per layer.
type Links = Mutex<Vec<Vec<u32>>>;

struct SharedGraph<'v> {
    dim: usize,
    vectors: &'v [f32],
    score: fn(&[f32], &[f32]) -> f32,
    links: Vec<Links>,
    entry: Mutex<Option<(u32, usize)>>,
}

impl SharedGraph<'_> {
    fn vector(&self, node: u32) -> &[f32] {
        let start = node as usize * self.dim;
        &self.vectors[start..start + self.dim]
    }

    fn layer(&self, node: u32, level: usize) -> Vec<u32> {
        self.links[node as usize].lock().expect("no thread panics holding a list")[level].clone()
    }
}

/// One worker's handle on the shared graph.
struct Worker<'g, 'v> {
    graph: &'g SharedGraph<'v>,
}

impl Graph for Worker<'_, '_> {
    type Node = u32;
    type Visited = GenerationVisited;

    fn entry_point(&mut self) -> Option<(u32, usize)> {
        *self.graph.entry.lock().expect("no thread panics holding the entry")
    }

    fn distance(&mut self, query: &[f32], node: u32) -> f32 {
        (self.graph.score)(query, self.graph.vector(node))
    }

    fn distance_between(&mut self, a: u32, b: u32) -> f32 {
        (self.graph.score)(self.graph.vector(a), self.graph.vector(b))
    }

    fn load_vector(&mut self, node: u32, out: &mut Vec<f32>) {
        out.clear();
        out.extend_from_slice(self.graph.vector(node));
    }

    fn neighbors(&mut self, node: u32, level: usize, out: &mut Vec<u32>) {
        let links = self.graph.links[node as usize].lock().expect("no thread panics holding a list");
        out.extend_from_slice(&links[level]);
    }

    fn new_visited(&self) -> GenerationVisited {
        GenerationVisited::new(self.graph.links.len())
    }
}

impl GraphMut for Worker<'_, '_> {
    fn update_neighbors(&mut self, node: u32, level: usize, update: &mut dyn FnMut(&mut Self, &[u32]) -> Vec<u32>) {
        loop {
            let current = self.graph.layer(node, level);
            let new = update(self, &current);
            let mut links = self.graph.links[node as usize].lock().expect("no thread panics holding a list");
            if links[level] == current {
                links[level] = new;
                return;
            }
        }
    }

    fn claim_entry_point(&mut self, node: u32, level: usize) -> Option<(u32, usize)> {
        let mut entry = self.graph.entry.lock().expect("no thread panics holding the entry");
        if entry.is_none() {
            *entry = Some((node, level));
            return None;
        }
        *entry
    }

    fn promote_entry_point(&mut self, node: u32, level: usize) {
        let mut entry = self.graph.entry.lock().expect("no thread panics holding the entry");
        if entry.is_none_or(|(_, top)| level > top) {
            *entry = Some((node, level));
        }
    }
}

impl MemoryGraph {
    /// Builds a graph over `vectors` (flattened, `dim` each) with `threads`
    /// workers. With one thread this is [`MemoryGraph::build`]; with more,
    /// the graph depends on thread timing (it is as good, not identical).
    pub fn build_parallel(dim: usize, metric: Metric, params: HnswParams, vectors: Vec<f32>, seed: u64, threads: usize) -> Self {
        let count = vectors.len() / dim;
        if threads <= 1 || count < 2 {
            return Self::build(dim, metric, params, &vectors, seed);
        }
        let mut rng = SmallRng::seed_from_u64(seed);
        let generator = LevelGenerator::new(&params);
        let levels: Vec<usize> = (0..count).map(|_| generator.draw(&mut rng)).collect();
        let shared = SharedGraph {
            dim,
            vectors: &vectors,
            score: metric.score_fn(),
            links: levels.iter().map(|&level| Mutex::new(vec![Vec::new(); level + 1])).collect(),
            entry: Mutex::new(Some((0, levels[0]))),
        };
        let next = AtomicUsize::new(1); // element 0 is the first entry point
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    let mut worker = Worker { graph: &shared };
                    let mut visited = worker.new_visited();
                    loop {
                        let node = next.fetch_add(1, Ordering::Relaxed);
                        if node >= count {
                            break;
                        }
                        let vector = shared.vector(node as u32);
                        insert(&mut worker, &params, node as u32, vector, levels[node], &mut visited);
                    }
                });
            }
        });
        let entry = shared.entry.into_inner().expect("workers are done");
        let links = shared.links.into_iter().map(|l| l.into_inner().expect("workers are done")).collect();
        let mut graph = Self::from_parts(dim, metric, params, vectors, &levels, links, entry);
        graph.link_unfindable();
        graph.link_unreachable();
        graph
    }
}
