//! Building a graph on every core.
//!
//! The elements' vectors and levels are fixed up front; worker threads then
//! take elements in turn and run the ordinary insert algorithm against a
//! shared graph whose neighbor lists each sit behind their own lock. List
//! updates are optimistic, as on disk: the new list is computed from a copy
//! and written only if the list did not change meanwhile, so no thread ever
//! holds two locks.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use rand::rngs::SmallRng;
use rand::SeedableRng;

use super::findable::{link_if_unfindable, search_for_itself};
use super::memory::verdicts_match;
use super::{insert, BuildStage, GenerationVisited, Graph, GraphMut, HnswParams, LevelGenerator, LinkVerdict, MemoryGraph, PROGRESS_EVERY};
use crate::distance::Metric;
use crate::flat::FlatVectors;
use crate::quant::int8::Int8Vectors;

/// The links of one element, one list per layer.
type Links = Mutex<Vec<Vec<u32>>>;

struct SharedGraph<'v> {
    vectors: &'v FlatVectors,
    score: fn(&[f32], &[f32]) -> f32,
    /// While the threads insert: the vectors in 8 bits, which the inserts
    /// score with (as `MemoryGraph`'s own build does).
    insert_scores: Option<Int8Vectors>,
    links: Vec<Links>,
    /// Algorithm 4's verdicts on each layer-0 list (`Graph::cached_verdicts`).
    verdicts: Vec<Mutex<Vec<LinkVerdict<u32>>>>,
    entry: Mutex<Option<(u32, usize)>>,
}

impl SharedGraph<'_> {
    fn vector(&self, node: u32) -> &[f32] {
        self.vectors.get(node as usize)
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
        match &self.graph.insert_scores {
            Some(codes) => codes.score(query, node),
            None => (self.graph.score)(query, self.graph.vector(node)),
        }
    }

    fn distances(&mut self, query: &[f32], nodes: &[u32], out: &mut Vec<f32>) {
        out.clear();
        match &self.graph.insert_scores {
            Some(codes) => codes.scores(query, nodes, out),
            None => out.extend(nodes.iter().map(|&node| (self.graph.score)(query, self.graph.vector(node)))),
        }
    }

    fn distance_between(&mut self, a: u32, b: u32) -> f32 {
        match &self.graph.insert_scores {
            Some(codes) => codes.score_between(a, b),
            None => (self.graph.score)(self.graph.vector(a), self.graph.vector(b)),
        }
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

    fn cached_verdicts(&mut self, owner: u32, level: usize, links: &[u32]) -> Option<Vec<LinkVerdict<u32>>> {
        let verdicts = self.graph.verdicts[owner as usize].lock().expect("no thread panics holding verdicts");
        (level == 0 && verdicts_match(&verdicts, links)).then(|| verdicts.clone())
    }

    fn cache_verdicts(&mut self, owner: u32, level: usize, verdicts: Vec<LinkVerdict<u32>>) {
        if level == 0 {
            *self.graph.verdicts[owner as usize].lock().expect("no thread panics holding verdicts") = verdicts;
        }
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

    /// The shared graph only ever builds: `build_parallel` checks every
    /// element once the inserts are done.
    fn findability_checked_later(&self) -> bool {
        true
    }
}

impl MemoryGraph {
    /// Builds a graph over `vectors` (`dim` each, or sparse) with `threads`
    /// threads, the calling thread one of them. With one thread this is
    /// [`MemoryGraph::build`]; with more, the graph depends on thread
    /// timing (it is as good, not identical).
    ///
    /// `progress` hears how far the build is (see [`BuildStage`]), always
    /// on the calling thread, so it may call into PostgreSQL. If it panics
    /// (a cancelled statement), the other threads stop at their next
    /// element and the panic goes on.
    pub fn build_parallel(
        dim: usize,
        metric: Metric,
        params: HnswParams,
        vectors: FlatVectors,
        seed: u64,
        threads: usize,
        progress: &mut dyn FnMut(BuildStage, usize, usize),
    ) -> Self {
        let count = vectors.len();
        if threads <= 1 || count < 2 {
            return Self::build_reporting(dim, metric, params, &vectors, seed, progress);
        }
        let mut rng = SmallRng::seed_from_u64(seed);
        let generator = LevelGenerator::new(&params);
        let levels: Vec<usize> = (0..count).map(|_| generator.draw(&mut rng)).collect();
        let mut shared = SharedGraph {
            vectors: &vectors,
            score: metric.score_fn(),
            insert_scores: Int8Vectors::encode(&vectors, dim, metric),
            links: levels.iter().map(|&level| Mutex::new(vec![Vec::new(); level + 1])).collect(),
            verdicts: levels.iter().map(|_| Mutex::new(Vec::new())).collect(),
            entry: Mutex::new(Some((0, levels[0]))),
        };
        // Element 0 is the first entry point.
        let insert_one = |worker: &mut Worker<'_, '_>, visited: &mut GenerationVisited, node: usize, _: &mut Vec<u32>| {
            if node > 0 {
                insert(worker, &params, node as u32, shared.vector(node as u32), levels[node], visited);
            }
        };
        share_out(&shared, threads, count, insert_one, &mut |done| progress(BuildStage::Inserting, done, count));
        shared.insert_scores = None;
        // Only the searches run on every thread: the few links they call
        // for are made one at a time below, each after a fresh search.
        let entry = shared.entry.lock().expect("workers are done").map(|(e, _)| e);
        let check_one = |worker: &mut Worker<'_, '_>, visited: &mut GenerationVisited, node: usize, missed: &mut Vec<u32>| {
            let node = node as u32;
            if Some(node) != entry && search_for_itself(worker, node, shared.vector(node), params.ef_construction, visited).is_some() {
                missed.push(node);
            }
        };
        let missed = share_out(&shared, threads, count, check_one, &mut |done| progress(BuildStage::CheckingFindability, done, count));
        let entry = shared.entry.into_inner().expect("workers are done");
        let links = shared.links.into_iter().map(|l| l.into_inner().expect("workers are done")).collect();
        let verdicts = shared.verdicts.into_iter().map(|v| v.into_inner().expect("workers are done")).collect();
        let mut graph = Self::from_parts(dim, metric, params, vectors, &levels, links, verdicts, entry);
        let mut visited = graph.new_visited();
        for node in missed {
            link_if_unfindable(&mut graph, &params, node, &mut visited);
        }
        graph.link_unreachable();
        graph
    }
}

fn share_out<W>(shared: &SharedGraph, threads: usize, count: usize, work: W, progress: &mut dyn FnMut(usize)) -> Vec<u32>
where
    W: Fn(&mut Worker<'_, '_>, &mut GenerationVisited, usize, &mut Vec<u32>) + Sync,
{
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let run = |report: &mut dyn FnMut(usize)| {
        let mut worker = Worker { graph: shared };
        let mut visited = worker.new_visited();
        let mut found = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let item = next.fetch_add(1, Ordering::Relaxed);
            if item >= count {
                break;
            }
            if item % PROGRESS_EVERY == 0 {
                report(item);
            }
            work(&mut worker, &mut visited, item, &mut found);
        }
        found
    };
    std::thread::scope(|scope| {
        let others: Vec<_> = (1..threads).map(|_| scope.spawn(|| run(&mut |_| {}))).collect();
        let mut found = {
            let _stop_on_unwind = StopOnDrop(&stop);
            run(progress)
        };
        for other in others {
            found.extend(other.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
        }
        found
    })
}

/// Tells the other threads to stop once the calling thread is done with
/// its share, normally or by a panic.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}
