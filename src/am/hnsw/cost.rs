//! The planner's estimate for an hnsw scan.
//!
//! All the work happens before the first row comes back, so the startup
//! cost is the total cost. The index is only worth using for
//! `ORDER BY distance LIMIT k`: without an ORDER BY it cannot answer at all,
//! and without a LIMIT (unless iterative scans are on) it would return at
//! most ef_search rows where the query asks for all of them.

use pgrx::pg_sys;

use super::options::{IterativeScan, EF_SEARCH, ITERATIVE_SCAN};

/// What a distance costs in cpu_operator_cost units (as in vector_ext.sql).
const DISTANCE_COST: f64 = 20.0;
/// The cost PostgreSQL uses for paths it must not pick.
const DISABLE_COST: f64 = 1.0e10;

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn amcostestimate(
    root: *mut pg_sys::PlannerInfo,
    path: *mut pg_sys::IndexPath,
    loop_count: f64,
    startup_cost: *mut pg_sys::Cost,
    total_cost: *mut pg_sys::Cost,
    selectivity: *mut pg_sys::Selectivity,
    correlation: *mut f64,
    pages: *mut f64,
) {
    // SAFETY: the planner passes valid pointers and an index path.
    unsafe {
        *selectivity = 1.0;
        *correlation = 0.0;
        let info = &*(*path).indexinfo;
        let no_order = (*path).indexorderbys.is_null();
        let no_limit = (*root).limit_tuples < 0.0 && ITERATIVE_SCAN.get() == IterativeScan::Off;
        if no_order || no_limit {
            *startup_cost = DISABLE_COST;
            *total_cost = DISABLE_COST;
            *pages = 0.0;
            return;
        }
        let tuples = info.tuples.max(1.0);
        // Without a LIMIT an iterative scan goes through the whole index.
        let ef = if (*root).limit_tuples < 0.0 { tuples } else { (EF_SEARCH.get() as f64).max((*root).limit_tuples) };
        // A search evaluates about ef candidates times their links (2m, m = 16
        // by default), and reads a page per evaluation, mostly from cache.
        let evaluated = (ef * 32.0).min(tuples);
        let index_pages = info.pages as f64;
        let pages_read = (evaluated * index_pages / tuples).min(index_pages).max(1.0);
        let cpu = evaluated * (pg_sys::cpu_index_tuple_cost + pg_sys::cpu_operator_cost * DISTANCE_COST);
        let io = pages_read * pg_sys::seq_page_cost;
        let cost = (cpu + io) * loop_count.max(1.0);
        *startup_cost = cost;
        *total_cost = cost;
        *pages = pages_read;
    }
}
