//! The SQL types: `vector` and `halfvec` (one generic implementation over
//! the element type), `sparsevec`, and the functions on PostgreSQL's `bit`.
//!
//! The SQL that declares all of it is in `sql/vector_ext.sql`; every
//! function here is `#[pg_extern(sql = false)]` and named there by its
//! `<name>_wrapper` symbol. The bodies of the dense types' functions are
//! written once, generic over [`Element`](vector_core::types::Element), in
//! `io`, `functions`, `casts` and `aggregates`; `vector.rs` and `halfvec.rs`
//! only give them their SQL names through [`dense_type!`].

#[macro_use]
mod dense_sql;

mod aggregates;
mod bit;
mod casts;
mod dense;
mod functions;
mod halfvec;
mod io;
mod sparsevec;
mod vector;

pub use bit::PgBit;
pub use dense::{PgHalfVec, PgVector};
pub use sparsevec::PgSparseVec;

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};
use vector_core::{ErrorKind, VectorError};

/// Raises an error about a value of SQL type `type_name` as a PostgreSQL
/// ERROR with its SQLSTATE and detail.
pub fn raise_as(error: VectorError, type_name: &str) -> ! {
    let code = match error.kind() {
        ErrorKind::InvalidTextRepresentation => PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
        ErrorKind::DataException => PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
        ErrorKind::NumericValueOutOfRange => PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
        ErrorKind::ProgramLimitExceeded => PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
        ErrorKind::InvalidParameterValue => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        ErrorKind::InvalidBinaryRepresentation => PgSqlErrorCode::ERRCODE_INVALID_BINARY_REPRESENTATION,
    };
    let mut report = ErrorReport::new(code, error.message(type_name), "vector_ext");
    if let Some(detail) = error.detail() {
        report = report.set_detail(detail);
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("an ERROR report does not return")
}

/// `result.or_raise_as("halfvec")`: the value, or the error about a value of
/// that SQL type raised in PostgreSQL.
pub trait OrRaise<T> {
    fn or_raise_as(self, type_name: &str) -> T;
}

impl<T> OrRaise<T> for Result<T, VectorError> {
    fn or_raise_as(self, type_name: &str) -> T {
        self.unwrap_or_else(|error| raise_as(error, type_name))
    }
}
