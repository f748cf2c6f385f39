//! A random orthogonal transform that is fully described by a `u64` seed.
//!
//! RaBitQ's error bound (RaBitQ §3.1.3, Theorem 3.2) holds because the data
//! is seen through a random rotation P. A dense D×D matrix would cost O(D²)
//! per vector and would have to be stored; instead P is a product of
//! [`ROUNDS`] cheap orthogonal steps, each O(D log D), rebuilt from the seed
//! the index keeps in its meta page:
//!
//! 1. flip the sign of each coordinate by a seeded random bit;
//! 2. a normalized fast Walsh-Hadamard transform (FWHT) on a power-of-two
//!    block;
//! 3. when the padded dimension is not a power of two, the FWHT covers the
//!    largest power-of-two block (alternately at the start and the end, so
//!    the two blocks overlap and together cover every coordinate), and a
//!    butterfly `(x, y) -> (x + y, x - y) / √2` between the two halves mixes
//!    the blocks (one step of a Kac walk, as in the RaBitQ authors' library).
//!
//! Every step is orthogonal, so P preserves norms and inner products. The
//! input is zero-padded to a multiple of 64 rather than to a power of two:
//! codes are packed in 64-bit words anyway, and 384-d embeddings then take
//! 384 code bits per plane instead of 512 (16,000 dimensions stay 16,000).

/// Sign-flip + transform rounds; three already mix well, the fourth is the
/// margin the RaBitQ authors' library also takes.
const ROUNDS: usize = 4;

/// A seeded random rotation of `dim`-dimensional vectors into
/// `padded_dim`-dimensional ones.
#[derive(Debug, Clone)]
pub struct Rotation {
    dim: usize,
    padded_dim: usize,
    /// `ROUNDS` rows of `padded_dim / 64` words; bit i set = negate coordinate i.
    signs: Vec<u64>,
}

impl Rotation {
    pub fn new(dim: usize, seed: u64) -> Self {
        assert!(dim >= 1, "a rotation needs at least one dimension");
        let padded_dim = dim.div_ceil(64) * 64;
        let mut random = SplitMix64(seed);
        let signs = (0..ROUNDS * padded_dim / 64).map(|_| random.next()).collect();
        Rotation { dim, padded_dim, signs }
    }

    /// The dimension of the vectors this rotation takes.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The dimension of the rotated vectors: `dim` rounded up to a multiple of 64.
    pub fn padded_dim(&self) -> usize {
        self.padded_dim
    }

    /// Writes P·`input` (zero-padded) to `out`.
    pub fn rotate(&self, input: &[f32], out: &mut [f32]) {
        assert_eq!(input.len(), self.dim, "rotating a vector of the wrong dimension");
        assert_eq!(out.len(), self.padded_dim, "rotation output of the wrong length");
        out[..self.dim].copy_from_slice(input);
        out[self.dim..].fill(0.0);

        let n = self.padded_dim;
        let block = if n.is_power_of_two() { n } else { n.next_power_of_two() / 2 };
        let words = n / 64;
        for (round, signs) in self.signs.chunks_exact(words).enumerate() {
            flip_signs(out, signs);
            if block == n {
                fwht_normalized(out);
            } else {
                let start = if round % 2 == 0 { 0 } else { n - block };
                fwht_normalized(&mut out[start..start + block]);
                mix_halves(out);
            }
        }
    }
}

/// Negates `x[i]` where bit i of `signs` is set.
fn flip_signs(x: &mut [f32], signs: &[u64]) {
    for (chunk, &word) in x.chunks_exact_mut(64).zip(signs) {
        for (bit, value) in chunk.iter_mut().enumerate() {
            let sign = ((word >> bit) & 1) as u32;
            *value = f32::from_bits(value.to_bits() ^ (sign << 31));
        }
    }
}

/// In-place Walsh-Hadamard transform scaled by 1/√n, which makes it orthogonal.
fn fwht_normalized(x: &mut [f32]) {
    let n = x.len();
    debug_assert!(n.is_power_of_two());
    let mut half = 1;
    while half < n {
        for pair in x.chunks_exact_mut(2 * half) {
            let (low, high) = pair.split_at_mut(half);
            for (a, b) in low.iter_mut().zip(high) {
                (*a, *b) = (*a + *b, *a - *b);
            }
        }
        half *= 2;
    }
    let scale = 1.0 / (n as f32).sqrt();
    x.iter_mut().for_each(|v| *v *= scale);
}

/// The orthogonal butterfly between coordinate i and i + n/2.
fn mix_halves(x: &mut [f32]) {
    let (low, high) = x.split_at_mut(x.len() / 2);
    for (a, b) in low.iter_mut().zip(high) {
        (*a, *b) = ((*a + *b) * std::f32::consts::FRAC_1_SQRT_2, (*a - *b) * std::f32::consts::FRAC_1_SQRT_2);
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014). Written out rather than taken from
/// `rand` because the seed is stored in the index: the stream behind it must
/// never change, and `rand` does not promise that for `SmallRng`.
pub(super) struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform draw from [0, 1) with 24 random bits.
    pub fn next_unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 * (1.0 / (1u64 << 24) as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::SmallRng, Rng, SeedableRng};

    fn dot64(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(&x, &y)| x as f64 * y as f64).sum()
    }

    #[test]
    fn rotation_preserves_norms_and_inner_products() {
        let mut rng = SmallRng::seed_from_u64(3);
        for dim in [1, 3, 64, 100, 128, 384, 1536, 16_000] {
            let rotation = Rotation::new(dim, 42);
            let padded = rotation.padded_dim();
            assert_eq!(padded % 64, 0);
            assert!(padded >= dim && padded < dim + 64);
            let a: Vec<f32> = (0..dim).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let b: Vec<f32> = (0..dim).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let (mut ra, mut rb) = (vec![0.0; padded], vec![0.0; padded]);
            rotation.rotate(&a, &mut ra);
            rotation.rotate(&b, &mut rb);
            let scale = dot64(&a, &a).max(1.0);
            for (x, y, rx, ry) in [(&a, &a, &ra, &ra), (&b, &b, &rb, &rb), (&a, &b, &ra, &rb)] {
                let (before, after) = (dot64(x, y), dot64(rx, ry));
                assert!((before - after).abs() <= 1e-5 * scale, "dim {dim}: {before} became {after}");
            }
        }
    }

    #[test]
    fn the_seed_alone_determines_the_rotation() {
        let input: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let rotate = |seed| {
            let rotation = Rotation::new(100, seed);
            let mut out = vec![0.0; rotation.padded_dim()];
            rotation.rotate(&input, &mut out);
            out
        };
        assert_eq!(rotate(7), rotate(7));
        assert_ne!(rotate(7), rotate(8));
    }

    #[test]
    fn a_basis_vector_is_spread_over_every_coordinate() {
        // What the error bound needs: no coordinate keeps the vector's mass.
        for dim in [128, 384, 1536] {
            let rotation = Rotation::new(dim, 1);
            let mut basis = vec![0.0; dim];
            basis[dim - 1] = 1.0;
            let mut out = vec![0.0; rotation.padded_dim()];
            rotation.rotate(&basis, &mut out);
            let largest = out.iter().fold(0.0f32, |m, x| m.max(x.abs()));
            assert!(largest < 4.0 / (dim as f32).sqrt(), "dim {dim}: a coordinate keeps {largest}");
        }
    }

    #[test]
    fn splitmix64_matches_its_reference_stream() {
        // First outputs for seed 0 from the reference C implementation.
        let mut random = SplitMix64(0);
        assert_eq!(random.next(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(random.next(), 0x6E78_9E6A_A1B9_65F4);
    }
}
