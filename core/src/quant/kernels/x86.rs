//! x86-64 kernels: the portable body with `popcnt`, AVX2 (nibble-table
//! popcount, Muła et al. 2018) and AVX-512 `vpopcntq`.
//!
//! Each `#[target_feature]` body sits behind a safe wrapper; the wrappers are
//! reachable only through [`supported`], which hands out a kernel set only
//! after the CPU has been checked for its features. The vector kernels keep
//! lane-wise sums through Horner's rule (doubling is lane-wise too) and
//! reduce once at the end.

use std::arch::x86_64::*;

use super::{plane_count, portable, Kernels};

pub fn supported() -> Vec<Kernels> {
    let mut sets = Vec::new();
    if is_x86_feature_detected!("popcnt") {
        // SAFETY: the CPU has popcnt.
        sets.push(Kernels { name: "popcnt", planes_dot: |c, q, w| unsafe { popcnt::planes_dot(c, q, w) } });
    }
    if is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2.
        sets.push(Kernels { name: "avx2", planes_dot: |c, q, w| unsafe { avx2::planes_dot(c, q, w) } });
    }
    if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vpopcntdq") {
        // SAFETY: the CPU has AVX-512F and VPOPCNTDQ.
        sets.push(Kernels { name: "avx512vpopcntdq", planes_dot: |c, q, w| unsafe { avx512::planes_dot(c, q, w) } });
    }
    sets
}

mod popcnt {
    use super::*;

    /// The portable body, compiled with `count_ones` as one instruction.
    #[target_feature(enable = "popcnt")]
    pub unsafe fn planes_dot(code: &[u8], query: &[u8], words: usize) -> u64 {
        portable::planes_dot_body(code, query, words)
    }
}

/// 4 words per register; a masked load takes the last 1-3 words.
mod avx2 {
    use super::*;

    #[target_feature(enable = "avx2")]
    pub unsafe fn planes_dot(code: &[u8], query: &[u8], words: usize) -> u64 {
        let (code_planes, query_planes) = (plane_count(code, words), plane_count(query, words));
        let plane_bytes = 8 * words;
        let mut total = _mm256_setzero_si256();
        for j in 0..code_planes {
            let mut plane_sum = _mm256_setzero_si256();
            for k in 0..query_planes {
                let mut ones = _mm256_setzero_si256();
                let mut w = 0;
                while w < words {
                    let mask = tail_mask(words - w);
                    // SAFETY: plane_count checked that both slices hold whole
                    // planes, so words w..w+4 of plane j and k lie inside them
                    // except lanes the mask leaves unread.
                    let (c, q) = unsafe {
                        (
                            _mm256_maskload_epi64(code.as_ptr().add(j * plane_bytes + 8 * w).cast(), mask),
                            _mm256_maskload_epi64(query.as_ptr().add(k * plane_bytes + 8 * w).cast(), mask),
                        )
                    };
                    ones = _mm256_add_epi64(ones, popcount_lanes(_mm256_and_si256(c, q)));
                    w += 4;
                }
                plane_sum = _mm256_add_epi64(_mm256_add_epi64(plane_sum, plane_sum), ones);
            }
            total = _mm256_add_epi64(_mm256_add_epi64(total, total), plane_sum);
        }
        let pair = _mm_add_epi64(_mm256_castsi256_si128(total), _mm256_extracti128_si256::<1>(total));
        (_mm_cvtsi128_si64(pair) + _mm_extract_epi64::<1>(pair)) as u64
    }

    /// All-ones in the lanes below `remaining` (capped at 4).
    #[target_feature(enable = "avx2")]
    fn tail_mask(remaining: usize) -> __m256i {
        let lanes = remaining.min(4) as i64;
        _mm256_cmpgt_epi64(_mm256_set1_epi64x(lanes), _mm256_setr_epi64x(0, 1, 2, 3))
    }

    /// Popcount of each 64-bit lane: a 16-entry table per nibble, summed by `vpsadbw`.
    #[target_feature(enable = "avx2")]
    fn popcount_lanes(v: __m256i) -> __m256i {
        let table = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
        let nibble = _mm256_set1_epi8(0x0f);
        let low = _mm256_shuffle_epi8(table, _mm256_and_si256(v, nibble));
        let high = _mm256_shuffle_epi8(table, _mm256_and_si256(_mm256_srli_epi16::<4>(v), nibble));
        _mm256_sad_epu8(_mm256_add_epi8(low, high), _mm256_setzero_si256())
    }
}

/// 8 words per register; a masked load takes the last 1-7 words.
mod avx512 {
    use super::*;

    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    pub unsafe fn planes_dot(code: &[u8], query: &[u8], words: usize) -> u64 {
        let (code_planes, query_planes) = (plane_count(code, words), plane_count(query, words));
        let plane_bytes = 8 * words;
        let mut total = _mm512_setzero_si512();
        for j in 0..code_planes {
            let mut plane_sum = _mm512_setzero_si512();
            for k in 0..query_planes {
                let mut ones = _mm512_setzero_si512();
                let mut w = 0;
                while w < words {
                    let mask: __mmask8 = if words - w >= 8 { 0xff } else { (1u8 << (words - w)) - 1 };
                    // SAFETY: plane_count checked that both slices hold whole
                    // planes, so words w..w+8 of plane j and k lie inside them
                    // except lanes the mask leaves unread.
                    let (c, q) = unsafe {
                        (
                            _mm512_maskz_loadu_epi64(mask, code.as_ptr().add(j * plane_bytes + 8 * w).cast()),
                            _mm512_maskz_loadu_epi64(mask, query.as_ptr().add(k * plane_bytes + 8 * w).cast()),
                        )
                    };
                    ones = _mm512_add_epi64(ones, _mm512_popcnt_epi64(_mm512_and_si512(c, q)));
                    w += 8;
                }
                plane_sum = _mm512_add_epi64(_mm512_add_epi64(plane_sum, plane_sum), ones);
            }
            total = _mm512_add_epi64(_mm512_add_epi64(total, total), plane_sum);
        }
        _mm512_reduce_add_epi64(total) as u64
    }
}
