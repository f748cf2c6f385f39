//! The kernel in plain Rust, on `u64::count_ones`. Without a `popcnt`
//! target feature that is a bit-twiddling sequence; [`super::x86`] compiles
//! the same body with the instruction enabled.

use super::{Kernels, PlaneShape};

pub const KERNELS: Kernels = Kernels { name: "portable", planes_dot, min_pair_words: 0 };

fn planes_dot(code: &[u8], query: &[u8], shape: PlaneShape) -> u64 {
    planes_dot_body(code, query, shape)
}

/// Σⱼ Σₖ 2^((B-1-j) + (B_q-1-k)) · Σ_w popcount(code[j][w] & query[k][w]),
/// folded by Horner's rule over k and then j so no shift depends on B.
#[inline(always)]
pub fn planes_dot_body(code: &[u8], query: &[u8], shape: PlaneShape) -> u64 {
    shape.check(code, query);
    let plane_bytes = 8 * shape.words;
    let mut total = 0u64;
    for code_plane in code.chunks_exact(plane_bytes) {
        let mut plane_sum = 0u64;
        for query_plane in query.chunks_exact(plane_bytes) {
            let ones: u64 =
                code_plane.chunks_exact(8).zip(query_plane.chunks_exact(8)).map(|(c, q)| (word(c) & word(q)).count_ones() as u64).sum();
            plane_sum = 2 * plane_sum + ones;
        }
        total = 2 * total + plane_sum;
    }
    total
}

#[inline(always)]
fn word(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().expect("an 8-byte chunk"))
}
