//! Element-wise arithmetic, ordering and slicing of vectors, with the
//! overflow checks float4 arithmetic has in PostgreSQL.
//!
//! Results are written into a caller-provided slice so the extension can
//! write them straight into a palloc'd datum.

use std::cmp::Ordering;
use std::ops::Range;

use crate::error::check_same_dimensions;
use crate::types::Element;
use crate::{check_dimensions, VectorError};

/// `out = a + b`, element by element.
pub fn add<E: Element>(a: &[E], b: &[E], out: &mut [E]) -> Result<(), VectorError> {
    elementwise(a, b, out, |x, y| x + y)
}

/// `out = a - b`, element by element.
pub fn sub<E: Element>(a: &[E], b: &[E], out: &mut [E]) -> Result<(), VectorError> {
    elementwise(a, b, out, |x, y| x - y)
}

/// `out = a * b`, element by element (Hadamard product).
pub fn mul<E: Element>(a: &[E], b: &[E], out: &mut [E]) -> Result<(), VectorError> {
    elementwise(a, b, out, |x, y| x * y)?;
    // A product of two non-zero numbers that rounds to zero lost the value.
    let underflow = a
        .iter()
        .zip(b)
        .zip(out.iter())
        .any(|((x, y), r)| r.to_f32() == 0.0 && x.to_f32() != 0.0 && y.to_f32() != 0.0);
    if underflow {
        return Err(VectorError::Underflow);
    }
    Ok(())
}

/// Computes in float4 and rounds each result to the element type.
fn elementwise<E: Element>(a: &[E], b: &[E], out: &mut [E], op: impl Fn(f32, f32) -> f32) -> Result<(), VectorError> {
    check_same_dimensions(a.len(), b.len())?;
    assert_eq!(out.len(), a.len(), "the output has the operands' dimensions");
    for ((r, x), y) in out.iter_mut().zip(a).zip(b) {
        *r = narrow(op(x.to_f32(), y.to_f32()))?;
    }
    Ok(())
}

/// A float4 result as an element: overflow when it does not fit (which for
/// finite operands shows as infinity).
pub fn narrow<E: Element>(x: f32) -> Result<E, VectorError> {
    match E::from_f32(x) {
        Some(element) if !element.to_f32().is_infinite() => Ok(element),
        _ => Err(VectorError::Overflow),
    }
}

/// pgvector's btree order: element by element, then the shorter vector first.
pub fn compare<E: Element>(a: &[E], b: &[E]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (x.to_f32(), y.to_f32());
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
pub fn normalize<E: Element>(a: &[E], out: &mut [E]) -> Result<(), VectorError> {
    let norm = crate::distance::norm(a);
    if norm > 0.0 {
        for (r, x) in out.iter_mut().zip(a) {
            *r = narrow((x.to_f32() as f64 / norm) as f32)?;
        }
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
    fn half_arithmetic_rounds_and_overflows_at_the_half_range() {
        use crate::types::Half;
        let h = |x: f32| Half::from_f32(x);
        let mut out = [Half::default(); 2];
        add(&[h(1.0), h(60000.0)], &[h(0.5), h(5000.0)], &mut out).unwrap();
        assert_eq!(out, [h(1.5), h(65000.0)]);
        assert_eq!(add(&[h(60000.0)], &[h(6000.0)], &mut out[..1]), Err(VectorError::Overflow));
        assert_eq!(mul(&[h(1e-4)], &[h(1e-4)], &mut out[..1]), Err(VectorError::Underflow));
        assert_eq!(compare(&[h(1.0)], &[h(1.0), h(0.0)]), Ordering::Less);
        let mut unit = [Half::default(); 2];
        normalize(&[h(3.0), h(4.0)], &mut unit).unwrap();
        assert_eq!(unit, [h(0.6), h(0.8)]);
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
