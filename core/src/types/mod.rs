//! The element types of dense vectors: `vector` holds float4 (`f32`),
//! `halfvec` holds float2 ([`Half`]). Text, binary and arithmetic code is
//! written once over [`Element`]; distances read either kind through the
//! float4 kernels (`distance` widens halves a block at a time).

pub mod bits;
mod half;
pub mod sparse;

pub use half::Half;

use crate::{check_dimensions, check_element, text, VectorError};

/// What the text format, the binary format and the element-wise functions
/// need to know about an element type.
pub trait Element: Copy + Default + PartialEq + Send + Sync + 'static {
    /// The SQL type of a vector of these elements, as messages name it.
    const TYPE_NAME: &'static str;
    /// Bytes per element, in a datum and on the wire.
    const BYTES: usize;

    /// The element's exact value as float4 (every float2 is a float4).
    fn to_f32(self) -> f32;

    /// The nearest element to `x` (round to nearest, ties to even), or
    /// `None` when a finite `x` is too large for the type (it would round
    /// to infinity). Infinities and NaN convert to themselves.
    fn from_f32(x: f32) -> Option<Self>;

    /// Appends the element in network byte order.
    fn write_be(self, out: &mut Vec<u8>);

    /// Reads an element from `BYTES` bytes in network byte order.
    fn read_be(bytes: &[u8]) -> Self;

    /// `values` themselves when they are float4 already.
    fn as_f32(_values: &[Self]) -> Option<&[f32]> {
        None
    }

    /// Writes `values` as float4 into `out`, which has their length.
    fn widen_into(values: &[Self], out: &mut [f32]) {
        assert_eq!(values.len(), out.len(), "widening into a slice of another length");
        for (r, x) in out.iter_mut().zip(values) {
            *r = x.to_f32();
        }
    }
}

impl Element for f32 {
    const TYPE_NAME: &'static str = "vector";
    const BYTES: usize = 4;

    #[inline]
    fn to_f32(self) -> f32 {
        self
    }

    #[inline]
    fn from_f32(x: f32) -> Option<Self> {
        Some(x)
    }

    #[inline]
    fn as_f32(values: &[Self]) -> Option<&[f32]> {
        Some(values)
    }

    fn write_be(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }

    fn read_be(bytes: &[u8]) -> Self {
        f32::from_be_bytes(bytes.try_into().expect("4 bytes"))
    }
}

impl Element for Half {
    const TYPE_NAME: &'static str = "halfvec";
    const BYTES: usize = 2;

    #[inline]
    fn to_f32(self) -> f32 {
        Half::to_f32(self)
    }

    #[inline]
    fn from_f32(x: f32) -> Option<Self> {
        let half = Half::from_f32(x);
        (x.is_infinite() || !half.is_infinite()).then_some(half)
    }

    fn write_be(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bits().to_be_bytes());
    }

    fn read_be(bytes: &[u8]) -> Self {
        Half::from_bits(u16::from_be_bytes(bytes.try_into().expect("2 bytes")))
    }

    fn widen_into(values: &[Self], out: &mut [f32]) {
        half::widen_into(values, out)
    }
}

/// The elements of `values` as float4.
pub fn widen<E: Element>(values: &[E]) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    E::widen_into(values, &mut out);
    out
}

/// Float4 values as elements of type `E`, checked the way a cast checks
/// them: a value the type cannot hold is out of range (named as float4
/// prints it), NaN and infinities are not allowed.
pub fn narrow_all<E: Element>(values: &[f32]) -> Result<Vec<E>, VectorError> {
    check_dimensions(values.len())?;
    values
        .iter()
        .map(|&x| {
            let element = E::from_f32(x).ok_or_else(|| {
                let mut token = String::new();
                text::format_float4(x, &mut token);
                VectorError::OutOfRange { token }
            })?;
            check_element(x)?;
            Ok(element)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrowing_names_the_value_that_does_not_fit() {
        assert_eq!(narrow_all::<Half>(&[1.0, 0.5]).unwrap(), [Half::from_f32(1.0), Half::from_f32(0.5)]);
        assert_eq!(narrow_all::<Half>(&[1.0, 70000.0]), Err(VectorError::OutOfRange { token: "70000".into() }));
        assert_eq!(narrow_all::<Half>(&[f32::INFINITY]), Err(VectorError::Infinite));
        assert_eq!(narrow_all::<f32>(&[f32::NAN]), Err(VectorError::NaN));
        assert_eq!(narrow_all::<f32>(&[]), Err(VectorError::Empty));
    }
}
