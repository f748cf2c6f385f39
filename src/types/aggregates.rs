//! `avg` over a dense type: the transition state is a float8[] of
//! `{count, sum_1, ..., sum_d}`, summed in double precision, so partial
//! states from parallel workers combine by adding them up. `sum` needs
//! nothing here: it is the type's `+` as both transition and combine function.

use pgrx::prelude::*;
use pgrx::{pg_sys, AnyArray};
use vector_core::types::Element;
use vector_core::{arith, check_dimensions, check_same_dimensions};

use super::casts::raw_array;
use super::dense::PgDense;
use super::OrRaise;

/// The state's numbers. The state is a plain float8[] anyone can pass to
/// these functions by hand: like pgvector, anything but a one-dimensional,
/// non-empty, NULL-free float8 array is rejected with pgvector's message,
/// but as invalid_parameter_value (22023), not as an internal error.
fn state_values(state: &AnyArray, function: &str) -> Vec<f64> {
    let mut raw = raw_array(state);
    // SAFETY: `raw` is a valid, detoasted array.
    let has_nulls = unsafe { raw.any_nulls() };
    if raw.dims().len() != 1 || raw.dims()[0] < 1 || has_nulls || raw.oid() != pg_sys::FLOAT8OID {
        ereport!(ERROR, PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, format!("{function}: expected state array"));
    }
    // SAFETY: a one-dimensional float8 array without NULLs holds len float8s.
    unsafe { raw.data::<f64>().as_ref() }.to_vec()
}

pub(super) fn accumulate<E: Element>(state: AnyArray, value: PgDense<E>, function: &str) -> Vec<f64> {
    let mut state = state_values(&state, function);
    let value = value.as_slice();
    if state.len() == 1 {
        state.resize(1 + value.len(), 0.0);
    } else {
        check_same_dimensions(state.len() - 1, value.len()).or_raise_as(E::TYPE_NAME);
    }
    state[0] += 1.0;
    for (sum, x) in state[1..].iter_mut().zip(value) {
        *sum += x.to_f32() as f64;
    }
    state
}

pub(super) fn combine(state: AnyArray, other: AnyArray, function: &str, type_name: &str) -> Vec<f64> {
    let (mut state, other) = (state_values(&state, function), state_values(&other, function));
    if other.len() == 1 {
        return state;
    }
    if state.len() == 1 {
        return other;
    }
    check_same_dimensions(state.len() - 1, other.len() - 1).or_raise_as(type_name);
    for (sum, x) in state.iter_mut().zip(&other) {
        *sum += x;
    }
    state
}

pub(super) fn average<E: Element>(state: AnyArray, function: &str) -> Option<PgDense<E>> {
    let state = state_values(&state, function);
    let (&count, sums) = state.split_first()?;
    if count == 0.0 {
        return None;
    }
    // a hand-made state may have any length
    check_dimensions(sums.len()).or_raise_as(E::TYPE_NAME);
    let mut result = Ok(());
    let average = PgDense::build(sums.len(), |out| {
        for (r, sum) in out.iter_mut().zip(sums) {
            match arith::narrow((sum / count) as f32) {
                Ok(x) => *r = x,
                Err(error) => result = Err(error),
            }
        }
    });
    result.or_raise_as(E::TYPE_NAME);
    Some(average)
}
