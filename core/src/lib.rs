//! The pure-Rust heart of vector_ext.
//!
//! Nothing in this crate knows about PostgreSQL: it is the part of the
//! extension that can be tested, benchmarked and reasoned about on its own.
//!
//! - [`distance`]: SIMD distance kernels on `&[f32]`, chosen once at run time.
//! - [`text`] and [`wire`]: the vector text format (`[1,2,3]`) and pgvector's
//!   binary send/recv format, with the errors a user sees.
//! - [`hnsw`]: the HNSW graph algorithm behind a storage trait, with an
//!   in-memory store used by index builds and by the unit tests.
//! - [`quant`]: RaBitQ codes that estimate distances without full vectors.
#![deny(unsafe_op_in_unsafe_fn)]

pub mod arith;
pub mod distance;
pub mod error;
pub mod flat;
pub mod float4_literal;
pub mod hnsw;
pub mod ivf;
pub mod quant;
pub mod text;
pub mod types;
pub mod wire;

#[doc(hidden)]
pub mod test_data;

pub use error::{check_same_dimensions, ErrorKind, VectorError};

/// The most dimensions a `vector` value may have (pgvector's VECTOR_MAX_DIM).
pub const VECTOR_MAX_DIM: usize = 16_000;

/// Checks the rules every vector obeys: 1 to [`VECTOR_MAX_DIM`] finite elements.
pub fn check_vector(elements: &[f32]) -> Result<(), VectorError> {
    check_dimensions(elements.len())?;
    elements.iter().try_for_each(|&x| check_element(x))
}

/// Checks a dimension count against the type's limits.
pub fn check_dimensions(dim: usize) -> Result<(), VectorError> {
    if dim < 1 {
        Err(VectorError::Empty)
    } else if dim > VECTOR_MAX_DIM {
        Err(VectorError::TooManyDimensions)
    } else {
        Ok(())
    }
}

/// Checks a value against a column's `vector(n)`; typmod -1 means any.
pub fn check_typmod(dim: usize, typmod: i32) -> Result<(), VectorError> {
    if typmod >= 0 && dim != typmod as usize {
        return Err(VectorError::TypmodMismatch { expected: typmod as usize, actual: dim });
    }
    Ok(())
}

/// NaN and infinities are not vector elements.
pub fn check_element(x: f32) -> Result<(), VectorError> {
    if x.is_nan() {
        Err(VectorError::NaN)
    } else if x.is_infinite() {
        Err(VectorError::Infinite)
    } else {
        Ok(())
    }
}
