//! The planner's estimate for an hnsw scan (the model is in `am::cost`): a
//! search scores about ef candidates times their links (2m, m = 16 by
//! default) before the first row comes back, divided by the selectivity of
//! its conditions on filter columns.

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
        // A filtered search walks past the rows that fail its conditions
        // until ef pass: measured on pydoc-minilm (bench_filter.sh), its
        // CPU grows as selectivity^-0.76 for labels unrelated to the
        // vectors and faster for labels that follow them (the matching rows
        // lie away from the query), so the model takes 1 / selectivity
        // times an unfiltered search's share: a selective filter never looks
        // cheap, and a btree with a sort of its few rows wins.
        let selectivity = args.filter_selectivity().max(1.0 / tuples);
        let filtered = !(*path).indexclauses.is_null();
        args.estimate(ef * 32.0 / (tuples * selectivity), selectivity, filtered || ITERATIVE_SCAN.get() != IterativeScan::Off);
    }
}
