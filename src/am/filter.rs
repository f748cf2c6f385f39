//! Filter columns: the key columns of an index after the vector, e.g.
//! `USING hnsw (embedding vector_cosine_ops, tenant_id, category, labels)`.
//!
//! Each indexed row keeps one 8-byte word per filter column (see
//! `format::encode_filter_values`), and a scan turns the WHERE conditions
//! the planner hands the index on them into a [`ScanFilter`] that the walk
//! applies to every element it meets: elements that fail are walked through
//! but never returned. What a word holds, by the column's type:
//!
//! - smallint, integer, bigint: the value. `=`, `<`, `<=`, `>`, `>=` and
//!   `= ANY(array)` (`IN (...)`) are decided exactly.
//! - text, varchar: a 64-bit hash of the bytes. `=` and `= ANY(array)`
//!   compare hashes; equal hashes of different strings are possible, so
//!   the executor rechecks the conditions on the rows returned.
//! - smallint[], integer[], bigint[] (labels): a 64-bit signature, bit
//!   `hash(label) % 64` set for each label. `&&` (overlap) and `@>`
//!   (contains) compare signatures, which never rejects a matching row and
//!   may pass a few others; the executor rechecks.

use pgrx::pg_sys;
use pgrx::prelude::*;

use super::format::FilterValues;

/// The filter columns' operator strategies: btree's numbers, and two more
/// for label arrays (see the operator families in vector_ext.sql).
const LESS: u16 = 1;
const LESS_EQUAL: u16 = 2;
pub(crate) const EQUAL: u16 = 3;
const GREATER_EQUAL: u16 = 4;
const GREATER: u16 = 5;
const OVERLAPS: u16 = 6;
const CONTAINS: u16 = 7;

/// What a filter column's word holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Text,
    Labels,
}

impl Kind {
    fn of(type_oid: pg_sys::Oid) -> Option<Self> {
        match type_oid {
            pg_sys::INT2OID | pg_sys::INT4OID | pg_sys::INT8OID => Some(Kind::Integer),
            pg_sys::TEXTOID | pg_sys::VARCHAROID => Some(Kind::Text),
            pg_sys::INT2ARRAYOID | pg_sys::INT4ARRAYOID | pg_sys::INT8ARRAYOID => Some(Kind::Labels),
            _ => None,
        }
    }
}

/// How many filter columns `index` has, after checking that its first key
/// column is the vector and the others of a filter type with a
/// deterministic collation; `am` names the access method in errors.
pub(crate) fn filter_columns(index: pg_sys::Relation, am: &str) -> usize {
    let types = column_types(index);
    if Kind::of(types[0]).is_some() {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("the first column of an {am} index must be the vector it orders by, not {}", type_name(types[0])),
            format!("Filter columns come after the vector: USING {am} (embedding vector_l2_ops, tenant_id).")
        );
    }
    for (i, &type_oid) in types.iter().enumerate().skip(1) {
        if Kind::of(type_oid).is_none() {
            ereport!(
                ERROR,
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                format!(
                    "column {} of an {am} index has type {}; columns after the vector must be smallint, integer, bigint, text, varchar or an array of integers",
                    i + 1,
                    type_name(type_oid)
                ),
                "The first column is the vector the index orders by; the others are filter columns."
            );
        }
        // SAFETY: an open index has one collation per key column.
        let collation = unsafe { *(*index).rd_indcollation.add(i) };
        if Kind::of(type_oid) == Some(Kind::Text) && !unsafe { pg_sys::get_collation_isdeterministic(collation) } {
            ereport!(
                ERROR,
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                format!("column {} of an {am} index has a nondeterministic collation; filter columns compare text bytes", i + 1)
            );
        }
    }
    types.len() - 1
}

/// Which filter columns an index may link (`hnsw/values.rs`): those whose
/// word is the value itself or its hash, where equal words mean equal
/// values (up to a hash collision, which the executor's recheck catches).
/// Label arrays' signatures do not say which rows share a label.
pub(crate) fn linkable_columns(index: pg_sys::Relation) -> Vec<bool> {
    column_types(index).iter().skip(1).map(|&t| matches!(Kind::of(t), Some(Kind::Integer | Kind::Text))).collect()
}

/// The type of each key column as the index stores it.
fn column_types(index: pg_sys::Relation) -> Vec<pg_sys::Oid> {
    // SAFETY: an open index: rd_index, and rd_att with an attribute per column.
    unsafe {
        let keys = (*(*index).rd_index).indnkeyatts as usize;
        let attributes = (*(*index).rd_att).attrs.as_slice(keys);
        attributes.iter().map(|attribute| attribute.atttypid).collect()
    }
}

fn type_name(type_oid: pg_sys::Oid) -> String {
    // SAFETY: format_type_be returns a palloc'd name.
    unsafe { std::ffi::CStr::from_ptr(pg_sys::format_type_be(type_oid)) }.to_string_lossy().into_owned()
}

/// An integer datum of type `type_oid` as i64.
fn integer(datum: pg_sys::Datum, type_oid: pg_sys::Oid) -> i64 {
    match type_oid {
        pg_sys::INT2OID => datum.value() as i16 as i64,
        pg_sys::INT4OID => datum.value() as i32 as i64,
        pg_sys::INT8OID => datum.value() as i64,
        _ => {
            ereport!(ERROR, PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("filter value of unexpected type {type_oid:?}"));
        }
    }
}

/// FNV-1a, 64 bits: stable across versions and machines, as the index's
/// words must be.
fn hash64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| (hash ^ byte as u64).wrapping_mul(0x100_0000_01b3))
}

/// The hash of a text or varchar datum's bytes.
fn text_hash(datum: pg_sys::Datum) -> i64 {
    // SAFETY: a non-NULL text datum; detoasted (a copy, if it was toasted).
    let bytes = unsafe {
        let text = pg_sys::pg_detoast_datum_packed(datum.cast_mut_ptr());
        pgrx::varlena::varlena_to_byte_slice(text)
    };
    hash64(bytes) as i64
}

/// The signature bit of one label.
fn label_bit(label: i64) -> u64 {
    1 << (hash64(&label.to_le_bytes()) % 64)
}

/// The signature of a set of labels.
fn signature(labels: &[i64]) -> i64 {
    labels.iter().fold(0u64, |bits, &label| bits | label_bit(label)) as i64
}

/// The word a filter column keeps for a non-NULL datum of its type.
fn word(datum: pg_sys::Datum, type_oid: pg_sys::Oid) -> i64 {
    match Kind::of(type_oid) {
        Some(Kind::Integer) => integer(datum, type_oid),
        Some(Kind::Text) => text_hash(datum),
        Some(Kind::Labels) => signature(&array_elements(datum)),
        None => {
            ereport!(ERROR, PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("filter value of unexpected type {type_oid:?}"));
        }
    }
}

/// The filter columns' words of the row an insert or a build's heap scan
/// passes (`values` and `is_null` hold every key column, the vector first).
///
/// # Safety
/// `values` and `is_null` hold one entry per key column of `index`.
pub(crate) unsafe fn row_filter_values(index: pg_sys::Relation, values: *const pg_sys::Datum, is_null: *const bool) -> Vec<Option<i64>> {
    let types = column_types(index);
    (1..types.len())
        // SAFETY: as the caller promises.
        .map(|i| unsafe { (!*is_null.add(i)).then(|| word(*values.add(i), types[i])) })
        .collect()
}

/// One WHERE condition on a filter column's words.
#[derive(Debug, Clone, PartialEq)]
enum Condition {
    /// `column <op> value`, op a btree strategy number.
    Compare { column: usize, strategy: u16, value: i64 },
    /// `column = ANY(values)`, values sorted.
    AnyOf { column: usize, values: Vec<i64> },
    /// The signature has one of these bits (`&&`)...
    SharesBits { column: usize, bits: u64 },
    /// ...or all of them (`@>`).
    HasBits { column: usize, bits: u64 },
    /// A comparison with NULL, `= ANY('{}')`, `&& '{}'`: no row passes.
    Never,
}

/// The conditions of one scan, all of which a returned row meets.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ScanFilter {
    conditions: Vec<Condition>,
    /// Whether a condition compares hashes or signatures, which the
    /// executor must then recheck.
    lossy: bool,
}

impl ScanFilter {
    /// The conditions of `scan`'s keys (those amrescan copied); None when
    /// it has none.
    pub(crate) fn of_scan(scan: &pg_sys::IndexScanDescData) -> Option<Self> {
        if scan.numberOfKeys <= 0 {
            return None;
        }
        let types = column_types(scan.indexRelation);
        // SAFETY: amrescan copied numberOfKeys keys.
        let keys = unsafe { std::slice::from_raw_parts(scan.keyData, scan.numberOfKeys as usize) };
        let conditions: Vec<Condition> = keys.iter().map(|key| condition(key, &types)).collect();
        let lossy = keys.iter().any(|key| {
            let column = key.sk_attno as usize - 1;
            types.get(column).and_then(|&t| Kind::of(t)).is_some_and(|kind| kind != Kind::Integer)
        });
        Some(Self { conditions, lossy })
    }

    /// Whether the executor must recheck the conditions on the rows returned.
    pub(crate) fn lossy(&self) -> bool {
        self.lossy
    }

    /// The words filter column `column` must equal, when a condition says
    /// (`=` or `= ANY`): the values whose graphs a walk may keep to.
    pub(crate) fn equal_words(&self, column: usize) -> Option<Vec<i64>> {
        self.conditions.iter().find_map(|condition| match *condition {
            Condition::Compare { column: c, strategy: EQUAL, value } if c == column => Some(vec![value]),
            Condition::AnyOf { column: c, ref values } if c == column => Some(values.clone()),
            _ => None,
        })
    }

    /// Whether a row with these filter words meets every condition (a
    /// NULL value meets none).
    pub(crate) fn accepts(&self, values: FilterValues<'_>) -> bool {
        self.conditions.iter().all(|condition| match *condition {
            Condition::Compare { column, strategy, value } => values.get(column).is_some_and(|v| compare(v, strategy, value)),
            Condition::AnyOf { column, values: ref allowed } => values.get(column).is_some_and(|v| allowed.binary_search(&v).is_ok()),
            Condition::SharesBits { column, bits } => values.get(column).is_some_and(|v| v as u64 & bits != 0),
            Condition::HasBits { column, bits } => values.get(column).is_some_and(|v| v as u64 & bits == bits),
            Condition::Never => false,
        })
    }
}

fn compare(row: i64, strategy: u16, value: i64) -> bool {
    match strategy {
        LESS => row < value,
        LESS_EQUAL => row <= value,
        EQUAL => row == value,
        GREATER_EQUAL => row >= value,
        GREATER => row > value,
        _ => false,
    }
}

/// The condition of one scan key on key column `sk_attno` (2 and up).
fn condition(key: &pg_sys::ScanKeyData, types: &[pg_sys::Oid]) -> Condition {
    let column = key.sk_attno as usize - 1;
    if key.sk_flags & pg_sys::SK_ISNULL as i32 != 0 || column == 0 || column >= types.len() {
        return Condition::Never;
    }
    let filter_column = column - 1;
    let strategy = key.sk_strategy;
    let array_key = key.sk_flags & pg_sys::SK_SEARCHARRAY as i32 != 0;
    match (Kind::of(types[column]), strategy) {
        (Some(Kind::Labels), OVERLAPS | CONTAINS) if !array_key => {
            let labels = array_elements(key.sk_argument);
            let bits = signature(&labels) as u64;
            match strategy {
                _ if labels.is_empty() && strategy == OVERLAPS => Condition::Never,
                OVERLAPS => Condition::SharesBits { column: filter_column, bits },
                _ => Condition::HasBits { column: filter_column, bits },
            }
        }
        (Some(Kind::Integer), LESS..=GREATER) | (Some(Kind::Text), EQUAL) => {
            let argument_type = if key.sk_subtype == pg_sys::InvalidOid { types[column] } else { key.sk_subtype };
            if !array_key {
                return Condition::Compare { column: filter_column, strategy, value: word(key.sk_argument, argument_type) };
            }
            let mut values = array_words(key.sk_argument);
            if values.is_empty() {
                return Condition::Never;
            }
            values.sort_unstable();
            values.dedup();
            // `< ANY(a)` is `< max(a)`, `> ANY(a)` is `> min(a)`, and so on.
            match strategy {
                EQUAL => Condition::AnyOf { column: filter_column, values },
                LESS | LESS_EQUAL => Condition::Compare { column: filter_column, strategy, value: values[values.len() - 1] },
                _ => Condition::Compare { column: filter_column, strategy, value: values[0] },
            }
        }
        _ => {
            ereport!(ERROR, PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("unexpected filter strategy {strategy} on column {}", column + 1));
        }
    }
}

/// The non-NULL elements of an array datum, each as the word of its type.
fn array_words(datum: pg_sys::Datum) -> Vec<i64> {
    deconstruct(datum, word)
}

/// The non-NULL elements of an integer array datum.
fn array_elements(datum: pg_sys::Datum) -> Vec<i64> {
    deconstruct(datum, integer)
}

fn deconstruct(datum: pg_sys::Datum, element: fn(pg_sys::Datum, pg_sys::Oid) -> i64) -> Vec<i64> {
    // SAFETY: an array datum (a filter column's value or a key's argument);
    // deconstruct_array points into the detoasted array.
    unsafe {
        let array = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()).cast::<pg_sys::ArrayType>();
        let element_type = (*array).elemtype;
        let (mut length, mut by_value, mut align) = (0i16, false, 0 as std::ffi::c_char);
        pg_sys::get_typlenbyvalalign(element_type, &mut length, &mut by_value, &mut align);
        let mut elements = std::ptr::null_mut();
        let mut nulls = std::ptr::null_mut();
        let mut count = 0;
        pg_sys::deconstruct_array(array, element_type, length as i32, by_value, align, &mut elements, &mut nulls, &mut count);
        (0..count as usize).filter(|&i| !*nulls.add(i)).map(|i| element(*elements.add(i), element_type)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words are on disk: the hash must never change (FNV-1a's
    /// published test values).
    #[test]
    fn the_text_hash_is_fnv1a() {
        assert_eq!(hash64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    /// A signature never rejects a row that has the labels asked for.
    #[test]
    fn signatures_never_reject_a_match() {
        let row = signature(&[3, 104, -7]) as u64;
        for asked in [&[3][..], &[104, -7], &[3, 104, -7], &[]] {
            let bits = signature(asked) as u64;
            assert_eq!(row & bits, bits, "@> {asked:?}");
        }
        for asked in [&[3, 999][..], &[-7], &[5, 104]] {
            assert_ne!(row & signature(asked) as u64, 0, "&& {asked:?}");
        }
        let rejected = (0..1000).filter(|&label| row & label_bit(label) == 0).count();
        assert!(rejected > 900, "a label the row lacks is usually rejected: {rejected} of 1000");
    }
}
