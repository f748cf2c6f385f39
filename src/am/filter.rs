//! Filter columns: the key columns of an index after the vector, e.g.
//! `USING hnsw (embedding vector_cosine_ops, tenant_id, category)`.
//!
//! Each indexed row keeps their values (smallint, integer or bigint, as
//! i64; see `format::encode_filter_values`), and a scan turns the WHERE
//! conditions the planner hands the index on them (`=`, `<`, `<=`, `>`,
//! `>=`, and `= ANY(array)` for `IN (...)`) into a [`ScanFilter`] that the
//! walk applies to every element it meets: elements that fail are walked
//! through but never returned. The conditions are exact, so the executor
//! needs no recheck.

use pgrx::pg_sys;
use pgrx::prelude::*;

use super::format::FilterValues;

/// The filter columns' operator strategies, btree's numbers (see the
/// `integer_ops` operator family in vector_ext.sql).
const LESS: u16 = 1;
const LESS_EQUAL: u16 = 2;
const EQUAL: u16 = 3;
const GREATER_EQUAL: u16 = 4;
const GREATER: u16 = 5;

/// How many filter columns `index` has, after checking that its first key
/// column is the vector and the others integers; `am` names the access
/// method in errors.
pub(crate) fn filter_columns(index: pg_sys::Relation, am: &str) -> usize {
    let types = column_types(index);
    if is_integer(types[0]) {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("the first column of an {am} index must be the vector it orders by, not {}", type_name(types[0])),
            "Filter columns come after the vector: USING hnsw (embedding vector_l2_ops, tenant_id)."
        );
    }
    for (i, &type_oid) in types.iter().enumerate().skip(1) {
        if !is_integer(type_oid) {
            let name = type_name(type_oid);
            ereport!(
                ERROR,
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                format!("column {} of an {am} index has type {name}; columns after the vector must be smallint, integer or bigint", i + 1),
                "The first column is the vector the index orders by; the others are filter columns."
            );
        }
    }
    types.len() - 1
}

/// The input type of each key column's operator class.
fn column_types(index: pg_sys::Relation) -> Vec<pg_sys::Oid> {
    // SAFETY: an open index: rd_index and one rd_opcintype entry per key column.
    unsafe {
        let keys = (*(*index).rd_index).indnkeyatts as usize;
        (0..keys).map(|i| *(*index).rd_opcintype.add(i)).collect()
    }
}

fn type_name(type_oid: pg_sys::Oid) -> String {
    // SAFETY: format_type_be returns a palloc'd name.
    unsafe { std::ffi::CStr::from_ptr(pg_sys::format_type_be(type_oid)) }.to_string_lossy().into_owned()
}

fn is_integer(type_oid: pg_sys::Oid) -> bool {
    [pg_sys::INT2OID, pg_sys::INT4OID, pg_sys::INT8OID].contains(&type_oid)
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

/// The filter columns' values of the row an insert or a build's heap scan
/// passes (`values` and `is_null` hold every key column, the vector first).
///
/// # Safety
/// `values` and `is_null` hold one entry per key column of `index`.
pub(crate) unsafe fn row_filter_values(index: pg_sys::Relation, values: *const pg_sys::Datum, is_null: *const bool) -> Vec<Option<i64>> {
    let types = column_types(index);
    (1..types.len())
        // SAFETY: as the caller promises.
        .map(|i| unsafe { (!*is_null.add(i)).then(|| integer(*values.add(i), types[i])) })
        .collect()
}

/// One WHERE condition on a filter column.
#[derive(Debug, Clone, PartialEq)]
enum Condition {
    /// `column <op> value`, op a strategy number.
    Compare { column: usize, strategy: u16, value: i64 },
    /// `column = ANY(values)`, values sorted.
    AnyOf { column: usize, values: Vec<i64> },
    /// A comparison with NULL, or `= ANY('{}')`: no row passes.
    Never,
}

/// The conditions of one scan, all of which a returned row meets.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct ScanFilter {
    conditions: Vec<Condition>,
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
        let conditions = keys.iter().map(|key| condition(key, &types)).collect();
        Some(Self { conditions })
    }

    /// Whether a row with these filter values meets every condition (a
    /// NULL value meets none).
    pub(crate) fn accepts(&self, values: FilterValues<'_>) -> bool {
        self.conditions.iter().all(|condition| match *condition {
            Condition::Compare { column, strategy, value } => values.get(column).is_some_and(|v| compare(v, strategy, value)),
            Condition::AnyOf { column, values: ref allowed } => values.get(column).is_some_and(|v| allowed.binary_search(&v).is_ok()),
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
    let strategy = key.sk_strategy;
    if !(LESS..=GREATER).contains(&strategy) {
        ereport!(ERROR, PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, format!("unexpected filter strategy {strategy}"));
    }
    let filter_column = column - 1;
    if key.sk_flags & pg_sys::SK_SEARCHARRAY as i32 == 0 {
        let argument_type = if key.sk_subtype == pg_sys::InvalidOid { types[column] } else { key.sk_subtype };
        return Condition::Compare { column: filter_column, strategy, value: integer(key.sk_argument, argument_type) };
    }
    let mut values = array_integers(key.sk_argument);
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

/// The non-NULL elements of an integer array datum.
fn array_integers(datum: pg_sys::Datum) -> Vec<i64> {
    // SAFETY: a `= ANY(array)` key's argument is an array of the operator's
    // right-hand type, an integer; deconstruct_array copies nothing for
    // by-value elements.
    unsafe {
        let array = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()).cast::<pg_sys::ArrayType>();
        let element_type = (*array).elemtype;
        let (mut length, mut by_value, mut align) = (0i16, false, 0 as std::ffi::c_char);
        pg_sys::get_typlenbyvalalign(element_type, &mut length, &mut by_value, &mut align);
        let mut elements = std::ptr::null_mut();
        let mut nulls = std::ptr::null_mut();
        let mut count = 0;
        pg_sys::deconstruct_array(array, element_type, length as i32, by_value, align, &mut elements, &mut nulls, &mut count);
        let count = count as usize;
        (0..count).filter(|&i| !*nulls.add(i)).map(|i| integer(*elements.add(i), element_type)).collect()
    }
}
