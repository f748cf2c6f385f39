//! Kernels in plain Rust. Eight independent lanes let the compiler use
//! whatever vector unit the target baseline has (SSE2 on x86-64).

use super::Kernels;

pub const KERNELS: Kernels =
    Kernels { name: "portable", l2_squared, dot, l1, cosine_parts, int8_parts, dot_int8_pair };

const LANES: usize = 8;

/// Folds `step(acc_lane, x, y)` over both slices in LANES independent sums.
#[inline(always)]
fn fold_lanes(a: &[f32], b: &[f32], step: impl Fn(f32, f32, f32) -> f32) -> f32 {
    assert_eq!(a.len(), b.len(), "distance between vectors of different lengths");
    let mut acc = [0.0f32; LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (a_rest, b_rest) = (a_chunks.remainder(), b_chunks.remainder());
    for (x, y) in a_chunks.zip(b_chunks) {
        for i in 0..LANES {
            acc[i] = step(acc[i], x[i], y[i]);
        }
    }
    for (i, (&x, &y)) in a_rest.iter().zip(b_rest).enumerate() {
        acc[i] = step(acc[i], x, y);
    }
    acc.iter().sum()
}

fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    fold_lanes(a, b, |acc, x, y| acc + (x - y) * (x - y))
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    fold_lanes(a, b, |acc, x, y| acc + x * y)
}

fn l1(a: &[f32], b: &[f32]) -> f32 {
    fold_lanes(a, b, |acc, x, y| acc + (x - y).abs())
}

fn cosine_parts(a: &[f32], b: &[f32]) -> (f32, f32, f32) {
    (dot(a, b), dot(a, a), dot(b, b))
}

fn int8_parts(a: &[f32], codes: &[i8]) -> (f32, f32, f32) {
    assert_eq!(a.len(), codes.len(), "distance between vectors of different lengths");
    let (mut ac, mut sum, mut aa) = ([0.0f32; LANES], [0.0f32; LANES], [0.0f32; LANES]);
    for (i, (&x, &c)) in a.iter().zip(codes).enumerate() {
        let lane = i % LANES;
        ac[lane] += x * c as f32;
        sum[lane] += x;
        aa[lane] += x * x;
    }
    (ac.iter().sum(), sum.iter().sum(), aa.iter().sum())
}

fn dot_int8_pair(a: &[i8], b: &[i8]) -> i64 {
    assert_eq!(a.len(), b.len(), "distance between vectors of different lengths");
    a.iter().zip(b).map(|(&x, &y)| x as i64 * y as i64).sum()
}
