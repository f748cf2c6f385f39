//! Errors a user can meet when building or combining vectors.
//!
//! Each error carries the class PostgreSQL reports it under ([`ErrorKind`]);
//! the extension maps that class to a SQLSTATE, the message is the Display text.

use std::fmt;

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
    /// A number too large for float4, as it was written.
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
}

impl VectorError {
    pub fn kind(&self) -> ErrorKind {
        use VectorError::*;
        match self {
            InvalidSyntax { .. } => ErrorKind::InvalidTextRepresentation,
            OutOfRange { .. } | Overflow | Underflow => ErrorKind::NumericValueOutOfRange,
            Empty | NaN | Infinite | DimensionMismatch { .. } | TypmodMismatch { .. } => {
                ErrorKind::DataException
            }
            TooManyDimensions => ErrorKind::ProgramLimitExceeded,
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

impl fmt::Display for VectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use VectorError::*;
        match self {
            InvalidSyntax { input, .. } => write!(f, "invalid input syntax for type vector: \"{input}\""),
            OutOfRange { token } => write!(f, "\"{token}\" is out of range for type vector"),
            Empty => f.write_str("vector must have at least 1 dimension"),
            TooManyDimensions => write!(f, "vector cannot have more than {VECTOR_MAX_DIM} dimensions"),
            NaN => f.write_str("NaN not allowed in vector"),
            Infinite => f.write_str("infinite value not allowed in vector"),
            DimensionMismatch { left, right } => write!(f, "different vector dimensions {left} and {right}"),
            TypmodMismatch { expected, actual } => write!(f, "expected {expected} dimensions, not {actual}"),
            BinaryLength { dim, expected_bytes, actual_bytes } => write!(
                f,
                "binary vector of {dim} dimensions needs {expected_bytes} bytes, got {actual_bytes}"
            ),
            BinaryUnused { unused } => write!(f, "expected unused to be 0, not {unused}"),
            Overflow => f.write_str("value out of range: overflow"),
            Underflow => f.write_str("value out of range: underflow"),
        }
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
