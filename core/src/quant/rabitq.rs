//! RaBitQ codes: encode a vector, prepare a query, estimate distance and
//! error bound (RaBitQ, Gao & Long, SIGMOD 2024; extended RaBitQ, Gao et
//! al., arXiv 2409.09913).
//!
//! Notation: c is the centroid, P the seeded [`Rotation`], D its padded
//! dimension, o a data vector, oᵣ = o - c its residual and u = P·oᵣ/‖oᵣ‖.
//! The code is the grid point y ∈ (ℤ + ½)^D, |yᵢ| < 2^(B-1), closest to u in
//! angle ([`grid`]), ō = y/‖y‖, and a = ⟨ō, u⟩. For a query q with residual
//! qᵣ = q - c and q' = P·qᵣ, the estimator (RaBitQ Eq. 12, extended RaBitQ
//! §3.3) is
//!
//! ```text
//! ⟨oᵣ, qᵣ⟩ ≈ ‖oᵣ‖ · ⟨ō, q'⟩ / ⟨ō, u⟩ = ‖oᵣ‖ · ⟨y, q'⟩ / ⟨y, u⟩
//! ```
//!
//! unbiased, and off by more than ‖oᵣ‖·‖qᵣ‖ · √(1 - a²)/a · ε₀/√(D - 1)
//! with probability about that of a normal variable beyond ε₀ standard
//! deviations (RaBitQ Theorem 3.2, Eq. 16). q' is itself quantized to B_q
//! bits with randomized rounding (RaBitQ §3.3.1, Theorem 3.3), so ⟨y, q'⟩
//! comes from integer popcounts ([`kernels`]); its rounding error, at most
//! (Δ/2)·‖y‖ in standard deviation for a step Δ, is added to the bound. Then
//!
//! ```text
//! ‖o - q‖² = ‖oᵣ‖² + ‖qᵣ‖² - 2⟨oᵣ, qᵣ⟩        ⟨o, q⟩ = ⟨oᵣ, qᵣ⟩ + ⟨oᵣ, c⟩ + ⟨c, q⟩
//! ```
//!
//! Cosine distance is L2 (or inner product) on normalized vectors; the
//! caller normalizes.
//!
//! # Code layout
//!
//! A code is `code_bytes(dim, B) = 24 + B · ⌈dim/64⌉ · 8` bytes, all little
//! endian, read in place (no alignment needed):
//!
//! ```text
//! offset  bytes            field
//!  0      4  f32           ‖oᵣ‖²                        squared residual norm
//!  4      4  f32           ⟨oᵣ, c⟩                      inner-product offset
//!  8      4  f32           ‖oᵣ‖ / ⟨y, u⟩                turns ⟨y, q'⟩ into ⟨oᵣ, qᵣ⟩
//! 12      4  f32           Σᵢ yᵢ                        for the query's offset
//! 16      4  f32           ‖oᵣ‖ · √(1 - a²) / a         error per unit of ‖qᵣ‖ε₀/√(D-1)
//! 20      4  f32           ‖oᵣ‖ / a                     error per unit of ε₀Δ/2
//! 24      B·⌈dim/64⌉·8     bit planes of codeᵢ = yᵢ + (2^B - 1)/2, most
//!                          significant first ([`kernels`]); plane 0 holds the
//!                          signs, which is the 1-bit RaBitQ code of o
//! ```
//!
//! A vector equal to the centroid has ‖oᵣ‖ = 0 and all-zero scale factors:
//! its estimates are exact.

use super::grid::nearest_grid_codes;
use super::kernels::{self, ByteTables, Kernels, LevelsKernel, PlaneShape};
use super::rotation::{Rotation, SplitMix64};
use crate::distance;

/// Bytes of scalar factors before the bit planes.
pub const FACTORS_BYTES: usize = 24;

/// ε₀ of RaBitQ Eq. 16: the bound's width in standard deviations. The
/// paper's 1.9 left 97.8-98.6% of true values inside [lower, upper] on SIFT
/// 5k and pydoc-minilm at B = 1 and 4 (tests.rs); 99% needed 2.04-2.14.
/// 2.3 leaves a margin: 99.44-99.71% inside (tests.rs has the table).
pub const EPSILON_0: f32 = 2.3;

/// The bytes of one code for `dim` dimensions at `bits` bits each.
pub fn code_bytes(dim: usize, bits: usize) -> usize {
    FACTORS_BYTES + bits * dim.div_ceil(64) * 8
}

/// Bits per dimension of the quantized query for codes of `code_bits`:
/// B + 3, at least RaBitQ's 4 (§3.3.1), at most 8. Measured on SIFT 5k
/// (B = 1 / B = 4, mean relative error of ‖o - q‖²): B_q = B + 2 gives
/// 0.0550 / 0.0068, B + 3 0.0510 / 0.0066, B + 4 0.0500 / 0.0065; recall@10
/// from the top 100 estimates 0.897, 0.926, 0.935 at B = 1. Past B + 3 the
/// code's own error dominates, and each query bit costs a popcount pass.
pub fn query_bits(code_bits: usize) -> usize {
    (code_bits + 3).clamp(4, 8)
}

/// An estimate and the interval the true value lies in with high probability.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Estimate {
    pub value: f32,
    pub lower: f32,
    pub upper: f32,
}

/// Encodes vectors of one index and prepares its queries.
#[derive(Debug, Clone)]
pub struct RabitqEncoder {
    bits: usize,
    seed: u64,
    rotation: Rotation,
    centroid: Vec<f32>,
}

impl RabitqEncoder {
    /// Codes of `bits` (1..=8) bits per dimension, residuals to `centroid`
    /// rotated by the rotation of `seed`.
    pub fn new(dim: usize, bits: usize, seed: u64, centroid: Vec<f32>) -> Self {
        assert!((1..=8).contains(&bits), "{bits} bits per dimension is not supported");
        assert_eq!(centroid.len(), dim, "a centroid of the wrong dimension");
        RabitqEncoder { bits, seed, rotation: Rotation::new(dim, seed), centroid }
    }

    /// An encoder whose centroid is the mean of `vectors` (zero if there
    /// are none).
    pub fn with_mean_centroid<'a>(dim: usize, bits: usize, seed: u64, vectors: impl Iterator<Item = &'a [f32]>) -> Self {
        let mut sum = vec![0.0f64; dim];
        let mut count = 0usize;
        for vector in vectors {
            sum.iter_mut().zip(vector).for_each(|(s, &x)| *s += x as f64);
            count += 1;
        }
        let centroid = sum.iter().map(|s| (s / count.max(1) as f64) as f32).collect();
        Self::new(dim, bits, seed, centroid)
    }

    pub fn dim(&self) -> usize {
        self.rotation.dim()
    }

    /// The vector residuals are taken to.
    pub fn centroid(&self) -> &[f32] {
        &self.centroid
    }

    pub fn bits(&self) -> usize {
        self.bits
    }

    /// The length of every code this encoder writes.
    pub fn code_bytes(&self) -> usize {
        code_bytes(self.dim(), self.bits)
    }

    pub fn encode(&self, vector: &[f32]) -> Vec<u8> {
        let mut code = vec![0; self.code_bytes()];
        self.encode_into(vector, &mut code);
        code
    }

    /// Writes the code of `vector` to `out`, which is [`Self::code_bytes`] long.
    pub fn encode_into(&self, vector: &[f32], out: &mut [u8]) {
        assert_eq!(out.len(), self.code_bytes(), "a code buffer of the wrong length");
        let residual: Vec<f32> = vector.iter().zip(&self.centroid).map(|(x, c)| x - c).collect();
        let mut rotated = vec![0.0; self.rotation.padded_dim()];
        self.rotation.rotate(&residual, &mut rotated);
        let mut codes = vec![0u8; rotated.len()];
        nearest_grid_codes(&rotated, self.bits, &mut codes);

        let half_range = ((1u32 << self.bits) - 1) as f64 / 2.0;
        let (mut y_dot_rotated, mut y_norm_sq, mut y_sum) = (0.0f64, 0.0f64, 0.0f64);
        for (&code, &x) in codes.iter().zip(&rotated) {
            let y = code as f64 - half_range;
            y_dot_rotated += y * x as f64;
            y_norm_sq += y * y;
            y_sum += y;
        }
        let norm_sq = distance::dot(&residual, &residual);
        let norm = (norm_sq as f64).sqrt();
        // ⟨y, u⟩ = ⟨y, P·oᵣ⟩/‖oᵣ‖ and a = ⟨y, u⟩/‖y‖; zero residual: no direction.
        let (ip_scale, error_scale, rounding_scale) = if y_dot_rotated > 0.0 {
            let y_dot_unit = y_dot_rotated / norm;
            let a = (y_dot_unit / y_norm_sq.sqrt()).min(1.0);
            (norm / y_dot_unit, norm * (1.0 - a * a).sqrt() / a, norm / a)
        } else {
            (0.0, 0.0, 0.0)
        };
        let factors =
            [norm_sq, distance::dot(&residual, &self.centroid), ip_scale as f32, y_sum as f32, error_scale as f32, rounding_scale as f32];
        let (head, planes) = out.split_at_mut(FACTORS_BYTES);
        for (bytes, value) in head.chunks_exact_mut(4).zip(factors) {
            bytes.copy_from_slice(&value.to_le_bytes());
        }
        pack_planes(&codes, self.bits, planes);
    }

    /// Rotates and quantizes `query` once, for estimates against many codes.
    pub fn prepare_query(&self, query: &[f32]) -> PreparedQuery {
        assert_eq!(query.len(), self.dim(), "a query of the wrong dimension");
        let residual: Vec<f32> = query.iter().zip(&self.centroid).map(|(x, c)| x - c).collect();
        let padded_dim = self.rotation.padded_dim();
        let mut rotated = vec![0.0; padded_dim];
        self.rotation.rotate(&residual, &mut rotated);

        // Uniform B_q-bit scalar quantization with randomized rounding
        // (RaBitQ §3.3.1): unbiased, each error within one step Δ.
        let query_bits = query_bits(self.bits);
        let top_level = ((1u32 << query_bits) - 1) as f32;
        let low = rotated.iter().copied().fold(f32::INFINITY, f32::min);
        let high = rotated.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let delta = (high - low) / top_level;
        let mut random = SplitMix64(self.seed ^ QUERY_ROUNDING_STREAM);
        let levels: Vec<u8> = rotated
            .iter()
            .map(|&x| if delta > 0.0 { ((x - low) / delta + random.next_unit()).floor().min(top_level) as u8 } else { 0 })
            .collect();
        let level_sum: i64 = levels.iter().map(|&l| l as i64).sum();
        let mut planes = vec![0; query_bits * padded_dim / 8];
        pack_planes(&levels, query_bits, &mut planes);
        let shape = PlaneShape { words: padded_dim / 64, code_planes: self.bits, query_planes: query_bits };
        let levels_kernel = kernels::levels_kernel_for(shape);
        let tables = (levels_kernel.is_none() && ByteTables::pay_off(padded_dim)).then(|| ByteTables::new(&levels));

        let residual_norm_sq = distance::dot(&residual, &residual);
        PreparedQuery {
            kernels: kernels::kernels_for(shape),
            levels_kernel,
            planes,
            levels,
            tables,
            shape,
            code_bytes: self.code_bytes(),
            half_delta: delta / 2.0,
            low,
            code_range_times_level_sum: ((1i64 << self.bits) - 1) * level_sum,
            residual_norm_sq,
            centroid_dot_query: distance::dot(&self.centroid, query),
            error_per_scale: EPSILON_0 * residual_norm_sq.sqrt() / ((padded_dim - 1) as f32).sqrt(),
            error_per_rounding: EPSILON_0 * delta / 2.0,
        }
    }
}

/// Seeds the query's rounding draws apart from the rotation's sign draws.
const QUERY_ROUNDING_STREAM: u64 = 0x5155_4552_5952_4e44;

/// Packs `bits`-bit values into MSB-first bit planes of little-endian words.
fn pack_planes(values: &[u8], bits: usize, out: &mut [u8]) {
    let plane_bytes = values.len() / 8;
    debug_assert_eq!(out.len(), bits * plane_bytes);
    for (plane, bytes) in out.chunks_exact_mut(plane_bytes).enumerate() {
        let shift = bits - 1 - plane;
        for (word_bytes, chunk) in bytes.chunks_exact_mut(8).zip(values.chunks_exact(64)) {
            let word = chunk.iter().enumerate().fold(0u64, |word, (i, &v)| word | ((((v >> shift) & 1) as u64) << i));
            word_bytes.copy_from_slice(&word.to_le_bytes());
        }
    }
}

/// A query rotated and quantized against one encoder's codes.
#[derive(Clone)]
pub struct PreparedQuery {
    kernels: Kernels,
    /// Used instead of `kernels` and `tables` where the CPU has one.
    levels_kernel: Option<LevelsKernel>,
    planes: Vec<u8>,
    /// The quantized query, one level per dimension (what `planes` packs).
    levels: Vec<u8>,
    /// Used instead of `kernels` where they pay off.
    tables: Option<ByteTables>,
    shape: PlaneShape,
    code_bytes: usize,
    /// Δ/2: the quantized query is q̄ᵢ = low + Δ·levelᵢ.
    half_delta: f32,
    low: f32,
    /// (2^B - 1)·Σᵢ levelᵢ, so 2·Σᵢ yᵢ·levelᵢ = 2·Σᵢ codeᵢ·levelᵢ minus this.
    code_range_times_level_sum: i64,
    residual_norm_sq: f32,
    centroid_dot_query: f32,
    error_per_scale: f32,
    error_per_rounding: f32,
}

impl PreparedQuery {
    /// The same query on another kernel set (for tests and benchmarks).
    pub fn with_kernels(self, kernels: Kernels) -> Self {
        PreparedQuery { kernels, levels_kernel: None, tables: None, ..self }
    }

    /// The same query on byte tables (for tests and benchmarks).
    pub fn with_byte_tables(self) -> Self {
        let tables = Some(ByteTables::new(&self.levels));
        PreparedQuery { tables, levels_kernel: None, ..self }
    }

    /// The same query on a levels kernel (for tests and benchmarks).
    pub fn with_levels_kernel(self, kernel: LevelsKernel) -> Self {
        PreparedQuery { levels_kernel: Some(kernel), tables: None, ..self }
    }

    /// ‖o - q‖².
    #[inline]
    pub fn squared_l2(&self, code: &[u8]) -> Estimate {
        let (factors, inner, error) = self.residual_inner_product(code);
        let value = factors.norm_sq + self.residual_norm_sq - 2.0 * inner;
        Estimate { value, lower: (value - 2.0 * error).max(0.0), upper: value + 2.0 * error }
    }

    /// ⟨o, q⟩.
    #[inline]
    pub fn inner_product(&self, code: &[u8]) -> Estimate {
        let (factors, inner, error) = self.residual_inner_product(code);
        let value = inner + factors.ip_offset + self.centroid_dot_query;
        Estimate { value, lower: value - error, upper: value + error }
    }

    /// [`Self::squared_l2`] for each code of `codes` (back to back) into `out`.
    pub fn squared_l2_batch(&self, codes: &[u8], out: &mut [Estimate]) {
        self.estimate_each(codes, out, Self::squared_l2);
    }

    /// [`Self::inner_product`] for each code of `codes` (back to back) into `out`.
    pub fn inner_product_batch(&self, codes: &[u8], out: &mut [Estimate]) {
        self.estimate_each(codes, out, Self::inner_product);
    }

    fn estimate_each(&self, codes: &[u8], out: &mut [Estimate], estimate: impl Fn(&Self, &[u8]) -> Estimate) {
        assert_eq!(codes.len(), out.len() * self.code_bytes, "{} estimates for {} code bytes", out.len(), codes.len());
        let lines = self.code_bytes.div_ceil(64);
        for (i, (code, slot)) in codes.chunks_exact(self.code_bytes).zip(out.iter_mut()).enumerate() {
            distance::prefetch(codes.as_ptr().wrapping_add((i + 1) * self.code_bytes), lines);
            *slot = estimate(self, code);
        }
    }

    /// The code's factors, the estimate of ⟨oᵣ, qᵣ⟩ and its error bound.
    #[inline]
    fn residual_inner_product(&self, code: &[u8]) -> (Factors, f32, f32) {
        assert_eq!(code.len(), self.code_bytes, "a code of the wrong length");
        let (head, planes) = code.split_at(FACTORS_BYTES);
        let factors = Factors::read(head);
        let code_dot_levels = match (&self.levels_kernel, &self.tables) {
            (Some(kernel), _) => (kernel.levels_dot)(planes, &self.levels, self.shape),
            (None, Some(tables)) => tables.planes_dot(planes, self.shape.code_planes),
            (None, None) => (self.kernels.planes_dot)(planes, &self.planes, self.shape),
        };
        // 2·Σᵢ yᵢ·levelᵢ is an exact integer: the large terms cancel before rounding.
        let y_dot_levels_twice = (2 * code_dot_levels as i64 - self.code_range_times_level_sum) as f32;
        let y_dot_query = self.half_delta * y_dot_levels_twice + self.low * factors.y_sum;
        let error = factors.error_scale * self.error_per_scale + factors.rounding_scale * self.error_per_rounding;
        (factors, factors.ip_scale * y_dot_query, error)
    }
}

/// The scalar head of a code (see the module doc's layout).
#[derive(Clone, Copy)]
struct Factors {
    norm_sq: f32,
    ip_offset: f32,
    ip_scale: f32,
    y_sum: f32,
    error_scale: f32,
    rounding_scale: f32,
}

impl Factors {
    #[inline]
    fn read(head: &[u8]) -> Self {
        let field = |i: usize| f32::from_le_bytes(head[4 * i..4 * i + 4].try_into().expect("4 bytes"));
        Factors {
            norm_sq: field(0),
            ip_offset: field(1),
            ip_scale: field(2),
            y_sum: field(3),
            error_scale: field(4),
            rounding_scale: field(5),
        }
    }
}
