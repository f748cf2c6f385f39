//! Reading one float4 literal of a vector's text form, fast.
//!
//! A query vector arrives as text in most clients (`[0.0123456789012345,...]`,
//! 17 significant digits from a float64 repr), and reading it was a sixth of
//! a 1,536-dimension index search's CPU. The common shape, a plain decimal
//! of at most 19 significant digits with a small exponent, is read here in
//! one pass with float64 arithmetic; everything else (more digits, `inf`,
//! hexadecimal, results near the float4 limits, and the rare value too close
//! to a rounding boundary) goes to the standard library's exact parser, so
//! the result is always the correctly rounded float4 that `strtof` returns.

/// Exact powers of ten in float64 (10^22 is the largest that is exact).
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
    1e20, 1e21, 1e22,
];

/// The float4 a decimal literal names, as `strtof` reads it; `None` for a
/// token that is not one.
pub fn parse_float4(token: &str) -> Option<f32> {
    if let Some((value, end)) = parse_plain_decimal(token.as_bytes(), 0) {
        if end == token.len() {
            return Some(value);
        }
    }
    // Rust accepts "infinity"/"nan" like strtof does, but also a lone "+" or "-"
    // prefix on "nan"; both end up rejected as NaN/infinite, as in pgvector.
    if token.is_empty() {
        return None;
    }
    token.parse::<f32>().ok()
}

/// Reads `[+-]digits[.digits][(e|E)[+-]digits]` (or `.digits` for the
/// integer part) at `bytes[start..]`, with at most 19 significant digits,
/// when float64 arithmetic decides its float4 rounding: the value and where
/// the number ends. `None` sends the token to [`parse_float4`]. The caller
/// checks what follows the number.
pub fn parse_plain_decimal(bytes: &[u8], start: usize) -> Option<(f32, usize)> {
    let mut at = start;
    let negative = read_sign(bytes, &mut at);
    let digits_start = at;
    // Leading zeros add nothing; the digits after them are all significant.
    while bytes.get(at) == Some(&b'0') {
        at += 1;
    }
    let mut mantissa: u64 = 0;
    let integer_digits = read_digits(bytes, &mut at, &mut mantissa, 0)?;
    let mut exponent: i32 = 0;
    let mut digits_seen = at > digits_start;
    if bytes.get(at) == Some(&b'.') {
        at += 1;
        let fraction_start = at;
        if integer_digits == 0 {
            while bytes.get(at) == Some(&b'0') {
                at += 1;
            }
        }
        read_digits(bytes, &mut at, &mut mantissa, integer_digits)?;
        exponent -= (at - fraction_start) as i32;
        digits_seen |= at > fraction_start;
    }
    if !digits_seen {
        return None;
    }
    if let Some(b'e' | b'E') = bytes.get(at) {
        at += 1;
        let exponent_negative = read_sign(bytes, &mut at);
        let written_start = at;
        let mut written: i32 = 0;
        while let Some(&c @ b'0'..=b'9') = bytes.get(at) {
            written = written * 10 + i32::from(c - b'0');
            if written > 1000 {
                return None;
            }
            at += 1;
        }
        if at == written_start {
            return None;
        }
        exponent += if exponent_negative { -written } else { written };
    }
    let magnitude = if mantissa == 0 { 0.0 } else { scale(mantissa, exponent)? };
    Some((if negative { -magnitude } else { magnitude }, at))
}

/// Steps over an optional `+` or `-` at `bytes[*at]`; whether it was `-`.
fn read_sign(bytes: &[u8], at: &mut usize) -> bool {
    match bytes.get(*at) {
        Some(&sign @ (b'-' | b'+')) => {
            *at += 1;
            sign == b'-'
        }
        _ => false,
    }
}

/// Appends the decimal digits at `bytes[*at..]` to `mantissa`, which holds
/// `already` significant digits, eight at a time where it can; returns how
/// many, or `None` past 19 significant digits in all (`mantissa` would
/// overflow).
fn read_digits(bytes: &[u8], at: &mut usize, mantissa: &mut u64, already: u32) -> Option<u32> {
    let mut count = 0u32;
    while let Some(chunk) = bytes.get(*at..*at + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        if already + count + 8 > 19 || !all_digits(word) {
            break;
        }
        *mantissa = *mantissa * 100_000_000 + eight_digits(word);
        count += 8;
        *at += 8;
    }
    while let Some(&c @ b'0'..=b'9') = bytes.get(*at) {
        count += 1;
        if already + count > 19 {
            return None;
        }
        *mantissa = *mantissa * 10 + u64::from(c - b'0');
        *at += 1;
    }
    Some(count)
}

/// Whether all eight bytes of `word` are ASCII digits: each byte's high
/// nibble is 3, and adding 6 does not carry out of the low nibble.
fn all_digits(word: u64) -> bool {
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const THREES: u64 = 0x3030_3030_3030_3030;
    word & HIGH == THREES && (word.wrapping_add(0x0606_0606_0606_0606) & HIGH) == THREES
}

/// The number eight ASCII digits spell, the first in the lowest byte:
/// adjacent digits combined into pairs, pairs into fours, fours into eight.
fn eight_digits(word: u64) -> u64 {
    let digits = word - 0x3030_3030_3030_3030;
    let pairs = (digits * 10 + (digits >> 8)) & 0x00FF_00FF_00FF_00FF;
    let fours = (pairs * 100 + (pairs >> 16)) & 0x0000_FFFF_0000_FFFF;
    (fours * 10_000 + (fours >> 32)) & 0xFFFF_FFFF
}

/// mantissa x 10^exponent as a float4, when float64 arithmetic settles it.
///
/// The float64 result carries at most three roundings (the mantissa past
/// 2^53 and at most two scalings by exact powers of ten), each within half a
/// float64 unit in the last place, so the exact value lies within 2 units of
/// it. Rounding to float4 drops 29 bits; that rounding is the exact value's
/// unless a float4 rounding boundary (dropped bits exactly 1 << 28) lies
/// within those 2 units, so a result within 8 units of one is left to the
/// exact parser. Results outside the normal float4 range are too.
fn scale(mantissa: u64, exponent: i32) -> Option<f32> {
    let mut value = mantissa as f64;
    let mut steps = exponent.unsigned_abs() as usize;
    if steps > 2 * 22 {
        return None;
    }
    while steps > 0 {
        let step = steps.min(22);
        value = if exponent < 0 { value / POW10[step] } else { value * POW10[step] };
        steps -= step;
    }
    if !(f32::MIN_POSITIVE as f64..=f32::MAX as f64 / 2.0).contains(&value) {
        return None;
    }
    const DROPPED: u64 = (1 << 29) - 1;
    const BOUNDARY: u64 = 1 << 28;
    let dropped = value.to_bits() & DROPPED;
    if dropped.abs_diff(BOUNDARY) <= 8 {
        return None;
    }
    Some(value as f32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn agrees(token: &str) {
        let standard = token.parse::<f32>().ok();
        let fast = parse_float4(token);
        assert_eq!(fast.map(f32::to_bits), standard.map(f32::to_bits), "{token}");
    }

    #[test]
    fn common_shapes_read_as_the_standard_parser_reads_them() {
        for token in [
            "0", "-0", "+0", "0.0", "-0.0", "1", "-1", "1.5", ".5", "5.", "-.5", "1e5", "1E+05", "1e-5", "123456789",
            "0.1", "0.10000000149011612", "16777217", "16777216.5", "3.4028235e38", "3.4028236e38", "1.17549435e-38",
            "1e-45", "1e-46", "1e39", "00000000000000000000000001.5", "1.00000000000000000000001", "9999999999999999999",
            "99999999999999999999", "1e-1000", "1e1000", "0e1000000", "120941296", "6.0170237e12",
            "12345678.12345678", "0.0000000001234567890123456789", "1234567890123456789", "12345678901234567890",
            "0.06551539897918701", "-0.089323163032531", "00000000.00000000", "1234567:", "9e-1",
        ] {
            agrees(token);
        }
    }

    #[test]
    fn what_is_not_a_plain_decimal_still_reads() {
        for token in ["inf", "-Infinity", "nan", "", "+", "-", ".", "e5", "1e", "1e+", "1.2.3", "1,5", "0x10", " 1"] {
            agrees(token);
        }
    }

    #[test]
    fn random_values_in_every_form_read_exactly() {
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        for _ in 0..200_000 {
            let value = f32::from_bits(rng.gen_range(0..0x7f80_0000u32)) * if rng.gen() { 1.0 } else { -1.0 };
            agrees(&format!("{value}"));
            agrees(&format!("{value:e}"));
            agrees(&format!("{}", value as f64));
            agrees(&format!("{:.*}", rng.gen_range(0..12), value));
            agrees(&format!("{:.*e}", rng.gen_range(0..20), value as f64));
        }
    }

    #[test]
    fn decimals_near_rounding_boundaries_read_exactly() {
        // Halfway between two float4s, and a hair on either side of it.
        let mut rng = rand::rngs::SmallRng::seed_from_u64(11);
        for _ in 0..100_000 {
            let below = f32::from_bits(rng.gen_range(0x0080_0000..0x7f00_0000u32));
            let above = f32::from_bits(below.to_bits() + 1);
            let halfway = (below as f64 + above as f64) / 2.0;
            for nudge in [0.0, 1e-16, -1e-16, 1e-9, -1e-9] {
                agrees(&format!("{:e}", halfway * (1.0 + nudge)));
                agrees(&format!("{:.18e}", halfway * (1.0 + nudge)));
            }
        }
    }
}
