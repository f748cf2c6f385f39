//! Distances, vector functions, arithmetic operators and btree comparisons,
//! for any dense element type.

use std::cmp::Ordering;

use pgrx::pg_sys;
use vector_core::distance;
use vector_core::types::{bits, Element};
use vector_core::{arith, check_dimensions, check_same_dimensions, VectorError};

use super::bit::PgBit;
use super::dense::PgDense;
use super::OrRaise;

/// The (non-null) arguments of a distance function, checked to have the
/// same dimensions, with the next rows of a sequential scan prefetched.
///
/// # Safety
/// `fcinfo` must be a call with two non-null arguments of this type.
pub(super) unsafe fn two_vectors<E: Element>(fcinfo: pg_sys::FunctionCallInfo) -> (PgDense<E>, PgDense<E>) {
    // SAFETY: the caller guarantees two arguments, neither NULL (STRICT).
    let (a, b) = unsafe {
        let args = (*fcinfo).args.as_slice(2);
        (PgDense::<E>::from_datum_unchecked(args[0].value), PgDense::<E>::from_datum_unchecked(args[1].value))
    };
    check_same_dimensions(a.dim(), b.dim()).or_raise_as(E::TYPE_NAME);
    prefetch_next_rows(a.as_slice());
    (a, b)
}

/// Starts loading the two rows a sequential scan reads after the one whose
/// vector is `row`: a heap page lays its rows down from its end backwards
/// and the scan reads them in line-pointer order, so they sit just below
/// this one. Cut pydoc-minilm's exact scan from 1.03x pgvector's CPU to
/// 0.86x. A hint: it never faults, and a vector that is not on a heap page
/// (the query, a detoasted copy) only loses the prefetch. Vectors over
/// TOAST's 2 KB threshold are never on the heap page: no hint for them.
/// TOAST_TUPLE_THRESHOLD for 8 KB pages (a macro pgrx does not bind).
const TOAST_TUPLE_THRESHOLD: usize = 2032;

#[inline]
fn prefetch_next_rows<E: Element>(row: &[E]) {
    let vector_bytes = E::BYTES * row.len();
    if vector_bytes > TOAST_TUPLE_THRESHOLD {
        return;
    }
    // Two rows of this width with their tuple headers, from the lowest line up.
    let bytes = 2 * (vector_bytes + 64);
    distance::prefetch(row.as_ptr().cast::<u8>().wrapping_sub(bytes), bytes / 64 + 1);
}

/// The angle between two unit vectors as a fraction of π: what pgvector's
/// spherical k-means compares (it obeys the triangle inequality).
pub(super) fn spherical_distance<E: Element>(a: &[E], b: &[E]) -> f64 {
    let cosine = (distance::dot(a, b) as f64).clamp(-1.0, 1.0);
    cosine.acos() / std::f64::consts::PI
}

pub(super) fn norm<E: Element>(a: PgDense<E>) -> f64 {
    distance::norm(a.as_slice())
}

pub(super) fn l2_normalize<E: Element>(a: PgDense<E>) -> PgDense<E> {
    let mut result = Ok(());
    let normalized = PgDense::build(a.dim(), |out| result = arith::normalize(a.as_slice(), out));
    result.or_raise_as(E::TYPE_NAME);
    normalized
}

pub(super) fn binary_quantize<E: Element>(a: PgDense<E>) -> PgBit {
    PgBit::build(a.dim(), |out| bits::binary_quantize(a.as_slice(), out))
}

pub(super) fn subvector<E: Element>(a: PgDense<E>, start: i32, count: i32) -> PgDense<E> {
    let range = arith::subvector_range(a.dim(), start, count).or_raise_as(E::TYPE_NAME);
    PgDense::from_slice(&a.as_slice()[range])
}

/// An element-wise operator: `arith::add`, `sub` or `mul`.
type Elementwise<E> = fn(&[E], &[E], &mut [E]) -> Result<(), VectorError>;

/// Builds `op(a, b)` for an element-wise operator.
pub(super) fn elementwise<E: Element>(a: PgDense<E>, b: PgDense<E>, op: Elementwise<E>) -> PgDense<E> {
    check_same_dimensions(a.dim(), b.dim()).or_raise_as(E::TYPE_NAME);
    let mut result = Ok(());
    let vector = PgDense::build(a.dim(), |out| result = op(a.as_slice(), b.as_slice(), out));
    result.or_raise_as(E::TYPE_NAME);
    vector
}

pub(super) fn concat<E: Element>(a: PgDense<E>, b: PgDense<E>) -> PgDense<E> {
    let (a, b) = (a.as_slice(), b.as_slice());
    check_dimensions(a.len() + b.len()).or_raise_as(E::TYPE_NAME);
    PgDense::build(a.len() + b.len(), |out| {
        out[..a.len()].copy_from_slice(a);
        out[a.len()..].copy_from_slice(b);
    })
}

/// pgvector's btree order (`arith::compare`).
pub(super) fn order<E: Element>(a: PgDense<E>, b: PgDense<E>) -> Ordering {
    arith::compare(a.as_slice(), b.as_slice())
}
