//! Casts: `vector(n)` / `halfvec(n)` coercion, arrays to either type, either
//! type to `real[]`, and between the two.

use std::ptr::NonNull;

use pgrx::array::RawArray;
use pgrx::prelude::*;
use pgrx::{pg_sys, AnyArray, AnyNumeric};
use vector_core::types::{narrow_all, widen, Element};
use vector_core::check_typmod;

use super::dense::PgDense;
use super::OrRaise;

/// The length coercion behind `::vector(3)` and assignments to a `vector(3)` column.
pub(super) fn coerce<E: Element>(vector: PgDense<E>, typmod: i32) -> PgDense<E> {
    check_typmod(vector.dim(), typmod).or_raise_as(E::TYPE_NAME);
    vector
}

/// `vector` to `halfvec` and back: every element must fit the target type.
pub(super) fn convert<From: Element, To: Element>(vector: PgDense<From>, typmod: i32) -> PgDense<To> {
    let elements = narrow_all::<To>(&widen(vector.as_slice())).or_raise_as(To::TYPE_NAME);
    check_typmod(elements.len(), typmod).or_raise_as(To::TYPE_NAME);
    PgDense::from_slice(&elements)
}

/// The detoasted array behind an array argument.
pub(super) fn raw_array(array: &AnyArray) -> RawArray {
    // SAFETY: the argument is a non-null array datum; detoasting gives a plain ArrayType.
    unsafe {
        let detoasted = pg_sys::pg_detoast_datum(array.datum().cast_mut_ptr());
        RawArray::from_ptr(NonNull::new(detoasted.cast()).expect("detoasting never returns null"))
    }
}

/// `integer[]`, `real[]`, `double precision[]` and `numeric[]` to a dense
/// vector: one-dimensional, no NULLs, every element fits the type.
pub(super) fn from_array<E: Element>(array: AnyArray, typmod: i32) -> PgDense<E> {
    let elements = narrow_all::<E>(&array_values(&array)).or_raise_as(E::TYPE_NAME);
    check_typmod(elements.len(), typmod).or_raise_as(E::TYPE_NAME);
    PgDense::from_slice(&elements)
}

/// The elements of a one-dimensional, NULL-free numeric array as float4
/// (too large ones as infinity, for the caller to reject).
pub(super) fn array_values(array: &AnyArray) -> Vec<f32> {
    let raw = raw_array(array);
    if raw.dims().len() > 1 {
        ereport!(ERROR, PgSqlErrorCode::ERRCODE_DATA_EXCEPTION, "array must be 1-D");
    }
    // SAFETY: `raw` is a valid, detoasted array.
    if unsafe { raw.any_nulls() } {
        ereport!(ERROR, PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED, "array must not contain nulls");
    }
    let element_type = raw.oid();
    if element_type == pg_sys::INT4OID {
        flatten::<i32>(array).into_iter().map(|x| x as f32).collect()
    } else if element_type == pg_sys::FLOAT4OID {
        flatten::<f32>(array)
    } else if element_type == pg_sys::FLOAT8OID {
        flatten::<f64>(array).into_iter().map(|x| x as f32).collect()
    } else if element_type == pg_sys::NUMERICOID {
        flatten::<AnyNumeric>(array)
            .into_iter()
            .map(|x| f32::try_from(x).unwrap_or(f32::INFINITY))
            .collect()
    } else {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
            format!("unsupported array element type {}", element_type.to_u32())
        );
    }
}

/// The elements of a NULL-free array.
fn flatten<T>(array: &AnyArray) -> Vec<T>
where
    for<'arr> T: pgrx::datum::UnboxDatum<As<'arr> = T> + 'arr,
{
    array
        .into::<Vec<Option<T>>>()
        .expect("a non-null array")
        .into_iter()
        .map(|x| x.expect("NULLs were rejected"))
        .collect()
}

pub(super) fn to_float4<E: Element>(vector: PgDense<E>) -> Vec<f32> {
    widen(vector.as_slice())
}
