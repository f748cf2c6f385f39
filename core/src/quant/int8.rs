//! Vectors at eight bits per dimension: what an in-memory build scores
//! with while it inserts.
//!
//! A build's graph phase is bound by memory, not arithmetic: once the
//! vectors outgrow the cache, scoring one costs what reading it costs
//! (on pydoc-minilm's 41,159 x 384, about 200 ns for float4 values picked
//! at random against 35 ns among 500: `cargo bench -p vector_core --bench
//! build`), and each element a build inserts scores some two thousand
//! others. Codes are a quarter of the bytes. Each vector's codes span its
//! own range (255 levels from its smallest value to its largest), so any
//! magnitude or sign keeps the same relative precision. The query side of
//! a score stays float4; a score between two stored vectors comes from
//! exact integer sums.
//!
//! The codes decide which links a build makes, never what a search
//! returns: searches score the float4 vectors the index stores, and the
//! build's findability pass, after the inserts, scores float4 too.

use crate::distance::{kernels, Metric};
use crate::flat::FlatVectors;

/// Every vector of a build in 8-bit codes: value i of vector v stands for
/// `centers[v] + steps[v] * code`, the codes spanning the vector's own
/// range (its smallest value at -127, its largest at 127), so vectors of
/// any magnitude or sign keep 255 levels between their extremes.
pub struct Int8Vectors {
    dim: usize,
    squared_l2: bool,
    codes: Vec<i8>,
    centers: Vec<f32>,
    steps: Vec<f32>,
    /// Σ c of each vector's codes.
    code_sums: Vec<i64>,
    /// |v|² of the vector each one's codes stand for.
    squared_norms: Vec<f64>,
}

impl Int8Vectors {
    /// The codes of `vectors`, for a metric whose score is squared L2 or
    /// a negative inner product of dense vectors of one length; None for
    /// the others (sparse keys, bit strings, L1), which keep float4 scores.
    pub fn encode(vectors: &FlatVectors, dim: usize, metric: Metric) -> Option<Self> {
        if !Self::encodes(metric) || vectors.values().len() != vectors.len() * dim {
            return None;
        }
        let mut store = Self {
            dim,
            squared_l2: metric == Metric::L2,
            codes: vec![0; vectors.values().len()],
            centers: Vec::with_capacity(vectors.len()),
            steps: Vec::with_capacity(vectors.len()),
            code_sums: Vec::with_capacity(vectors.len()),
            squared_norms: Vec::with_capacity(vectors.len()),
        };
        for (vector, codes) in vectors.iter().zip(store.codes.chunks_exact_mut(dim.max(1))) {
            let (low, high) = vector.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &x| (l.min(x), h.max(x)));
            // Halves first: the range of finite values can overflow.
            let center = low / 2.0 + high / 2.0;
            let step = (high / 2.0 - low / 2.0) / 127.0;
            if step > 0.0 {
                for (code, &x) in codes.iter_mut().zip(vector) {
                    *code = ((x - center) / step).round().clamp(-127.0, 127.0) as i8;
                }
            }
            let (center, step) = (center as f64, step as f64);
            let sum: i64 = codes.iter().map(|&c| c as i64).sum();
            let squares: i64 = codes.iter().map(|&c| c as i64 * c as i64).sum();
            store.squared_norms.push(dim as f64 * center * center + 2.0 * center * step * sum as f64 + step * step * squares as f64);
            store.centers.push(center as f32);
            store.steps.push(step as f32);
            store.code_sums.push(sum);
        }
        Some(store)
    }

    /// Whether a build under `metric` scores with codes.
    pub fn encodes(metric: Metric) -> bool {
        matches!(metric, Metric::L2 | Metric::InnerProduct | Metric::Cosine)
    }

    /// The memory one vector of `dim` values takes here while a build
    /// under `metric` inserts: its codes, center, step and two sums.
    pub fn bytes_per_vector(metric: Metric, dim: usize) -> usize {
        if Self::encodes(metric) { dim + 4 + 4 + 8 + 8 } else { 0 }
    }

    #[inline]
    fn codes(&self, node: u32) -> &[i8] {
        let start = node as usize * self.dim;
        &self.codes[start..start + self.dim]
    }

    /// The score (`Metric::score_fn`) between a float4 query and stored
    /// vector `node`: only the stored side is rounded.
    #[inline]
    pub fn score(&self, query: &[f32], node: u32) -> f32 {
        let n = node as usize;
        let (codes_dot, query_sum, query_squares) = (kernels().int8_parts)(query, self.codes(node));
        let dot = self.centers[n] as f64 * query_sum as f64 + self.steps[n] as f64 * codes_dot as f64;
        self.from_dot(dot, query_squares as f64, n)
    }

    /// The score between stored vectors `a` and `b`, from exact integer sums.
    #[inline]
    pub fn score_between(&self, a: u32, b: u32) -> f32 {
        let (i, j) = (a as usize, b as usize);
        let (center_a, step_a) = (self.centers[i] as f64, self.steps[i] as f64);
        let (center_b, step_b) = (self.centers[j] as f64, self.steps[j] as f64);
        let codes_dot = (kernels().dot_int8_pair)(self.codes(a), self.codes(b)) as f64;
        let dot = self.dim as f64 * center_a * center_b
            + center_a * step_b * self.code_sums[j] as f64
            + center_b * step_a * self.code_sums[i] as f64
            + step_a * step_b * codes_dot;
        self.from_dot(dot, self.squared_norms[i], j)
    }

    /// The score from the inner product with stored vector `n` and, for
    /// squared L2, the other side's squared norm. Values past float4's
    /// range make +inf, as a float4 score that overflows does (never NaN,
    /// which infinite parts of opposite signs would give).
    #[inline]
    fn from_dot(&self, dot: f64, other_squared_norm: f64, n: usize) -> f32 {
        let score = if self.squared_l2 { (other_squared_norm + self.squared_norms[n] - 2.0 * dot).max(0.0) } else { -dot };
        if score.is_nan() { f32::INFINITY } else { score as f32 }
    }

    /// The scores of `nodes` against `query`, appended to `out`: every
    /// node's codes start loading before the first is scored.
    pub fn scores(&self, query: &[f32], nodes: &[u32], out: &mut Vec<f32>) {
        for &node in nodes {
            crate::distance::prefetch(self.codes(node).as_ptr().cast(), 2);
        }
        out.extend(nodes.iter().map(|&node| self.score(query, node)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_data::{pydoc_base, sift5k};

    /// The codes' scores stay within what rounding each value to 1/254 of
    /// its vector's range allows, on real data, for every metric encoded.
    #[test]
    fn scores_stay_within_the_rounding_bound() {
        for (data, metrics) in [(sift5k(), [Metric::L2, Metric::InnerProduct]), (pydoc_base(2_000), [Metric::Cosine, Metric::L2])] {
            let vectors = FlatVectors::from_fixed(data.data[..200 * data.dim].to_vec(), data.dim);
            for metric in metrics {
                let store = Int8Vectors::encode(&vectors, data.dim, metric).expect("dense metric");
                let exact = metric.score_fn();
                for a in 0..20u32 {
                    for b in 100..140u32 {
                        let (va, vb) = (vectors.get(a as usize), vectors.get(b as usize));
                        // Each value moves by at most half a step, scale / 2.
                        let step_a = store.steps[a as usize] as f64 / 2.0;
                        let step_b = store.steps[b as usize] as f64 / 2.0;
                        let norm = |v: &[f32]| v.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt();
                        let root_dim = (data.dim as f64).sqrt();
                        // |Δ(a·b)| <= |a| |Δb| and |Δ|a-b|²| <= 2 |a-b| |Δ| + |Δ|², with |Δv| <= step √dim.
                        let (bound_query, bound_pair) = if metric == Metric::L2 {
                            let gap = metric.distance(va, vb).max(0.0);
                            let (da, db) = (step_a * root_dim, step_b * root_dim);
                            (2.0 * gap * db + db * db, 2.0 * gap * (da + db) + (da + db).powi(2))
                        } else {
                            let (da, db) = (step_a * root_dim, step_b * root_dim);
                            (norm(va) * db, norm(va) * db + norm(vb) * da + da * db)
                        };
                        let want = exact(va, vb) as f64;
                        let slack = 1e-4 * want.abs().max(1.0);
                        let got = store.score(va, b) as f64;
                        assert!((got - want).abs() <= bound_query + slack, "{metric:?} {a}-{b}: {got} vs {want}, bound {bound_query}");
                        let got = store.score_between(a, b) as f64;
                        assert!((got - want).abs() <= bound_pair + slack, "{metric:?} pair {a}-{b}: {got} vs {want}, bound {bound_pair}");
                    }
                }
            }
        }
    }

    #[test]
    fn only_dense_scores_are_encoded() {
        let vectors = FlatVectors::from_fixed(vec![1.0; 8], 4);
        assert!(Int8Vectors::encode(&vectors, 4, Metric::L1).is_none());
        assert!(Int8Vectors::encode(&vectors, 4, Metric::Hamming).is_none());
        let store = Int8Vectors::encode(&vectors, 4, Metric::L2).expect("dense");
        assert_eq!(store.score_between(0, 1), 0.0);
    }
}
