//! Casts: `vector(n)` coercion, arrays to vector, vector to `real[]`.

use std::ptr::NonNull;

use pgrx::array::RawArray;
use pgrx::prelude::*;
use pgrx::{pg_sys, AnyArray, AnyNumeric};
use vector_core::{check_typmod, check_vector};

use super::{OrRaise, PgVector};

/// The length coercion behind `::vector(3)` and assignments to a `vector(3)` column.
#[pg_extern(sql = false)]
fn vector(vector: PgVector, typmod: i32, _explicit: bool) -> PgVector {
    check_typmod(vector.dim(), typmod).or_raise();
    vector
}

/// `integer[]`, `real[]`, `double precision[]` and `numeric[]` to vector:
/// one-dimensional, no NULLs, every element a finite float4.
#[pg_extern(sql = false)]
fn array_to_vector(array: AnyArray, typmod: i32, _explicit: bool) -> PgVector {
    // SAFETY: the argument is a non-null array datum; detoasting gives a plain ArrayType.
    let raw = unsafe {
        let detoasted = pg_sys::pg_detoast_datum(array.datum().cast_mut_ptr());
        RawArray::from_ptr(NonNull::new(detoasted.cast()).expect("detoasting never returns null"))
    };
    if raw.dims().len() > 1 {
        ereport!(ERROR, PgSqlErrorCode::ERRCODE_DATA_EXCEPTION, "array must be 1-D");
    }
    // SAFETY: `raw` is a valid, detoasted array.
    if unsafe { raw.any_nulls() } {
        ereport!(ERROR, PgSqlErrorCode::ERRCODE_NULL_VALUE_NOT_ALLOWED, "array must not contain nulls");
    }
    let element_type = raw.oid();
    let elements: Vec<f32> = if element_type == pg_sys::INT4OID {
        flatten::<i32>(&array).into_iter().map(|x| x as f32).collect()
    } else if element_type == pg_sys::FLOAT4OID {
        flatten::<f32>(&array)
    } else if element_type == pg_sys::FLOAT8OID {
        flatten::<f64>(&array).into_iter().map(|x| x as f32).collect()
    } else if element_type == pg_sys::NUMERICOID {
        flatten::<AnyNumeric>(&array)
            .into_iter()
            .map(|x| f32::try_from(x).unwrap_or(f32::INFINITY))
            .collect()
    } else {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
            format!("unsupported array element type {}", element_type.to_u32())
        );
    };
    check_vector(&elements).or_raise();
    check_typmod(elements.len(), typmod).or_raise();
    PgVector::from_slice(&elements)
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

#[pg_extern(sql = false)]
fn vector_to_float4(vector: PgVector, _typmod: i32, _explicit: bool) -> Vec<f32> {
    vector.as_slice().to_vec()
}
