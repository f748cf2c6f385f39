//! Errors a user can meet when building or combining vectors.
//!
//! Each error carries the class PostgreSQL reports it under ([`ErrorKind`]);
//! the extension maps that class to a SQLSTATE, the message is the Display text.

use std::fmt;

use crate::types::sparse::{SPARSE_MAX_DIM, SPARSE_MAX_NONZEROS};
use crate::VECTOR_MAX_DIM;

/// The SQLSTATE class of an error, as PostgreSQL and pgvector report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 22P02 invalid_text_representation
    InvalidTextRepresentation,
    /// 22000 data_exception
    DataException,
    /// 22003 numeric_value_out_of_range
    NumericValueOutOfRange,
    /// 54000 program_limit_exceeded
    ProgramLimitExceeded,
    /// 22023 invalid_parameter_value
    InvalidParameterValue,
    /// 22P03 invalid_binary_representation
    InvalidBinaryRepresentation,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VectorError {
    /// Text that is not a vector literal; `input` is the whole literal.
    InvalidSyntax { input: String, detail: Option<&'static str> },
    /// A number too large for the element type, as it was written.
    OutOfRange { token: String },
    Empty,
    TooManyDimensions,
    NaN,
    Infinite,
    /// Two operands of different dimensions.
    DimensionMismatch { left: usize, right: usize },
    /// A value that does not fit the column's `vector(n)`.
    TypmodMismatch { expected: usize, actual: usize },
    /// A binary value whose length disagrees with its header.
    BinaryLength { dim: usize, expected_bytes: usize, actual_bytes: usize },
    /// The header's reserved field was not zero.
    BinaryUnused { unused: u16 },
    /// A result element overflowed float4 (e.g. in `+` or `*`).
    Overflow,
    /// A product of non-zero elements rounded to zero.
    Underflow,
    /// A sparse vector of more than [`SPARSE_MAX_DIM`] dimensions.
    TooManySparseDimensions,
    /// More than [`SPARSE_MAX_NONZEROS`] non-zero elements.
    TooManyNonZeros,
    /// A binary sparse vector whose header counts fewer than zero elements.
    NegativeNonZeros,
    /// More non-zero elements than dimensions.
    MoreNonZerosThanDimensions,
    /// A sparse index below 1 or past the dimensions (1-based as written).
    IndexOutOfBounds,
    /// Binary sparse indices out of order.
    IndicesNotAscending,
    /// The same sparse index twice.
    DuplicateIndex,
    /// A zero stored as a non-zero element of a binary sparse vector.
    ZeroInBinary,
}

impl VectorError {
    pub fn kind(&self) -> ErrorKind {
        use VectorError::*;
        match self {
            InvalidSyntax { .. } => ErrorKind::InvalidTextRepresentation,
            OutOfRange { .. } | Overflow | Underflow => ErrorKind::NumericValueOutOfRange,
            Empty | NaN | Infinite | DimensionMismatch { .. } | TypmodMismatch { .. } | NegativeNonZeros | IndexOutOfBounds
            | IndicesNotAscending | DuplicateIndex | ZeroInBinary => ErrorKind::DataException,
            TooManyDimensions | TooManySparseDimensions | TooManyNonZeros | MoreNonZerosThanDimensions => {
                ErrorKind::ProgramLimitExceeded
            }
            BinaryLength { .. } => ErrorKind::InvalidBinaryRepresentation,
            BinaryUnused { .. } => ErrorKind::InvalidParameterValue,
        }
    }

    /// The DETAIL line PostgreSQL prints under the message, if any.
    pub fn detail(&self) -> Option<&'static str> {
        match self {
            VectorError::InvalidSyntax { detail, .. } => *detail,
            _ => None,
        }
    }
}

impl VectorError {
    /// The message, naming the SQL type (`vector`, `halfvec`) the value was meant to be.
    pub fn message(&self, type_name: &str) -> String {
        use VectorError::*;
        match self {
            InvalidSyntax { input, .. } => format!("invalid input syntax for type {type_name}: \"{input}\""),
            OutOfRange { token } => format!("\"{token}\" is out of range for type {type_name}"),
            Empty => format!("{type_name} must have at least 1 dimension"),
            TooManyDimensions => format!("{type_name} cannot have more than {VECTOR_MAX_DIM} dimensions"),
            NaN => format!("NaN not allowed in {type_name}"),
            Infinite => format!("infinite value not allowed in {type_name}"),
            DimensionMismatch { left, right } => format!("different {type_name} dimensions {left} and {right}"),
            TypmodMismatch { expected, actual } => format!("expected {expected} dimensions, not {actual}"),
            BinaryLength { dim, expected_bytes, actual_bytes } => {
                format!("binary {type_name} of {dim} dimensions needs {expected_bytes} bytes, got {actual_bytes}")
            }
            BinaryUnused { unused } => format!("expected unused to be 0, not {unused}"),
            Overflow => "value out of range: overflow".to_owned(),
            Underflow => "value out of range: underflow".to_owned(),
            TooManySparseDimensions => format!("{type_name} cannot have more than {SPARSE_MAX_DIM} dimensions"),
            TooManyNonZeros => format!("{type_name} cannot have more than {SPARSE_MAX_NONZEROS} non-zero elements"),
            NegativeNonZeros => format!("{type_name} cannot have negative number of elements"),
            MoreNonZerosThanDimensions => format!("{type_name} cannot have more elements than dimensions"),
            IndexOutOfBounds => format!("{type_name} index out of bounds"),
            IndicesNotAscending => format!("{type_name} indices must be in ascending order"),
            DuplicateIndex => format!("{type_name} indices must not contain duplicates"),
            ZeroInBinary => format!("binary representation of {type_name} cannot contain zero values"),
        }
    }
}

/// The message for a `vector`.
impl fmt::Display for VectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message("vector"))
    }
}

impl std::error::Error for VectorError {}

/// Two operands must have the same number of dimensions.
pub fn check_same_dimensions(left: usize, right: usize) -> Result<(), VectorError> {
    if left == right {
        Ok(())
    } else {
        Err(VectorError::DimensionMismatch { left, right })
    }
}
