//! `cargo bench -p vector_core --bench build`: what an in-memory build of
//! pydoc-minilm (41,159 x 384, cosine, m 16, ef_construction 64) costs and
//! gives, and why its scores are taken on 8-bit codes while it inserts.
//!
//! 1. Nanoseconds to score a float4 query against stored vectors picked at
//!    random among the first N, float4 against 8-bit codes: once the
//!    vectors outgrow the cache, a score costs what reading it costs.
//! 2. The build on one thread and on two: seconds inserting, seconds in
//!    all, and recall@10 of the finished graph at ef_search 10, 20, 40
//!    over 200 queries (exact float4 scores, as searches use).

use std::hint::black_box;
use std::time::Instant;

use rand::{rngs::SmallRng, Rng, SeedableRng};
use vector_core::distance::Metric;
use vector_core::flat::FlatVectors;
use vector_core::hnsw::{knn_search, BuildStage, Graph, HnswParams, MemoryGraph};
use vector_core::quant::int8::Int8Vectors;
use vector_core::test_data::{pydoc_base, pydoc_queries};

fn main() {
    let base = pydoc_base(usize::MAX);
    let dim = base.dim;
    let vectors = FlatVectors::from_fixed(base.data.clone(), dim);
    let codes = Int8Vectors::encode(&vectors, dim, Metric::Cosine).expect("cosine is encoded");
    let score = Metric::Cosine.score_fn();
    let query = vectors.get(0);
    println!("| vectors picked among | float4 score (ns) | 8-bit score (ns) |\n|---:|---:|---:|");
    let mut rng = SmallRng::seed_from_u64(3);
    for span in [500, 5_000, 20_000, vectors.len()] {
        let picks: Vec<u32> = (0..2_000_000).map(|_| rng.gen_range(0..span as u32)).collect();
        let start = Instant::now();
        picks.iter().for_each(|&n| {
            black_box(score(query, vectors.get(n as usize)));
        });
        let float4 = start.elapsed().as_nanos() as f64 / picks.len() as f64;
        let start = Instant::now();
        picks.iter().for_each(|&n| {
            black_box(codes.score(query, n));
        });
        let int8 = start.elapsed().as_nanos() as f64 / picks.len() as f64;
        println!("| {span} | {float4:.0} | {int8:.0} |");
    }

    let queries = pydoc_queries(200);
    let truth: Vec<Vec<u32>> = queries
        .data
        .chunks_exact(dim)
        .map(|q| {
            let mut all: Vec<(f32, u32)> = (0..vectors.len() as u32).map(|n| (score(q, vectors.get(n as usize)), n)).collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0));
            all.iter().take(10).map(|&(_, n)| n).collect()
        })
        .collect();
    println!("\n| threads | inserting (s) | whole build (s) | recall@10 at ef 10 / 20 / 40 |\n|---:|---:|---:|---|");
    for threads in [1, 2] {
        let start = Instant::now();
        let mut inserting = None;
        let mut graph = MemoryGraph::build_parallel(dim, Metric::Cosine, HnswParams::new(16, 64), vectors.clone(), 7, threads, &mut |stage, _, _| {
            if !matches!(stage, BuildStage::Inserting) && inserting.is_none() {
                inserting = Some(start.elapsed().as_secs_f64());
            }
        });
        let whole = start.elapsed().as_secs_f64();
        let mut visited = graph.new_visited();
        let recalls: Vec<String> = [10, 20, 40]
            .iter()
            .map(|&ef| {
                let found: usize = queries
                    .data
                    .chunks_exact(dim)
                    .zip(&truth)
                    .map(|(q, truth)| knn_search(&mut graph, q, ef, &mut visited).iter().take(10).filter(|c| truth.contains(&c.node)).count())
                    .sum();
                format!("{:.3}", found as f64 / (10 * truth.len()) as f64)
            })
            .collect();
        println!("| {threads} | {:.2} | {whole:.2} | {} |", inserting.unwrap_or(whole), recalls.join(" / "));
    }
}
