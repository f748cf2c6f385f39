//! pgvector's binary format of dense vectors, used by `COPY ... BINARY` and
//! by drivers that bind parameters in binary (psycopg 3, asyncpg,
//! pgvector-go): uint16 dimensions, uint16 zero, then each element (float4
//! for `vector`, float2 for `halfvec`), all in network byte order.

use crate::types::Element;
use crate::{check_dimensions, check_element, VectorError};

const HEADER_BYTES: usize = 4;

/// Appends the binary form of a vector.
pub fn encode<E: Element>(elements: &[E], out: &mut Vec<u8>) {
    let dim = u16::try_from(elements.len()).expect("a vector has at most 16,000 dimensions");
    out.reserve(HEADER_BYTES + E::BYTES * elements.len());
    out.extend_from_slice(&dim.to_be_bytes());
    out.extend_from_slice(&0u16.to_be_bytes());
    for &x in elements {
        x.write_be(out);
    }
}

/// Decodes one binary vector that must fill `bytes` exactly.
pub fn decode<E: Element>(bytes: &[u8]) -> Result<Vec<E>, VectorError> {
    if bytes.len() < HEADER_BYTES {
        return Err(VectorError::BinaryLength { dim: 0, expected_bytes: HEADER_BYTES, actual_bytes: bytes.len() });
    }
    let dim = u16::from_be_bytes([bytes[0], bytes[1]]) as usize;
    let unused = u16::from_be_bytes([bytes[2], bytes[3]]);
    check_dimensions(dim)?;
    if unused != 0 {
        return Err(VectorError::BinaryUnused { unused });
    }
    let expected_bytes = HEADER_BYTES + E::BYTES * dim;
    if bytes.len() != expected_bytes {
        return Err(VectorError::BinaryLength { dim, expected_bytes, actual_bytes: bytes.len() });
    }
    bytes[HEADER_BYTES..]
        .chunks_exact(E::BYTES)
        .map(|b| {
            let x = E::read_be(b);
            check_element(x.to_f32()).map(|()| x)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn matches_pgvector_bytes() {
        let mut out = Vec::new();
        encode(&[1.0, -2.0], &mut out);
        assert_eq!(out, [0, 2, 0, 0, 0x3f, 0x80, 0, 0, 0xc0, 0, 0, 0]);
        assert_eq!(decode::<f32>(&out).unwrap(), vec![1.0, -2.0]);
    }

    #[test]
    fn rejects_lying_or_truncated_buffers() {
        assert!(matches!(decode::<f32>(&[0, 2, 0, 0, 0x3f, 0x80, 0, 0]), Err(VectorError::BinaryLength { dim: 2, expected_bytes: 12, actual_bytes: 8 })));
        assert!(matches!(decode::<f32>(&[0, 1]), Err(VectorError::BinaryLength { .. })));
        assert_eq!(decode::<f32>(&[0, 0, 0, 0]), Err(VectorError::Empty));
        assert_eq!(decode::<f32>(&[0xff, 0xff, 0, 0]), Err(VectorError::TooManyDimensions));
        assert_eq!(decode::<f32>(&[0, 1, 0, 7, 0, 0, 0, 0]), Err(VectorError::BinaryUnused { unused: 7 }));
        assert_eq!(decode::<f32>(&[0, 1, 0, 0, 0x7f, 0xc0, 0, 0]), Err(VectorError::NaN));
        assert_eq!(decode::<f32>(&[0, 1, 0, 0, 0x7f, 0x80, 0, 0]), Err(VectorError::Infinite));
    }

    #[test]
    fn halfvec_matches_pgvector_bytes() {
        use crate::types::Half;
        let halves = [Half::from_f32(1.0), Half::from_f32(-2.0)];
        let mut out = Vec::new();
        encode(&halves, &mut out);
        assert_eq!(out, [0, 2, 0, 0, 0x3c, 0x00, 0xc0, 0x00]);
        assert_eq!(decode::<Half>(&out).unwrap(), halves);
        assert_eq!(decode::<Half>(&[0, 1, 0, 0, 0x7c, 0x00]), Err(VectorError::Infinite));
        assert_eq!(decode::<Half>(&[0, 1, 0, 0, 0x7e, 0x00]), Err(VectorError::NaN));
        assert!(matches!(decode::<Half>(&[0, 2, 0, 0, 0x3c, 0x00]), Err(VectorError::BinaryLength { expected_bytes: 8, .. })));
    }

    proptest! {
        #[test]
        fn random_bytes_error_or_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(v) = decode::<f32>(&bytes) {
                let mut again = Vec::new();
                encode(&v, &mut again);
                prop_assert_eq!(again, bytes);
            }
        }

        #[test]
        fn plausible_headers_error_or_round_trip(dim in 0u16..20, unused in prop_oneof![Just(0u16), any::<u16>()], body in prop::collection::vec(any::<u8>(), 0..90)) {
            let mut bytes = dim.to_be_bytes().to_vec();
            bytes.extend_from_slice(&unused.to_be_bytes());
            bytes.extend_from_slice(&body);
            if let Ok(v) = decode::<f32>(&bytes) {
                let mut again = Vec::new();
                encode(&v, &mut again);
                prop_assert_eq!(&again, &bytes);
            }
            if let Ok(v) = decode::<crate::types::Half>(&bytes) {
                let mut again = Vec::new();
                encode(&v, &mut again);
                prop_assert_eq!(again, bytes);
            }
        }
    }
}
