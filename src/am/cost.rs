//! The planner's estimate, shared by both access methods.
//!
//! An index scan scores a share of the index before its first row comes
//! back (one hnsw search, or the probed ivfflat cells): that is the startup
//! cost. The total cost is what returning every row would take, scoring the
//! whole index, as an iterative scan may. With the selectivity of the index
//! at 1, the planner charges `LIMIT k` with a filter of selectivity s the
//! fraction k / (s * rows) of the way from startup to total: a selective
//! filter makes the index scan about as dear as reading everything, and a
//! sequential scan with a sort wins, instead of an index scan that would
//! return fewer rows than the query asks for.
//!
//! Without an ORDER BY the index cannot answer at all; without a LIMIT and
//! with iterative scans off it would stop after its first search where the
//! query asks for every row: both get an infinite cost, which loses even to
//! a path disabled by `enable_seqscan = off`.

use pgrx::pg_sys;

/// What a distance costs in cpu_operator_cost units (as in vector_ext.sql).
const DISTANCE_COST: f64 = 20.0;

/// The planner's inputs and outputs, as amcostestimate receives them.
pub(crate) struct CostArgs {
    pub root: *mut pg_sys::PlannerInfo,
    pub path: *mut pg_sys::IndexPath,
    pub startup_cost: *mut pg_sys::Cost,
    pub total_cost: *mut pg_sys::Cost,
    pub selectivity: *mut pg_sys::Selectivity,
    pub correlation: *mut f64,
    pub pages: *mut f64,
}

impl CostArgs {
    /// The index's tuples and pages, as the planner knows them.
    ///
    /// # Safety
    /// The pointers amcostestimate received.
    pub unsafe fn index_size(&self) -> (f64, f64) {
        // SAFETY: as the caller promises.
        let info = unsafe { &*(*self.path).indexinfo };
        (info.tuples.max(1.0), (info.pages as f64).max(1.0))
    }

    /// Fills in the estimate for a scan that scores `first_share` (0 to 1)
    /// of the index before its first row; `iterative` when the scan can go
    /// on past that.
    ///
    /// # Safety
    /// The pointers amcostestimate received.
    pub unsafe fn estimate(&self, first_share: f64, iterative: bool) {
        // SAFETY: as the caller promises.
        unsafe {
            *self.selectivity = 1.0;
            *self.correlation = 0.0;
            let no_order = (*self.path).indexorderbys.is_null();
            let no_limit = (*self.root).limit_tuples < 0.0;
            if no_order || (no_limit && !iterative) {
                *self.startup_cost = f64::INFINITY;
                *self.total_cost = f64::INFINITY;
                *self.pages = 0.0;
                return;
            }
            let (tuples, pages) = self.index_size();
            let per_tuple = pg_sys::cpu_index_tuple_cost + pg_sys::cpu_operator_cost * DISTANCE_COST;
            let share = first_share.clamp(0.0, 1.0);
            let whole_index = tuples * per_tuple + pages * pg_sys::seq_page_cost;
            let first = tuples * share * per_tuple + (pages * share).max(1.0) * pg_sys::seq_page_cost;
            *self.startup_cost = first.min(whole_index);
            *self.total_cost = whole_index;
            *self.pages = pages;
        }
    }
}
