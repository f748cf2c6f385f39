//! The on-disk format of an `ivfflat` index. This file is the specification.
//!
//! ```text
//! block 0       meta page: a MetaPage struct in the content area
//! blocks 1..C   centroid pages: one centroid tuple per list
//! the rest      list pages: item 1 is a link tuple (the list's next page),
//!               then entry tuples (heap TID and vector)
//! every page    8-byte special space: MAGIC (u32), page kind (u16), 0 (u16)
//! ```
//!
//! ```text
//! meta      0 magic u32 | 4 version u32 | 8 dimensions u32 | 12 lists u32
//!           16 metric u8 | 17 precision u8 | 18 filter columns u8 | 19 0 u8
//!           20 centroid pages u32
//! centroid  0 list number u32 | 4 first page u32 | 8 last page u32
//!           12 insert page u32 (no page before it has room) | 16 element[dimensions]
//! link      0 kind=3 u8 | 1..4 0 | 4 next page u32 (INVALID at the end of the list)
//! entry     0 kind=4 u8 | 1 0 u8 | 2 heap offset u16 | 4 heap block u32 | 8 element[dimensions]
//!           then, with filter columns, their values (am/format.rs:
//!           encode_filter_values)
//! ```
//! Integers are little-endian; a tuple of the wrong kind or length is a
//! clean corruption error. VACUUM deletes the entries of dead rows from
//! their page; inserts fill the room from the list's insert page on.
//!
//! An element is a float4, or a float2 in a halfvec index (precision 1), as
//! pgvector keeps them: a halfvec(4000) entry or centroid then fits a page.
//!
//! Version 2 added the insert page (version 1 indexes need a REINDEX); the
//! precision byte and the filter column count came later in version 2,
//! where they were zero (float4, none) in every index, so those indexes
//! read as they did.

use vector_core::types::{Element, Half};

pub use crate::am::format::FilterValues;
use crate::am::format::{check_meta_header, encode_filter_values, encode_meta_header, filter_values_bytes, Address, FormatError, StoredMetric};
use crate::storage::{BlockNumber, PageTag};

pub const MAGIC: u32 = 0x4646_5649; // "IVFF" read as little-endian bytes
pub const FORMAT_VERSION: u32 = 2;
pub const META_BLOCK: BlockNumber = 0;
pub const META_PAGE: PageTag = PageTag { magic: MAGIC, kind: 1 };
pub const CENTROID_PAGE: PageTag = PageTag { magic: MAGIC, kind: 2 };
pub const LIST_PAGE: PageTag = PageTag { magic: MAGIC, kind: 3 };

pub const META_BYTES: usize = 24;
const CENTROID_HEADER: usize = 16;
const ENTRY_HEADER: usize = 8;
pub const LINK_BYTES: usize = 8;
const LINK_KIND: u8 = 3;
const ENTRY_KIND: u8 = 4;
pub const LINK_OFFSET: u16 = 1;

/// How an index stores vector elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Precision {
    Float4 = 0,
    /// A halfvec index's.
    Float2 = 1,
}

impl Precision {
    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0 => Some(Precision::Float4),
            1 => Some(Precision::Float2),
            _ => None,
        }
    }

    fn element_bytes(self) -> usize {
        match self {
            Precision::Float4 => 4,
            Precision::Float2 => 2,
        }
    }

    /// The most dimensions an index of this precision takes: what fits a
    /// page, as pgvector (2,000 float4, 4,000 float2).
    pub fn max_dimensions(self) -> usize {
        match self {
            Precision::Float4 => 2000,
            Precision::Float2 => 4000,
        }
    }

    /// Appends `vector`'s elements (a halfvec's values, widened: narrowing
    /// them back is exact; a centroid's round to nearest).
    fn encode(self, vector: &[f32], out: &mut Vec<u8>) {
        match self {
            Precision::Float4 => vector.iter().for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            Precision::Float2 => vector.iter().for_each(|&x| out.extend_from_slice(&Half::from_f32(x).to_bits().to_le_bytes())),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetaPage {
    pub dimensions: u32,
    pub lists: u32,
    pub metric: StoredMetric,
    pub precision: Precision,
    pub centroid_pages: u32,
    /// Key columns after the vector, whose values each entry keeps (am/filter.rs).
    pub filter_columns: u8,
}

impl MetaPage {
    pub fn encode(&self, out: &mut [u8]) {
        out[..META_BYTES].fill(0);
        encode_meta_header(out, MAGIC, FORMAT_VERSION);
        out[8..12].copy_from_slice(&self.dimensions.to_le_bytes());
        out[12..16].copy_from_slice(&self.lists.to_le_bytes());
        out[16] = self.metric as u8;
        out[17] = self.precision as u8;
        out[18] = self.filter_columns;
        out[20..24].copy_from_slice(&self.centroid_pages.to_le_bytes());
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, FormatError> {
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        check_meta_header(bytes, META_BYTES, MAGIC, FORMAT_VERSION)?;
        let metric = StoredMetric::from_byte(bytes[16]).ok_or(FormatError::NotMeta)?;
        let precision = Precision::from_byte(bytes[17]).ok_or(FormatError::NotMeta)?;
        Ok(MetaPage { dimensions: u32_at(8), lists: u32_at(12), metric, precision, centroid_pages: u32_at(20), filter_columns: bytes[18] })
    }

    pub fn shape(&self) -> Shape {
        Shape { dimensions: self.dimensions as usize, precision: self.precision, filter_columns: self.filter_columns as usize }
    }
}

/// The tuple sizes that follow from an index's dimensions, precision and
/// filter columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub dimensions: usize,
    pub precision: Precision,
    pub filter_columns: usize,
}

impl Shape {
    pub fn centroid_bytes(&self) -> usize {
        CENTROID_HEADER + self.precision.element_bytes() * self.dimensions
    }

    pub fn entry_bytes(&self) -> usize {
        self.elements_end() + filter_values_bytes(self.filter_columns)
    }

    fn elements_end(&self) -> usize {
        ENTRY_HEADER + self.precision.element_bytes() * self.dimensions
    }
}

/// A new list's centroid: its pages run from `first` to `last`, and inserts
/// look for room from `first` on.
pub fn encode_centroid(list: u32, first: BlockNumber, last: BlockNumber, vector: &[f32], precision: Precision, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&list.to_le_bytes());
    out.extend_from_slice(&first.to_le_bytes());
    out.extend_from_slice(&last.to_le_bytes());
    out.extend_from_slice(&first.to_le_bytes());
    precision.encode(vector, out);
}

/// A decoded centroid tuple.
pub struct Centroid {
    pub list: u32,
    pub first: BlockNumber,
    pub last: BlockNumber,
    /// No page of the list before this one has room for an entry.
    pub insert: BlockNumber,
    pub vector: Vec<f32>,
}

impl Centroid {
    pub fn decode(bytes: &[u8], shape: Shape) -> Result<Self, FormatError> {
        if bytes.len() != shape.centroid_bytes() {
            return Err(FormatError::BadTuple("centroid"));
        }
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let mut vector = Vec::new();
        Ok(Centroid {
            list: u32_at(0),
            first: u32_at(4),
            last: u32_at(8),
            insert: u32_at(12),
            vector: elements(&bytes[CENTROID_HEADER..], shape.precision, &mut vector).to_vec(),
        })
    }
}

/// The float4 values of elements stored at `precision`: in place for
/// float4, widened into `widened` for float2.
fn elements<'a>(bytes: &'a [u8], precision: Precision, widened: &'a mut Vec<f32>) -> &'a [f32] {
    match precision {
        Precision::Float4 => {
            assert!(bytes.as_ptr().align_offset(4) == 0, "page items are MAXALIGNed and headers 8 bytes");
            // SAFETY: aligned, in bounds, and every bit pattern is an f32.
            unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<f32>(), bytes.len() / 4) }
        }
        Precision::Float2 => {
            assert!(bytes.as_ptr().align_offset(2) == 0, "page items are MAXALIGNed and headers 8 bytes");
            // SAFETY: aligned, in bounds, and a Half is any u16 (little-endian, as this machine).
            let halves = unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<Half>(), bytes.len() / 2) };
            widened.resize(halves.len(), 0.0);
            Half::widen_into(halves, widened);
            widened
        }
    }
}

/// Points a centroid at a new last page.
pub fn set_centroid_last(bytes: &mut [u8], last: BlockNumber) {
    bytes[8..12].copy_from_slice(&last.to_le_bytes());
}

/// Points a centroid at the first page where inserts may find room.
pub fn set_centroid_insert(bytes: &mut [u8], insert: BlockNumber) {
    bytes[12..16].copy_from_slice(&insert.to_le_bytes());
}

pub fn encode_link(next: BlockNumber) -> [u8; LINK_BYTES] {
    let mut out = [0u8; LINK_BYTES];
    out[0] = LINK_KIND;
    out[4..8].copy_from_slice(&next.to_le_bytes());
    out
}

pub fn decode_link(bytes: &[u8]) -> Result<BlockNumber, FormatError> {
    if bytes.len() != LINK_BYTES || bytes[0] != LINK_KIND {
        return Err(FormatError::BadTuple("link"));
    }
    Ok(u32::from_le_bytes(bytes[4..8].try_into().unwrap()))
}

pub fn encode_entry(heap_tid: Address, vector: &[f32], precision: Precision, filter: &[Option<i64>], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&[ENTRY_KIND, 0]);
    out.extend_from_slice(&heap_tid.offset.to_le_bytes());
    out.extend_from_slice(&heap_tid.block.to_le_bytes());
    precision.encode(vector, out);
    encode_filter_values(filter, out);
}

/// A decoded view of an entry tuple.
pub struct Entry<'a> {
    bytes: &'a [u8],
    precision: Precision,
    elements_end: usize,
}

impl<'a> Entry<'a> {
    pub fn decode(bytes: &'a [u8], shape: Shape) -> Result<Self, FormatError> {
        if bytes.len() != shape.entry_bytes() || bytes[0] != ENTRY_KIND || bytes[1] != 0 {
            return Err(FormatError::BadTuple("entry"));
        }
        Ok(Self { bytes, precision: shape.precision, elements_end: shape.elements_end() })
    }

    pub fn heap_tid(&self) -> Address {
        Address {
            offset: u16::from_le_bytes(self.bytes[2..4].try_into().unwrap()),
            block: u32::from_le_bytes(self.bytes[4..8].try_into().unwrap()),
        }
    }

    /// The vector as float4: read in place, or widened into `widened`.
    pub fn vector<'b>(&'b self, widened: &'b mut Vec<f32>) -> &'b [f32] {
        elements(&self.bytes[ENTRY_HEADER..self.elements_end], self.precision, widened)
    }

    /// The values of the row's filter columns.
    pub fn filter_values(&self) -> FilterValues<'a> {
        FilterValues::new(&self.bytes[self.elements_end..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuples_round_trip() {
        let meta = MetaPage { dimensions: 3, lists: 7, metric: StoredMetric::Cosine, precision: Precision::Float2, centroid_pages: 2, filter_columns: 2 };
        let mut bytes = [0u8; META_BYTES];
        meta.encode(&mut bytes);
        assert_eq!(MetaPage::decode(&bytes).unwrap(), meta);
        bytes[4] = 1;
        assert!(matches!(MetaPage::decode(&bytes), Err(FormatError::Version { found: 1, expected: 2 })));
        let mut out = Vec::new();
        for precision in [Precision::Float4, Precision::Float2] {
            let shape = Shape { dimensions: 3, precision, filter_columns: 2 };
            encode_centroid(5, 10, 12, &[1.0, 2.0, -3.5], precision, &mut out);
            set_centroid_insert(&mut out, 11);
            let c = Centroid::decode(&out, shape).unwrap();
            assert_eq!((c.list, c.first, c.last, c.insert, c.vector), (5, 10, 12, 11, vec![1.0, 2.0, -3.5]));
            assert!(Centroid::decode(&out, Shape { dimensions: 4, ..shape }).is_err());
            // an entry's items start 8-byte aligned, as on a page
            let tid = Address { block: 7, offset: 3 };
            encode_entry(tid, &[0.5, -0.25, 65504.0], precision, &[None, Some(-3)], &mut out);
            let mut aligned = vec![0u64; out.len().div_ceil(8)];
            let bytes = &mut bytemuck_bytes(&mut aligned)[..out.len()];
            bytes.copy_from_slice(&out);
            let entry = Entry::decode(bytes, shape).unwrap();
            let mut widened = Vec::new();
            assert_eq!((entry.heap_tid(), entry.vector(&mut widened)), (tid, &[0.5, -0.25, 65504.0][..]));
            assert_eq!(entry.filter_values().to_vec(), [None, Some(-3)]);
            assert!(Entry::decode(bytes, Shape { filter_columns: 1, ..shape }).is_err(), "an entry read with other filter columns is refused");
        }
        assert_eq!(decode_link(&encode_link(42)).unwrap(), 42);
    }

    fn bytemuck_bytes(words: &mut [u64]) -> &mut [u8] {
        // SAFETY: u64s are valid bytes, and the slice covers them exactly.
        unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), words.len() * 8) }
    }
}
