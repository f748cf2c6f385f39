//! The `hnsw` index access method: PostgreSQL's callbacks, each in its own
//! file, around the pure-Rust algorithm in `vector_core::hnsw`.
//!
//! - `format.rs`  the on-disk format (the spec)
//! - `graph.rs`   the graph on pages, as the algorithms see it
//! - `build.rs`   CREATE INDEX: the graph is built in memory, then written
//! - `insert.rs`  INSERT after the build
//! - `scan.rs`    ORDER BY distance LIMIT k, and iterative scans
//! - `vacuum.rs`  removing dead rows and repairing the graph
//! - `cost.rs`    the planner's estimate
//! - `options.rs` m, ef_construction and the hnsw.* settings
//! - `validate.rs` opclass checks

mod build;
mod cost;
pub mod format;
mod graph;
mod insert;
pub mod options;
mod scan;
mod vacuum;
mod validate;

use pgrx::prelude::*;
use pgrx::pg_sys;
use vector_core::distance::Metric;

use format::StoredMetric;

/// pg_stat_progress_create_index phase while rows are loaded into the graph.
const PROGRESS_PHASE_LOAD: i64 = 2;

#[pg_extern(sql = false)]
fn hnsw_handler(_fcinfo: pg_sys::FunctionCallInfo) -> PgBox<pg_sys::IndexAmRoutine> {
    let mut am = unsafe { PgBox::<pg_sys::IndexAmRoutine>::alloc_node(pg_sys::NodeTag::T_IndexAmRoutine) };
    am.amstrategies = 0;
    am.amsupport = 2;
    am.amoptsprocnum = 0;
    am.amcanorder = false;
    am.amcanorderbyop = true;
    am.amcanbackward = false;
    am.amcanunique = false;
    am.amcanmulticol = false;
    am.amoptionalkey = true;
    am.amsearcharray = false;
    am.amsearchnulls = false;
    am.amstorage = false;
    am.amclusterable = false;
    am.ampredlocks = false;
    am.amcanparallel = false;
    am.amcaninclude = false;
    am.amusemaintenanceworkmem = false;
    am.amparallelvacuumoptions = pg_sys::VACUUM_OPTION_PARALLEL_BULKDEL as u8;
    am.amkeytype = pg_sys::InvalidOid;

    am.ambuild = Some(build::ambuild);
    am.ambuildempty = Some(build::ambuildempty);
    am.aminsert = Some(insert::aminsert);
    am.ambulkdelete = Some(vacuum::ambulkdelete);
    am.amvacuumcleanup = Some(vacuum::amvacuumcleanup);
    am.amcostestimate = Some(cost::amcostestimate);
    am.amoptions = Some(options::amoptions);
    am.amvalidate = Some(validate::amvalidate);
    am.ambuildphasename = Some(build::ambuildphasename);
    am.ambeginscan = Some(scan::ambeginscan);
    am.amrescan = Some(scan::amrescan);
    am.amgettuple = Some(scan::amgettuple);
    am.amendscan = Some(scan::amendscan);
    am.into_pg_boxed()
}

/// The distance an index orders by, read from its operator class: support
/// function 1 is the distance, and a support function 2 (the norm) means
/// vectors are normalized (cosine).
fn opclass_metric(index: pg_sys::Relation) -> StoredMetric {
    // SAFETY: an open index with one key column.
    let (distance, norm) = unsafe { (pg_sys::index_getprocid(index, 1, 1), pg_sys::index_getprocid(index, 1, 2)) };
    // SAFETY: get_func_name returns a palloc'd name or NULL.
    let name = unsafe {
        let name = pg_sys::get_func_name(distance);
        if name.is_null() { String::new() } else { std::ffi::CStr::from_ptr(name).to_string_lossy().into_owned() }
    };
    match (name.as_str(), norm != pg_sys::InvalidOid) {
        ("vector_l2_squared_distance", _) => StoredMetric::L2,
        ("vector_negative_inner_product", false) => StoredMetric::InnerProduct,
        ("vector_negative_inner_product", true) => StoredMetric::Cosine,
        ("l1_distance", _) => StoredMetric::L1,
        _ => {
            ereport!(
                ERROR,
                PgSqlErrorCode::ERRCODE_FEATURE_NOT_SUPPORTED,
                format!("hnsw does not support the distance function \"{name}\"")
            );
        }
    }
}

/// The vector as the index stores it or searches with it: unit length for
/// cosine. None for a vector the index cannot place (a zero vector has no
/// direction).
fn prepare_vector(metric: Metric, vector: &[f32]) -> Option<Vec<f32>> {
    if !metric.normalizes() {
        return Some(vector.to_vec());
    }
    let norm = vector_core::distance::norm(vector);
    (norm > 0.0).then(|| vector.iter().map(|&x| (x as f64 / norm) as f32).collect())
}

fn report_progress(param: u32, value: i64) {
    // SAFETY: updating our own backend's progress slot.
    unsafe { pg_sys::pgstat_progress_update_param(param as i32, value) };
}
