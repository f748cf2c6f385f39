//! Element-wise arithmetic, ordering and slicing of vectors, with the
//! overflow checks float4 arithmetic has in PostgreSQL.
//!
//! Results are written into a caller-provided slice so the extension can
//! write them straight into a palloc'd datum.

use std::cmp::Ordering;
use std::ops::Range;

use crate::error::check_same_dimensions;
use crate::{check_dimensions, VectorError};

/// `out = a + b`, element by element.
pub fn add(a: &[f32], b: &[f32], out: &mut [f32]) -> Result<(), VectorError> {
    elementwise(a, b, out, |x, y| x + y)
}

/// `out = a - b`, element by element.
pub fn sub(a: &[f32], b: &[f32], out: &mut [f32]) -> Result<(), VectorError> {
    elementwise(a, b, out, |x, y| x - y)
}

/// `out = a * b`, element by element (Hadamard product).
pub fn mul(a: &[f32], b: &[f32], out: &mut [f32]) -> Result<(), VectorError> {
    elementwise(a, b, out, |x, y| x * y)?;
    // A product of two non-zero numbers that rounds to zero lost the value.
    let underflow = a.iter().zip(b).zip(out.iter()).any(|((&x, &y), &r)| r == 0.0 && x != 0.0 && y != 0.0);
    if underflow {
        return Err(VectorError::Underflow);
    }
    Ok(())
}

fn elementwise(a: &[f32], b: &[f32], out: &mut [f32], op: impl Fn(f32, f32) -> f32) -> Result<(), VectorError> {
    check_same_dimensions(a.len(), b.len())?;
    assert_eq!(out.len(), a.len(), "the output has the operands' dimensions");
    for ((r, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *r = op(x, y);
    }
    check_no_overflow(out)
}

/// Finite inputs can still overflow float4 in arithmetic.
pub fn check_no_overflow(values: &[f32]) -> Result<(), VectorError> {
    if values.iter().any(|x| x.is_infinite()) {
        Err(VectorError::Overflow)
    } else {
        Ok(())
    }
}

/// pgvector's btree order: element by element, then the shorter vector first.
pub fn compare(a: &[f32], b: &[f32]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        if x < y {
            return Ordering::Less;
        }
        if x > y {
            return Ordering::Greater;
        }
    }
    a.len().cmp(&b.len())
}

/// `out = a / |a|`; a zero vector stays zero.
pub fn normalize(a: &[f32], out: &mut [f32]) -> Result<(), VectorError> {
    let norm = crate::distance::norm(a);
    if norm > 0.0 {
        for (r, &x) in out.iter_mut().zip(a) {
            *r = (x as f64 / norm) as f32;
        }
        check_no_overflow(out)?;
    }
    Ok(())
}

/// The elements `subvector(v, start, count)` takes: 1-based `start`, like
/// `substring`, clipped at both ends; an empty result is an error.
pub fn subvector_range(dim: usize, start: i32, count: i32) -> Result<Range<usize>, VectorError> {
    if count < 1 {
        return Err(VectorError::Empty);
    }
    let (start, count, dim) = (start as i64, count as i64, dim as i64);
    let end = (start + count).min(dim + 1);
    let start = start.max(1);
    if start > dim || end <= start {
        return Err(VectorError::Empty);
    }
    let len = (end - start) as usize;
    check_dimensions(len)?;
    Ok((start - 1) as usize..(start - 1) as usize + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_checks_dimensions_and_overflow() {
        let mut out = [0.0; 2];
        add(&[1.0, 2.0], &[3.0, 4.0], &mut out).unwrap();
        assert_eq!(out, [4.0, 6.0]);
        sub(&[1.0, 2.0], &[3.0, 4.0], &mut out).unwrap();
        assert_eq!(out, [-2.0, -2.0]);
        mul(&[1.5, 2.0], &[2.0, -4.0], &mut out).unwrap();
        assert_eq!(out, [3.0, -8.0]);
        assert_eq!(add(&[3e38, 0.0], &[3e38, 0.0], &mut out), Err(VectorError::Overflow));
        assert_eq!(mul(&[1e-30, 1.0], &[1e-30, 1.0], &mut out), Err(VectorError::Underflow));
        assert_eq!(
            add(&[1.0], &[1.0, 2.0], &mut out),
            Err(VectorError::DimensionMismatch { left: 1, right: 2 })
        );
    }

    #[test]
    fn order_is_elementwise_then_by_length() {
        assert_eq!(compare(&[1.0, 2.0], &[1.0, 3.0]), Ordering::Less);
        assert_eq!(compare(&[2.0], &[1.0, 3.0]), Ordering::Greater);
        assert_eq!(compare(&[1.0], &[1.0, 0.0]), Ordering::Less);
        assert_eq!(compare(&[-0.0, 1.0], &[0.0, 1.0]), Ordering::Equal);
    }

    #[test]
    fn normalize_gives_unit_vectors_and_keeps_zero() {
        let mut out = [0.0; 2];
        normalize(&[3.0, 4.0], &mut out).unwrap();
        assert_eq!(out, [0.6, 0.8]);
        let mut zero = [0.0; 2];
        normalize(&[0.0, 0.0], &mut zero).unwrap();
        assert_eq!(zero, [0.0, 0.0]);
    }

    #[test]
    fn subvector_clips_like_substring() {
        assert_eq!(subvector_range(5, 2, 3), Ok(1..4));
        assert_eq!(subvector_range(5, 4, 10), Ok(3..5));
        assert_eq!(subvector_range(5, -1, 3), Ok(0..1));
        assert_eq!(subvector_range(5, i32::MAX, i32::MAX), Err(VectorError::Empty));
        assert_eq!(subvector_range(5, -1, 2), Err(VectorError::Empty));
        assert_eq!(subvector_range(5, 1, 0), Err(VectorError::Empty));
        assert_eq!(subvector_range(5, 6, 1), Err(VectorError::Empty));
    }
}
