//! Distances, vector functions, arithmetic operators and btree comparisons.

use std::cmp::Ordering;

use pgrx::prelude::*;
use vector_core::distance::{self, Metric};
use vector_core::{arith, check_dimensions, check_same_dimensions};

use super::{OrRaise, PgVector};

fn distance_between(a: &PgVector, b: &PgVector, metric: Metric) -> f64 {
    check_same_dimensions(a.dim(), b.dim()).or_raise();
    metric.distance(a.as_slice(), b.as_slice())
}

#[pg_extern(sql = false)]
fn l2_distance(a: PgVector, b: PgVector) -> f64 {
    distance_between(&a, &b, Metric::L2)
}

/// What the index compares for `<->`: the square root is monotonic, so it is skipped.
#[pg_extern(sql = false)]
fn vector_l2_squared_distance(a: PgVector, b: PgVector) -> f64 {
    check_same_dimensions(a.dim(), b.dim()).or_raise();
    distance::l2_squared(a.as_slice(), b.as_slice()) as f64
}

#[pg_extern(sql = false)]
fn inner_product(a: PgVector, b: PgVector) -> f64 {
    -distance_between(&a, &b, Metric::InnerProduct)
}

#[pg_extern(sql = false)]
fn vector_negative_inner_product(a: PgVector, b: PgVector) -> f64 {
    distance_between(&a, &b, Metric::InnerProduct)
}

#[pg_extern(sql = false)]
fn cosine_distance(a: PgVector, b: PgVector) -> f64 {
    distance_between(&a, &b, Metric::Cosine)
}

#[pg_extern(sql = false)]
fn l1_distance(a: PgVector, b: PgVector) -> f64 {
    distance_between(&a, &b, Metric::L1)
}

#[pg_extern(sql = false)]
fn vector_dims(a: PgVector) -> i32 {
    a.dim() as i32
}

#[pg_extern(sql = false)]
fn vector_norm(a: PgVector) -> f64 {
    distance::norm(a.as_slice())
}

#[pg_extern(sql = false)]
fn l2_normalize(a: PgVector) -> PgVector {
    let mut result = Ok(());
    let normalized = PgVector::build(a.dim(), |out| result = arith::normalize(a.as_slice(), out));
    result.or_raise();
    normalized
}

#[pg_extern(sql = false)]
fn subvector(a: PgVector, start: i32, count: i32) -> PgVector {
    let range = arith::subvector_range(a.dim(), start, count).or_raise();
    PgVector::from_slice(&a.as_slice()[range])
}

/// Builds `op(a, b)` for an element-wise operator.
fn elementwise(a: &PgVector, b: &PgVector, op: fn(&[f32], &[f32], &mut [f32]) -> Result<(), vector_core::VectorError>) -> PgVector {
    check_same_dimensions(a.dim(), b.dim()).or_raise();
    let mut result = Ok(());
    let vector = PgVector::build(a.dim(), |out| result = op(a.as_slice(), b.as_slice(), out));
    result.or_raise();
    vector
}

#[pg_extern(sql = false)]
fn vector_add(a: PgVector, b: PgVector) -> PgVector {
    elementwise(&a, &b, arith::add)
}

#[pg_extern(sql = false)]
fn vector_sub(a: PgVector, b: PgVector) -> PgVector {
    elementwise(&a, &b, arith::sub)
}

#[pg_extern(sql = false)]
fn vector_mul(a: PgVector, b: PgVector) -> PgVector {
    elementwise(&a, &b, arith::mul)
}

#[pg_extern(sql = false)]
fn vector_concat(a: PgVector, b: PgVector) -> PgVector {
    let (a, b) = (a.as_slice(), b.as_slice());
    check_dimensions(a.len() + b.len()).or_raise();
    PgVector::build(a.len() + b.len(), |out| {
        out[..a.len()].copy_from_slice(a);
        out[a.len()..].copy_from_slice(b);
    })
}

#[pg_extern(sql = false)]
fn vector_cmp(a: PgVector, b: PgVector) -> i32 {
    arith::compare(a.as_slice(), b.as_slice()) as i32
}

fn order(a: &PgVector, b: &PgVector) -> Ordering {
    arith::compare(a.as_slice(), b.as_slice())
}

#[pg_extern(sql = false)]
fn vector_lt(a: PgVector, b: PgVector) -> bool {
    order(&a, &b).is_lt()
}

#[pg_extern(sql = false)]
fn vector_le(a: PgVector, b: PgVector) -> bool {
    order(&a, &b).is_le()
}

#[pg_extern(sql = false)]
fn vector_eq(a: PgVector, b: PgVector) -> bool {
    order(&a, &b).is_eq()
}

#[pg_extern(sql = false)]
fn vector_ne(a: PgVector, b: PgVector) -> bool {
    order(&a, &b).is_ne()
}

#[pg_extern(sql = false)]
fn vector_ge(a: PgVector, b: PgVector) -> bool {
    order(&a, &b).is_ge()
}

#[pg_extern(sql = false)]
fn vector_gt(a: PgVector, b: PgVector) -> bool {
    order(&a, &b).is_gt()
}
