//! The planner's estimate for an ivfflat scan: the probed share of the
//! index is read and scored before the first row comes back. As for hnsw,
//! the index serves `ORDER BY distance LIMIT k` only (without a LIMIT only
//! when iterative scans are on).

use pgrx::pg_sys;

use super::options::{IterativeScan, ITERATIVE_SCAN, PROBES};

const DISTANCE_COST: f64 = 20.0;
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
        let no_limit = (*root).limit_tuples < 0.0 && ITERATIVE_SCAN.get() == IterativeScan::Off;
        if (*path).indexorderbys.is_null() || no_limit {
            *startup_cost = DISABLE_COST;
            *total_cost = DISABLE_COST;
            *pages = 0.0;
            return;
        }
        // The list count is not known here without opening the index; 100
        // lists (the default) is the planning assumption.
        let share = (PROBES.get() as f64 / 100.0).min(1.0);
        let tuples = info.tuples.max(1.0) * share;
        let pages_read = (info.pages as f64 * share).max(1.0);
        let cost = (tuples * (pg_sys::cpu_index_tuple_cost + pg_sys::cpu_operator_cost * DISTANCE_COST) + pages_read * pg_sys::seq_page_cost)
            * loop_count.max(1.0);
        *startup_cost = cost;
        *total_cost = cost;
        *pages = pages_read;
    }
}
