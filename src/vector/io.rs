//! Text and binary input/output and the `vector(n)` type modifier.

use std::ffi::{CStr, CString};

use pgrx::datum::Array;
use pgrx::prelude::*;
use pgrx::{pg_sys, Internal};
use vector_core::{check_typmod, text, wire, VECTOR_MAX_DIM};

use super::{OrRaise, PgVector};

#[pg_extern(sql = false)]
fn vector_in(input: &CStr, _type_oid: pg_sys::Oid, typmod: i32) -> PgVector {
    let input = String::from_utf8_lossy(input.to_bytes());
    let elements = text::parse_vector(&input).or_raise();
    check_typmod(elements.len(), typmod).or_raise();
    PgVector::from_slice(&elements)
}

#[pg_extern(sql = false)]
fn vector_out(vector: PgVector) -> CString {
    let mut out = String::new();
    text::format_vector(vector.as_slice(), &mut out);
    CString::new(out).expect("a formatted vector has no NUL bytes")
}

/// `vector(n)`: n must be one integer from 1 to 16,000.
#[pg_extern(sql = false)]
fn vector_typmod_in(modifiers: Array<&CStr>) -> i32 {
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
        ereport!(ERROR, PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE, "dimensions for type vector must be at least 1");
    }
    if dim as usize > VECTOR_MAX_DIM {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("dimensions for type vector cannot exceed {VECTOR_MAX_DIM}")
        );
    }
    dim
}

/// Binary input. PostgreSQL hands each value its own buffer (a bind
/// parameter, a COPY field, an array element), so the value is all of what
/// is left in it.
#[pg_extern(sql = false)]
fn vector_recv(mut buffer: Internal, _type_oid: pg_sys::Oid, typmod: i32) -> PgVector {
    // SAFETY: the SQL signature passes a StringInfo as `internal`.
    let buffer = unsafe { buffer.get_mut::<pg_sys::StringInfoData>() }.expect("recv gets a buffer");
    let (start, end) = (buffer.cursor as usize, buffer.len as usize);
    // SAFETY: a StringInfo's data holds len bytes and cursor <= len.
    let bytes = unsafe { std::slice::from_raw_parts(buffer.data.cast::<u8>().add(start), end - start) };
    let elements = wire::decode(bytes).or_raise();
    buffer.cursor = buffer.len;
    check_typmod(elements.len(), typmod).or_raise();
    PgVector::from_slice(&elements)
}

#[pg_extern(sql = false)]
fn vector_send(vector: PgVector) -> Vec<u8> {
    let mut out = Vec::new();
    wire::encode(vector.as_slice(), &mut out);
    out
}
