//! The `hnsw` index access method: PostgreSQL's callbacks, each in its own
//! file, around the pure-Rust algorithm in `vector_core::hnsw`.
//!
//! - `format.rs`  the on-disk format (the spec)
//! - `graph.rs`   the graph on pages, as the algorithms see it
//! - `duplicates.rs` rows with identical vectors sharing one element
//! - `values.rs`  linked filter columns: a graph per value, and its directory
//! - `build.rs`   CREATE INDEX: the graph is built in memory, then written
//! - `insert.rs`  INSERT after the build
//! - `scan.rs`    ORDER BY distance LIMIT k, and iterative scans
//! - `vacuum.rs`  removing dead rows and repairing the graph
//! - `cost.rs`    the planner's estimate
//! - `verify.rs`  hnsw_verify(), an amcheck-style consistency check
//! - `counters.rs` hnsw_last_scan(), what the last scan did
//! - `options.rs` m, ef_construction and the hnsw.* settings

mod build;
pub(crate) mod cost;
mod counters;
mod duplicates;
pub mod format;
mod graph;
mod insert;
pub mod options;
mod scan;
mod vacuum;
mod values;
mod verify;

use pgrx::prelude::*;
use pgrx::pg_sys;

use super::{handler, opclass_metric, report_progress};

#[pg_extern(sql = false)]
fn hnsw_handler(_fcinfo: pg_sys::FunctionCallInfo) -> PgBox<pg_sys::IndexAmRoutine> {
    handler::routine_of_submodules!()
}
