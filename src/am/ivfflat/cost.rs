//! The planner's estimate for an ivfflat scan (the model is in `am::cost`):
//! the probed cells, probes / lists of the index, are scored before the
//! first row comes back; with conditions on filter columns, as many cells
//! as hold LIMIT matching rows, if that is more.

use pgrx::pg_sys;

use super::options::{IterativeScan, ITERATIVE_SCAN, PROBES};
use super::read_meta;
use crate::am::cost::CostArgs;
use crate::storage::Index;

#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn amcostestimate(
    root: *mut pg_sys::PlannerInfo,
    path: *mut pg_sys::IndexPath,
    _loop_count: f64,
    startup_cost: *mut pg_sys::Cost,
    total_cost: *mut pg_sys::Cost,
    selectivity: *mut pg_sys::Selectivity,
    correlation: *mut f64,
    pages: *mut f64,
) {
    let args = CostArgs { root, path, startup_cost, total_cost, selectivity, correlation, pages };
    // SAFETY: the planner's pointers; the planner holds a lock on the index.
    unsafe {
        let rel = pg_sys::index_open((*(*path).indexinfo).indexoid, pg_sys::NoLock as i32);
        let lists = read_meta(&Index::from_raw(rel)).lists.max(1);
        pg_sys::index_close(rel, pg_sys::NoLock as i32);
        let (tuples, _) = args.index_size();
        let selectivity = args.filter_selectivity().max(1.0 / tuples);
        let filtered = !(*path).indexclauses.is_null();
        let wanted = (*root).limit_tuples.max(1.0);
        let share = (PROBES.get() as f64 / lists as f64).max(wanted / (tuples * selectivity));
        args.estimate(share, 1.0, selectivity, filtered || ITERATIVE_SCAN.get() != IterativeScan::Off);
    }
}
