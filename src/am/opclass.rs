//! The operator classes both access methods accept, as one table: the key
//! type and support function 1 (the distance the index is built with) name
//! the metric; a support function 2 (the norm) means vectors are normalized.

use pgrx::pg_sys;
use pgrx::prelude::*;

use super::format::StoredMetric;
use super::KeyType;

/// (key type, support function 1, has support function 2, metric).
const OPERATOR_CLASSES: &[(KeyType, &str, bool, StoredMetric)] = &[
    (KeyType::Vector, "vector_l2_squared_distance", false, StoredMetric::L2),
    (KeyType::Vector, "vector_negative_inner_product", false, StoredMetric::InnerProduct),
    (KeyType::Vector, "vector_negative_inner_product", true, StoredMetric::Cosine),
    (KeyType::Vector, "l1_distance", false, StoredMetric::L1),
    (KeyType::HalfVec, "halfvec_l2_squared_distance", false, StoredMetric::L2),
    (KeyType::HalfVec, "halfvec_negative_inner_product", false, StoredMetric::InnerProduct),
    (KeyType::HalfVec, "halfvec_negative_inner_product", true, StoredMetric::Cosine),
    (KeyType::HalfVec, "l1_distance", false, StoredMetric::L1),
    (KeyType::Bit, "hamming_distance", false, StoredMetric::Hamming),
    (KeyType::Bit, "jaccard_distance", false, StoredMetric::Jaccard),
    (KeyType::SparseVec, "sparsevec_l2_squared_distance", false, StoredMetric::SparseL2),
    (KeyType::SparseVec, "sparsevec_negative_inner_product", false, StoredMetric::SparseInnerProduct),
    (KeyType::SparseVec, "sparsevec_negative_inner_product", true, StoredMetric::SparseCosine),
    (KeyType::SparseVec, "l1_distance", false, StoredMetric::SparseL1),
];

/// The distance an index orders by, read from its operator class.
pub(crate) fn opclass_metric(index: pg_sys::Relation) -> StoredMetric {
    let key_type = KeyType::of(index);
    // SAFETY: an open index with one key column.
    let (distance, norm) = unsafe { (pg_sys::index_getprocid(index, 1, 1), pg_sys::index_getprocid(index, 1, 2)) };
    // SAFETY: get_func_name returns a palloc'd name or NULL.
    let name = unsafe {
        let name = pg_sys::get_func_name(distance);
        if name.is_null() { String::new() } else { std::ffi::CStr::from_ptr(name).to_string_lossy().into_owned() }
    };
    let normalized = norm != pg_sys::InvalidOid;
    OPERATOR_CLASSES
        .iter()
        .find(|&&(key, function, has_norm, _)| key == key_type && function == name && has_norm == normalized)
        .map(|&(_, _, _, metric)| metric)
        .unwrap_or_else(|| {
            ereport!(
                ERROR,
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                format!("this index does not support the distance function \"{name}\" on type {}", key_type.name())
            );
        })
}
