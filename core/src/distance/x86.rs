//! AVX2+FMA and AVX-512 kernels.
//!
//! Each `#[target_feature]` body sits behind a safe wrapper; the wrappers are
//! reachable only through [`supported`], which hands out a kernel set only
//! after the CPU has been checked for its features.

use std::arch::x86_64::*;

use super::Kernels;

pub fn supported() -> Vec<Kernels> {
    let mut sets = Vec::new();
    if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        sets.push(Kernels {
            name: "avx2+fma",
            l2_squared: |a, b| unsafe { avx2::l2_squared(a, b) },
            dot: |a, b| unsafe { avx2::dot(a, b) },
            l1: |a, b| unsafe { avx2::l1(a, b) },
            cosine_parts: |a, b| unsafe { avx2::cosine_parts(a, b) },
            int8_parts: |a, c| unsafe { avx2::int8_parts(a, c) },
            dot_int8_pair: |a, b| unsafe { avx2::dot_int8_pair(a, b) },
        });
    }
    if is_x86_feature_detected!("avx512f") {
        sets.push(Kernels {
            name: "avx512f",
            l2_squared: |a, b| unsafe { avx512::l2_squared(a, b) },
            dot: |a, b| unsafe { avx512::dot(a, b) },
            l1: |a, b| unsafe { avx512::l1(a, b) },
            cosine_parts: |a, b| unsafe { avx512::cosine_parts(a, b) },
            int8_parts: |a, c| unsafe { avx512::int8_parts(a, c) },
            dot_int8_pair: |a, b| unsafe { avx512::dot_int8_pair(a, b) },
        });
    }
    sets
}

fn check_lengths<A, B>(a: &[A], b: &[B]) {
    assert_eq!(a.len(), b.len(), "distance between vectors of different lengths");
}

/// 8 lanes; four accumulators hide the FMA latency; the tail is scalar.
mod avx2 {
    use super::*;

    /// Generates a kernel from its per-register step and its per-element tail step.
    macro_rules! kernel {
        ($name:ident, |$acc:ident, $x:ident, $y:ident| $step:expr, |$sacc:ident, $sx:ident, $sy:ident| $scalar:expr) => {
            #[target_feature(enable = "avx2,fma")]
            pub unsafe fn $name(a: &[f32], b: &[f32]) -> f32 {
                check_lengths(a, b);
                let n = a.len();
                let (pa, pb) = (a.as_ptr(), b.as_ptr());
                let mut acc = [_mm256_setzero_ps(); 4];
                let mut i = 0;
                while i + 32 <= n {
                    for k in 0..4 {
                        // SAFETY: i + 8k + 8 <= n, so both loads are in bounds.
                        let ($x, $y) = unsafe { (_mm256_loadu_ps(pa.add(i + 8 * k)), _mm256_loadu_ps(pb.add(i + 8 * k))) };
                        let $acc = acc[k];
                        acc[k] = $step;
                    }
                    i += 32;
                }
                while i + 8 <= n {
                    // SAFETY: i + 8 <= n.
                    let ($x, $y) = unsafe { (_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i))) };
                    let $acc = acc[0];
                    acc[0] = $step;
                    i += 8;
                }
                let mut total = horizontal_sum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
                for j in i..n {
                    let ($sacc, $sx, $sy) = (total, a[j], b[j]);
                    total = $scalar;
                }
                total
            }
        };
    }

    kernel!(l2_squared, |acc, x, y| { let d = _mm256_sub_ps(x, y); _mm256_fmadd_ps(d, d, acc) }, |s, x, y| s + (x - y) * (x - y));
    kernel!(dot, |acc, x, y| _mm256_fmadd_ps(x, y, acc), |s, x, y| s + x * y);
    kernel!(l1, |acc, x, y| _mm256_add_ps(acc, _mm256_andnot_ps(_mm256_set1_ps(-0.0), _mm256_sub_ps(x, y))), |s, x, y| s + (x - y).abs());

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn cosine_parts(a: &[f32], b: &[f32]) -> (f32, f32, f32) {
        check_lengths(a, b);
        let n = a.len();
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let (mut ab, mut aa, mut bb) = (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps());
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n.
            let (x, y) = unsafe { (_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i))) };
            ab = _mm256_fmadd_ps(x, y, ab);
            aa = _mm256_fmadd_ps(x, x, aa);
            bb = _mm256_fmadd_ps(y, y, bb);
            i += 8;
        }
        let (mut ab, mut aa, mut bb) = (horizontal_sum(ab), horizontal_sum(aa), horizontal_sum(bb));
        for j in i..n {
            ab += a[j] * b[j];
            aa += a[j] * a[j];
            bb += b[j] * b[j];
        }
        (ab, aa, bb)
    }

    /// (a·c, Σa, |a|²) in one pass, 8 lanes at a time; the tail is scalar.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn int8_parts(a: &[f32], codes: &[i8]) -> (f32, f32, f32) {
        check_lengths(a, codes);
        let n = a.len();
        let (pa, pc) = (a.as_ptr(), codes.as_ptr());
        let (mut ac, mut sum, mut aa) = (_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps());
        let mut i = 0;
        while i + 8 <= n {
            // SAFETY: i + 8 <= n: 8 floats and 8 codes in bounds.
            let (x, c) = unsafe { (_mm256_loadu_ps(pa.add(i)), _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(pc.add(i).cast())))) };
            ac = _mm256_fmadd_ps(x, c, ac);
            sum = _mm256_add_ps(x, sum);
            aa = _mm256_fmadd_ps(x, x, aa);
            i += 8;
        }
        let (mut ac, mut sum, mut aa) = (horizontal_sum(ac), horizontal_sum(sum), horizontal_sum(aa));
        for j in i..n {
            ac += a[j] * codes[j] as f32;
            sum += a[j];
            aa += a[j] * a[j];
        }
        (ac, sum, aa)
    }

    /// 16 codes a step, widened to 16 bits and multiplied in pairs.
    #[target_feature(enable = "avx2")]
    pub unsafe fn dot_int8_pair(a: &[i8], b: &[i8]) -> i64 {
        check_lengths(a, b);
        let n = a.len();
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut total = 0i64;
        let mut i = 0;
        // Each 32-bit lane gains at most 2 * 127 * 127 a step: flushed to
        // 64 bits every 4,096 steps, far below overflow.
        while i + 16 <= n {
            let mut acc = _mm256_setzero_si256();
            let mut steps = 0;
            while i + 16 <= n && steps < 4096 {
                // SAFETY: i + 16 <= n.
                let (x, y) = unsafe { (_mm_loadu_si128(pa.add(i).cast()), _mm_loadu_si128(pb.add(i).cast())) };
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_cvtepi8_epi16(x), _mm256_cvtepi8_epi16(y)));
                i += 16;
                steps += 1;
            }
            let mut lanes = [0i32; 8];
            // SAFETY: 8 lanes of 32 bits fill the array.
            unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), acc) };
            total += lanes.iter().map(|&l| l as i64).sum::<i64>();
        }
        total + a[i..].iter().zip(&b[i..]).map(|(&x, &y)| x as i64 * y as i64).sum::<i64>()
    }

    #[target_feature(enable = "avx2,fma")]
    fn horizontal_sum(v: __m256) -> f32 {
        let quad = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let pair = _mm_add_ps(quad, _mm_movehl_ps(quad, quad));
        _mm_cvtss_f32(_mm_add_ss(pair, _mm_shuffle_ps::<0b01>(pair, pair)))
    }
}

/// 16 lanes; four accumulators; the tail is one masked load.
mod avx512 {
    use super::*;

    /// Lanes below `remaining` (capped at 16) set.
    fn tail_mask(remaining: usize) -> __mmask16 {
        if remaining >= 16 { 0xffff } else { ((1u32 << remaining) - 1) as __mmask16 }
    }

    macro_rules! kernel {
        ($name:ident, |$acc:ident, $x:ident, $y:ident| $step:expr) => {
            #[target_feature(enable = "avx512f")]
            pub unsafe fn $name(a: &[f32], b: &[f32]) -> f32 {
                check_lengths(a, b);
                let n = a.len();
                let (pa, pb) = (a.as_ptr(), b.as_ptr());
                let mut acc = [_mm512_setzero_ps(); 4];
                let mut i = 0;
                while i + 64 <= n {
                    for k in 0..4 {
                        // SAFETY: i + 16k + 16 <= n.
                        let ($x, $y) = unsafe { (_mm512_loadu_ps(pa.add(i + 16 * k)), _mm512_loadu_ps(pb.add(i + 16 * k))) };
                        let $acc = acc[k];
                        acc[k] = $step;
                    }
                    i += 64;
                }
                while i < n {
                    let mask = tail_mask(n - i);
                    // SAFETY: masked-off lanes are not read; set lanes are below n.
                    let ($x, $y) = unsafe { (_mm512_maskz_loadu_ps(mask, pa.add(i)), _mm512_maskz_loadu_ps(mask, pb.add(i))) };
                    let $acc = acc[0];
                    acc[0] = $step;
                    i += 16;
                }
                _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])))
            }
        };
    }

    kernel!(l2_squared, |acc, x, y| { let d = _mm512_sub_ps(x, y); _mm512_fmadd_ps(d, d, acc) });
    kernel!(dot, |acc, x, y| _mm512_fmadd_ps(x, y, acc));
    kernel!(l1, |acc, x, y| _mm512_add_ps(acc, _mm512_abs_ps(_mm512_sub_ps(x, y))));

    #[target_feature(enable = "avx512f")]
    pub unsafe fn cosine_parts(a: &[f32], b: &[f32]) -> (f32, f32, f32) {
        check_lengths(a, b);
        let n = a.len();
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let (mut ab, mut aa, mut bb) = (_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps());
        let mut i = 0;
        while i < n {
            let mask = tail_mask(n - i);
            // SAFETY: masked-off lanes are not read; set lanes are below n.
            let (x, y) = unsafe { (_mm512_maskz_loadu_ps(mask, pa.add(i)), _mm512_maskz_loadu_ps(mask, pb.add(i))) };
            ab = _mm512_fmadd_ps(x, y, ab);
            aa = _mm512_fmadd_ps(x, x, aa);
            bb = _mm512_fmadd_ps(y, y, bb);
            i += 16;
        }
        (_mm512_reduce_add_ps(ab), _mm512_reduce_add_ps(aa), _mm512_reduce_add_ps(bb))
    }

    /// (a·c, Σa, |a|²) in one pass, 16 lanes at a time; the tail is scalar.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn int8_parts(a: &[f32], codes: &[i8]) -> (f32, f32, f32) {
        check_lengths(a, codes);
        let n = a.len();
        let (pa, pc) = (a.as_ptr(), codes.as_ptr());
        let (mut ac, mut sum, mut aa) = (_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps());
        let mut i = 0;
        while i + 16 <= n {
            // SAFETY: i + 16 <= n: 16 floats and 16 codes in bounds.
            let (x, c) = unsafe { (_mm512_loadu_ps(pa.add(i)), _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(pc.add(i).cast())))) };
            ac = _mm512_fmadd_ps(x, c, ac);
            sum = _mm512_add_ps(x, sum);
            aa = _mm512_fmadd_ps(x, x, aa);
            i += 16;
        }
        let (mut ac, mut sum, mut aa) = (_mm512_reduce_add_ps(ac), _mm512_reduce_add_ps(sum), _mm512_reduce_add_ps(aa));
        for j in i..n {
            ac += a[j] * codes[j] as f32;
            sum += a[j];
            aa += a[j] * a[j];
        }
        (ac, sum, aa)
    }

    /// 16 codes a step, widened to 32 bits (AVX-512F has no 16-bit multiply-add).
    #[target_feature(enable = "avx512f")]
    pub unsafe fn dot_int8_pair(a: &[i8], b: &[i8]) -> i64 {
        check_lengths(a, b);
        let n = a.len();
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut total = 0i64;
        let mut i = 0;
        // Each 32-bit lane gains at most 127 * 127 a step: flushed to 64
        // bits every 4,096 steps, far below overflow.
        while i + 16 <= n {
            let mut acc = _mm512_setzero_si512();
            let mut steps = 0;
            while i + 16 <= n && steps < 4096 {
                // SAFETY: i + 16 <= n.
                let (x, y) = unsafe { (_mm_loadu_si128(pa.add(i).cast()), _mm_loadu_si128(pb.add(i).cast())) };
                acc = _mm512_add_epi32(acc, _mm512_mullo_epi32(_mm512_cvtepi8_epi32(x), _mm512_cvtepi8_epi32(y)));
                i += 16;
                steps += 1;
            }
            total += _mm512_reduce_add_epi32(acc) as i64;
        }
        total + a[i..].iter().zip(&b[i..]).map(|(&x, &y)| x as i64 * y as i64).sum::<i64>()
    }
}
