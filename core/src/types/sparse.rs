//! `sparsevec`: a dimension count and the non-zero elements, as ascending
//! 0-based indices and their float4 values. pgvector's formats:
//!
//! - text `{1:1.5,3:-2}/5`: 1-based indices in any order (sorted on input),
//!   zeros dropped, the dimensions after the slash;
//! - binary: int32 dim, int32 nnz, int32 zero, nnz int32 0-based indices
//!   (ascending), nnz float4 values (none zero), all in network byte order.
//!
//! Distances walk the two index lists together, so they cost the non-zeros,
//! not the dimensions.

use std::cmp::Ordering;

use super::Element;
use crate::text::{self, format_float4};
use crate::{check_element, VectorError};

/// The most dimensions a sparsevec may have (pgvector's SPARSEVEC_MAX_DIM).
pub const SPARSE_MAX_DIM: usize = 1_000_000_000;
/// The most non-zero elements a sparsevec may have (SPARSEVEC_MAX_NNZ).
pub const SPARSE_MAX_NONZEROS: usize = 16_000;

/// A sparse vector's parts, borrowed (from a datum) or owned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SparseRef<'a> {
    pub dim: usize,
    /// 0-based, ascending, each below `dim`.
    pub indices: &'a [i32],
    /// Finite and non-zero, one per index.
    pub values: &'a [f32],
}

/// An owned sparse vector, as input and conversions build it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseVector {
    pub dim: usize,
    pub indices: Vec<i32>,
    pub values: Vec<f32>,
}

impl SparseVector {
    pub fn as_ref(&self) -> SparseRef<'_> {
        SparseRef { dim: self.dim, indices: &self.indices, values: &self.values }
    }

    /// The non-zero elements of a dense vector.
    pub fn from_dense<E: Element>(elements: &[E]) -> Result<Self, VectorError> {
        check_sparse_dimensions(elements.len() as i64)?;
        let mut sparse = SparseVector { dim: elements.len(), ..Default::default() };
        for (i, x) in elements.iter().enumerate() {
            let x = x.to_f32();
            if x != 0.0 {
                sparse.indices.push(i as i32);
                sparse.values.push(x);
            }
        }
        check_nonzeros(sparse.values.len() as i64, sparse.dim)?;
        Ok(sparse)
    }
}

impl SparseRef<'_> {
    /// The dense vector: zeros where no index is.
    pub fn to_dense(&self) -> Vec<f32> {
        let mut dense = vec![0.0; self.dim];
        for (&i, &x) in self.indices.iter().zip(self.values) {
            dense[i as usize] = x;
        }
        dense
    }

    /// Euclidean norm, summed in double precision.
    pub fn norm(&self) -> f64 {
        self.values.iter().map(|&x| x as f64 * x as f64).sum::<f64>().sqrt()
    }
}

/// Checks a dimension count against sparsevec's limits.
pub fn check_sparse_dimensions(dim: i64) -> Result<(), VectorError> {
    if dim < 1 {
        Err(VectorError::Empty)
    } else if dim > SPARSE_MAX_DIM as i64 {
        Err(VectorError::TooManySparseDimensions)
    } else {
        Ok(())
    }
}

fn check_nonzeros(nonzeros: i64, dim: usize) -> Result<(), VectorError> {
    if nonzeros < 0 {
        Err(VectorError::NegativeNonZeros)
    } else if nonzeros > SPARSE_MAX_NONZEROS as i64 {
        Err(VectorError::TooManyNonZeros)
    } else if nonzeros > dim as i64 {
        Err(VectorError::MoreNonZerosThanDimensions)
    } else {
        Ok(())
    }
}

/// Checks that `indices` are in bounds, ascending and distinct.
fn check_indices(indices: &[i32], dim: usize) -> Result<(), VectorError> {
    for (i, &index) in indices.iter().enumerate() {
        if index < 0 || index as i64 >= dim as i64 {
            return Err(VectorError::IndexOutOfBounds);
        }
        if i > 0 {
            match index.cmp(&indices[i - 1]) {
                Ordering::Less => return Err(VectorError::IndicesNotAscending),
                Ordering::Equal => return Err(VectorError::DuplicateIndex),
                Ordering::Greater => {}
            }
        }
    }
    Ok(())
}

/// PostgreSQL's `scanner_isspace`.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

/// Parses a sparsevec literal. The caller checks the column's dimensions.
pub fn parse_sparse(input: &str) -> Result<SparseVector, VectorError> {
    let syntax = |detail| VectorError::InvalidSyntax { input: input.to_owned(), detail };
    if input.bytes().filter(|&c| c == b',').count() + 1 > SPARSE_MAX_NONZEROS {
        return Err(VectorError::TooManyNonZeros);
    }
    let bytes = input.as_bytes();
    let skip_space = |mut at: usize| {
        while at < bytes.len() && is_space(bytes[at]) {
            at += 1;
        }
        at
    };
    // An integer as strtol reads it (sign and digits), clamped to int32.
    let integer = |at: usize| -> Option<(i64, usize)> {
        let mut end = at;
        if matches!(bytes.get(end), Some(b'+' | b'-')) {
            end += 1;
        }
        let digits = end;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        if end == digits {
            return None;
        }
        let value = input[at..end].parse::<i64>().unwrap_or(if bytes[at] == b'-' { i64::MIN } else { i64::MAX });
        Some((value.clamp(i32::MIN as i64, i32::MAX as i64), end))
    };

    let mut at = skip_space(0);
    if bytes.get(at) != Some(&b'{') {
        return Err(syntax(Some("Vector contents must start with \"{\".")));
    }
    at = skip_space(at + 1);
    let mut elements: Vec<(i64, f32)> = Vec::new();
    if bytes.get(at) == Some(&b'}') {
        at += 1;
    } else {
        loop {
            at = skip_space(at);
            let (index, end) = integer(at).ok_or_else(|| syntax(None))?;
            at = skip_space(end);
            if bytes.get(at) != Some(&b':') {
                return Err(syntax(None));
            }
            at = skip_space(at + 1);
            let start = at;
            while at < bytes.len() && !is_space(bytes[at]) && bytes[at] != b',' && bytes[at] != b'}' {
                at += 1;
            }
            let token = &input[start..at];
            let value = crate::float4_literal::parse_float4(token).ok_or_else(|| syntax(None))?;
            // As float4in reads it: a finite number that overflows, or a
            // non-zero one that underflows to zero, is out of range.
            let underflowed = value == 0.0 && token.split(['e', 'E']).next().is_some_and(|m| m.bytes().any(|c| (b'1'..=b'9').contains(&c)));
            if (value.is_infinite() && !text::names_infinity(token)) || underflowed {
                return Err(VectorError::OutOfRange { token: token.to_owned() });
            }
            check_element(value)?;
            if value != 0.0 {
                elements.push((index - 1, value));
            }
            at = skip_space(at);
            match bytes.get(at) {
                Some(b',') => at += 1,
                Some(b'}') => {
                    at += 1;
                    break;
                }
                _ => return Err(syntax(None)),
            }
        }
    }
    at = skip_space(at);
    if bytes.get(at) != Some(&b'/') {
        return Err(syntax(Some("Unexpected end of input.")));
    }
    at = skip_space(at + 1);
    let (dim, end) = integer(at).ok_or_else(|| syntax(None))?;
    if skip_space(end) != bytes.len() {
        return Err(syntax(Some("Junk after closing.")));
    }
    check_sparse_dimensions(dim)?;
    let dim = dim as usize;

    elements.sort_by_key(|&(index, _)| index);
    let mut sparse = SparseVector { dim, indices: Vec::with_capacity(elements.len()), values: Vec::with_capacity(elements.len()) };
    for (index, value) in elements {
        if index < 0 || index >= dim as i64 {
            return Err(VectorError::IndexOutOfBounds);
        }
        if sparse.indices.last() == Some(&(index as i32)) {
            return Err(VectorError::DuplicateIndex);
        }
        sparse.indices.push(index as i32);
        sparse.values.push(value);
    }
    Ok(sparse)
}

/// Appends the text form, e.g. `{1:1.5,3:-2}/5`.
pub fn format_sparse(vector: SparseRef<'_>, out: &mut String) {
    out.push('{');
    for (i, (&index, &value)) in vector.indices.iter().zip(vector.values).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&(index as i64 + 1).to_string());
        out.push(':');
        format_float4(value, out);
    }
    out.push_str("}/");
    out.push_str(&vector.dim.to_string());
}

const HEADER_BYTES: usize = 12;

/// Appends the binary form.
pub fn encode_sparse(vector: SparseRef<'_>, out: &mut Vec<u8>) {
    out.reserve(HEADER_BYTES + 8 * vector.indices.len());
    out.extend_from_slice(&(vector.dim as i32).to_be_bytes());
    out.extend_from_slice(&(vector.indices.len() as i32).to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
    for index in vector.indices {
        out.extend_from_slice(&index.to_be_bytes());
    }
    for value in vector.values {
        out.extend_from_slice(&value.to_be_bytes());
    }
}

/// Decodes one binary sparse vector that must fill `bytes` exactly.
pub fn decode_sparse(bytes: &[u8]) -> Result<SparseVector, VectorError> {
    let int = |at: usize| i32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    if bytes.len() < HEADER_BYTES {
        return Err(VectorError::BinaryLength { dim: 0, expected_bytes: HEADER_BYTES, actual_bytes: bytes.len() });
    }
    let (dim, nonzeros, unused) = (int(0), int(4), int(8));
    check_sparse_dimensions(dim as i64)?;
    let dim = dim as usize;
    check_nonzeros(nonzeros as i64, dim)?;
    if unused != 0 {
        return Err(VectorError::BinaryUnused { unused: unused as u16 });
    }
    let nonzeros = nonzeros as usize;
    let expected_bytes = HEADER_BYTES + 8 * nonzeros;
    if bytes.len() != expected_bytes {
        return Err(VectorError::BinaryLength { dim, expected_bytes, actual_bytes: bytes.len() });
    }
    let indices: Vec<i32> = (0..nonzeros).map(|i| int(HEADER_BYTES + 4 * i)).collect();
    check_indices(&indices, dim)?;
    let values_at = HEADER_BYTES + 4 * nonzeros;
    let values = (0..nonzeros)
        .map(|i| {
            let x = f32::from_bits(int(values_at + 4 * i) as u32);
            check_element(x)?;
            if x == 0.0 {
                return Err(VectorError::ZeroInBinary);
            }
            Ok(x)
        })
        .collect::<Result<Vec<f32>, VectorError>>()?;
    Ok(SparseVector { dim, indices, values })
}

/// Calls `both(x, y)` for indices in both vectors and `one(x)` for those in
/// only one, walking the ascending index lists together.
#[inline]
fn merge(a: SparseRef<'_>, b: SparseRef<'_>, mut both: impl FnMut(f32, f32), mut one: impl FnMut(f32)) {
    let (mut i, mut j) = (0, 0);
    while i < a.indices.len() && j < b.indices.len() {
        match a.indices[i].cmp(&b.indices[j]) {
            Ordering::Equal => {
                both(a.values[i], b.values[j]);
                i += 1;
                j += 1;
            }
            Ordering::Less => {
                one(a.values[i]);
                i += 1;
            }
            Ordering::Greater => {
                one(b.values[j]);
                j += 1;
            }
        }
    }
    a.values[i..].iter().chain(&b.values[j..]).for_each(|&x| one(x));
}

/// Squared Euclidean distance (float4 sums, as pgvector).
pub fn l2_squared(a: SparseRef<'_>, b: SparseRef<'_>) -> f32 {
    let (mut shared, mut alone) = (0.0f32, 0.0f32);
    merge(a, b, |x, y| shared += (x - y) * (x - y), |x| alone += x * x);
    shared + alone
}

/// Inner product over the indices both have.
pub fn dot(a: SparseRef<'_>, b: SparseRef<'_>) -> f32 {
    let mut sum = 0.0f32;
    merge(a, b, |x, y| sum += x * y, |_| {});
    sum
}

/// Taxicab distance.
pub fn l1(a: SparseRef<'_>, b: SparseRef<'_>) -> f32 {
    let (mut shared, mut alone) = (0.0f32, 0.0f32);
    merge(a, b, |x, y| shared += (x - y).abs(), |x| alone += x.abs());
    shared + alone
}

/// One minus cosine similarity, clamped to [0, 2]; NaN against a zero vector.
pub fn cosine_distance(a: SparseRef<'_>, b: SparseRef<'_>) -> f64 {
    let squares = |v: SparseRef<'_>| v.values.iter().map(|&x| x * x).sum::<f32>();
    let similarity = dot(a, b) as f64 / (squares(a) as f64 * squares(b) as f64).sqrt();
    1.0 - similarity.clamp(-1.0, 1.0)
}

/// `a / |a|`, dropping elements that round to zero; a zero vector stays zero.
pub fn normalize(a: SparseRef<'_>) -> Result<SparseVector, VectorError> {
    let norm = a.norm();
    let mut result = SparseVector { dim: a.dim, ..Default::default() };
    if norm > 0.0 {
        for (&index, &x) in a.indices.iter().zip(a.values) {
            let scaled = (x as f64 / norm) as f32;
            if scaled.is_infinite() {
                return Err(VectorError::Overflow);
            }
            if scaled != 0.0 {
                result.indices.push(index);
                result.values.push(scaled);
            }
        }
    }
    Ok(result)
}

/// An index keeps a sparse vector in 4-byte slots, as it keeps every key
/// (see `bits::to_slots` for bit strings): its count of non-zeros, then its
/// indices, then its values; the count and the indices are bit patterns,
/// never numbers, which the index copies unchanged. The dimensions are the
/// column's and are not kept. Keys of one index differ in length.
pub fn to_slots(vector: SparseRef<'_>) -> Vec<f32> {
    let mut slots = Vec::with_capacity(1 + 2 * vector.values.len());
    slots.push(f32::from_bits(vector.values.len() as u32));
    slots.extend(vector.indices.iter().map(|&index| f32::from_bits(index as u32)));
    slots.extend_from_slice(vector.values);
    slots
}

/// Whether `slots` has the shape [`to_slots`] gives: a count and that many
/// indices and values.
pub fn are_slots(slots: &[f32]) -> bool {
    slots.first().is_some_and(|count| slots.len() == 1 + 2 * count.to_bits() as usize)
}

/// The sparse vector [`to_slots`] made (its `dim` is 0: not kept).
pub fn from_slots(slots: &[f32]) -> SparseRef<'_> {
    assert!(are_slots(slots), "a sparse vector's slots");
    let nonzeros = (slots.len() - 1) / 2;
    let indices = &slots[1..1 + nonzeros];
    // SAFETY: i32 has f32's size and alignment, and every bit pattern is an i32.
    let indices = unsafe { std::slice::from_raw_parts(indices.as_ptr().cast::<i32>(), nonzeros) };
    SparseRef { dim: 0, indices, values: &slots[1 + nonzeros..] }
}

/// `slots` made `len` slots long, for a space of `dim` dimensions, by
/// explicit zeros at the lowest indices it does not have: the same vector
/// (zeros add nothing to any distance or norm), which fits a tuple another
/// one left. None if `len` is not a sparse vector's length, is shorter, or
/// needs more indices than `dim` has.
pub fn padded_slots(slots: &[f32], len: usize, dim: usize) -> Option<Vec<f32>> {
    let vector = from_slots(slots);
    let nonzeros = len.checked_sub(1).filter(|n| n % 2 == 0)? / 2;
    if nonzeros < vector.indices.len() || nonzeros > dim {
        return None;
    }
    let present: std::collections::HashSet<i32> = vector.indices.iter().copied().collect();
    let zeros = (0..dim as i32).filter(|i| !present.contains(i)).take(nonzeros - vector.indices.len());
    let mut entries: Vec<(i32, f32)> = vector.indices.iter().copied().zip(vector.values.iter().copied()).chain(zeros.map(|i| (i, 0.0))).collect();
    entries.sort_unstable_by_key(|&(index, _)| index);
    let indices: Vec<i32> = entries.iter().map(|&(index, _)| index).collect();
    let values: Vec<f32> = entries.iter().map(|&(_, value)| value).collect();
    Some(to_slots(SparseRef { dim, indices: &indices, values: &values }))
}

/// [`l2_squared`] of two sparse vectors in slots.
pub fn slot_l2_squared(a: &[f32], b: &[f32]) -> f32 {
    l2_squared(from_slots(a), from_slots(b))
}

/// Minus [`dot`] of two sparse vectors in slots ("smaller is closer").
pub fn slot_negative_dot(a: &[f32], b: &[f32]) -> f32 {
    -dot(from_slots(a), from_slots(b))
}

/// [`l1`] of two sparse vectors in slots.
pub fn slot_l1(a: &[f32], b: &[f32]) -> f32 {
    l1(from_slots(a), from_slots(b))
}

/// [`cosine_distance`] of two sparse vectors in slots.
pub fn slot_cosine_distance(a: &[f32], b: &[f32]) -> f64 {
    cosine_distance(from_slots(a), from_slots(b))
}

/// A sparse vector in slots scaled to unit length (its layout unchanged: a
/// value that rounds to zero stays, and counts nothing); None for the zero
/// vector, which has no direction.
pub fn normalize_slots(slots: &[f32]) -> Option<Vec<f32>> {
    let norm = from_slots(slots).norm();
    if norm == 0.0 {
        return None;
    }
    let mut scaled = slots.to_vec();
    let nonzeros = (slots.len() - 1) / 2;
    for value in &mut scaled[1 + nonzeros..] {
        *value = (*value as f64 / norm) as f32;
    }
    Some(scaled)
}

/// pgvector's btree order: the elements as if dense, position by position
/// (a missing element is zero), then the shorter vector first.
pub fn compare(a: SparseRef<'_>, b: SparseRef<'_>) -> Ordering {
    let shared = a.indices.len().min(b.indices.len());
    let sign = |x: f32| if x < 0.0 { Ordering::Less } else { Ordering::Greater };
    for i in 0..shared {
        match a.indices[i].cmp(&b.indices[i]) {
            // a has a non-zero where b has zero
            Ordering::Less => return sign(a.values[i]),
            Ordering::Greater => return sign(b.values[i]).reverse(),
            Ordering::Equal => {}
        }
        match a.values[i].partial_cmp(&b.values[i]) {
            Some(Ordering::Equal) | None => {}
            Some(order) => return order,
        }
    }
    if a.indices.len() < b.indices.len() && (b.indices[shared] as usize) < a.dim {
        return sign(b.values[shared]).reverse();
    }
    if a.indices.len() > b.indices.len() && (a.indices[shared] as usize) < b.dim {
        return sign(a.values[shared]);
    }
    a.dim.cmp(&b.dim)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distance::Metric;
    use proptest::prelude::*;
    use rand::{rngs::SmallRng, Rng, SeedableRng};

    fn show(vector: &SparseVector) -> String {
        let mut out = String::new();
        format_sparse(vector.as_ref(), &mut out);
        out
    }

    #[test]
    fn text_sorts_drops_zeros_and_round_trips() {
        let v = parse_sparse(" { 3:2 , 1:1.5, 2:0 } / 5 ").unwrap();
        assert_eq!(v, SparseVector { dim: 5, indices: vec![0, 2], values: vec![1.5, 2.0] });
        assert_eq!(show(&v), "{1:1.5,3:2}/5");
        assert_eq!(parse_sparse("{}/3").unwrap(), SparseVector { dim: 3, ..Default::default() });
        assert_eq!(show(&parse_sparse("{}/3").unwrap()), "{}/3");
        assert_eq!(show(&parse_sparse("{1:1e-7,2:-1e20}/2").unwrap()), "{1:1e-07,2:-1e+20}/2");
    }

    #[test]
    fn text_errors_are_pgvectors() {
        let message = |s: &str| parse_sparse(s).unwrap_err().message("sparsevec");
        assert_eq!(message("[1,2]"), "invalid input syntax for type sparsevec: \"[1,2]\"");
        assert_eq!(parse_sparse("[1]").unwrap_err().detail(), Some("Vector contents must start with \"{\"."));
        assert_eq!(parse_sparse("{1:1}").unwrap_err().detail(), Some("Unexpected end of input."));
        assert_eq!(parse_sparse("{1:1}/2x").unwrap_err().detail(), Some("Junk after closing."));
        for bad in ["{1:}/2", "{:1}/2", "{1 1}/2", "{1:1,}/2", "{1:1}/", "{1:1}/x", "{a:1}/2", "{1.5:1}/2"] {
            assert!(matches!(parse_sparse(bad), Err(VectorError::InvalidSyntax { .. })), "{bad}");
        }
        assert_eq!(message("{1:1}/0"), "sparsevec must have at least 1 dimension");
        assert_eq!(message("{1:1}/1000000001"), "sparsevec cannot have more than 1000000000 dimensions");
        assert_eq!(message("{3:1}/2"), "sparsevec index out of bounds");
        assert_eq!(message("{0:1}/2"), "sparsevec index out of bounds");
        assert_eq!(message("{1:1,1:2}/2"), "sparsevec indices must not contain duplicates");
        assert_eq!(message("{1:NaN}/2"), "NaN not allowed in sparsevec");
        assert_eq!(message("{1:inf}/2"), "infinite value not allowed in sparsevec");
        assert_eq!(message("{1:4e38}/2"), "\"4e38\" is out of range for type sparsevec");
        assert_eq!(message("{1:1e-50}/2"), "\"1e-50\" is out of range for type sparsevec");
        let many = format!("{{{}}}/20000", (1..=16_001).map(|i| format!("{i}:1")).collect::<Vec<_>>().join(","));
        assert_eq!(message(&many), "sparsevec cannot have more than 16000 non-zero elements");
    }

    #[test]
    fn binary_is_pgvectors_and_checked() {
        let v = parse_sparse("{1:1.5,3:-2}/5").unwrap();
        let mut bytes = Vec::new();
        encode_sparse(v.as_ref(), &mut bytes);
        assert_eq!(bytes, [0, 0, 0, 5, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0x3f, 0xc0, 0, 0, 0xc0, 0, 0, 0]);
        assert_eq!(decode_sparse(&bytes).unwrap(), v);
        let header = |dim: i32, nnz: i32, unused: i32| [dim.to_be_bytes(), nnz.to_be_bytes(), unused.to_be_bytes()].concat();
        assert_eq!(decode_sparse(&header(0, 0, 0)), Err(VectorError::Empty));
        assert_eq!(decode_sparse(&header(2, -1, 0)), Err(VectorError::NegativeNonZeros));
        assert_eq!(decode_sparse(&header(2, 3, 0)), Err(VectorError::MoreNonZerosThanDimensions));
        assert_eq!(decode_sparse(&header(2, 0, 1)), Err(VectorError::BinaryUnused { unused: 1 }));
        let with = |indices: &[i32], values: &[f32]| {
            let mut b = header(9, indices.len() as i32, 0);
            indices.iter().for_each(|i| b.extend_from_slice(&i.to_be_bytes()));
            values.iter().for_each(|x| b.extend_from_slice(&x.to_be_bytes()));
            decode_sparse(&b)
        };
        assert_eq!(with(&[2, 1], &[1.0, 1.0]), Err(VectorError::IndicesNotAscending));
        assert_eq!(with(&[1, 1], &[1.0, 1.0]), Err(VectorError::DuplicateIndex));
        assert_eq!(with(&[9], &[1.0]), Err(VectorError::IndexOutOfBounds));
        assert_eq!(with(&[1], &[0.0]), Err(VectorError::ZeroInBinary));
        assert_eq!(with(&[1], &[f32::NAN]), Err(VectorError::NaN));
        assert!(matches!(with(&[1], &[]), Err(VectorError::BinaryLength { .. })));
    }

    #[test]
    fn distances_equal_those_of_the_dense_vectors() {
        let mut rng = SmallRng::seed_from_u64(17);
        for _ in 0..200 {
            let dim = rng.gen_range(1..60);
            let dense = |rng: &mut SmallRng| -> Vec<f32> {
                (0..dim).map(|_| if rng.gen_bool(0.3) { rng.gen_range(-2.0..2.0) } else { 0.0 }).collect()
            };
            let (x, y) = (dense(&mut rng), dense(&mut rng));
            let (a, b) = (SparseVector::from_dense(&x).unwrap(), SparseVector::from_dense(&y).unwrap());
            let (a, b) = (a.as_ref(), b.as_ref());
            assert_eq!(a.to_dense(), x);
            let close = |got: f64, want: f64| (got - want).abs() <= 1e-5 * want.abs().max(1.0) || (got.is_nan() && want.is_nan());
            assert!(close(l2_squared(a, b) as f64, crate::distance::l2_squared(&x, &y) as f64));
            assert!(close(dot(a, b) as f64, crate::distance::dot(&x, &y) as f64));
            assert!(close(l1(a, b) as f64, crate::distance::l1(&x, &y) as f64));
            assert!(close(cosine_distance(a, b), Metric::Cosine.distance(&x, &y)));
            assert!(close(a.norm(), crate::distance::norm(&x)));
            assert_eq!(compare(a, b), crate::arith::compare(&x, &y), "{x:?} {y:?}");
        }
    }

    #[test]
    fn order_reads_a_missing_element_as_zero_then_compares_lengths() {
        let v = |s: &str| parse_sparse(s).unwrap();
        assert_eq!(compare(v("{1:1}/3").as_ref(), v("{2:1}/3").as_ref()), Ordering::Greater);
        assert_eq!(compare(v("{1:-1}/3").as_ref(), v("{2:1}/3").as_ref()), Ordering::Less);
        assert_eq!(compare(v("{}/3").as_ref(), v("{3:1}/3").as_ref()), Ordering::Less);
        assert_eq!(compare(v("{1:1}/2").as_ref(), v("{1:1}/3").as_ref()), Ordering::Less);
        assert_eq!(compare(v("{1:1}/2").as_ref(), v("{1:1,3:-1}/3").as_ref()), Ordering::Less);
        assert_eq!(compare(v("{1:1}/3").as_ref(), v("{1:1}/3").as_ref()), Ordering::Equal);
    }

    #[test]
    fn normalize_drops_what_rounds_to_zero() {
        let v = normalize(parse_sparse("{1:3,2:4,3:1e-45}/3").unwrap().as_ref()).unwrap();
        assert_eq!(v, SparseVector { dim: 3, indices: vec![0, 1], values: vec![0.6, 0.8] });
        assert_eq!(normalize(parse_sparse("{}/3").unwrap().as_ref()).unwrap(), SparseVector { dim: 3, ..Default::default() });
    }

    #[test]
    fn distances_in_slots_equal_the_distances_of_the_vectors() {
        let mut rng = SmallRng::seed_from_u64(11);
        let random = |rng: &mut SmallRng| {
            let dense: Vec<f32> = (0..300).map(|_| if rng.gen_bool(0.05) { rng.gen_range(-2.0..2.0) } else { 0.0 }).collect();
            SparseVector::from_dense(&dense).unwrap()
        };
        for _ in 0..50 {
            let (a, b) = (random(&mut rng), random(&mut rng));
            let (sa, sb) = (to_slots(a.as_ref()), to_slots(b.as_ref()));
            assert!(are_slots(&sa) && are_slots(&sb));
            assert_eq!(from_slots(&sa).indices, &a.indices[..]);
            assert_eq!(slot_l2_squared(&sa, &sb), l2_squared(a.as_ref(), b.as_ref()));
            assert_eq!(slot_negative_dot(&sa, &sb), -dot(a.as_ref(), b.as_ref()));
            assert_eq!(slot_l1(&sa, &sb), l1(a.as_ref(), b.as_ref()));
            assert_eq!(slot_cosine_distance(&sa, &sb).to_bits(), cosine_distance(a.as_ref(), b.as_ref()).to_bits());
            if let Some(unit) = normalize_slots(&sa) {
                assert!((from_slots(&unit).norm() - 1.0).abs() < 1e-6);
                assert!((-slot_negative_dot(&unit, &unit) - 1.0).abs() < 1e-6);
            }
        }
        let (a, b) = (random(&mut rng), random(&mut rng));
        let (sa, sb) = (to_slots(a.as_ref()), to_slots(b.as_ref()));
        let padded = padded_slots(&sa, sa.len() + 6, 300).unwrap();
        assert!(are_slots(&padded) && padded.len() == sa.len() + 6 && from_slots(&padded).indices.windows(2).all(|w| w[0] < w[1]));
        for metric in [slot_l2_squared, slot_negative_dot, slot_l1] {
            assert_eq!(metric(&padded, &sb), metric(&sa, &sb), "zeros change no distance");
        }
        assert_eq!(padded_slots(&sa, sa.len(), 300).unwrap(), sa);
        assert_eq!(padded_slots(&sa, sa.len() + 1, 300), None, "not a sparse vector's length");
        assert_eq!(padded_slots(&sa, sa.len() - 2, 300), None, "shorter");
        assert_eq!(padded_slots(&to_slots(parse_sparse("{1:1}/2").unwrap().as_ref()), 7, 2), None, "three indices in two dimensions");
        let zero = to_slots(SparseVector { dim: 5, ..Default::default() }.as_ref());
        assert_eq!(zero.len(), 1, "the zero vector is its count alone");
        assert_eq!(normalize_slots(&zero), None);
        assert!(!are_slots(&[]) && !are_slots(&[f32::from_bits(2), 0.0, 1.0]));
    }

    proptest! {
        #[test]
        fn random_bytes_error_or_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(v) = decode_sparse(&bytes) {
                let mut again = Vec::new();
                encode_sparse(v.as_ref(), &mut again);
                prop_assert_eq!(again, bytes);
            }
        }

        #[test]
        fn random_text_errors_or_round_trips(s in "\\PC{0,30}|[{}:/0-9eE.,+\\- ]{0,30}") {
            if let Ok(v) = parse_sparse(&s) {
                prop_assert_eq!(parse_sparse(&show(&v)).unwrap(), v);
            }
        }
    }
}
