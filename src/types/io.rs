//! Text and binary input/output for any dense element type, and the type
//! modifier `vector(n)` / `halfvec(n)` / `sparsevec(n)`.

use std::ffi::{CStr, CString};

use pgrx::datum::Array;
use pgrx::prelude::*;
use pgrx::{pg_sys, Internal};
use vector_core::types::Element;
use vector_core::{check_typmod, text, wire};

use super::dense::PgDense;
use super::OrRaise;

pub(super) fn input<E: Element>(input: &CStr, typmod: i32) -> PgDense<E> {
    // Validating is faster than the lossy copy, which only bad bytes need.
    let input = match input.to_str() {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(input.to_bytes()),
    };
    let elements = text::parse_dense::<E>(&input).or_raise_as(E::TYPE_NAME);
    check_typmod(elements.len(), typmod).or_raise_as(E::TYPE_NAME);
    PgDense::from_slice(&elements)
}

pub(super) fn output<E: Element>(vector: PgDense<E>) -> CString {
    let mut out = String::new();
    text::format_vector(vector.as_slice(), &mut out);
    CString::new(out).expect("a formatted vector has no NUL bytes")
}

/// `vector(n)`, `halfvec(n)`, `sparsevec(n)`: n must be one integer from 1
/// to the type's `max_dimensions`.
pub(super) fn typmod_in(modifiers: Array<&CStr>, type_name: &str, max_dimensions: usize) -> i32 {
    let invalid = || -> ! {
        ereport!(ERROR, PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, "invalid type modifier");
    };
    if modifiers.len() != 1 {
        invalid();
    }
    let Some(Some(text)) = modifiers.get(0) else { invalid() };
    let text = text.to_string_lossy();
    let Ok(dim) = text.trim().parse::<i32>() else {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type integer: \"{text}\"")
        );
    };
    if dim < 1 {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("dimensions for type {type_name} must be at least 1")
        );
    }
    if dim as usize > max_dimensions {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("dimensions for type {type_name} cannot exceed {max_dimensions}")
        );
    }
    dim
}

/// Binary input. PostgreSQL hands each value its own buffer (a bind
/// parameter, a COPY field, an array element), so the value is all of what
/// is left in it.
pub(super) fn receive<E: Element>(mut buffer: Internal, typmod: i32) -> PgDense<E> {
    let elements = with_received_bytes(&mut buffer, wire::decode::<E>).or_raise_as(E::TYPE_NAME);
    check_typmod(elements.len(), typmod).or_raise_as(E::TYPE_NAME);
    PgDense::from_slice(&elements)
}

/// Decodes what is left of a recv function's buffer, and consumes it.
pub(super) fn with_received_bytes<T>(buffer: &mut Internal, decode: impl FnOnce(&[u8]) -> T) -> T {
    // SAFETY: the SQL signature passes a StringInfo as `internal`.
    let buffer = unsafe { buffer.get_mut::<pg_sys::StringInfoData>() }.expect("recv gets a buffer");
    let (start, end) = (buffer.cursor as usize, buffer.len as usize);
    // SAFETY: a StringInfo's data holds len bytes and cursor <= len.
    let bytes = unsafe { std::slice::from_raw_parts(buffer.data.cast::<u8>().add(start), end - start) };
    let decoded = decode(bytes);
    buffer.cursor = buffer.len;
    decoded
}

pub(super) fn send<E: Element>(vector: PgDense<E>) -> Vec<u8> {
    let mut out = Vec::new();
    wire::encode(vector.as_slice(), &mut out);
    out
}
