//! RaBitQ on real data: bound coverage, error by bits, ranking quality,
//! and the edge cases a page format will meet.

use super::kernels;
use super::rabitq::{query_bits, FACTORS_BYTES};
use crate::test_data::{pydoc_base, pydoc_queries, sift5k, sift_queries, Vectors};
use super::*;
use crate::distance;

#[derive(Clone, Copy, PartialEq)]
enum Target {
    SquaredL2,
    InnerProduct,
}

/// What one (data set, B) run measured.
struct Measured {
    /// Share of (query, vector) pairs whose true value is in [lower, upper].
    coverage: f64,
    /// The ε₀ that would have given 99% coverage.
    epsilon_for_99: f64,
    /// Mean |estimate - truth| / truth for L2, mean |estimate - truth| for IP.
    mean_error: f64,
    /// Recall@10 after re-ranking the top 10·R by exact distance, per R in [`RERANK`].
    recall: Vec<f64>,
}

const RERANK: [usize; 4] = [1, 2, 4, 10];

fn measure(base: &Vectors, queries: &Vectors, bits: usize, target: Target) -> Measured {
    let encoder = RabitqEncoder::new(base.dim, bits, 2024, base.mean());
    let codes: Vec<u8> = base.rows().flat_map(|row| encoder.encode(row)).collect();
    let mut estimates = vec![Estimate::default(); base.len()];
    let (mut inside, mut pairs, mut error_sum) = (0usize, 0usize, 0.0f64);
    let mut needed_epsilon = Vec::with_capacity(base.len() * queries.len());
    let mut hits = vec![0usize; RERANK.len()];
    for query in queries.rows() {
        let prepared = encoder.prepare_query(query);
        // Truth, and "smaller is closer" scores for both.
        let (truth, estimated_score): (Vec<f32>, fn(&Estimate) -> f32) = match target {
            Target::SquaredL2 => {
                prepared.squared_l2_batch(&codes, &mut estimates);
                (base.rows().map(|row| distance::l2_squared(row, query)).collect(), |e| e.value)
            }
            Target::InnerProduct => {
                prepared.inner_product_batch(&codes, &mut estimates);
                (base.rows().map(|row| distance::dot(row, query)).collect(), |e| -e.value)
            }
        };
        for (estimate, &true_value) in estimates.iter().zip(&truth) {
            pairs += 1;
            inside += (estimate.lower <= true_value && true_value <= estimate.upper) as usize;
            let half_width = (estimate.upper - estimate.value) as f64;
            let miss = (true_value - estimate.value).abs() as f64;
            needed_epsilon.push(if half_width > 0.0 { miss / half_width * rabitq::EPSILON_0 as f64 } else { 0.0 });
            error_sum += if target == Target::SquaredL2 { miss / (true_value as f64).max(1e-9) } else { miss };
        }
        let true_score = |i: usize| if target == Target::SquaredL2 { truth[i] } else { -truth[i] };
        let mut exact_order: Vec<usize> = (0..base.len()).collect();
        exact_order.sort_by(|&a, &b| true_score(a).total_cmp(&true_score(b)));
        let tenth = true_score(exact_order[9]);
        let mut estimated_order: Vec<usize> = (0..base.len()).collect();
        estimated_order.sort_by(|&a, &b| estimated_score(&estimates[a]).total_cmp(&estimated_score(&estimates[b])));
        for (r, hit) in RERANK.iter().zip(&mut hits) {
            let mut shortlist = estimated_order[..10 * r].to_vec();
            shortlist.sort_by(|&a, &b| true_score(a).total_cmp(&true_score(b)));
            // Tie-aware: anything as close as the true 10th counts.
            *hit += shortlist[..10].iter().filter(|&&i| true_score(i) <= tenth).count();
        }
    }
    needed_epsilon.sort_by(f64::total_cmp);
    Measured {
        coverage: inside as f64 / pairs as f64,
        epsilon_for_99: needed_epsilon[needed_epsilon.len() * 99 / 100],
        mean_error: error_sum / pairs as f64,
        recall: hits.iter().map(|&h| h as f64 / (10 * queries.len()) as f64).collect(),
    }
}

fn report(name: &str, bits: usize, m: &Measured) {
    eprintln!(
        "{name} B={bits} B_q={}: coverage {:.4}, eps0 for 99% {:.2}, mean error {:.4}, recall@10 rerank R={RERANK:?}: {:?}",
        query_bits(bits),
        m.coverage,
        m.epsilon_for_99,
        m.mean_error,
        m.recall.iter().map(|r| format!("{r:.3}")).collect::<Vec<_>>()
    );
}

/// SIFT 5k base, the 100 siftsmall queries, squared L2 (centroid: the base
/// mean, ε₀ = 2.3). Measured:
///
/// | B | B_q | inside bound | ε₀ for 99% | mean rel. error | recall@10, rerank top 10 / 20 / 40 / 100 |
/// |---|---|---|---|---|---|
/// | 1 | 4 | 99.65% | 2.04 | 0.0510 | 0.395 / 0.581 / 0.767 / 0.926 |
/// | 4 | 7 | 99.44% | 2.14 | 0.0066 | 0.902 / 0.999 / 1.000 / 1.000 |
#[test]
fn sift_estimates_stay_inside_their_bounds_and_rank_well() {
    let (base, queries) = (sift5k(), sift_queries());
    let one_bit = measure(&base, &queries, 1, Target::SquaredL2);
    let four_bits = measure(&base, &queries, 4, Target::SquaredL2);
    report("sift5k", 1, &one_bit);
    report("sift5k", 4, &four_bits);
    for m in [&one_bit, &four_bits] {
        assert!(m.coverage >= 0.99, "coverage {}", m.coverage);
    }
    assert!(four_bits.mean_error < one_bit.mean_error / 4.0, "{} vs {}", four_bits.mean_error, one_bit.mean_error);
}

/// pydoc-minilm: 5,000 base vectors, the 1,000 queries, inner product on
/// unit vectors (= cosine; centroid: the base mean, ε₀ = 2.3). Measured:
///
/// | B | B_q | inside bound | ε₀ for 99% | mean abs. error | recall@10, rerank top 10 / 20 / 40 / 100 |
/// |---|---|---|---|---|---|
/// | 1 | 4 | 99.71% | 1.99 | 0.0291 | 0.733 / 0.919 / 0.984 / 0.999 |
/// | 4 | 7 | 99.48% | 2.12 | 0.0040 | 0.957 / 1.000 / 1.000 / 1.000 |
#[test]
fn pydoc_estimates_stay_inside_their_bounds_and_rank_well() {
    let (base, queries) = (pydoc_base(5_000), pydoc_queries(1_000));
    let one_bit = measure(&base, &queries, 1, Target::InnerProduct);
    let four_bits = measure(&base, &queries, 4, Target::InnerProduct);
    report("pydoc", 1, &one_bit);
    report("pydoc", 4, &four_bits);
    for m in [&one_bit, &four_bits] {
        assert!(m.coverage >= 0.99, "coverage {}", m.coverage);
    }
    assert!(four_bits.mean_error < one_bit.mean_error / 4.0, "{} vs {}", four_bits.mean_error, one_bit.mean_error);
}

#[test]
fn code_length_depends_only_on_dimension_and_bits() {
    for (dim, bits, bytes) in [(1, 1, 32), (64, 1, 32), (65, 1, 40), (128, 4, 24 + 64), (384, 4, 24 + 192), (16_000, 8, 24 + 16_000)] {
        assert_eq!(code_bytes(dim, bits), bytes, "dim {dim} B {bits}");
        let encoder = RabitqEncoder::new(dim, bits, 1, vec![0.0; dim]);
        assert_eq!(encoder.encode(&vec![1.0; dim]).len(), bytes);
    }
}

#[test]
fn the_top_plane_is_the_one_bit_code() {
    let base = sift5k();
    let centroid = base.mean();
    let one_bit = RabitqEncoder::new(128, 1, 9, centroid.clone());
    let words_bytes = 128 / 8;
    for bits in 2..=8 {
        let encoder = RabitqEncoder::new(128, bits, 9, centroid.clone());
        for row in base.rows().take(50) {
            let (sign_code, code) = (one_bit.encode(row), encoder.encode(row));
            assert_eq!(sign_code[FACTORS_BYTES..], code[FACTORS_BYTES..FACTORS_BYTES + words_bytes], "B {bits}");
        }
    }
}

#[test]
fn batches_and_every_kernel_set_give_the_single_estimates() {
    let base = pydoc_base(300);
    let query = pydoc_queries(1);
    for bits in [1, 2, 4, 8] {
        let encoder = RabitqEncoder::new(base.dim, bits, 3, base.mean());
        let codes: Vec<u8> = base.rows().flat_map(|row| encoder.encode(row)).collect();
        let prepared = encoder.prepare_query(query.row(0));
        let mut batch = vec![Estimate::default(); base.len()];
        prepared.squared_l2_batch(&codes, &mut batch);
        let mut ip_batch = vec![Estimate::default(); base.len()];
        prepared.inner_product_batch(&codes, &mut ip_batch);
        let sets = kernels::available().into_iter().map(|set| (set.name, prepared.clone().with_kernels(set)));
        let levels = kernels::available_levels().into_iter().map(|kernel| (kernel.name, prepared.clone().with_levels_kernel(kernel)));
        for (name, on_set) in sets.chain(levels).chain([("byte tables", prepared.clone().with_byte_tables())]) {
            for (i, code) in codes.chunks_exact(encoder.code_bytes()).enumerate() {
                assert_eq!(on_set.squared_l2(code), batch[i], "{name} B {bits}");
                assert_eq!(on_set.inner_product(code), ip_batch[i], "{name} B {bits}");
            }
        }
    }
}

#[test]
fn one_dimension_is_estimated_within_its_bound() {
    for bits in [1, 4] {
        let encoder = RabitqEncoder::new(1, bits, 5, vec![0.5]);
        for (o, q) in [(3.0f32, -1.0f32), (-2.0, 4.0), (0.25, 0.75)] {
            let code = encoder.encode(&[o]);
            let prepared = encoder.prepare_query(&[q]);
            let l2 = prepared.squared_l2(&code);
            let ip = prepared.inner_product(&code);
            assert!(l2.lower <= (o - q) * (o - q) && (o - q) * (o - q) <= l2.upper, "B {bits}: {o} {q} {l2:?}");
            assert!(ip.lower <= o * q && o * q <= ip.upper, "B {bits}: {o} {q} {ip:?}");
        }
    }
}

#[test]
fn a_vector_at_the_centroid_is_estimated_exactly() {
    let centroid: Vec<f32> = (0..100).map(|i| i as f32 / 10.0).collect();
    let query: Vec<f32> = (0..100).map(|i| (i % 7) as f32).collect();
    for bits in [1, 4] {
        let encoder = RabitqEncoder::new(100, bits, 5, centroid.clone());
        let code = encoder.encode(&centroid);
        let prepared = encoder.prepare_query(&query);
        let (l2, ip) = (prepared.squared_l2(&code), prepared.inner_product(&code));
        let (true_l2, true_ip) = (distance::l2_squared(&centroid, &query), distance::dot(&centroid, &query));
        assert!((l2.value - true_l2).abs() <= 1e-3 * true_l2 && l2.lower == l2.value && l2.upper == l2.value, "{l2:?} vs {true_l2}");
        assert!((ip.value - true_ip).abs() <= 1e-3 * true_ip && ip.lower == ip.value && ip.upper == ip.value, "{ip:?} vs {true_ip}");
    }
}

/// A zero query, and a query at the centroid (zero query residual: the
/// estimate is exact, so the bound has zero width).
#[test]
fn a_zero_query_and_a_query_at_the_centroid_give_finite_bounds() {
    let base = pydoc_base(2_000);
    let centroid = base.mean();
    for bits in [1, 4] {
        let encoder = RabitqEncoder::new(base.dim, bits, 5, centroid.clone());
        let codes: Vec<Vec<u8>> = base.rows().map(|row| encoder.encode(row)).collect();
        let zero_query = encoder.prepare_query(&vec![0.0; base.dim]);
        let mut inside = 0;
        for code in &codes {
            let (l2, ip) = (zero_query.squared_l2(code), zero_query.inner_product(code));
            assert!([l2, ip].iter().all(|e| e.value.is_finite() && e.lower.is_finite() && e.upper.is_finite()), "{l2:?} {ip:?}");
            inside += (l2.lower <= 1.0 && 1.0 <= l2.upper) as usize + (ip.lower <= 0.0 && 0.0 <= ip.upper) as usize;
        }
        // Measured: 99.7% (B = 1) and 99.5% (B = 4).
        assert!(inside as f64 >= 0.99 * (2 * codes.len()) as f64, "B {bits}: {inside} of {} inside", 2 * codes.len());

        let centroid_query = encoder.prepare_query(&centroid);
        for (row, code) in base.rows().zip(&codes) {
            let (l2, ip) = (centroid_query.squared_l2(code), centroid_query.inner_product(code));
            assert!(l2.lower == l2.value && l2.upper == l2.value && ip.lower == ip.value && ip.upper == ip.value);
            assert!((l2.value - distance::l2_squared(row, &centroid)).abs() < 1e-5, "{l2:?}");
            assert!((ip.value - distance::dot(row, &centroid)).abs() < 1e-5, "{ip:?}");
        }
    }
}
