//! `cargo bench -p vector_core --bench layout`: how many distinct index
//! pages one search visits under three layouts of the same in-memory graph
//! (m 16, ef_construction 64), to choose where RaBitQ codes go on disk.
//! Prints a markdown table per data set.
//!
//! - vectors: today's format, full vectors in the element tuples; every
//!   scored neighbor and every expanded element is a page visit.
//! - code pages: codes packed densely in pages of their own; a walk that
//!   ranks neighbors by code visits their code pages, and the element pages
//!   only of what it expands (exact score, neighbor list).
//! - codes in lists: each neighbor list carries its neighbors' codes; only
//!   expanded elements are page visits.
//! - code+list elements: each element's code and its layer-0 list (4-byte
//!   ordinals) in a small tuple, its full vector on pages of its own.
//!
//! Elements are laid on pages in three orders: insertion, the breadth-first
//! order a build writes today, and recursive 2-means bisection (elements
//! near in space get near positions); as many per 8 KB page as today's
//! format fits; codes as many as fit with a 6-byte address each.

use std::collections::HashSet;

use vector_core::distance::Metric;
use vector_core::flat::FlatVectors;
use vector_core::hnsw::{
    greedy_descent, knn_search, search_layer_estimated, EstimateQuery, EstimatingGraph, GenerationVisited, Graph, HnswParams, MemoryGraph, SearchCounters,
};
use vector_core::quant::Estimate;
use vector_core::test_data::{pydoc_base, pydoc_queries, sift5k, sift_queries, Vectors};

/// Page bytes for items: 8 KB less the page header and our special space.
const PAGE_ITEM_BYTES: usize = 8192 - 24 - 8;

/// Records the elements a walk visits (scores exactly or expands) and the
/// ones it ranks by code.
struct Recording<'g> {
    graph: &'g mut MemoryGraph,
    visited_elements: Vec<u32>,
    estimated: Vec<u32>,
}

impl Graph for Recording<'_> {
    type Node = u32;
    type Visited = GenerationVisited;

    fn entry_point(&mut self) -> Option<(u32, usize)> {
        self.graph.entry_point()
    }

    fn distance(&mut self, query: &[f32], node: u32) -> f32 {
        self.visited_elements.push(node);
        self.graph.distance(query, node)
    }

    fn distance_between(&mut self, a: u32, b: u32) -> f32 {
        self.graph.distance_between(a, b)
    }

    fn load_vector(&mut self, node: u32, out: &mut Vec<f32>) {
        self.graph.load_vector(node, out)
    }

    fn neighbors(&mut self, node: u32, level: usize, out: &mut Vec<u32>) {
        self.visited_elements.push(node);
        self.graph.neighbors(node, level, out)
    }

    fn new_visited(&self) -> GenerationVisited {
        self.graph.new_visited()
    }
}

impl EstimatingGraph for Recording<'_> {
    fn estimates(&mut self, query: &EstimateQuery, nodes: &[u32], out: &mut Vec<Estimate>) {
        self.estimated.extend_from_slice(nodes);
        self.graph.estimates(query, nodes, out)
    }
}

fn distinct_pages(nodes: &[u32], per_page: usize, rank: &[u32]) -> usize {
    nodes.iter().map(|&n| rank[n as usize] as usize / per_page).collect::<HashSet<_>>().len()
}

fn ranks(order: &[u32]) -> Vec<u32> {
    let mut rank = vec![0; order.len()];
    for (i, &n) in order.iter().enumerate() {
        rank[n as usize] = i as u32;
    }
    rank
}

fn true_top_10(base: &Vectors, query: &[f32], metric: Metric) -> Vec<u32> {
    let score = metric.score_fn();
    let mut all: Vec<(f32, u32)> = base.rows().enumerate().map(|(i, row)| (score(query, row), i as u32)).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    all.into_iter().take(10).map(|(_, i)| i).collect()
}

/// Mean per query of what a walk did, and its recall@10.
#[derive(Default)]
struct Tally {
    hits: usize,
    element_pages: usize,
    code_pages: usize,
    exact: usize,
    estimates: usize,
    compact_pages: usize,
}

fn main() {
    let sets = [
        ("SIFT 5k x 128, L2", sift5k(), sift_queries(), Metric::L2),
        (
            "pydoc-minilm 41k x 384, cosine (200 queries)",
            pydoc_base(usize::MAX),
            pydoc_queries(200),
            Metric::Cosine,
        ),
    ];
    for (name, base, queries, metric) in sets {
        // Today's element: 24-byte header and the vector, its neighbor
        // tuple (4 + 2m 6-byte slots), each with a 4-byte line pointer.
        let elements_per_page = PAGE_ITEM_BYTES / (24 + 4 * base.dim + 4 + 4 + 32 * 6 + 4);
        let mut graph = MemoryGraph::build_parallel(base.dim, metric, HnswParams::new(16, 64), FlatVectors::from_fixed(base.data.clone(), base.dim), 1, 2, &mut |_, _, _| {});
        let truths: Vec<Vec<u32>> = queries.rows().map(|q| true_top_10(&base, q, metric)).collect();
        let n = queries.len() as f64;
        let orders = [
            ("insertion", (0..base.len() as u32).collect::<Vec<u32>>()),
            ("bfs", graph.breadth_first_order()),
            ("bisection", vector_core::ivf::bisection_order(&base.data, base.dim, metric, 8, 1)),
        ];
        for (order_name, order) in &orders {
            let rank = ranks(order);
            println!("\n### {name}, {order_name} order: pages one search visits ({elements_per_page} elements per page)\n");
            println!("| codes | ef | recall@10 | element visits | code estimates | element pages | code pages | pages: code pages | pages: codes in lists | pages: code+list elements, vector pages |");
            println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            for ef in [20, 40, 80] {
                let mut recording = Recording {
                    graph: &mut graph,
                    visited_elements: Vec::new(),
                    estimated: Vec::new(),
                };
                let mut visited = recording.new_visited();
                let mut tally = Tally::default();
                for (query, truth) in queries.rows().zip(&truths) {
                    recording.visited_elements.clear();
                    let found = knn_search(&mut recording, query, ef, &mut visited);
                    tally.hits += found.iter().take(10).filter(|c| truth.contains(&c.node)).count();
                    tally.element_pages += distinct_pages(&recording.visited_elements, elements_per_page, &rank);
                    tally.exact += recording.visited_elements.len();
                }
                let pages = tally.element_pages as f64 / n;
                println!(
                    "| none (vectors) | {ef} | {:.3} | {:.0} | - | {pages:.0} | - | {pages:.0} | {pages:.0} | - |",
                    tally.hits as f64 / (10.0 * n),
                    tally.exact as f64 / n
                );
            }
            for bits in [1, 2, 4] {
                graph.encode_all(bits, 1);
                let encoder = graph.encoder().expect("encoded").clone();
                let codes_per_page = PAGE_ITEM_BYTES / (encoder.code_bytes() + 6);
                let compact_per_page = PAGE_ITEM_BYTES / (encoder.code_bytes() + 4 * 32 + 8 + 4);
                let vectors_per_page = PAGE_ITEM_BYTES / (4 * base.dim + 8);
                for ef in [10, 20, 40] {
                    let mut recording = Recording {
                        graph: &mut graph,
                        visited_elements: Vec::new(),
                        estimated: Vec::new(),
                    };
                    let mut visited = recording.new_visited();
                    let mut counters = SearchCounters::default();
                    let mut tally = Tally::default();
                    for (query, truth) in queries.rows().zip(&truths) {
                        recording.visited_elements.clear();
                        recording.estimated.clear();
                        let (entry, entry_level) = recording.entry_point().expect("a built graph");
                        let entry_points = greedy_descent(&mut recording, query, entry, entry_level, 0, &mut visited);
                        let estimator = EstimateQuery::new(&encoder, query, metric).expect("an estimable metric");
                        let found = search_layer_estimated(&mut recording, &estimator, &entry_points, ef, 0, &mut visited, &mut counters);
                        tally.hits += found.iter().take(10).filter(|c| truth.contains(&c.node)).count();
                        tally.element_pages += distinct_pages(&recording.visited_elements, elements_per_page, &rank);
                        tally.code_pages += distinct_pages(&recording.estimated, codes_per_page, &rank);
                        let mut compact_nodes = recording.estimated.clone();
                        compact_nodes.extend_from_slice(&recording.visited_elements);
                        tally.compact_pages +=
                            distinct_pages(&compact_nodes, compact_per_page, &rank) + distinct_pages(&recording.visited_elements, vectors_per_page, &rank);
                        tally.exact += recording.visited_elements.len();
                        tally.estimates += recording.estimated.len();
                    }
                    let (element_pages, code_pages) = (tally.element_pages as f64 / n, tally.code_pages as f64 / n);
                    println!(
                        "| B = {bits} ({} bytes) | {ef} | {:.3} | {:.0} | {:.0} | {element_pages:.0} | {code_pages:.0} | {:.0} | {element_pages:.0} | {:.0} |",
                        encoder.code_bytes(),
                        tally.hits as f64 / (10.0 * n),
                        tally.exact as f64 / n,
                        tally.estimates as f64 / n,
                        element_pages + code_pages,
                        tally.compact_pages as f64 / n
                    );
                }
            }
        }
    }
}
