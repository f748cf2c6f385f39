//! IEEE 754 binary16, the element of `halfvec`.
//!
//! Stable Rust has no `f16` yet, so [`Half`] is the bit pattern with exact
//! conversions: widening is exact (every half is a float), narrowing rounds
//! to nearest with ties to even, as the F16C instruction does. Bulk widening
//! uses F16C when the CPU has it.

/// A binary16 value: 1 sign bit, 5 exponent bits, 10 mantissa bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(transparent)]
pub struct Half(u16);

const EXPONENT_MASK: u16 = 0x7c00;
const MANTISSA_MASK: u16 = 0x03ff;

impl Half {
    pub const fn from_bits(bits: u16) -> Self {
        Half(bits)
    }

    pub const fn to_bits(self) -> u16 {
        self.0
    }

    pub fn is_infinite(self) -> bool {
        self.0 & 0x7fff == EXPONENT_MASK
    }

    /// The exact float4 with this value.
    pub fn to_f32(self) -> f32 {
        let sign = ((self.0 & 0x8000) as u32) << 16;
        let exponent = (self.0 & EXPONENT_MASK) >> 10;
        let mantissa = (self.0 & MANTISSA_MASK) as u32;
        match exponent {
            0 => {
                // zero or subnormal: mantissa × 2^-24, exact in float4
                let magnitude = mantissa as f32 * f32::from_bits(0x3380_0000);
                f32::from_bits(sign | magnitude.to_bits())
            }
            0x1f => f32::from_bits(sign | 0x7f80_0000 | (mantissa << 13)),
            _ => f32::from_bits(sign | ((exponent as u32 + 127 - 15) << 23) | (mantissa << 13)),
        }
    }

    /// The half nearest to `x`, ties to even; finite values of 65520 and
    /// more in magnitude become infinity, NaN stays NaN.
    pub fn from_f32(x: f32) -> Self {
        let bits = x.to_bits();
        let sign = ((bits >> 16) & 0x8000) as u16;
        let magnitude = bits & 0x7fff_ffff;
        if magnitude >= 0x7f80_0000 {
            let quiet_nan = if magnitude > 0x7f80_0000 { 0x0200 } else { 0 };
            return Half(sign | EXPONENT_MASK | quiet_nan);
        }
        let exponent = (magnitude >> 23) as i32 - 127;
        if exponent > 15 {
            return Half(sign | EXPONENT_MASK);
        }
        // The significand with its implicit bit, and how far it shifts right
        // to land on the half's unit in the last place.
        let (significand, shift, base) = if exponent >= -14 {
            (magnitude & 0x007f_ffff, 13, ((exponent + 15) as u32) << 10)
        } else if exponent >= -25 {
            ((magnitude & 0x007f_ffff) | 0x0080_0000, (-exponent - 1) as u32, 0)
        } else {
            return Half(sign);
        };
        let kept = significand >> shift;
        let dropped = significand & ((1 << shift) - 1);
        let halfway = 1 << (shift - 1);
        let round_up = dropped > halfway || (dropped == halfway && kept & 1 == 1);
        // A carry out of the mantissa moves into the exponent, which is
        // exactly right, up to infinity (0x7c00) for 65520 and above.
        Half(sign | (base + kept + round_up as u32) as u16)
    }
}

/// Writes `values` as float4 into `out`, which has their length.
pub fn widen_into(values: &[Half], out: &mut [f32]) {
    assert_eq!(values.len(), out.len(), "widening into a slice of another length");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("f16c") {
        // SAFETY: the CPU has F16C (and so AVX), checked just above.
        unsafe { widen_f16c(values, out) };
        return;
    }
    widen_portable(values, out);
}

fn widen_portable(values: &[Half], out: &mut [f32]) {
    for (r, x) in out.iter_mut().zip(values) {
        *r = x.to_f32();
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,f16c")]
unsafe fn widen_f16c(values: &[Half], out: &mut [f32]) {
    use std::arch::x86_64::{__m128i, _mm256_cvtph_ps, _mm256_storeu_ps, _mm_loadu_si128};
    let blocks = values.len() / 8;
    for block in 0..blocks {
        // SAFETY: block * 8 + 8 <= len for both slices (equal lengths);
        // unaligned loads and stores.
        unsafe {
            let halves = _mm_loadu_si128(values.as_ptr().add(block * 8).cast::<__m128i>());
            _mm256_storeu_ps(out.as_mut_ptr().add(block * 8), _mm256_cvtph_ps(halves));
        }
    }
    widen_portable(&values[blocks * 8..], &mut out[blocks * 8..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::SmallRng, Rng, SeedableRng};

    #[test]
    fn every_half_widens_and_narrows_back_to_itself() {
        for bits in 0..=u16::MAX {
            let half = Half::from_bits(bits);
            let wide = half.to_f32();
            if wide.is_nan() {
                assert!(Half::from_f32(wide).to_f32().is_nan());
            } else {
                assert_eq!(Half::from_f32(wide), half, "bits {bits:#06x} widened to {wide}");
            }
        }
    }

    #[test]
    fn known_values() {
        assert_eq!(Half::from_f32(1.0).to_bits(), 0x3c00);
        assert_eq!(Half::from_f32(-2.0).to_bits(), 0xc000);
        assert_eq!(Half::from_f32(65504.0).to_bits(), 0x7bff);
        assert_eq!(Half::from_f32(65519.996).to_bits(), 0x7bff);
        assert!(Half::from_f32(65520.0).is_infinite(), "the tie above the largest half rounds to infinity");
        assert_eq!(Half::from_f32(5.960_464_5e-8).to_bits(), 0x0001, "the smallest subnormal");
        assert_eq!(Half::from_f32(2.980_232_2e-8).to_bits(), 0x0000, "half of it ties to even zero");
        assert_eq!(Half::from_f32(2.980_233e-8).to_bits(), 0x0001, "just above half rounds up");
        assert_eq!(Half::from_f32(-0.0).to_bits(), 0x8000);
        assert_eq!(Half::from_f32(1.0e-10).to_bits(), 0x0000);
        assert_eq!(Half::from_f32(0.1).to_f32(), 0.099_975_586);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn narrowing_matches_the_f16c_instruction() {
        use std::arch::x86_64::{_mm_cvtps_ph, _mm_cvtsi128_si32, _mm_set1_ps, _MM_FROUND_TO_NEAREST_INT};
        if !std::arch::is_x86_feature_detected!("f16c") {
            return;
        }
        #[target_feature(enable = "f16c")]
        unsafe fn hardware(x: f32) -> u16 {
            _mm_cvtsi128_si32(_mm_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(_mm_set1_ps(x))) as u16
        }
        let mut rng = SmallRng::seed_from_u64(11);
        let interesting = (0..2_000_000).map(|_| f32::from_bits(rng.gen::<u32>()));
        // every float4 exponent near the half range, with random mantissas
        let near_range = (0x3000_0000u32..0x4800_0000).step_by(997).map(f32::from_bits);
        for x in interesting.chain(near_range).filter(|x| !x.is_nan()) {
            // SAFETY: F16C was detected above.
            let expected = unsafe { hardware(x) };
            assert_eq!(Half::from_f32(x).to_bits(), expected, "{x:e} ({:#010x})", x.to_bits());
        }
    }

    #[test]
    fn bulk_widening_agrees_with_the_scalar_conversion_at_every_length() {
        let mut rng = SmallRng::seed_from_u64(3);
        for len in 0..40 {
            let halves: Vec<Half> = (0..len).map(|_| Half::from_f32(rng.gen_range(-70000.0..70000.0))).collect();
            let mut out = vec![0.0; len];
            widen_into(&halves, &mut out);
            let expected: Vec<f32> = halves.iter().map(|h| h.to_f32()).collect();
            assert_eq!(out, expected);
        }
    }
}
