//! The integer inner loop of the RaBitQ estimator: Σᵢ codeᵢ · queryᵢ over
//! bit-plane packed unsigned codes.
//!
//! A B-bit value per dimension is stored as B *planes*, most significant
//! first; plane j is `words` little-endian u64 words holding bit (B-1-j) of
//! dimension i at bit i%64 of word i/64. With codes in B planes and the
//! query in B_q planes,
//!
//! ```text
//! Σᵢ codeᵢ·queryᵢ = Σⱼ Σₖ 2^((B-1-j) + (B_q-1-k)) · popcount(code plane j AND query plane k)
//! ```
//!
//! (RaBitQ §3.3.2, Eq. 21), so one AND + popcount kernel serves every B.
//! A query gets the fastest set its CPU supports for its shape (sets are
//! detected once, like [`crate::distance`]'s); every set returns the same
//! integer, and so do the [`ByteTables`] that replace them for short codes
//! of several bits, and the [`LevelsKernel`]s that replace both where the
//! CPU has AVX2: they take the query as one byte per dimension and add
//! the bytes a code plane's bits select, B passes whatever B_q is. Kernels never
//! allocate. Slices are bytes because codes are read in place from pages,
//! which gives no alignment promise; every load is unaligned.

mod byte_tables;
mod portable;
#[cfg(target_arch = "x86_64")]
mod x86;

use std::sync::OnceLock;

pub use byte_tables::ByteTables;

/// One implementation of every code kernel.
#[derive(Clone, Copy)]
pub struct Kernels {
    pub name: &'static str,
    /// `(code planes, query planes, their shape) -> Σᵢ codeᵢ·queryᵢ`.
    pub planes_dot: fn(&[u8], &[u8], PlaneShape) -> u64,
    /// The least [`PlaneShape::pair_words`] at which this set beats the
    /// sets before it (0: everywhere).
    pub min_pair_words: usize,
}

/// Σᵢ codeᵢ·levelᵢ with the query as its levels, one byte per dimension:
/// each code plane selects the levels of its set bits (a byte mask from
/// the bits), which `vpsadbw` adds up; planes are combined by Horner's
/// rule. B selections a word instead of B·B_q AND + popcount passes, and
/// no tables to build or keep in L1.
#[derive(Clone, Copy)]
pub struct LevelsKernel {
    pub name: &'static str,
    /// `(code planes, levels, shape) -> Σᵢ codeᵢ·levelᵢ`: 64 levels per
    /// word of a plane; `shape.query_planes` is not read.
    pub levels_dot: fn(&[u8], &[u8], PlaneShape) -> u64,
}

/// The fastest levels kernel this CPU has for codes of `shape`, where one
/// pays off: up to [`LEVELS_MAX_DIMENSIONS`], and not without AVX2 (the
/// popcount kernels and byte tables serve there).
pub fn levels_kernel_for(shape: PlaneShape) -> Option<LevelsKernel> {
    static BEST: OnceLock<Option<LevelsKernel>> = OnceLock::new();
    let best = *BEST.get_or_init(|| available_levels().last().copied());
    best.filter(|_| 64 * shape.words <= LEVELS_MAX_DIMENSIONS)
}

/// The most (padded) dimensions a levels kernel is chosen for: past them
/// a popcount counts 64 dimensions of a plane pair in one lane while a
/// selection adds 64 levels. `cargo bench --bench rabitq` on an AVX-512
/// machine (levels kernel against the best other, ns per estimate):
/// 128-d B = 4 16.7 against 26.9 (byte tables), 384-d B = 2 20.0 against
/// 26.0 (vpopcntq); 768-d B = 2 30.5 against 31.5; 1,024-d B = 2 37.9
/// against 31.5, 1,536-d B = 1 34.2 against 27.1. With AVX2 alone: 128-d
/// B = 4 21.8 against 26.9, 384-d B = 2 29.6 against 35.3 (popcnt).
pub const LEVELS_MAX_DIMENSIONS: usize = 512;

/// Every levels kernel this CPU can run, slowest first (for tests and benchmarks).
pub fn available_levels() -> Vec<LevelsKernel> {
    #[cfg(target_arch = "x86_64")]
    return x86::supported_levels();
    #[cfg(not(target_arch = "x86_64"))]
    Vec::new()
}

/// The most planes a code or a query may have: values of at most 8 bits.
pub const MAX_PLANES: usize = 8;

/// How many planes (at most [`MAX_PLANES`]) of how many words each side has.
/// Passed in rather than derived from the slice lengths: two divisions a
/// call took a 128-d 1-bit portable estimate from 22 to 26 ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaneShape {
    pub words: usize,
    pub code_planes: usize,
    pub query_planes: usize,
}

impl PlaneShape {
    /// Words ANDed and counted per estimate: every code plane meets every query plane.
    pub fn pair_words(self) -> usize {
        self.words * self.code_planes * self.query_planes
    }

    /// Slices that do not match the shape are a bug.
    #[inline(always)]
    fn check(self, code: &[u8], query: &[u8]) {
        assert!(
            self.code_planes <= MAX_PLANES
                && self.query_planes <= MAX_PLANES
                && code.len() == 8 * self.words * self.code_planes
                && query.len() == 8 * self.words * self.query_planes,
            "bit planes of {} and {} bytes do not have the shape {self:?}",
            code.len(),
            query.len()
        );
    }

    /// As [`Self::check`], for a query given as one level per dimension.
    #[inline(always)]
    fn check_levels(self, code: &[u8], levels: &[u8]) {
        assert!(
            code.len() == 8 * self.words * self.code_planes && levels.len() == 64 * self.words,
            "{} bytes of bit planes and {} levels do not have the shape {self:?}",
            code.len(),
            levels.len()
        );
    }
}

/// The fastest kernels this CPU has for codes and queries of `shape`.
pub fn kernels_for(shape: PlaneShape) -> Kernels {
    static AVAILABLE: OnceLock<Vec<Kernels>> = OnceLock::new();
    let sets = AVAILABLE.get_or_init(available);
    *sets.iter().rev().find(|set| set.min_pair_words <= shape.pair_words()).expect("the portable kernels always exist")
}

/// Every kernel set this CPU can run, slowest first (for tests and benchmarks).
pub fn available() -> Vec<Kernels> {
    #[allow(unused_mut)]
    let mut sets = vec![portable::KERNELS];
    #[cfg(target_arch = "x86_64")]
    sets.extend(x86::supported());
    sets
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::SmallRng, Rng, SeedableRng};

    /// Packs values of `bits` bits into MSB-first planes.
    fn pack(values: &[u32], bits: usize, words: usize) -> Vec<u8> {
        let mut planes = vec![0u64; bits * words];
        for (i, &value) in values.iter().enumerate() {
            for plane in 0..bits {
                let bit = (value >> (bits - 1 - plane)) & 1;
                planes[plane * words + i / 64] |= (bit as u64) << (i % 64);
            }
        }
        planes.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn every_kernel_set_computes_the_plain_dot_product() {
        let mut rng = SmallRng::seed_from_u64(11);
        for words in (1..=10).chain([17, 250, 256]) {
            for (code_bits, query_bits) in [(1, 4), (1, 8), (2, 6), (3, 7), (4, 8), (5, 1), (8, 8)] {
                let n = words * 64;
                let code: Vec<u32> = (0..n).map(|_| rng.gen_range(0..1 << code_bits)).collect();
                let query: Vec<u32> = (0..n).map(|_| rng.gen_range(0..1 << query_bits)).collect();
                let want: u64 = code.iter().zip(&query).map(|(&c, &q)| c as u64 * q as u64).sum();
                let (code_planes, query_planes) = (pack(&code, code_bits, words), pack(&query, query_bits, words));
                let shape = PlaneShape { words, code_planes: code_bits, query_planes: query_bits };
                for kernels in available() {
                    let got = (kernels.planes_dot)(&code_planes, &query_planes, shape);
                    assert_eq!(got, want, "{} words {words} B {code_bits} B_q {query_bits}", kernels.name);
                }
            }
        }
    }

    #[test]
    fn every_levels_kernel_computes_the_plain_dot_product() {
        let mut rng = SmallRng::seed_from_u64(12);
        for words in (1..=10).chain([17, 250, 256]) {
            for code_bits in 1..=8 {
                let n = words * 64;
                let code: Vec<u32> = (0..n).map(|_| rng.gen_range(0..1 << code_bits)).collect();
                // Every level 255 somewhere: the byte sums must not wrap.
                let levels: Vec<u8> = (0..n).map(|i| if i % 7 == 0 { 255 } else { rng.gen() }).collect();
                let want: u64 = code.iter().zip(&levels).map(|(&c, &l)| c as u64 * l as u64).sum();
                let shape = PlaneShape { words, code_planes: code_bits, query_planes: 8 };
                for kernel in available_levels() {
                    let got = (kernel.levels_dot)(&pack(&code, code_bits, words), &levels, shape);
                    assert_eq!(got, want, "{} words {words} B {code_bits}", kernel.name);
                }
            }
        }
    }

    #[test]
    fn every_levels_kernel_reads_unaligned_slices() {
        let words = 3;
        let shape = PlaneShape { words, code_planes: 2, query_planes: 8 };
        let bytes: Vec<u8> = (0..=255).collect();
        let (code, levels) = (&bytes[1..1 + 2 * 8 * words], &bytes[3..3 + 64 * words]);
        let mut want = 0u64;
        for plane in code.chunks_exact(8 * words) {
            let ones: u64 = (0..64 * words).filter(|&i| plane[i / 8] >> (i % 8) & 1 == 1).map(|i| levels[i] as u64).sum();
            want = 2 * want + ones;
        }
        for kernel in available_levels() {
            assert_eq!((kernel.levels_dot)(code, levels, shape), want, "{}", kernel.name);
        }
    }

    #[test]
    fn every_kernel_set_reads_unaligned_slices() {
        let words = 3;
        let shape = PlaneShape { words, code_planes: 2, query_planes: 1 };
        let bytes: Vec<u8> = (0..=(4 * 8 * words) as u8).collect();
        let (code, query) = (&bytes[1..1 + 2 * 8 * words], &bytes[1..1 + 8 * words]);
        let want = (portable::KERNELS.planes_dot)(code, query, shape);
        for kernels in available() {
            assert_eq!((kernels.planes_dot)(code, query, shape), want, "{}", kernels.name);
        }
    }

    #[test]
    #[should_panic]
    fn partial_planes_are_a_bug() {
        let shape = PlaneShape { words: 1, code_planes: 1, query_planes: 1 };
        (kernels_for(shape).planes_dot)(&[0; 12], &[0; 8], shape);
    }
}
