//! The `vector` type: its datum layout, I/O, functions, casts and aggregates.
//!
//! The SQL that declares all of it is in `sql/vector_ext.sql`; every
//! function here is `#[pg_extern(sql = false)]` and named there by its
//! `<name>_wrapper` symbol.

mod aggregates;
mod casts;
mod datum;
mod functions;
mod io;

pub use datum::PgVector;

use pgrx::pg_sys::panic::ErrorReport;
use pgrx::{PgLogLevel, PgSqlErrorCode};
use vector_core::{ErrorKind, VectorError};

/// Raises a vector error as a PostgreSQL ERROR with its SQLSTATE and detail.
pub fn raise(error: VectorError) -> ! {
    let code = match error.kind() {
        ErrorKind::InvalidTextRepresentation => PgSqlErrorCode::ERRCODE_INVALID_TEXT_REPRESENTATION,
        ErrorKind::DataException => PgSqlErrorCode::ERRCODE_DATA_EXCEPTION,
        ErrorKind::NumericValueOutOfRange => PgSqlErrorCode::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
        ErrorKind::ProgramLimitExceeded => PgSqlErrorCode::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
        ErrorKind::InvalidParameterValue => PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
        ErrorKind::InvalidBinaryRepresentation => PgSqlErrorCode::ERRCODE_INVALID_BINARY_REPRESENTATION,
    };
    let mut report = ErrorReport::new(code, error.to_string(), "vector_ext");
    if let Some(detail) = error.detail() {
        report = report.set_detail(detail);
    }
    report.report(PgLogLevel::ERROR);
    unreachable!("an ERROR report does not return")
}

/// `result.or_raise()`: the value, or the error raised in PostgreSQL.
pub trait OrRaise<T> {
    fn or_raise(self) -> T;
}

impl<T> OrRaise<T> for Result<T, VectorError> {
    fn or_raise(self) -> T {
        self.unwrap_or_else(|error| raise(error))
    }
}
