//! Distance kernels on `&[f32]`, and the distances of any dense element
//! type through them.
//!
//! Each kernel has a portable version and, on x86-64, AVX2+FMA and AVX-512
//! versions; the best one the CPU supports is picked once, on first use.
//! Kernels never allocate. Sums are kept in float4 lanes like pgvector's,
//! with several independent accumulators (faster and, if anything, more
//! accurate than one running sum). Callers check dimensions first; a length
//! mismatch here is a bug and panics.

mod portable;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::sync::OnceLock;

use crate::types::{bits, sparse, Element};

/// The distance an index or a query orders by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// `<->`: Euclidean distance.
    L2,
    /// `<#>`: negative inner product.
    InnerProduct,
    /// `<=>`: one minus cosine similarity.
    Cosine,
    /// `<+>`: taxicab distance.
    L1,
    /// `<~>`: Hamming distance between bit strings (in slots, see
    /// `types::bits::to_slots`).
    Hamming,
    /// `<%>`: Jaccard distance between bit strings (in slots).
    Jaccard,
    /// `<->` between sparse vectors (in slots, see `types::sparse::to_slots`).
    SparseL2,
    /// `<#>` between sparse vectors (in slots).
    SparseInnerProduct,
    /// `<=>` between sparse vectors (in slots).
    SparseCosine,
    /// `<+>` between sparse vectors (in slots).
    SparseL1,
}

/// One implementation of every kernel.
#[derive(Clone, Copy)]
pub struct Kernels {
    pub name: &'static str,
    pub l2_squared: fn(&[f32], &[f32]) -> f32,
    pub dot: fn(&[f32], &[f32]) -> f32,
    pub l1: fn(&[f32], &[f32]) -> f32,
    /// (a·b, |a|², |b|²) in one pass.
    pub cosine_parts: fn(&[f32], &[f32]) -> (f32, f32, f32),
    /// (a·c, Σa, |a|²) of float4 values and 8-bit codes (`quant::int8`) in one pass.
    pub int8_parts: fn(&[f32], &[i8]) -> (f32, f32, f32),
    /// Σ a_i b_i between two vectors of codes, exact.
    pub dot_int8_pair: fn(&[i8], &[i8]) -> i64,
}

/// The kernels for this CPU.
#[inline]
pub fn kernels() -> &'static Kernels {
    static SELECTED: OnceLock<Kernels> = OnceLock::new();
    SELECTED.get_or_init(|| available().into_iter().last().expect("the portable kernels always exist"))
}

/// Every kernel set this CPU can run, slowest first (for tests and benchmarks).
pub fn available() -> Vec<Kernels> {
    #[allow(unused_mut)]
    let mut sets = vec![portable::KERNELS];
    #[cfg(target_arch = "x86_64")]
    sets.extend(x86::supported());
    sets
}

/// Asks the CPU to start loading the cache lines of `data` (up to `lines`
/// of them), so a later read does not stall. A hint: it never faults.
#[inline]
pub fn prefetch(data: *const u8, lines: usize) {
    #[cfg(target_arch = "x86_64")]
    for line in 0..lines {
        // SAFETY: prefetching never dereferences; any address is allowed.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(data.wrapping_add(line * 64).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (data, lines);
}

/// Feeds `a` and `b` to `accumulate` as float4: whole when they are float4
/// already, otherwise widened a block at a time on the stack.
#[inline]
fn in_float4_blocks<E: Element>(a: &[E], b: &[E], mut accumulate: impl FnMut(&[f32], &[f32])) {
    if let (Some(a), Some(b)) = (E::as_f32(a), E::as_f32(b)) {
        return accumulate(a, b);
    }
    assert_eq!(a.len(), b.len(), "distance between vectors of different lengths");
    const BLOCK: usize = 256;
    let (mut wide_a, mut wide_b) = ([0.0f32; BLOCK], [0.0f32; BLOCK]);
    for (block_a, block_b) in a.chunks(BLOCK).zip(b.chunks(BLOCK)) {
        let (wide_a, wide_b) = (&mut wide_a[..block_a.len()], &mut wide_b[..block_b.len()]);
        E::widen_into(block_a, wide_a);
        E::widen_into(block_b, wide_b);
        accumulate(wide_a, wide_b);
    }
}

/// Squared Euclidean distance.
#[inline]
pub fn l2_squared<E: Element>(a: &[E], b: &[E]) -> f32 {
    let mut sum = 0.0;
    in_float4_blocks(a, b, |a, b| sum += (kernels().l2_squared)(a, b));
    sum
}

/// Inner product a·b.
#[inline]
pub fn dot<E: Element>(a: &[E], b: &[E]) -> f32 {
    let mut sum = 0.0;
    in_float4_blocks(a, b, |a, b| sum += (kernels().dot)(a, b));
    sum
}

/// Taxicab distance.
#[inline]
pub fn l1<E: Element>(a: &[E], b: &[E]) -> f32 {
    let mut sum = 0.0;
    in_float4_blocks(a, b, |a, b| sum += (kernels().l1)(a, b));
    sum
}

/// One minus cosine similarity, clamped to [0, 2]; NaN when either vector is
/// zero (as pgvector: there is no direction to compare).
#[inline]
pub fn cosine_distance<E: Element>(a: &[E], b: &[E]) -> f64 {
    let (mut dot, mut norm_a, mut norm_b) = (0.0f32, 0.0f32, 0.0f32);
    in_float4_blocks(a, b, |a, b| {
        let (d, na, nb) = (kernels().cosine_parts)(a, b);
        (dot, norm_a, norm_b) = (dot + d, norm_a + na, norm_b + nb);
    });
    let similarity = dot as f64 / (norm_a as f64 * norm_b as f64).sqrt();
    1.0 - similarity.clamp(-1.0, 1.0)
}

/// Euclidean norm, summed in double precision like pgvector's vector_norm.
pub fn norm<E: Element>(a: &[E]) -> f64 {
    a.iter().map(|&x| x.to_f32() as f64 * x.to_f32() as f64).sum::<f64>().sqrt()
}

/// The float4 slots of a bit string or sparse vector.
fn as_slots<E: Element>(v: &[E]) -> &[f32] {
    E::as_f32(v).expect("bit strings and sparse vectors are kept in float4 slots")
}

/// -a·b: inner product as a "smaller is closer" score.
fn negative_dot(a: &[f32], b: &[f32]) -> f32 {
    -dot(a, b)
}

impl Metric {
    /// The score an index orders by: the operator's value or a monotonic
    /// function of it (squared L2; negative inner product, which for cosine
    /// is taken on normalized vectors).
    pub fn score_fn(self) -> fn(&[f32], &[f32]) -> f32 {
        match self {
            Metric::L2 => l2_squared,
            Metric::InnerProduct | Metric::Cosine => negative_dot,
            Metric::L1 => l1,
            Metric::Hamming => bits::slot_hamming,
            Metric::Jaccard => bits::slot_jaccard,
            Metric::SparseL2 => sparse::slot_l2_squared,
            Metric::SparseInnerProduct | Metric::SparseCosine => sparse::slot_negative_dot,
            Metric::SparseL1 => sparse::slot_l1,
        }
    }

    /// Nearness in the keys' own space, whatever this metric scores:
    /// squared L2 between vectors, dense or sparse; Hamming distance
    /// between bit strings.
    pub fn space_score_fn(self) -> fn(&[f32], &[f32]) -> f32 {
        if self.compares_bits() {
            bits::slot_hamming
        } else if self.compares_sparse() {
            sparse::slot_l2_squared
        } else {
            l2_squared
        }
    }

    /// Whether keys are bit strings in slots, not vectors.
    pub fn compares_bits(self) -> bool {
        matches!(self, Metric::Hamming | Metric::Jaccard)
    }

    /// Whether RaBitQ codes can estimate this metric's score: squared L2
    /// and inner product (cosine's, on unit vectors) of dense vectors.
    pub fn has_estimator(self) -> bool {
        matches!(self, Metric::L2 | Metric::InnerProduct | Metric::Cosine)
    }

    /// Whether keys are sparse vectors in slots, each of its own length.
    pub fn compares_sparse(self) -> bool {
        matches!(self, Metric::SparseL2 | Metric::SparseInnerProduct | Metric::SparseCosine | Metric::SparseL1)
    }

    /// Whether vectors are normalized before they are indexed or searched.
    pub fn normalizes(self) -> bool {
        matches!(self, Metric::Cosine | Metric::SparseCosine)
    }

    /// The key as an index stores it or searches with it: scaled to unit
    /// length for cosine, where None is the zero vector, which has no
    /// direction and no place in the index.
    pub fn prepare(self, key: &[f32]) -> Option<Vec<f32>> {
        match self {
            Metric::Cosine => {
                let norm = norm(key);
                (norm > 0.0).then(|| key.iter().map(|&x| (x as f64 / norm) as f32).collect())
            }
            Metric::SparseCosine => sparse::normalize_slots(key),
            _ => Some(key.to_vec()),
        }
    }

    /// The value the SQL operator returns for this metric, between two
    /// vectors: for the bit and sparse metrics, two keys in float4 slots.
    #[inline]
    pub fn distance<E: Element>(self, a: &[E], b: &[E]) -> f64 {
        match self {
            Metric::L2 => (l2_squared(a, b) as f64).sqrt(),
            Metric::InnerProduct => -(dot(a, b) as f64),
            Metric::Cosine => cosine_distance(a, b),
            Metric::L1 => l1(a, b) as f64,
            Metric::Hamming | Metric::Jaccard | Metric::SparseL1 => self.score_fn()(as_slots(a), as_slots(b)) as f64,
            Metric::SparseL2 => (sparse::slot_l2_squared(as_slots(a), as_slots(b)) as f64).sqrt(),
            Metric::SparseInnerProduct => sparse::slot_negative_dot(as_slots(a), as_slots(b)) as f64,
            Metric::SparseCosine => sparse::slot_cosine_distance(as_slots(a), as_slots(b)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::SmallRng, Rng, SeedableRng};

    fn naive_l2_squared(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).powi(2)).sum()
    }
    fn naive_dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
    }
    fn naive_l1(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).abs()).sum()
    }

    fn close(got: f32, want: f64, scale: f64) -> bool {
        (got as f64 - want).abs() <= 1e-5 * scale.max(1.0)
    }

    #[test]
    fn every_kernel_set_agrees_with_naive_loops_at_every_length() {
        let mut rng = SmallRng::seed_from_u64(7);
        for kernels in available() {
            for len in (1..=70).chain([127, 128, 129, 384, 768, 1000, 1536, 16_000]) {
                let a: Vec<f32> = (0..len).map(|_| rng.gen_range(-2.0..2.0)).collect();
                let b: Vec<f32> = (0..len).map(|_| rng.gen_range(-2.0..2.0)).collect();
                let scale = len as f64 * 4.0;
                let name = kernels.name;
                assert!(close((kernels.l2_squared)(&a, &b), naive_l2_squared(&a, &b), scale), "{name} l2 len {len}");
                assert!(close((kernels.dot)(&a, &b), naive_dot(&a, &b), scale), "{name} dot len {len}");
                assert!(close((kernels.l1)(&a, &b), naive_l1(&a, &b), scale), "{name} l1 len {len}");
                let (d, na, nb) = (kernels.cosine_parts)(&a, &b);
                assert!(close(d, naive_dot(&a, &b), scale), "{name} cos dot len {len}");
                assert!(close(na, naive_dot(&a, &a), scale), "{name} cos |a| len {len}");
                assert!(close(nb, naive_dot(&b, &b), scale), "{name} cos |b| len {len}");
            }
        }
    }

    #[test]
    fn every_code_kernel_agrees_with_naive_loops_at_every_length() {
        let mut rng = SmallRng::seed_from_u64(9);
        for kernels in available() {
            for len in (1..=70).chain([127, 128, 129, 384, 1000, 1536, 16_000]) {
                let a: Vec<f32> = (0..len).map(|_| rng.gen_range(-2.0..2.0)).collect();
                let codes: Vec<i8> = (0..len).map(|_| rng.gen_range(-127..=127)).collect();
                let others: Vec<i8> = (0..len).map(|_| rng.gen_range(-127..=127)).collect();
                let wide: Vec<f32> = codes.iter().map(|&c| c as f32).collect();
                let name = kernels.name;
                let (ac, sum, aa) = (kernels.int8_parts)(&a, &codes);
                assert!(close(ac, naive_dot(&a, &wide), len as f64 * 254.0), "{name} int8 a·c len {len}");
                assert!(close(sum, a.iter().map(|&x| x as f64).sum(), len as f64 * 2.0), "{name} int8 Σa len {len}");
                assert!(close(aa, naive_dot(&a, &a), len as f64 * 4.0), "{name} int8 |a|² len {len}");
                let exact: i64 = codes.iter().zip(&others).map(|(&x, &y)| x as i64 * y as i64).sum();
                assert_eq!((kernels.dot_int8_pair)(&codes, &others), exact, "{name} dot_int8_pair len {len}");
            }
            let extreme = vec![-127i8; 140_000];
            assert_eq!((kernels.dot_int8_pair)(&extreme, &extreme), 140_000 * 127 * 127, "{} sums past 32 bits", kernels.name);
        }
    }

    #[test]
    fn metric_values_match_their_definitions() {
        let a = [3.0, 4.0];
        let b = [0.0, 0.0];
        assert_eq!(Metric::L2.distance(&a, &b), 5.0);
        assert_eq!(Metric::L1.distance(&a, &b), 7.0);
        assert_eq!(Metric::InnerProduct.distance(&a, &[1.0, 2.0]), -11.0);
        assert_eq!(Metric::Cosine.distance(&a, &[6.0, 8.0]), 0.0);
        assert_eq!(Metric::Cosine.distance(&a, &[-3.0, -4.0]), 2.0);
        assert!(Metric::Cosine.distance(&a, &b).is_nan(), "zero vector has no direction");
        assert_eq!(norm(&a), 5.0);
    }

    #[test]
    fn half_distances_equal_the_distances_of_their_float4_values() {
        use crate::types::{widen, Half};
        let mut rng = SmallRng::seed_from_u64(5);
        for len in [1, 7, 255, 256, 257, 700, 4000] {
            let a: Vec<Half> = (0..len).map(|_| Half::from_f32(rng.gen_range(-2.0..2.0))).collect();
            let b: Vec<Half> = (0..len).map(|_| Half::from_f32(rng.gen_range(-2.0..2.0))).collect();
            let (wide_a, wide_b) = (widen(&a), widen(&b));
            for metric in [Metric::L2, Metric::InnerProduct, Metric::Cosine, Metric::L1] {
                let (half, float) = (metric.distance(&a, &b), metric.distance(&wide_a, &wide_b));
                assert!((half - float).abs() <= 1e-5 * float.abs().max(1.0), "{metric:?} len {len}: {half} vs {float}");
            }
            assert_eq!(norm(&a), norm(&wide_a));
        }
    }

    #[test]
    #[should_panic]
    fn mismatched_lengths_are_a_bug() {
        l2_squared(&[1.0, 2.0], &[1.0]);
    }
}
