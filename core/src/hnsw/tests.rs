//! The algorithms on the in-memory graph, checked against brute force.

use std::collections::{HashSet, VecDeque};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::distance::Metric;
use crate::flat::FlatVectors;

/// Clustered data: real embeddings are not uniform, and uniform data hides
/// bad link selection.
fn clustered(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let centers: Vec<Vec<f32>> = (0..50).map(|_| (0..dim).map(|_| rng.gen_range(-10.0..10.0)).collect()).collect();
    (0..n)
        .flat_map(|_| {
            let c = &centers[rng.gen_range(0..centers.len())];
            c.iter().map(|x| x + rng.gen_range(-1.0f32..1.0)).collect::<Vec<_>>()
        })
        .collect()
}

/// The SIFT 5k base set (real 128-d descriptors) from ../shared/data.
fn sift5k() -> Vec<f32> {
    crate::test_data::sift5k().data
}

fn brute_force(graph: &MemoryGraph, query: &[f32], k: usize, metric: Metric) -> Vec<u32> {
    let score = metric.score_fn();
    let mut all: Vec<(f32, u32)> = (0..graph.len() as u32)
        .filter(|&n| !graph.is_deleted(n))
        .map(|n| (score(query, graph.vector(n)), n))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all.into_iter().take(k).map(|(_, n)| n).collect()
}

fn recall_at_10(graph: &mut MemoryGraph, queries: &[f32], ef: usize, metric: Metric) -> f64 {
    let dim = graph.dim();
    let mut visited = graph.new_visited();
    let mut hits = 0;
    let mut total = 0;
    for query in queries.chunks_exact(dim) {
        let truth: HashSet<u32> = brute_force(graph, query, 10, metric).into_iter().collect();
        let found = knn_search(graph, query, ef, &mut visited);
        hits += found.iter().filter(|c| !graph.is_deleted(c.node)).take(10).filter(|c| truth.contains(&c.node)).count();
        total += truth.len();
    }
    hits as f64 / total as f64
}

fn reachable_from_entry(graph: &MemoryGraph) -> HashSet<u32> {
    let mut seen = HashSet::new();
    let Some((entry, _)) = graph.entry() else { return seen };
    let mut queue = VecDeque::from([entry]);
    seen.insert(entry);
    while let Some(node) = queue.pop_front() {
        for &next in graph.links(node, 0) {
            if seen.insert(next) {
                queue.push_back(next);
            }
        }
    }
    seen
}

#[test]
fn recall_against_brute_force_for_every_metric() {
    let dim = 24;
    let all = clustered(3100, dim, 1);
    // queries come from the same clusters as the data, as they do in practice
    let (data, queries) = all.split_at(3000 * dim);
    for metric in [Metric::L2, Metric::InnerProduct, Metric::Cosine, Metric::L1] {
        let prepare = |v: &[f32]| -> Vec<f32> {
            if metric.normalizes() {
                v.chunks_exact(dim)
                    .flat_map(|x| {
                        let n = crate::distance::norm(x) as f32;
                        x.iter().map(move |y| y / n)
                    })
                    .collect()
            } else {
                v.to_vec()
            }
        };
        let mut graph = MemoryGraph::build(dim, metric, HnswParams::new(12, 64), &prepare(data), 7);
        let recall = recall_at_10(&mut graph, &prepare(queries), 80, metric);
        // Inner product is not a metric; the heuristic still works, a little worse.
        let floor = if metric == Metric::InnerProduct { 0.90 } else { 0.95 };
        assert!(recall >= floor, "{metric:?}: recall@10 {recall}");
    }
}

/// `n` bit strings of `bits` bits in slots: 50 random centers, each bit
/// flipped with probability 0.1.
fn clustered_bits(n: usize, bits: usize, seed: u64) -> Vec<f32> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let centers: Vec<Vec<bool>> = (0..50).map(|_| (0..bits).map(|_| rng.gen_bool(0.5)).collect()).collect();
    (0..n)
        .flat_map(|_| {
            let center = &centers[rng.gen_range(0..centers.len())];
            let mut bytes = vec![0u8; bits.div_ceil(8)];
            for (i, &bit) in center.iter().enumerate() {
                if bit != rng.gen_bool(0.1) {
                    bytes[i / 8] |= 1 << (7 - i % 8);
                }
            }
            crate::types::bits::to_slots(&bytes)
        })
        .collect()
}

/// Hamming and Jaccard distances between bit strings in slots: a search
/// finds the exact top 10 up to ties (a row as near as the tenth counts;
/// integer distances tie often).
#[test]
fn recall_on_bit_strings_for_both_bit_metrics() {
    let slots = 256 / 32;
    let all = clustered_bits(3100, 256, 5);
    let (data, queries) = all.split_at(3000 * slots);
    for metric in [Metric::Hamming, Metric::Jaccard] {
        let mut graph = MemoryGraph::build(slots, metric, HnswParams::new(16, 64), data, 7);
        let score = metric.score_fn();
        let mut visited = graph.new_visited();
        let mut hits = 0;
        for query in queries.chunks_exact(slots) {
            let mut exact: Vec<f32> = (0..graph.len() as u32).map(|n| score(query, graph.vector(n))).collect();
            exact.sort_by(f32::total_cmp);
            let found = knn_search(&mut graph, query, 40, &mut visited);
            hits += found.iter().take(10).filter(|c| c.distance <= exact[9]).count();
        }
        let recall = hits as f64 / (10 * queries.len() / slots) as f64;
        assert!(recall >= 0.95, "{metric:?}: recall@10 {recall}");
        assert_eq!(unfindable(&mut graph), Vec::<u32>::new(), "{metric:?}");
    }
}

/// SIFT descriptors cut to their 16 largest values (of 128), as sparse
/// vectors in slots: keys of differing lengths when values tie at zero.
fn sparse_sift(rows: usize) -> FlatVectors {
    let base = crate::test_data::sift5k();
    let mut vectors = FlatVectors::new();
    for row in 0..rows {
        let mut dense = base.row(row).to_vec();
        let mut by_size: Vec<usize> = (0..dense.len()).collect();
        by_size.sort_by(|&a, &b| dense[b].total_cmp(&dense[a]));
        by_size[16..].iter().for_each(|&i| dense[i] = 0.0);
        let sparse = crate::types::sparse::SparseVector::from_dense(&dense).expect("128 dimensions");
        vectors.push(&crate::types::sparse::to_slots(sparse.as_ref()));
    }
    vectors
}

/// Sparse keys, each of its own length, built serially and on two threads:
/// every metric finds the exact top 10 (up to ties), and every element by
/// its own vector (inner product: every element is reachable).
#[test]
fn recall_on_sparse_vectors_for_every_sparse_metric() {
    let all = sparse_sift(3100);
    for (metric, threads) in [(Metric::SparseL2, 1), (Metric::SparseInnerProduct, 2), (Metric::SparseCosine, 2), (Metric::SparseL1, 1)] {
        let mut data = FlatVectors::new();
        all.iter().take(3000).filter_map(|v| metric.prepare(v)).for_each(|v| data.push(&v));
        let mut graph = MemoryGraph::build_parallel(128, metric, HnswParams::new(16, 64), data, 7, threads, &mut |_, _, _| {});
        let score = metric.score_fn();
        let mut visited = graph.new_visited();
        let (mut hits, mut total) = (0, 0);
        for query in all.iter().skip(3000).filter_map(|v| metric.prepare(v)) {
            let mut exact: Vec<f32> = (0..graph.len() as u32).map(|n| score(&query, graph.vector(n))).collect();
            exact.sort_by(f32::total_cmp);
            let found = knn_search(&mut graph, &query, 40, &mut visited);
            hits += found.iter().take(10).filter(|c| c.distance <= exact[9]).count();
            total += 10;
        }
        let recall = hits as f64 / total as f64;
        assert!(recall >= 0.95, "{metric:?}: recall@10 {recall}");
        if metric == Metric::SparseInnerProduct {
            // A short vector need not win a search for itself against long
            // ones (see `link_unreachable`); it must still be reachable.
            assert_eq!(reachable_from_entry(&graph).len(), graph.len(), "{metric:?}");
        } else {
            assert_eq!(unfindable(&mut graph), Vec::<u32>::new(), "{metric:?}");
        }
    }
}

/// Subsets of sparse keys, derived (over a quarter of the elements) and
/// built: their lists stay within them and reach every member from the
/// entry, with no dense arithmetic on the sparse slots.
#[test]
fn subset_links_over_sparse_keys() {
    let data = sparse_sift(2000);
    let graph = MemoryGraph::build_parallel(128, Metric::SparseL2, HnswParams::new(8, 32), data, 7, 2, &mut |_, _, _| {});
    let subsets: Vec<Vec<u32>> = vec![(0..2000).filter(|n| n % 5 < 3).collect(), (0..2000).filter(|n| n % 5 == 3).collect()];
    let linked = subset_links(&graph, Metric::SparseL2, &subsets, HnswParams::new(4, 32), 7, 2, &mut |_| {});
    for (members, &entry) in subsets.iter().zip(&linked.entries) {
        let own: HashSet<u32> = members.iter().copied().collect();
        let mut reached = HashSet::from([entry]);
        let mut queue = VecDeque::from([entry]);
        while let Some(node) = queue.pop_front() {
            for &next in &linked.links[node as usize] {
                assert!(own.contains(&next), "a link within the subset");
                if reached.insert(next) {
                    queue.push_back(next);
                }
            }
        }
        assert_eq!(reached.len(), members.len(), "every member reachable from the entry");
    }
}

/// Random sparse vectors with few shared indices (1 to 30 non-zeros of
/// 200) leave elements no search reaches, which the build links in; the
/// linking measures nearness between sparse keys as sparse vectors. (Most
/// pairs share no index, so a key's nearest keys are the shortest ones
/// whatever the key: a search at ef 100 misses 67 of these 1,000 by their
/// own vectors, which real sparse data, with shared terms, does not do.)
#[test]
fn builds_over_scattered_sparse_vectors_reach_every_element() {
    let mut rng = SmallRng::seed_from_u64(3);
    let mut data = FlatVectors::new();
    for row in 0..1000 {
        let dense: Vec<f32> = (0..200).map(|_| if rng.gen_range(0..200) < 1 + row % 30 { rng.gen_range(-4.0..4.0) } else { 0.0 }).collect();
        data.push(&crate::types::sparse::to_slots(crate::types::sparse::SparseVector::from_dense(&dense).unwrap().as_ref()));
    }
    for metric in [Metric::SparseL2, Metric::SparseL1] {
        let graph = MemoryGraph::build_parallel(200, metric, HnswParams::new(16, 64), data.clone(), 9, 1, &mut |_, _, _| {});
        assert_eq!(reachable_from_entry(&graph).len(), graph.len(), "{metric:?}");
    }
}

/// Sparse-like vectors of ten topics (1 to 30 non-zeros of 200, drawn
/// from a topic's 40 indices), as pg_test/sql/sparsevec_index.sql makes.
fn topic_vectors(rows: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = SmallRng::seed_from_u64(seed);
    (0..rows)
        .map(|row| {
            let mut v = vec![0.0f32; 200];
            for _ in 0..1 + row % 30 {
                v[(row % 10 * 20 + rng.gen_range(0..40)) % 200] = rng.gen_range(-1000..1000) as f32 / 250.0;
            }
            v
        })
        .collect()
}

/// On such data a few hubs hold most elements' only in-links, and the
/// displacements one insert starts can cycle through them: before chains
/// ended on a host whose given-up link leaves its element reached, 100
/// inserts after a build left 11 to 42 elements (of 1,100) unreachable in
/// each of 10 level seeds, dense or sparse, L2 or L1.
#[test]
fn inserts_among_hubs_leave_every_element_reachable() {
    let base = topic_vectors(1000, 1);
    let inserted = topic_vectors(100, 2);
    let sparse = |v: &Vec<f32>| crate::types::sparse::to_slots(crate::types::sparse::SparseVector::from_dense(v).unwrap().as_ref());
    for (metric, seed) in [(Metric::L2, 1), (Metric::L1, 2), (Metric::SparseL2, 3), (Metric::SparseL1, 4)] {
        let key = |v: &Vec<f32>| if metric.compares_sparse() { sparse(v) } else { v.clone() };
        let mut data = FlatVectors::new();
        base.iter().for_each(|v| data.push(&key(v)));
        let mut graph = MemoryGraph::build_parallel(200, metric, HnswParams::new(16, 64), data, seed, 1, &mut |_, _, _| {});
        let mut builder = graph.builder(seed);
        for v in &inserted {
            builder.insert(&mut graph, &key(v));
        }
        assert_eq!(reachable_from_entry(&graph).len(), graph.len(), "{metric:?}");
    }
}

/// An island (elements that link only to one another) is what `unreached`
/// finds, and `relink_cut_off` links it back in.
#[test]
fn islands_are_found_and_linked_back() {
    let dim = 128;
    let data = sift5k();
    let params = HnswParams::new(16, 64);
    let mut graph = MemoryGraph::build(dim, Metric::L2, params, &data[..1000 * dim], 5);
    let all: Vec<u32> = (0..graph.len() as u32).collect();
    assert_eq!(unreached(&mut graph, &all), Vec::<u32>::new());
    // Cut every in-link of two layer-0 elements but theirs to each other.
    let mut layer0_only = (1..graph.len() as u32).filter(|&n| graph.level(n) == 0);
    let island = [layer0_only.next().unwrap(), layer0_only.next().unwrap()];
    for node in 0..graph.len() as u32 {
        if island.contains(&node) {
            continue;
        }
        for level in 0..=graph.level(node) {
            graph.update_neighbors(node, level, &mut |_, current| current.iter().copied().filter(|n| !island.contains(n)).collect());
        }
    }
    graph.update_neighbors(island[0], 0, &mut |_, _| vec![island[1], 0]);
    graph.update_neighbors(island[1], 0, &mut |_, _| vec![island[0], 0]);
    let mut cut_off = unreached(&mut graph, &all);
    cut_off.sort_unstable();
    assert_eq!(cut_off, island);
    relink_cut_off(&mut graph, &params, cut_off, &mut || {});
    assert_eq!(unreached(&mut graph, &all), Vec::<u32>::new());
    assert_eq!(unfindable(&mut graph), Vec::<u32>::new());
}

#[test]
fn recall_on_sift_grows_with_ef() {
    let dim = 128;
    let all = sift5k();
    // the last 100 descriptors are the queries, the rest the base
    let (data, queries) = all.split_at(all.len() - 100 * dim);
    let mut graph = MemoryGraph::build(dim, Metric::L2, HnswParams::new(16, 64), data, 11);
    let low = recall_at_10(&mut graph, queries, 10, Metric::L2);
    let mid = recall_at_10(&mut graph, queries, 40, Metric::L2);
    let high = recall_at_10(&mut graph, queries, 200, Metric::L2);
    assert!(low < mid && mid < high, "ef 10: {low}, ef 40: {mid}, ef 200: {high}");
    assert!(mid >= 0.85 && high >= 0.97, "ef 10: {low}, ef 40: {mid}, ef 200: {high}");
}

#[test]
fn degrees_are_bounded_and_no_element_links_to_itself() {
    let dim = 8;
    let data = clustered(2000, dim, 5);
    let params = HnswParams::new(6, 30);
    let graph = MemoryGraph::build(dim, Metric::L2, params, &data, 13);
    for node in 0..graph.len() as u32 {
        for level in 0..=graph.level(node) {
            let links = graph.links(node, level);
            assert!(links.len() <= params.max_degree(level), "node {node} level {level}");
            assert!(!links.contains(&node), "node {node} links to itself");
            let unique: HashSet<_> = links.iter().collect();
            assert_eq!(unique.len(), links.len(), "node {node} has a duplicate link");
            assert!(links.iter().all(|&n| graph.level(n) >= level), "a link to an element absent from the layer");
        }
    }
    let (entry, top) = graph.entry().unwrap();
    assert_eq!(top, (0..graph.len() as u32).map(|n| graph.level(n)).max().unwrap());
    assert_eq!(graph.level(entry), top);
}

#[test]
fn every_element_is_reachable() {
    let dim = 16;
    let data = clustered(3000, dim, 6);
    let graph = MemoryGraph::build(dim, Metric::L2, HnswParams::new(8, 40), &data, 17);
    assert_eq!(reachable_from_entry(&graph).len(), graph.len());
}

#[test]
fn levels_follow_the_exponential_distribution() {
    let params = HnswParams::new(16, 64);
    let levels = LevelGenerator::new(&params);
    let mut rng = SmallRng::seed_from_u64(3);
    let draws: Vec<usize> = (0..100_000).map(|_| levels.draw(&mut rng)).collect();
    let above0 = draws.iter().filter(|&&l| l >= 1).count() as f64 / draws.len() as f64;
    // P(level >= 1) = 1/M
    assert!((above0 - 1.0 / 16.0).abs() < 0.005, "{above0}");
}

#[test]
fn delete_and_repair_keep_recall_and_reachability() {
    let dim = 128;
    let all = sift5k();
    let (data, queries) = all.split_at(all.len() - 100 * dim);
    let params = HnswParams::new(16, 64);
    let mut graph = MemoryGraph::build(dim, Metric::L2, params, data, 19);
    let before = recall_at_10(&mut graph, queries, 60, Metric::L2);

    let mut rng = SmallRng::seed_from_u64(21);
    let mut doomed: Vec<u32> = (0..graph.len() as u32).filter(|_| rng.gen_bool(0.2)).collect();
    // the entry point goes too, so a new one must be chosen
    doomed.push(graph.entry().unwrap().0);
    graph.delete(&doomed);

    let live = (0..graph.len() as u32).filter(|&n| !graph.is_deleted(n)).count();
    let reachable = reachable_from_entry(&graph);
    assert!(reachable.iter().all(|&n| !graph.is_deleted(n)), "a deleted element is still linked");
    assert!(reachable.len() as f64 >= live as f64 * 0.999, "{} of {live} reachable", reachable.len());
    let after = recall_at_10(&mut graph, queries, 60, Metric::L2);
    assert!(after >= before - 0.02, "recall {before} before delete, {after} after");
}

#[test]
fn empty_and_single_element_graphs() {
    let mut empty = MemoryGraph::new(4, Metric::L2, HnswParams::default());
    let mut visited = empty.new_visited();
    assert!(knn_search(&mut empty, &[0.0; 4], 10, &mut visited).is_empty());
    let mut one = MemoryGraph::build(4, Metric::L2, HnswParams::default(), &[1.0, 2.0, 3.0, 4.0], 1);
    let found = knn_search(&mut one, &[0.0; 4], 10, &mut visited);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].node, 0);
    assert_eq!(found[0].distance, 30.0);
}

#[test]
fn a_parallel_build_is_as_good_as_a_serial_one() {
    let dim = 128;
    let all = sift5k();
    let (data, queries) = all.split_at(all.len() - 100 * dim);
    let params = HnswParams::new(16, 64);
    let mut serial = MemoryGraph::build(dim, Metric::L2, params, data, 5);
    let mut parallel = MemoryGraph::build_parallel(dim, Metric::L2, params, FlatVectors::from_fixed(data.to_vec(), dim), 5, 2, &mut |_, _, _| {});
    assert_eq!(parallel.len(), serial.len());
    assert_eq!(reachable_from_entry(&parallel).len(), parallel.len());
    for node in 0..parallel.len() as u32 {
        for level in 0..=parallel.level(node) {
            assert!(parallel.links(node, level).len() <= params.max_degree(level));
            assert!(!parallel.links(node, level).contains(&node));
        }
    }
    let serial_recall = recall_at_10(&mut serial, queries, 40, Metric::L2);
    let parallel_recall = recall_at_10(&mut parallel, queries, 40, Metric::L2);
    assert!(parallel_recall >= serial_recall - 0.02, "serial {serial_recall}, parallel {parallel_recall}");
    // Both keep Algorithm 4's verdicts on most full lists, for the pages.
    for (name, graph) in [("serial", &serial), ("parallel", &parallel)] {
        let full: Vec<u32> = (0..graph.len() as u32).filter(|&n| graph.links(n, 0).len() == params.max_degree(0)).collect();
        let judged = full.iter().filter(|&&n| graph.layer0_verdicts(n).is_some()).count();
        assert!(judged * 10 >= full.len() * 8, "{name}: verdicts on {judged} of {} full lists", full.len());
    }
}

/// Elements of `graph` that a search for their own vector (ef 100) misses.
fn unfindable(graph: &mut MemoryGraph) -> Vec<u32> {
    let mut visited = graph.new_visited();
    (0..graph.len() as u32)
        .filter(|&node| {
            let vector = graph.vector(node).to_vec();
            !graph.is_deleted(node) && !knn_search(graph, &vector, 100, &mut visited).iter().any(|c| c.node == node)
        })
        .collect()
}

#[test]
fn every_element_is_found_by_its_own_vector() {
    let dim = 128;
    let data = sift5k();
    let params = HnswParams::new(16, 64);
    let mut serial = MemoryGraph::build(dim, Metric::L2, params, &data, 11);
    assert_eq!(unfindable(&mut serial), vec![], "serial build");
    let mut parallel = MemoryGraph::build_parallel(dim, Metric::L2, params, FlatVectors::from_fixed(data.clone(), dim), 11, 2, &mut |_, _, _| {});
    assert_eq!(unfindable(&mut parallel), vec![], "parallel build");
    let mut rng = SmallRng::seed_from_u64(21);
    for share in [0.2, 0.5] {
        let doomed: Vec<u32> = (0..serial.len() as u32).filter(|&n| !serial.is_deleted(n) && rng.gen_bool(share)).collect();
        serial.delete(&doomed);
        assert_eq!(unfindable(&mut serial), vec![], "after deleting {share} of the rest");
    }
}

/// Builds tell their caller how far they are, stage by stage and on the
/// calling thread only, and stop (on every thread) when the report panics,
/// as a cancelled CREATE INDEX does.
#[test]
fn builds_report_progress_and_stop_when_a_report_panics() {
    let dim = 8;
    let data = clustered(3000, dim, 3);
    let params = HnswParams::new(8, 32);
    let caller = std::thread::current().id();
    for threads in [1, 2] {
        let mut reports = Vec::new();
        let graph = MemoryGraph::build_parallel(dim, Metric::L2, params, FlatVectors::from_fixed(data.clone(), dim), 1, threads, &mut |stage, done, total| {
            assert_eq!(std::thread::current().id(), caller);
            reports.push((stage, done, total));
        });
        assert_eq!(graph.len(), 3000);
        for stage in [BuildStage::Inserting, BuildStage::CheckingFindability] {
            let done: Vec<usize> = reports.iter().filter(|r| r.0 == stage).map(|r| r.1).collect();
            assert!(done.len() >= 3000 / PROGRESS_EVERY / 4, "{threads} threads, {stage:?}: {} reports", done.len());
            assert!(done.windows(2).all(|w| w[0] < w[1]) && done.iter().all(|&d| d < 3000), "{stage:?}: {done:?}");
        }
        let stages: Vec<BuildStage> = reports.iter().map(|r| r.0).collect();
        assert!(stages.is_sorted_by_key(|&s| s == BuildStage::CheckingFindability), "stages in order");

        let cancelled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            MemoryGraph::build_parallel(dim, Metric::L2, params, FlatVectors::from_fixed(data.clone(), dim), 1, threads, &mut |_, done, _| {
                assert!(done < 1000, "cancelled");
            })
        }));
        assert!(cancelled.is_err(), "{threads} threads");
    }
}

/// What a database has after one INSERT at a time: no `link_if_unfindable`
/// pass at the end.
#[test]
fn inserts_alone_keep_every_element_findable() {
    let dim = 128;
    let data = sift5k();
    let params = HnswParams::new(16, 64);
    for seed in [1, 2, 3] {
        let mut graph = MemoryGraph::new(dim, Metric::L2, params);
        let mut builder = graph.builder(seed);
        for vector in data.chunks_exact(dim) {
            builder.insert(&mut graph, vector);
        }
        // 10-11 were missed before inserts re-homed and adopted elements.
        assert_eq!(unfindable(&mut graph), vec![], "seed {seed}");
    }
}

/// The row order `streams` clients produce when each inserts every
/// `streams`-th row and they take turns at random: the order the
/// concurrent-insert scenario of the reachability test gives the graph.
fn interleaved_order(n: usize, streams: usize, seed: u64) -> Vec<usize> {
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut next: Vec<usize> = (0..streams).collect();
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let stream = rng.gen_range(0..streams);
        if next[stream] < n {
            order.push(next[stream]);
            next[stream] += streams;
        }
    }
    order
}

/// Four clients' inserts, one at a time: early outliers then depend on
/// which later elements happen to link to them. Before adoption counted
/// only links back (`no_nearer_in_link`), 3 of the first 20 orders left
/// one element unfindable (28 of 140); after, order 83 still did (an
/// element displaced twice by one insert, see `link`), and now 1 of 140
/// does (order 66: an element whose nearest in-link goes while a far one
/// two hops away stays, so `still_reached_through` passes).
#[test]
fn interleaved_inserts_keep_every_element_findable() {
    let dim = 128;
    let data = sift5k();
    let params = HnswParams::new(16, 64);
    for seed in (1..=20).chain([83]) {
        let mut graph = MemoryGraph::new(dim, Metric::L2, params);
        let mut builder = graph.builder(seed);
        for row in interleaved_order(data.len() / dim, 4, seed + 1000) {
            builder.insert(&mut graph, &data[row * dim..(row + 1) * dim]);
        }
        assert_eq!(unfindable(&mut graph), vec![], "seed {seed}");
    }
}

/// 3-d vectors whose elements are products of two uniform draws: a few
/// long vectors win most inner-product queries.
fn skewed(n: usize, rng: &mut SmallRng) -> Vec<f32> {
    (0..n * 3).map(|_| rng.gen::<f32>() * rng.gen::<f32>()).collect()
}

fn recall_at(graph: &mut MemoryGraph, queries: &[f32], k: usize, ef: usize, metric: Metric) -> f64 {
    let mut visited = graph.new_visited();
    let mut hits = 0;
    for query in queries.chunks_exact(graph.dim()) {
        let truth: HashSet<u32> = brute_force(graph, query, k, metric).into_iter().collect();
        let found = knn_search(graph, query, ef, &mut visited);
        hits += found.iter().filter(|c| !graph.is_deleted(c.node)).take(k).filter(|c| truth.contains(&c.node)).count();
    }
    hits as f64 / (queries.len() / graph.dim() * k) as f64
}

#[test]
fn inner_product_recall_on_skewed_data() {
    let mut rng = SmallRng::seed_from_u64(1);
    let data = skewed(10_000, &mut rng);
    let queries = skewed(200, &mut rng);
    let mut graph = MemoryGraph::build(3, Metric::InnerProduct, HnswParams::new(16, 64), &data, 1);
    let recall = recall_at(&mut graph, &queries, 20, 40, Metric::InnerProduct);
    assert!(recall >= 0.95, "recall@20 at ef 40: {recall}");
}

#[test]
fn repair_after_deleting_most_elements() {
    let mut rng = SmallRng::seed_from_u64(1);
    let data: Vec<f32> = (0..10_000 * 3).map(|_| rng.gen()).collect();
    let queries: Vec<f32> = (0..200 * 3).map(|_| rng.gen()).collect();
    let mut graph = MemoryGraph::build(3, Metric::L2, HnswParams::new(4, 8), &data, 1);
    let doomed: Vec<u32> = (0..graph.len() as u32).filter(|_| rng.gen_bool(0.75)).collect();
    graph.delete(&doomed);
    let recall = recall_at(&mut graph, &queries, 20, 20, Metric::L2);
    assert!(recall >= 0.95, "recall@20 at ef 20: {recall}");
    assert_eq!(unfindable(&mut graph), vec![]);
}

#[test]
fn an_insert_plan_finds_the_exact_copy_of_a_stored_vector() {
    let dim = 128;
    let data = sift5k();
    let params = HnswParams::new(16, 64);
    let mut graph = MemoryGraph::build(dim, Metric::L2, params, &data[..1000 * dim], 3);
    let mut visited = graph.new_visited();
    let score = Metric::L2.score_fn();
    for node in (0..1000u32).step_by(97) {
        let vector = graph.vector(node).to_vec();
        let plan = plan_insert(&mut graph, &params, &vector, 0, &mut visited).expect("a built graph");
        assert_eq!(plan.exact_duplicate(&mut graph, &vector, score(&vector, &vector)), Some(node));
        let mut nudged = vector.clone();
        nudged[5] += 1.0;
        let plan = plan_insert(&mut graph, &params, &nudged, 0, &mut visited).expect("a built graph");
        assert_eq!(plan.exact_duplicate(&mut graph, &nudged, score(&nudged, &nudged)), None);
    }
    graph.delete(&[0]);
    let vector = graph.vector(0).to_vec();
    let plan = plan_insert(&mut graph, &params, &vector, 0, &mut visited).expect("a built graph");
    assert_eq!(plan.exact_duplicate(&mut graph, &vector, score(&vector, &vector)), None, "a deleted element takes no rows");
}

/// 3-d rows like the fuzzer's table: small integer coordinates, a few zero
/// and all-ones rows, under inner product.
fn coarse_grid(n: usize, rng: &mut SmallRng) -> Vec<f32> {
    (0..n)
        .flat_map(|i| match i {
            _ if i % 50 == 0 => [0.0, 0.0, 0.0],
            _ if i % 7 == 0 => [1.0, 1.0, 1.0],
            _ => [rng.gen_range(0..10) as f32, rng.gen_range(0..10) as f32, rng.gen()],
        })
        .collect()
}

#[test]
fn inner_product_builds_reach_every_element() {
    let mut rng = SmallRng::seed_from_u64(3);
    for (name, data) in [("coarse grid", coarse_grid(300, &mut rng)), ("skewed", skewed(5_000, &mut rng))] {
        for threads in [1, 2] {
            let graph = MemoryGraph::build_parallel(3, Metric::InnerProduct, HnswParams::new(16, 64), FlatVectors::from_fixed(data.clone(), 3), 1, threads, &mut |_, _, _| {});
            assert_eq!(reachable_from_entry(&graph).len(), graph.len(), "{name}, {threads} threads");
        }
    }
}

/// Recall@10 against brute force and the mean counters of a search that
/// ranks layer 0 by code estimates (exact scores include the upper layers').
fn estimated_recall_at_10(graph: &mut MemoryGraph, queries: &crate::test_data::Vectors, ef: usize, metric: Metric) -> (f64, f64, f64) {
    let encoder = graph.encoder().expect("codes").clone();
    let mut visited = graph.new_visited();
    let mut counters = SearchCounters::default();
    let mut hits = 0;
    for query in queries.rows() {
        let truth = brute_force(graph, query, 10, metric);
        let (entry, entry_level) = graph.entry_point().expect("a built graph");
        // The upper layers are walked with exact scores: count them too.
        let mut counting = CountingScores { graph, scores: 0 };
        let entry_points = greedy_descent(&mut counting, query, entry, entry_level, 0, &mut visited);
        counters.exact += counting.scores;
        let estimator = EstimateQuery::new(&encoder, query, metric).expect("an estimable metric");
        let found = search_layer_estimated(graph, &estimator, &entry_points, ef, 0, &mut visited, &mut counters);
        hits += found.iter().take(10).filter(|c| truth.contains(&c.node)).count();
    }
    let n = queries.len() as f64;
    (hits as f64 / (10.0 * n), counters.exact as f64 / n, counters.estimated as f64 / n)
}

/// A graph that counts the exact scores a search computes.
struct CountingScores<'a> {
    graph: &'a mut MemoryGraph,
    scores: u64,
}

impl Graph for CountingScores<'_> {
    type Node = u32;
    type Visited = GenerationVisited;

    fn entry_point(&mut self) -> Option<(u32, usize)> {
        self.graph.entry_point()
    }

    fn distance(&mut self, query: &[f32], node: u32) -> f32 {
        self.scores += 1;
        self.graph.distance(query, node)
    }

    fn distance_between(&mut self, a: u32, b: u32) -> f32 {
        self.scores += 1;
        self.graph.distance_between(a, b)
    }

    fn load_vector(&mut self, node: u32, out: &mut Vec<f32>) {
        self.graph.load_vector(node, out)
    }

    fn neighbors(&mut self, node: u32, level: usize, out: &mut Vec<u32>) {
        self.graph.neighbors(node, level, out)
    }

    fn new_visited(&self) -> GenerationVisited {
        self.graph.new_visited()
    }
}

/// Recall@10 of the plain walk at `ef` and its exact scores per query.
fn exact_walk(graph: &mut MemoryGraph, queries: &crate::test_data::Vectors, ef: usize, metric: Metric) -> (f64, f64) {
    let truths: Vec<Vec<u32>> = queries.rows().map(|q| brute_force(graph, q, 10, metric)).collect();
    let mut counting = CountingScores { graph, scores: 0 };
    let mut visited = counting.new_visited();
    let mut hits = 0;
    for (query, truth) in queries.rows().zip(&truths) {
        hits += knn_search(&mut counting, query, ef, &mut visited).iter().take(10).filter(|c| truth.contains(&c.node)).count();
    }
    let n = queries.len() as f64;
    (hits as f64 / (10.0 * n), counting.scores as f64 / n)
}

/// The walk over 2-bit codes finds at least what the exact walk finds at
/// the same ef, with at most half its exact scores (see
/// `search_layer_estimated` for the figures).
#[test]
fn a_walk_over_codes_needs_few_exact_scores() {
    let sets = [
        ("SIFT 5k", crate::test_data::sift5k(), crate::test_data::sift_queries(), Metric::L2, 40),
        ("pydoc-minilm", crate::test_data::pydoc_base(20_000), crate::test_data::pydoc_queries(200), Metric::Cosine, 20),
    ];
    for (name, base, queries, metric, ef) in sets {
        let mut graph = MemoryGraph::build_parallel(base.dim, metric, HnswParams::new(16, 64), FlatVectors::from_fixed(base.data.clone(), base.dim), 1, 2, &mut |_, _, _| {});
        let (exact_recall, exact_scores) = exact_walk(&mut graph, &queries, ef, metric);
        graph.encode_all(2, 1);
        let (recall, scores, estimates) = estimated_recall_at_10(&mut graph, &queries, ef, metric);
        println!("{name} ef {ef}: exact walk {exact_recall:.3} with {exact_scores:.0}; codes {recall:.3} with {scores:.0} + {estimates:.0} estimates");
        assert!(recall >= exact_recall, "{name}: recall {recall} over codes, {exact_recall} exact");
        assert!(scores <= exact_scores / 2.0, "{name}: {scores} exact scores over codes, {exact_scores} exact");
    }
}

/// The server fuzzer's long-lived table, in memory: 3-d vectors of small
/// integers, m = 4, ef_construction = 8, batches of inserts with a fifth of
/// the rows deleted (and their lists repaired) every third batch.
#[test]
fn churn_at_tiny_degree_keeps_every_element_reachable() {
    let mut rng = SmallRng::seed_from_u64(7);
    let mut graph = MemoryGraph::new(3, Metric::L2, HnswParams::new(4, 8));
    let mut builder = graph.builder(1);
    for round in 0..300 {
        for _ in 0..rng.gen_range(1..30) {
            let vector: Vec<f32> = (0..3).map(|_| rng.gen_range(-5..=5) as f32).collect();
            builder.insert(&mut graph, &vector);
        }
        if round % 3 == 0 {
            let doomed: Vec<u32> = (0..graph.len() as u32).filter(|&n| !graph.is_deleted(n) && rng.gen_bool(0.2)).collect();
            graph.delete(&doomed);
        }
        let reached = reachable_from_entry(&graph);
        let lost: Vec<u32> = (0..graph.len() as u32).filter(|&n| !graph.is_deleted(n) && !reached.contains(&n)).collect();
        assert_eq!(lost, vec![], "round {round}");
    }
}

/// `add_link` over a list whose verdicts the graph kept re-judges only
/// what the new link changes; the list it writes, the link it drops and
/// the elements it reports stranded must be those of a full judgement
/// (`CountingScores` keeps no verdicts), through 3,000 links added to one
/// full list in turn.
#[test]
fn kept_verdicts_judge_a_list_as_a_full_judgement_does() {
    let mut rng = SmallRng::seed_from_u64(5);
    let mut graph = MemoryGraph::new(8, Metric::L2, HnswParams::new(16, 64));
    let mut builder = graph.builder(1);
    for _ in 0..2_000 {
        let vector: Vec<f32> = (0..8).map(|_| rng.gen_range(-1.0..1.0)).collect();
        builder.insert(&mut graph, &vector);
    }
    let owner = 0;
    let max_degree = 32;
    let mut list: Vec<u32> = (1..=max_degree as u32).collect();
    let mut reused = 0;
    for _ in 0..3_000 {
        let new = rng.gen_range(1..graph.len() as u32);
        reused += usize::from(graph.cached_verdicts(owner, 0, &list).is_some());
        let incremental = insert::add_link(&mut graph, owner, &list, new, 0, max_degree, insert::Refusal::Allowed);
        let full = insert::add_link(&mut CountingScores { graph: &mut graph, scores: 0 }, owner, &list, new, 0, max_degree, insert::Refusal::Allowed);
        assert_eq!(incremental.links, full.links);
        assert_eq!(incremental.linked, full.linked);
        assert_eq!(incremental.displaced, full.displaced);
        assert_eq!(incremental.stranded, full.stranded);
        list = incremental.links;
    }
    assert!(reused > 2_900, "verdicts were reused for {reused} of 3,000 links");
}

/// Algorithm 4 prunes a link only by a link it keeps, also when scores
/// overflow to +inf. On one axis under L1, owner 3e38 lists A (1e37 away)
/// and three links past -2.8e38 (6e38 away: +inf in float4); a new link
/// 5e37 away is pruned by A. Its distance once stood in as +inf after
/// that, and "pruned" the three +inf links by the link the list dropped
/// (seen in the fuzzer's index as stored verdicts naming a pruned pruner).
#[test]
fn overflowed_scores_are_pruned_only_by_kept_links() {
    let mut graph = MemoryGraph::new(1, Metric::L1, HnswParams::new(2, 8));
    let mut builder = graph.builder(1);
    let [owner, a, new, c1, c2, c3] = [3e38f32, 2.9e38, 2.5e38, -3e38, -2.9e38, -2.8e38].map(|x| builder.insert(&mut graph, &[x]));
    graph.update_neighbors(owner, 0, &mut |_, _| vec![a, c1, c2, c3]);
    let added = super::insert::add_link(&mut graph, owner, &[a, c1, c2, c3], new, 0, 4, super::insert::Refusal::Allowed);
    graph.update_neighbors(owner, 0, &mut |_, _| added.links.clone());
    let verdicts = graph.layer0_verdicts(owner).expect("a full list judged whole keeps its verdicts");
    for verdict in verdicts {
        if let Some(pruner) = verdict.pruned_by {
            let kept = verdicts.iter().any(|v| v.node == pruner && v.pruned_by.is_none());
            assert!(kept, "link {} pruned by {pruner}, not a kept link of {:?}", verdict.node, added.links);
        }
    }
}

/// Vectors whose distances overflow float4 (components near 1e38: the
/// server fuzzer inserts them) all score +inf from everything, so every
/// list judges them equally far. Each new one's only in-link is forced
/// from a full list, which gave up its furthest link: the previous
/// outlier's only in-link, and so on down a chain longer than re-homing
/// follows (5 of 12 such rows unreachable in the fuzzer's 500-row index).
#[test]
fn outliers_whose_scores_overflow_stay_reachable() {
    let (dim, rows, outliers) = (16, 500, 12);
    let mut rng = SmallRng::seed_from_u64(9386);
    let extremes = [3.4028235e38f32, -3.4028235e38, 1e38, -1e38, 1e20, 1e-38, 0.0, 3.0, -5.0];
    for metric in [Metric::L1, Metric::L2] {
        let mut graph = MemoryGraph::new(dim, metric, HnswParams::new(16, 64));
        let mut builder = graph.builder(1);
        for _ in 0..rows {
            let vector: Vec<f32> = (0..dim).map(|_| rng.gen_range(-0.5..0.5)).collect();
            builder.insert(&mut graph, &vector);
        }
        for _ in 0..outliers {
            let vector: Vec<f32> = (0..dim).map(|_| extremes[rng.gen_range(0..extremes.len())]).collect();
            builder.insert(&mut graph, &vector);
        }
        assert_eq!(reachable_from_entry(&graph).len(), graph.len(), "{metric:?}");
    }
}

/// SIFT 5k under cosine (unit vectors, inner product), built, then 500
/// rows inserted one at a time, each a stored row moved by up to 5 in every
/// component: the replica test's second phase. With level seeds 7, 58, 132,
/// 134, 153 and 157, elements went missing after the inserts: early outliers
/// that the build's findability pass had found only through a far link
/// (now linked from a near one, see `search_for_itself`), and element 334
/// of seed 58, the last of a cycle of outliers displacing each other from
/// the same hosts (see `rehome`). 200 seeds: 17 elements missed before, 1
/// after (seed 53, element 397). Builds that score with 8-bit codes while
/// they insert (`quant::int8`): none in seeds 0-119; codes spanning
/// ±(largest magnitude) rather than each vector's own range, half as
/// fine on SIFT's non-negative values, left element 397 missed in 21 of
/// seeds 0-79.
#[test]
fn inserts_after_a_build_keep_every_element_findable() {
    let dim = 128;
    let normalize = |v: &mut [f32]| {
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter_mut().for_each(|x| *x /= norm);
    };
    let raw = sift5k();
    let mut data = raw.clone();
    data.chunks_exact_mut(dim).for_each(normalize);
    let params = HnswParams::new(16, 64);
    for seed in [7, 58, 132, 134, 153, 157] {
        let mut graph = MemoryGraph::build(dim, Metric::InnerProduct, params, &data, seed);
        let mut rng = SmallRng::seed_from_u64(seed + 500);
        let mut builder = graph.builder(seed + 7);
        for g in 1..=500 {
            let row = (g * 7) % 5000;
            let mut moved: Vec<f32> = raw[row * dim..(row + 1) * dim].iter().map(|x| (x + rng.gen_range(-5..=5) as f32).abs()).collect();
            normalize(&mut moved);
            builder.insert(&mut graph, &moved);
        }
        assert_eq!(unfindable(&mut graph), vec![], "seed {seed}");
    }
}

/// The exact nearest `k` among the elements `label` gives `wanted`.
fn brute_force_among(graph: &MemoryGraph, query: &[f32], k: usize, metric: Metric, accepted: impl Fn(u32) -> bool) -> Vec<u32> {
    let score = metric.score_fn();
    let mut all: Vec<(f32, u32)> = (0..graph.len() as u32).filter(|&n| accepted(n)).map(|n| (score(query, graph.vector(n)), n)).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all.into_iter().take(k).map(|(_, n)| n).collect()
}

/// Recall@10 of resumable searches that accept only `accepted` elements,
/// taking batches until ten rows came back; whether every query got its
/// ten rows; and the mean exact scores and estimates per query.
fn filtered_recall(graph: &mut MemoryGraph, queries: &crate::test_data::Vectors, ef: usize, metric: Metric, accepted: &dyn Fn(u32) -> bool) -> (f64, bool, f64, f64) {
    let encoder = graph.encoder().cloned();
    let mut hits = 0;
    let mut counters = SearchCounters::default();
    let mut always_ten = true;
    for query in queries.rows() {
        let truth = brute_force_among(graph, query, 10, metric, accepted);
        let search_query = match &encoder {
            Some(encoder) => SearchQuery::Estimated(EstimateQuery::new(encoder, query, metric).expect("estimable")),
            None => SearchQuery::Exact(query.to_vec()),
        };
        let mut search = ResumableSearch::new(graph, search_query, ef);
        let mut found = Vec::new();
        while found.len() < 10 {
            let batch = search.next_batch(graph, |_, node| accepted(node), true);
            if batch.is_empty() {
                break;
            }
            found.extend(batch.into_iter().map(|c| c.node));
        }
        counters.exact += search.counters().exact;
        counters.estimated += search.counters().estimated;
        assert!(found.iter().all(|&n| accepted(n)), "only accepted elements come back");
        always_ten &= found.len() >= 10.min(truth.len());
        hits += found.iter().take(10).filter(|n| truth.contains(n)).count();
    }
    let n = queries.len() as f64;
    (hits as f64 / (10.0 * n), always_ten, counters.exact as f64 / n, counters.estimated as f64 / n)
}

/// A filtered walk finds the nearest accepted elements at every
/// selectivity, over exact scores and over codes, with labels unrelated to
/// the vectors (the hard case: the accepted elements are scattered).
#[test]
fn filtered_searches_find_the_nearest_accepted_elements() {
    let base = crate::test_data::pydoc_base(10_000);
    let queries = crate::test_data::pydoc_queries(50);
    let mut graph = MemoryGraph::build_parallel(base.dim, Metric::Cosine, HnswParams::new(16, 64), FlatVectors::from_fixed(base.data.clone(), base.dim), 1, 2, &mut |_, _, _| {});
    let label = |node: u32| (node.wrapping_mul(2_654_435_761) >> 7) % 1000;
    for codes in [false, true] {
        if codes {
            graph.encode_all(2, 1);
        }
        for (selectivity, ef) in [(500, 40), (100, 40), (10, 40), (1, 40), (100, 10)] {
            let (recall, always_ten, exact, estimated) = filtered_recall(&mut graph, &queries, ef, Metric::Cosine, &|n| label(n) < selectivity);
            println!("codes {codes}, {:.1}% accepted: recall {recall:.3}, {exact:.0} exact scores, {estimated:.0} estimates", selectivity as f64 / 10.0);
            assert!(always_ten, "{selectivity}: a query got fewer than ten rows");
            assert!(recall >= 0.9, "{selectivity} per mille accepted, codes {codes}: recall {recall}");
        }
    }
}

/// Resumed to the end, a search hands out every accepted element exactly
/// once: nothing is lost between batches, nothing repeated.
#[test]
fn a_resumed_search_returns_every_accepted_element_once() {
    let data = clustered(2_000, 16, 3);
    let mut graph = MemoryGraph::build(16, Metric::L2, HnswParams::new(8, 32), &data, 5);
    for codes in [false, true] {
        if codes {
            graph.encode_all(2, 1);
        }
        for accepted in [&(|_: u32| true) as &dyn Fn(u32) -> bool, &|n: u32| n % 97 == 3] {
            let query = match graph.encoder() {
                Some(encoder) => SearchQuery::Estimated(EstimateQuery::new(encoder, &data[..16], Metric::L2).expect("estimable")),
                None => SearchQuery::Exact(data[..16].to_vec()),
            };
            let mut search = ResumableSearch::new(&graph, query, 10);
            let mut seen = Vec::new();
            loop {
                let batch = search.next_batch(&mut graph, |_, node| accepted(node), true);
                if batch.is_empty() {
                    break;
                }
                assert!(batch.windows(2).all(|w| w[0].distance <= w[1].distance), "a batch comes nearest first");
                seen.extend(batch.into_iter().map(|c| c.node));
            }
            seen.sort_unstable();
            let expected: Vec<u32> = (0..2_000).filter(|&n| accepted(n)).collect();
            assert_eq!(seen, expected, "codes {codes}");
        }
    }
}

/// Unfiltered, the first batch is the plain search's answer.
#[test]
fn the_first_unfiltered_batch_is_the_plain_search() {
    let base = sift5k();
    let mut graph = MemoryGraph::build(128, Metric::L2, HnswParams::new(16, 64), &base, 1);
    let queries = crate::test_data::sift_queries();
    let mut visited = graph.new_visited();
    for query in queries.rows().take(20) {
        // (compared by score: elements at equal distances may swap places)
        let plain: Vec<f32> = knn_search(&mut graph, query, 40, &mut visited).iter().map(|c| c.distance).collect();
        let mut search = ResumableSearch::new(&graph, SearchQuery::Exact(query.to_vec()), 40);
        let first: Vec<f32> = search.next_batch(&mut graph, |_, _| true, false).iter().map(|c| c.distance).collect();
        assert_eq!(first, plain);
    }
}


/// A scan whose rows the executor mostly discards (deleted rows not yet
/// vacuumed, or a filter the index does not evaluate) resumes its search
/// batch after batch; the rows it keeps are still the nearest ones. SIFT 5k,
/// 4-bit codes, ef 10, 70% of the rows discarded, ten kept rows wanted (see
/// the module doc of `resumable.rs` for the alternatives measured).
#[test]
fn resumed_searches_keep_recall_past_discarded_rows() {
    let base = sift5k();
    let mut graph = MemoryGraph::build(128, Metric::L2, HnswParams::new(16, 64), &base, 1);
    graph.encode_all(4, 1);
    let encoder = graph.encoder().cloned().expect("codes");
    let queries = crate::test_data::sift_queries();
    let kept = |n: u32| (n.wrapping_mul(2_654_435_761) >> 9) % 10 < 3;
    let mut hits = 0;
    for query in queries.rows() {
        let truth = brute_force_among(&graph, query, 10, Metric::L2, kept);
        let estimated = EstimateQuery::new(&encoder, query, Metric::L2).expect("estimable");
        let mut search = ResumableSearch::new(&graph, SearchQuery::Estimated(estimated), 10);
        let mut found = Vec::new();
        while found.len() < 10 {
            let batch = search.next_batch(&mut graph, |_, _| true, true);
            if batch.is_empty() {
                break;
            }
            found.extend(batch.into_iter().map(|c| c.node).filter(|&n| kept(n)));
        }
        hits += found.iter().take(10).filter(|n| truth.contains(n)).count();
    }
    let recall = hits as f64 / (10 * queries.len()) as f64;
    println!("recall@10 past discarded rows: {recall:.3}");
    assert!(recall >= 0.95, "recall {recall}");
}
