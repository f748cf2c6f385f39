//! What the hnsw and ivfflat formats share: the 6-byte address of a tuple,
//! the metric byte of a meta page, the meta page's magic and version check,
//! and the errors a decoder reports. Each access method's own format file
//! (`hnsw/format.rs`, `ivfflat/format.rs`) specifies the rest.

use vector_core::distance::Metric;

use crate::storage::{BlockNumber, OffsetNumber, INVALID_BLOCK};

/// Bytes of an encoded [`Address`]: block u32, offset u16, little-endian.
pub const ADDRESS_BYTES: usize = 6;

/// Where a tuple lives: an index element, a neighbor tuple, a heap row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Address {
    pub block: BlockNumber,
    pub offset: OffsetNumber,
}

/// One word per address (its visit key): two words cost a second round of
/// the hasher.
impl std::hash::Hash for Address {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(vector_core::hnsw::VisitKey::visit_key(*self));
    }
}

/// What a walk's visited set stores: block and offset in 48 bits.
impl vector_core::hnsw::VisitKey for Address {
    #[inline]
    fn visit_key(self) -> u64 {
        (self.block as u64) << 16 | self.offset as u64
    }
}

impl Address {
    pub const INVALID: Address = Address { block: INVALID_BLOCK, offset: 0 };

    pub fn is_valid(&self) -> bool {
        self.block != INVALID_BLOCK
    }

    pub fn encode(&self, out: &mut [u8]) {
        out[..4].copy_from_slice(&self.block.to_le_bytes());
        out[4..6].copy_from_slice(&self.offset.to_le_bytes());
    }

    pub fn decode(bytes: &[u8]) -> Self {
        Address {
            block: u32::from_le_bytes(bytes[..4].try_into().unwrap()),
            offset: u16::from_le_bytes(bytes[4..6].try_into().unwrap()),
        }
    }
}

/// Which distance the index orders by, fixed at build from the opclass
/// (`opclass.rs`); one byte of the meta page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum StoredMetric {
    L2 = 1,
    InnerProduct = 2,
    Cosine = 3,
    L1 = 4,
    Hamming = 5,
    Jaccard = 6,
    SparseL2 = 7,
    SparseInnerProduct = 8,
    SparseCosine = 9,
    SparseL1 = 10,
}

impl StoredMetric {
    pub fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            1 => Some(StoredMetric::L2),
            2 => Some(StoredMetric::InnerProduct),
            3 => Some(StoredMetric::Cosine),
            4 => Some(StoredMetric::L1),
            5 => Some(StoredMetric::Hamming),
            6 => Some(StoredMetric::Jaccard),
            7 => Some(StoredMetric::SparseL2),
            8 => Some(StoredMetric::SparseInnerProduct),
            9 => Some(StoredMetric::SparseCosine),
            10 => Some(StoredMetric::SparseL1),
            _ => None,
        }
    }

    pub fn metric(self) -> Metric {
        match self {
            StoredMetric::L2 => Metric::L2,
            StoredMetric::InnerProduct => Metric::InnerProduct,
            StoredMetric::Cosine => Metric::Cosine,
            StoredMetric::L1 => Metric::L1,
            StoredMetric::Hamming => Metric::Hamming,
            StoredMetric::Jaccard => Metric::Jaccard,
            StoredMetric::SparseL2 => Metric::SparseL2,
            StoredMetric::SparseInnerProduct => Metric::SparseInnerProduct,
            StoredMetric::SparseCosine => Metric::SparseCosine,
            StoredMetric::SparseL1 => Metric::SparseL1,
        }
    }
}

#[derive(Debug)]
pub enum FormatError {
    NotMeta,
    /// An index written by another version of the format: REINDEX it.
    Version { found: u32, expected: u32 },
    BadTuple(&'static str),
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormatError::NotMeta => f.write_str("has no valid meta page"),
            FormatError::Version { found, expected } => write!(f, "has format version {found}, this build reads version {expected}"),
            FormatError::BadTuple(what) => write!(f, "holds a malformed {what} tuple"),
        }
    }
}

/// Both meta pages start with the access method's magic (u32) and the
/// format version (u32); checks them and that `bytes` holds `len` bytes.
pub fn check_meta_header(bytes: &[u8], len: usize, magic: u32, version: u32) -> Result<(), FormatError> {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    if bytes.len() < len || u32_at(0) != magic {
        return Err(FormatError::NotMeta);
    }
    if u32_at(4) != version {
        return Err(FormatError::Version { found: u32_at(4), expected: version });
    }
    Ok(())
}

/// Writes the magic and version `check_meta_header` reads.
pub fn encode_meta_header(out: &mut [u8], magic: u32, version: u32) {
    out[0..4].copy_from_slice(&magic.to_le_bytes());
    out[4..8].copy_from_slice(&version.to_le_bytes());
}

/// The values of a row's filter columns (the index's key columns after the
/// vector, all integers): a NULL bitmap (u32, bit i for column i) and one
/// i64 per column (0 where NULL), little-endian. An index without filter
/// columns stores nothing.
pub fn filter_values_bytes(columns: usize) -> usize {
    if columns == 0 { 0 } else { 4 + 8 * columns }
}

pub fn encode_filter_values(values: &[Option<i64>], out: &mut Vec<u8>) {
    if values.is_empty() {
        return;
    }
    let nulls = values.iter().enumerate().filter(|(_, v)| v.is_none()).fold(0u32, |bits, (i, _)| bits | 1 << i);
    out.extend_from_slice(&nulls.to_le_bytes());
    for value in values {
        out.extend_from_slice(&value.unwrap_or(0).to_le_bytes());
    }
}

/// Filter values read in place, as `encode_filter_values` wrote them.
#[derive(Clone, Copy)]
pub struct FilterValues<'a> {
    bytes: &'a [u8],
}

impl<'a> FilterValues<'a> {
    /// `bytes` is exactly `filter_values_bytes(columns)` long.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// The value of filter column `column` (0 for the first after the vector).
    pub fn get(&self, column: usize) -> Option<i64> {
        let nulls = u32::from_le_bytes(self.bytes[..4].try_into().unwrap());
        let at = 4 + 8 * column;
        (nulls & 1 << column == 0).then(|| i64::from_le_bytes(self.bytes[at..at + 8].try_into().unwrap()))
    }

    pub fn to_vec(&self) -> Vec<Option<i64>> {
        (0..(self.bytes.len().saturating_sub(4)) / 8).map(|column| self.get(column)).collect()
    }
}
