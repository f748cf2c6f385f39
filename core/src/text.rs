//! The dense vector text format: `[1,2.5,-3e-7]`, for `vector` and `halfvec`.
//!
//! Input follows pgvector: whitespace may surround the brackets and every
//! element, elements are float4 literals (scientific notation, `inf` and
//! `nan` are read and then rejected) rounded to the element type, and
//! nothing but whitespace may follow `]`.
//! Output prints every element as the shortest text that reads back to the
//! same float4, in PostgreSQL's float4 style (`1e+06`, `1.5e-07`).

use std::fmt::Write;

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

    let mut elements = Vec::new();
    loop {
        if elements.len() == VECTOR_MAX_DIM {
            return Err(VectorError::TooManyDimensions);
        }
        at = skip_space(at);
        let start = at;
        while at < bytes.len() && !is_space(bytes[at]) && bytes[at] != b',' && bytes[at] != b']' {
            at += 1;
        }
        let token = &input[start..at];
        let value = parse_element(token).ok_or_else(|| syntax(None))?;
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

/// A float4 literal as `strtof` reads it in the C locale (decimal forms only).
pub(crate) fn parse_element(token: &str) -> Option<f32> {
    // Rust accepts "infinity"/"nan" like strtof does, but also a lone "+" or "-"
    // prefix on "nan"; both end up rejected as NaN/infinite, as in pgvector.
    if token.is_empty() {
        return None;
    }
    token.parse::<f32>().ok()
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
/// decimal exponent is in [-4, 6), otherwise `d.ddde±XX`.
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
    // Rust's `{:e}` prints the shortest round-trip digits: "-1.2345e-7".
    let mut sci = String::with_capacity(16);
    write!(sci, "{x:e}").expect("writing to a String cannot fail");
    let (mantissa, exponent) = sci.split_once('e').expect("{:e} always has an exponent");
    let exponent: i32 = exponent.parse().expect("{:e} prints a decimal exponent");
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa),
    };
    let mut digits: String = mantissa.chars().filter(|&c| c != '.').collect();
    round_tie_to_even(x.abs(), exponent, &mut digits);

    if negative {
        out.push('-');
    }
    if (-4..6).contains(&exponent) {
        if exponent < 0 {
            out.push_str("0.");
            (0..(-exponent - 1)).for_each(|_| out.push('0'));
            out.push_str(&digits);
        } else {
            let int_len = exponent as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                (digits.len()..int_len).for_each(|_| out.push('0'));
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        write!(out, "e{}{:02}", if exponent < 0 { '-' } else { '+' }, exponent.abs())
            .expect("writing to a String cannot fail");
    }
}

/// Rust's shortest digits break an exact tie between two shortest
/// candidates upwards; PostgreSQL's Ryu breaks it to the even digit
/// (177134.125 prints as 177134.12). When the last digit is odd and the
/// candidate one below also reads back to `x`, the exact decimal expansion
/// of `x` decides whether it is such a tie.
fn round_tie_to_even(x: f32, exponent: i32, digits: &mut String) {
    let last = digits.as_bytes()[digits.len() - 1];
    if last % 2 == 0 {
        return;
    }
    let mut lower = digits.clone();
    lower.pop();
    lower.push((last - 1) as char);
    let lower_text = format!("{}.{}e{exponent}", &lower[..1], &lower[1..]);
    if lower_text.parse::<f32>() != Ok(x) {
        return;
    }
    // An f32's exact expansion has fewer than 120 significant digits.
    let exact = format!("{:.120e}", x);
    let exact_digits: String = exact.split('e').next().expect("a mantissa").chars().filter(|&c| c != '.').collect();
    let tail = &exact_digits[lower.len()..];
    if exact_digits.starts_with(&lower) && tail.starts_with('5') && tail[1..].bytes().all(|b| b == b'0') {
        *digits = lower;
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
