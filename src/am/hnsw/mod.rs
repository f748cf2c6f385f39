//! The `hnsw` index access method: PostgreSQL's callbacks, each in its own
//! file, around the pure-Rust algorithm in `vector_core::hnsw`.
//!
//! - `format.rs`  the on-disk format (the spec)
//! - `graph.rs`   the graph on pages, as the algorithms see it
//! - `duplicates.rs` rows with identical vectors sharing one element
//! - `build.rs`   CREATE INDEX: the graph is built in memory, then written
//! - `insert.rs`  INSERT after the build
//! - `scan.rs`    ORDER BY distance LIMIT k, and iterative scans
//! - `vacuum.rs`  removing dead rows and repairing the graph
//! - `cost.rs`    the planner's estimate
//! - `verify.rs`  hnsw_verify(), an amcheck-style consistency check
//! - `counters.rs` hnsw_last_scan(), what the last scan did
//! - `options.rs` m, ef_construction and the hnsw.* settings

mod build;
mod cost;
mod counters;
mod duplicates;
pub mod format;
mod graph;
mod insert;
pub mod options;
mod scan;
mod vacuum;
mod verify;

use pgrx::prelude::*;
use pgrx::pg_sys;

use super::{opclass_metric, prepare_vector, report_progress};

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
    am.amvalidate = Some(crate::am::amvalidate);
    am.ambuildphasename = Some(build::ambuildphasename);
    am.ambeginscan = Some(scan::ambeginscan);
    am.amrescan = Some(scan::amrescan);
    am.amgettuple = Some(scan::amgettuple);
    am.amendscan = Some(scan::amendscan);
    am.into_pg_boxed()
}
