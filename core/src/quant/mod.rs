//! Vector quantization: compact codes that estimate distances without the
//! full vectors.
//!
//! - [`rabitq`]: RaBitQ and extended RaBitQ codes with error bounds, the
//!   public API.
//! - [`kernels`]: the popcount inner loop, chosen once at run time.
//! - [`int8`]: eight bits a dimension, what a build scores with.

mod grid;
pub mod int8;
pub mod kernels;
pub mod rabitq;
mod rotation;
#[cfg(test)]
mod tests;

pub use rabitq::{code_bytes, Estimate, PreparedQuery, RabitqEncoder};
