//! The dense vector text format: `[1,2.5,-3e-7]`, for `vector` and `halfvec`.
//!
//! Input follows pgvector: whitespace may surround the brackets and every
//! element, elements are float4 literals (scientific notation, `inf` and
//! `nan` are read and then rejected) rounded to the element type, and
//! nothing but whitespace may follow `]`.
//! Output prints every element as the shortest text that reads back to the
//! same float4, in PostgreSQL's float4 style (`1e+06`, `1.5e-07`).

use std::fmt::Write;

use crate::float4_literal::{parse_float4, parse_plain_decimal};
use crate::types::Element;
use crate::{check_element, VectorError, VECTOR_MAX_DIM};

/// PostgreSQL's `scanner_isspace`: the only characters the literal may be padded with.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

/// Parses a `vector` literal. The caller checks the column's dimensions.
pub fn parse_vector(input: &str) -> Result<Vec<f32>, VectorError> {
    parse_dense(input)
}

/// Parses a literal of any dense type; an element the type cannot hold
/// (`[70000]` for halfvec) is out of range, as it is for float4 input.
pub fn parse_dense<E: Element>(input: &str) -> Result<Vec<E>, VectorError> {
    let syntax = |detail| VectorError::InvalidSyntax { input: input.to_owned(), detail };
    let bytes = input.as_bytes();
    let skip_space = |mut at: usize| {
        while at < bytes.len() && is_space(bytes[at]) {
            at += 1;
        }
        at
    };

    let mut at = skip_space(0);
    if bytes.get(at) != Some(&b'[') {
        return Err(syntax(Some("Vector contents must start with \"[\".")));
    }
    at = skip_space(at + 1);
    if bytes.get(at) == Some(&b']') {
        return Err(VectorError::Empty);
    }

    // about 8 bytes a float4 or more: one allocation for most literals
    let mut elements = Vec::with_capacity((bytes.len() / 8).min(VECTOR_MAX_DIM));
    loop {
        if elements.len() == VECTOR_MAX_DIM {
            return Err(VectorError::TooManyDimensions);
        }
        at = skip_space(at);
        let start = at;
        let ends_token = |at: usize| bytes.get(at).is_none_or(|&c| is_space(c) || c == b',' || c == b']');
        let value = match parse_plain_decimal(bytes, start) {
            Some((value, end)) if ends_token(end) => {
                at = end;
                value
            }
            _ => {
                while !ends_token(at) {
                    at += 1;
                }
                parse_float4(&input[start..at]).ok_or_else(|| syntax(None))?
            }
        };
        let token = &input[start..at];
        let out_of_range = || VectorError::OutOfRange { token: token.to_owned() };
        if value.is_infinite() && !names_infinity(token) {
            return Err(out_of_range());
        }
        check_element(value)?;
        elements.push(E::from_f32(value).ok_or_else(out_of_range)?);

        at = skip_space(at);
        match bytes.get(at) {
            Some(b',') => at += 1,
            Some(b']') => {
                at += 1;
                break;
            }
            _ => return Err(syntax(None)),
        }
    }
    if skip_space(at) != bytes.len() {
        return Err(syntax(Some("Junk after closing right brace.")));
    }
    Ok(elements)
}

pub(crate) fn names_infinity(token: &str) -> bool {
    let unsigned = token.trim_start_matches(['+', '-']);
    unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity")
}

/// Appends the text form of a vector, e.g. `[1,2.5,1e+06]`. A half prints
/// as the float4 it widens to, as in pgvector.
pub fn format_vector<E: Element>(elements: &[E], out: &mut String) {
    out.reserve(elements.len() * 8 + 2);
    out.push('[');
    for (i, &x) in elements.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        format_float4(x.to_f32(), out);
    }
    out.push(']');
}

/// Appends `x` as PostgreSQL's float4out prints it with the default
/// extra_float_digits: the shortest round-trip digits, fixed-point when the
/// decimal exponent is in [-4, 6), otherwise `d.ddde±XX`. The digits come
/// from Ryu (the `ryu` crate), the algorithm float4out uses, so they agree
/// to the last digit, exact ties going to the even one; vector_out calls
/// this once per element, and Citus deparses each vector constant of a
/// query once per shard.
pub fn format_float4(x: f32, out: &mut String) {
    if x.is_nan() {
        out.push_str("NaN");
        return;
    }
    if x.is_infinite() {
        out.push_str(if x > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    if x == 0.0 {
        out.push_str(if x.is_sign_negative() { "-0" } else { "0" });
        return;
    }
    let mut ryu = ryu::Buffer::new();
    let (mut digits, mut exponent) = significant_digits(ryu.format_finite(x.abs()).as_bytes());
    if on_rounding_boundary(x.abs(), &digits, exponent) {
        (digits, exponent) = inside_rounding_interval(x.abs(), digits.len);
    }
    let push = |out: &mut String, bytes: &[u8]| bytes.iter().for_each(|&b| out.push(char::from(b)));
    if x < 0.0 {
        out.push('-');
    }
    if (-4..6).contains(&exponent) {
        if exponent < 0 {
            out.push_str("0.");
            (0..(-exponent - 1)).for_each(|_| out.push('0'));
            push(out, digits.bytes());
        } else {
            let int_len = exponent as usize + 1;
            if digits.len <= int_len {
                push(out, digits.bytes());
                (digits.len..int_len).for_each(|_| out.push('0'));
            } else {
                push(out, &digits.bytes()[..int_len]);
                out.push('.');
                push(out, &digits.bytes()[int_len..]);
            }
        }
    } else {
        push(out, &digits.bytes()[..1]);
        if digits.len > 1 {
            out.push('.');
            push(out, &digits.bytes()[1..]);
        }
        out.push_str(if exponent < 0 { "e-" } else { "e+" });
        let magnitude = exponent.unsigned_abs();
        if magnitude < 10 {
            out.push('0');
        }
        write!(out, "{magnitude}").expect("writing to a String cannot fail");
    }
}

/// Whether `digits` x 10^(exponent + 1 - len) is exactly halfway between
/// positive `x` and a neighbouring float. Such a decimal reads back as `x`
/// only through round-half-even; Ryu in the `ryu` crate accepts it, but
/// PostgreSQL's copy of Ryu never takes a boundary (float4out(120941296)
/// is 1.20941296e+08, not 1.209413e+08).
fn on_rounding_boundary(x: f32, digits: &Digits, exponent: i32) -> bool {
    let power_of_ten = exponent + 1 - digits.len as i32;
    // A fraction halfway between floats is a binary fraction: in decimal it
    // ends in 5. This rules out nearly every element at once.
    if power_of_ten < 0 && digits.bytes()[digits.len - 1] != b'5' {
        return false;
    }
    let bits = x.to_bits();
    let biased = (bits >> 23) & 0xff;
    // x = m * 2^e; the midpoints are (2m ± 1) * 2^(e - 1), except below a
    // power of two, where the float beneath is closer: (4m - 1) * 2^(e - 2).
    let (m, e) = match biased {
        0 => (u128::from(bits & 0x7f_ffff), -149),
        _ => (u128::from(bits & 0x7f_ffff | 0x80_0000), biased as i32 - 150),
    };
    let below = if m == 0x80_0000 && biased > 1 { (4 * m - 1, e - 2) } else { (2 * m - 1, e - 1) };
    let decimal = digits.bytes().iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
    [(2 * m + 1, e - 1), below].into_iter().any(|(odd, two)| equals_dyadic(decimal, power_of_ten, odd, two))
}

/// Whether n * 10^p equals odd * 2^two exactly (n < 10^9, odd odd).
fn equals_dyadic(n: u64, p: i32, odd: u128, two: i32) -> bool {
    // n * 10^p = n * 5^p * 2^p: its odd part must be `odd`, its power of two `two`.
    let mut n = match p {
        // 5^p fits u128 up to p = 55; n * 5^p overflows only far above any odd < 2^26.
        0.. => match 5u128.checked_pow(p.unsigned_abs()).and_then(|f| u128::from(n).checked_mul(f)) {
            Some(n) => n,
            None => return false,
        },
        // 5^14 > 10^9 > n: only a power of five up to 5^13 can divide n.
        -13..=-1 => match 5u64.pow(p.unsigned_abs()) {
            f if n.is_multiple_of(f) => u128::from(n / f),
            _ => return false,
        },
        _ => return false,
    };
    let mut twos = p;
    while n % 2 == 0 {
        n /= 2;
        twos += 1;
    }
    n == odd && twos == two
}

/// The shortest decimal strictly between the midpoints around positive
/// `x`, at least `shortest` digits long: `x` correctly rounded to the
/// first length that reads back to `x` without landing on a midpoint.
fn inside_rounding_interval(x: f32, shortest: usize) -> (Digits, i32) {
    for len in shortest..=9 {
        let mut text = String::with_capacity(16);
        write!(text, "{:.*e}", len - 1, x).expect("writing to a String cannot fail");
        let (digits, exponent) = significant_digits(text.as_bytes());
        if text.parse::<f32>() == Ok(x) && !on_rounding_boundary(x, &digits, exponent) {
            return (digits, exponent);
        }
    }
    unreachable!("nine significant digits always identify an f32")
}

/// The significant digits (no leading or trailing zeros) of a positive
/// number as Ryu prints it (`1234.0`, `0.00012`, `1.5e-7`, `1e16`), and the
/// decimal exponent of the first one.
fn significant_digits(text: &[u8]) -> (Digits, i32) {
    let (mantissa, exponent) = match text.iter().position(|&b| b == b'e') {
        Some(at) => (&text[..at], decimal_exponent(&text[at + 1..])),
        None => (text, 0),
    };
    let integer_len = mantissa.iter().position(|&b| b == b'.').unwrap_or(mantissa.len()) as i32;
    let mut digits = Digits { bytes: [0; 24], len: 0 };
    let mut leading_zeros = 0;
    for &b in mantissa.iter().filter(|&&b| b != b'.') {
        if b == b'0' && digits.len == 0 {
            leading_zeros += 1;
        } else {
            digits.bytes[digits.len] = b;
            digits.len += 1;
        }
    }
    while digits.bytes[digits.len - 1] == b'0' {
        digits.len -= 1;
    }
    (digits, exponent + integer_len - 1 - leading_zeros)
}

/// `-7`, `16`: the exponent after Ryu's `e`.
fn decimal_exponent(text: &[u8]) -> i32 {
    let (sign, digits) = match text {
        [b'-', rest @ ..] => (-1, rest),
        _ => (1, text),
    };
    sign * digits.iter().fold(0, |n, &d| n * 10 + i32::from(d - b'0'))
}

/// At most nine significant digits (an f32's shortest round-trip form),
/// with room for the zeros Ryu writes before the trailing ones are dropped
/// (`1234567900000.0`).
struct Digits {
    bytes: [u8; 24],
    len: usize,
}

impl Digits {
    fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn show<E: Element>(elements: &[E]) -> String {
        let mut s = String::new();
        format_vector(elements, &mut s);
        s
    }

    #[test]
    fn parses_plain_and_padded_literals() {
        assert_eq!(parse_vector("[1,2,3]").unwrap(), vec![1.0, 2.0, 3.0]);
        assert_eq!(parse_vector("  [ 1 , -2.5 ,3e2 ]  ").unwrap(), vec![1.0, -2.5, 300.0]);
        assert_eq!(parse_vector("[1.5E-3,+4,.5,5.]").unwrap(), vec![0.0015, 4.0, 0.5, 5.0]);
        assert_eq!(parse_vector("[1e-50]").unwrap(), vec![0.0], "underflow reads as zero like strtof");
    }

    #[test]
    fn rejects_malformed_literals_with_pgvector_errors() {
        let syntax = |s: &str| match parse_vector(s) {
            Err(VectorError::InvalidSyntax { input, .. }) => assert_eq!(input, s),
            other => panic!("{s:?} gave {other:?}"),
        };
        for bad in ["", "1,2", "[1,2", "[1,,2]", "[1 2]", "[a]", "[1,2]x", "[1,2],", "[,1]", "[1,]", "[0x10]"] {
            syntax(bad);
        }
        assert_eq!(
            parse_vector("[1]x").unwrap_err().detail(),
            Some("Junk after closing right brace.")
        );
        assert_eq!(parse_vector("[]").unwrap_err(), VectorError::Empty);
        assert_eq!(parse_vector(" [ ] ").unwrap_err(), VectorError::Empty);
        assert_eq!(parse_vector("[NaN]").unwrap_err(), VectorError::NaN);
        assert_eq!(parse_vector("[1,-inf]").unwrap_err(), VectorError::Infinite);
        assert_eq!(parse_vector("[Infinity]").unwrap_err(), VectorError::Infinite);
        assert_eq!(
            parse_vector("[1,4e38]").unwrap_err(),
            VectorError::OutOfRange { token: "4e38".into() }
        );
        assert_eq!(parse_vector("[-1e39]").unwrap_err().kind(), crate::ErrorKind::NumericValueOutOfRange);
    }

    #[test]
    fn enforces_the_dimension_limit() {
        let at_limit = format!("[{}]", vec!["1"; VECTOR_MAX_DIM].join(","));
        assert_eq!(parse_vector(&at_limit).unwrap().len(), VECTOR_MAX_DIM);
        let over = format!("[{}]", vec!["1"; VECTOR_MAX_DIM + 1].join(","));
        assert_eq!(parse_vector(&over).unwrap_err(), VectorError::TooManyDimensions);
    }

    #[test]
    fn prints_like_postgres_float4out() {
        assert_eq!(show(&[1.0, 2.0, 3.0]), "[1,2,3]");
        assert_eq!(show(&[-0.0, 0.0]), "[-0,0]");
        assert_eq!(show(&[0.1, -1.5, 123456.0]), "[0.1,-1.5,123456]");
        assert_eq!(show(&[1_000_000.0, 1e20, 3.4028235e38]), "[1e+06,1e+20,3.4028235e+38]");
        assert_eq!(show(&[0.0001, 0.00001, 1.5e-7]), "[0.0001,1e-05,1.5e-07]");
        assert_eq!(show(&[1.2345679, 16777216.0, 1.0e-45]), "[1.2345679,1.6777216e+07,1e-45]");
        assert_eq!(show(&[100000.0, 999999.0, 120.5]), "[100000,999999,120.5]");
        // exact ties go to the even digit, as float4out prints them
        assert_eq!(show(&[177134.125, 49165.5625, -177134.125]), "[177134.12,49165.562,-177134.12]");
        // a shortest decimal halfway to the next float is not taken, as in float4out
        assert_eq!(show(&[120941296.0, -43565672.0, 6.0170237e12]), "[1.20941296e+08,-4.3565672e+07,6.0170237e+12]");
        // Ryu writes these with many zeros before the point (88410735000.0)
        assert_eq!(show(&[-88410735000.0, 1.0e13, 9.999999e12]), "[-8.8410735e+10,1e+13,9.999999e+12]");
    }

    #[test]
    fn halfvec_literals_round_to_halves_and_reject_what_does_not_fit() {
        use crate::types::Half;
        let halves = parse_dense::<Half>("[1, 0.1, -65504, 1e-8]").unwrap();
        assert_eq!(halves.iter().map(|h| h.to_bits()).collect::<Vec<_>>(), [0x3c00, 0x2e66, 0xfbff, 0x0000]);
        assert_eq!(show(&halves), "[1,0.099975586,-65504,0]");
        assert_eq!(parse_dense::<Half>("[1,65520]").unwrap_err(), VectorError::OutOfRange { token: "65520".into() });
        assert_eq!(parse_dense::<Half>("[-1e5]").unwrap_err().message("halfvec"), "\"-1e5\" is out of range for type halfvec");
        assert_eq!(parse_dense::<Half>("[inf]").unwrap_err(), VectorError::Infinite);
        assert_eq!(
            parse_dense::<Half>("[1,x]").unwrap_err().message("halfvec"),
            "invalid input syntax for type halfvec: \"[1,x]\""
        );
    }

    proptest! {
        #[test]
        fn every_finite_vector_round_trips(v in prop::collection::vec(any::<f32>().prop_filter("finite", |x| x.is_finite()), 1..64)) {
            let text = show(&v);
            let back = parse_vector(&text).unwrap();
            prop_assert_eq!(back.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), v.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        }

        #[test]
        fn random_text_errors_or_round_trips(s in "\\PC{0,40}|[\\[\\]0-9eE.,+\\- ]{0,40}") {
            if let Ok(v) = parse_vector(&s) {
                prop_assert!(crate::check_vector(&v).is_ok());
                prop_assert_eq!(parse_vector(&show(&v)).unwrap(), v);
            }
        }
    }
}
