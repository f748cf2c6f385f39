//! The planner's estimate for an hnsw scan (the model is in `am::cost`): a
//! search scores about ef candidates times their links (2m, m = 16 by
//! default) before the first row comes back.

use pgrx::pg_sys;

use super::options::{IterativeScan, EF_SEARCH, ITERATIVE_SCAN};
use crate::am::cost::CostArgs;

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
    // SAFETY: the planner's pointers.
    unsafe {
        let (tuples, _) = args.index_size();
        let ef = (EF_SEARCH.get() as f64).max((*root).limit_tuples);
        args.estimate(ef * 32.0 / tuples, ITERATIVE_SCAN.get() != IterativeScan::Off);
    }
}
