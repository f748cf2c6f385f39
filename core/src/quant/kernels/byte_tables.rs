//! Σᵢ codeᵢ·queryᵢ by table lookup, for codes of several bits in few
//! dimensions.
//!
//! The popcount kernels pair every code plane with every query plane:
//! B·B_q AND + popcount passes (28 at B = 4, B_q = 7). Here the query is
//! turned once into one table per code byte: entry b of table g is the sum
//! of the query levels of the dimensions 8g..8g+7 whose bits are set in b.
//! A code plane then costs one lookup per byte, whatever B_q is, and the
//! planes are combined by Horner's rule as in the popcount kernels; the
//! integer is the same. The tables take 64 bytes per dimension, so they pay
//! in few dimensions, where they stay in L1 (see [`ByteTables::pay_off`]).

/// One 256-entry table per code byte (8 dimensions) of a prepared query.
#[derive(Clone)]
pub struct ByteTables(Vec<[u16; 256]>);

impl ByteTables {
    /// Whether tables beat the popcount kernels for codes
    /// in `padded_dim` dimensions. `cargo bench --bench rabitq` on a
    /// 2-core AVX2 machine, per estimate against the best popcount kernel:
    /// 128 dimensions 13 against 20 ns (B = 1), 33 against 53 (B = 4); 384
    /// dimensions, with 24 KiB of tables, 43 against 44 (B = 2). Building
    /// them costs about 2 us at 128 dimensions, tens of estimates.
    pub fn pay_off(padded_dim: usize) -> bool {
        padded_dim <= 256
    }

    /// The tables of a query quantized to `levels` (one per dimension, a
    /// multiple of 8 of them, each below 256 so a table entry fits u16).
    pub fn new(levels: &[u8]) -> Self {
        assert_eq!(levels.len() % 8, 0, "levels of whole bytes of dimensions");
        let tables = levels
            .chunks_exact(8)
            .map(|group| {
                let (low, high) = (nibble_table(&group[..4]), nibble_table(&group[4..]));
                std::array::from_fn(|byte| low[byte & 15] + high[byte >> 4])
            })
            .collect();
        ByteTables(tables)
    }

    /// Σᵢ codeᵢ·levelᵢ for a code of `code_bits` MSB-first planes (the
    /// layout [`super`] describes), one byte per table each.
    #[inline]
    pub fn planes_dot(&self, code: &[u8], code_bits: usize) -> u64 {
        let plane_bytes = self.0.len();
        assert_eq!(code.len(), plane_bytes * code_bits, "a code of the wrong length");
        let mut total = 0u64;
        for plane in code.chunks_exact(plane_bytes) {
            // Four running sums so consecutive lookups do not wait on one add.
            let mut sums = [0u32; 4];
            let mut quads = plane.chunks_exact(4).zip(self.0.chunks_exact(4));
            for (bytes, tables) in &mut quads {
                for lane in 0..4 {
                    sums[lane] += u32::from(tables[lane][usize::from(bytes[lane])]);
                }
            }
            let tail = plane.len() / 4 * 4;
            let rest: u32 = plane[tail..].iter().zip(&self.0[tail..]).map(|(&b, table)| u32::from(table[usize::from(b)])).sum();
            total = 2 * total + u64::from(sums.iter().sum::<u32>() + rest);
        }
        total
    }
}

/// Entry n: the sum of the four `levels` whose bits are set in n.
fn nibble_table(levels: &[u8]) -> [u16; 16] {
    let mut table = [0u16; 16];
    for n in 1..16usize {
        // the entry without the lowest set bit, plus that bit's level
        table[n] = table[n & (n - 1)] + u16::from(levels[n.trailing_zeros() as usize]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::SmallRng, Rng, SeedableRng};

    #[test]
    fn tables_compute_the_plain_dot_product() {
        let mut rng = SmallRng::seed_from_u64(5);
        for dims in [8, 64, 128, 136, 384] {
            for (code_bits, level_bits) in [(1, 4), (2, 5), (4, 7), (8, 8)] {
                let levels: Vec<u8> = (0..dims).map(|_| rng.gen_range(0..1u32 << level_bits) as u8).collect();
                let codes: Vec<u8> = (0..dims).map(|_| rng.gen_range(0..1u32 << code_bits) as u8).collect();
                let mut planes = vec![0u8; code_bits * dims / 8];
                for (i, &c) in codes.iter().enumerate() {
                    for plane in 0..code_bits {
                        let bit = (c >> (code_bits - 1 - plane)) & 1;
                        planes[plane * dims / 8 + i / 8] |= bit << (i % 8);
                    }
                }
                let want: u64 = codes.iter().zip(&levels).map(|(&c, &q)| u64::from(c) * u64::from(q)).sum();
                assert_eq!(ByteTables::new(&levels).planes_dot(&planes, code_bits), want, "{dims} dims, B {code_bits}");
            }
        }
    }
}
