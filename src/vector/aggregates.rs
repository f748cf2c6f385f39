//! `avg(vector)`: the transition state is a float8[] of `{count, sum_1, ..., sum_d}`,
//! summed in double precision, so partial states from parallel workers
//! combine by adding them up. `sum(vector)` needs nothing here: it is
//! `vector_add` as both transition and combine function.

use pgrx::prelude::*;
use vector_core::{arith, check_dimensions, check_same_dimensions};

use super::{OrRaise, PgVector};

/// The state's numbers; the state is a plain float8[] anyone can pass to
/// these functions by hand, so a NULL in it is a clean error.
fn state_values(state: Vec<Option<f64>>) -> Vec<f64> {
    state
        .into_iter()
        .map(|x| {
            x.unwrap_or_else(|| {
                ereport!(ERROR, PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED, "vector aggregate state must not contain NULLs");
            })
        })
        .collect()
}

#[pg_extern(sql = false)]
fn vector_accum(state: Vec<Option<f64>>, value: PgVector) -> Vec<f64> {
    let mut state = state_values(state);
    let value = value.as_slice();
    if state.len() <= 1 {
        state.resize(1 + value.len(), 0.0);
    } else {
        check_same_dimensions(state.len() - 1, value.len()).or_raise();
    }
    state[0] += 1.0;
    for (sum, &x) in state[1..].iter_mut().zip(value) {
        *sum += x as f64;
    }
    state
}

#[pg_extern(sql = false)]
fn vector_combine(state: Vec<Option<f64>>, other: Vec<Option<f64>>) -> Vec<f64> {
    let (mut state, other) = (state_values(state), state_values(other));
    if other.len() <= 1 {
        return state;
    }
    if state.len() <= 1 {
        return other;
    }
    check_same_dimensions(state.len() - 1, other.len() - 1).or_raise();
    for (sum, x) in state.iter_mut().zip(&other) {
        *sum += x;
    }
    state
}

#[pg_extern(sql = false)]
fn vector_avg(state: Vec<Option<f64>>) -> Option<PgVector> {
    let state = state_values(state);
    let (&count, sums) = state.split_first()?;
    if count == 0.0 {
        return None;
    }
    // a hand-made state may have any length
    check_dimensions(sums.len()).or_raise();
    let average = PgVector::build(sums.len(), |out| {
        for (r, sum) in out.iter_mut().zip(sums) {
            *r = (sum / count) as f32;
        }
    });
    arith::check_no_overflow(average.as_slice()).or_raise();
    Some(average)
}
