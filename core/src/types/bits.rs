//! Bit strings as PostgreSQL's `bit(n)` stores them: bytes, most significant
//! bit first, the unused low bits of the last byte zero. `binary_quantize`
//! makes them from dense vectors; Hamming and Jaccard distances compare them.

use super::Element;

/// The bytes a string of `bits` bits takes.
pub fn bytes_for(bits: usize) -> usize {
    bits.div_ceil(8)
}

/// Sets bit i of `out` when element i is positive; `out` has
/// [`bytes_for`]`(values.len())` zero bytes.
pub fn binary_quantize<E: Element>(values: &[E], out: &mut [u8]) {
    assert_eq!(out.len(), bytes_for(values.len()), "one bit per element");
    for (byte, chunk) in out.iter_mut().zip(values.chunks(8)) {
        *byte = chunk.iter().enumerate().fold(0u8, |acc, (j, x)| acc | (((x.to_f32() > 0.0) as u8) << (7 - j)));
    }
}

/// The number of positions where `a` and `b` differ.
pub fn hamming(a: &[u8], b: &[u8]) -> u64 {
    count_words(a, b, |x, y| (x ^ y).count_ones() as u64, |x, y| (x ^ y).count_ones() as u64)
}

/// One minus |a ∧ b| / |a ∨ b|; 1 when no bit is set in both, as pgvector.
pub fn jaccard_distance(a: &[u8], b: &[u8]) -> f64 {
    let both = count_words(a, b, |x, y| (x & y).count_ones() as u64, |x, y| (x & y).count_ones() as u64);
    if both == 0 {
        return 1.0;
    }
    let ones = |s: &[u8]| count_words(s, s, |x, _| x.count_ones() as u64, |x, _| x.count_ones() as u64);
    let either = ones(a) + ones(b) - both;
    1.0 - both as f64 / either as f64
}

/// Sums `word` over the 8-byte words of `a` and `b` and `byte` over the rest.
#[inline]
fn count_words(a: &[u8], b: &[u8], word: impl Fn(u64, u64) -> u64, byte: impl Fn(u8, u8) -> u64) -> u64 {
    assert_eq!(a.len(), b.len(), "bit strings of different lengths");
    let (words_a, words_b) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: u64 = words_a.remainder().iter().zip(words_b.remainder()).map(|(&x, &y)| byte(x, y)).sum();
    let read = |w: &[u8]| u64::from_ne_bytes(w.try_into().expect("8 bytes"));
    words_a.zip(words_b).map(|(x, y)| word(read(x), read(y))).sum::<u64>() + tail
}

/// An index keeps every key in 4-byte slots: a vector's as its float4
/// values, a bit string's 32 bits to a slot (its bytes in order, four to a
/// slot read little-endian, the last slot padded with zero bits). A bit
/// slot holds a bit pattern, never a number: the index copies slots
/// unchanged and only [`slot_hamming`] and [`slot_jaccard`] read them
/// (padding bits are zero on both sides, so they count nothing).
pub fn slots_for(bits: usize) -> usize {
    bits.div_ceil(32)
}

/// The slots of a bit string's bytes.
pub fn to_slots(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks(4)
        .map(|chunk| {
            let mut word = [0u8; 4];
            word[..chunk.len()].copy_from_slice(chunk);
            f32::from_bits(u32::from_le_bytes(word))
        })
        .collect()
}

/// [`hamming`] of two bit strings in slots.
pub fn slot_hamming(a: &[f32], b: &[f32]) -> f32 {
    count_slots(a, b, |x, y| x ^ y) as f32
}

/// [`jaccard_distance`] of two bit strings in slots.
pub fn slot_jaccard(a: &[f32], b: &[f32]) -> f32 {
    let both = count_slots(a, b, |x, y| x & y);
    if both == 0 {
        return 1.0;
    }
    let either = count_slots(a, b, |x, y| x | y);
    (1.0 - both as f64 / either as f64) as f32
}

/// Sums the set bits of `combine` over the slots of `a` and `b`. (The
/// compiler vectorizes the loop well: a popcnt build of it measured no
/// faster on 48 slots, 24 ns a call either way.)
#[inline]
fn count_slots(a: &[f32], b: &[f32], combine: impl Fn(u32, u32) -> u32) -> u32 {
    assert_eq!(a.len(), b.len(), "bit strings of different lengths");
    a.iter().zip(b).map(|(x, y)| combine(x.to_bits(), y.to_bits()).count_ones()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Half;
    use rand::{rngs::SmallRng, Rng, SeedableRng};

    fn bits(text: &str) -> Vec<u8> {
        let mut out = vec![0u8; bytes_for(text.len())];
        for (i, c) in text.chars().enumerate() {
            if c == '1' {
                out[i / 8] |= 1 << (7 - i % 8);
            }
        }
        out
    }

    #[test]
    fn quantizes_positive_elements_to_set_bits_most_significant_first() {
        let mut out = vec![0u8; 2];
        binary_quantize(&[1.0f32, -1.0, 0.0, 2.0, 0.5, -0.0, 3.0, 1e-9, 4.0], &mut out);
        assert_eq!(out, bits("100110111"));
        let mut half = vec![0u8; 1];
        binary_quantize(&[Half::from_f32(-1.0), Half::from_f32(0.25)], &mut half);
        assert_eq!(half, bits("01"));
    }

    #[test]
    fn distances_count_bits_across_words_and_tails() {
        let a = bits("10110000111100001111000011110000111100001111000011110000111100001011");
        let b = bits("00110000111100001111000011110000111100001111000011110000111100000001");
        assert_eq!(hamming(&a, &b), 3);
        assert_eq!(hamming(&a, &a), 0);
        let (c, d) = (bits("1100"), bits("1010"));
        assert_eq!(jaccard_distance(&c, &d), 1.0 - 1.0 / 3.0);
        assert_eq!(jaccard_distance(&bits("0000"), &bits("0000")), 1.0);
        assert_eq!(jaccard_distance(&bits("1000"), &bits("0100")), 1.0);
        assert_eq!(jaccard_distance(&a, &a), 0.0);
    }

    #[test]
    fn distances_in_slots_equal_the_distances_of_the_bytes() {
        let mut rng = SmallRng::seed_from_u64(3);
        for len in (1..=80).chain([1535, 1536, 64_000]) {
            let mut random = |density: f64| {
                let mut out = vec![0u8; bytes_for(len)];
                for i in 0..len {
                    if rng.gen_bool(density) {
                        out[i / 8] |= 1 << (7 - i % 8);
                    }
                }
                out
            };
            let (a, b, zero) = (random(0.5), random(0.1), random(0.0));
            let slots = |bytes: &[u8]| {
                let slots = to_slots(bytes);
                assert_eq!(slots.len(), slots_for(len));
                slots
            };
            assert_eq!(slot_hamming(&slots(&a), &slots(&b)) as u64, hamming(&a, &b), "len {len}");
            assert_eq!(slot_jaccard(&slots(&a), &slots(&b)), jaccard_distance(&a, &b) as f32, "len {len}");
            assert_eq!(slot_jaccard(&slots(&zero), &slots(&zero)), 1.0, "len {len}");
        }
    }
}
