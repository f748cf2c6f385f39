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
//! Conditions on filter columns (`am::filter`) are the index's own: its
//! selectivity is theirs, and a search must walk past the rows that fail
//! them, so the share it scores before its first batch grows as the
//! selectivity falls, up to the whole index. A condition matching few rows
//! thus makes the index scan as dear as reading everything, and a btree on
//! the filter column with a sort of its rows wins, as it should.
//!
//! Without an ORDER BY the index cannot answer at all; without a LIMIT and
//! with iterative scans off (and no filter conditions) it would stop after
//! its first search where the query asks for every row: both get an
//! infinite cost, which loses even to a path disabled by
//! `enable_seqscan = off`.

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

    /// The selectivity of the path's conditions on filter columns: 1 without.
    ///
    /// # Safety
    /// The pointers amcostestimate received.
    pub unsafe fn filter_selectivity(&self) -> f64 {
        // SAFETY: as the caller promises; clauselist_selectivity reads the
        // planner's statistics for the index's table.
        unsafe {
            let clauses = (*self.path).indexclauses;
            if clauses.is_null() {
                return 1.0;
            }
            let quals = pg_sys::get_quals_from_indexclauses(clauses);
            let relid = (*(*(*self.path).indexinfo).rel).relid as i32;
            pg_sys::clauselist_selectivity(self.root, quals, relid, pg_sys::JoinType::JOIN_INNER, std::ptr::null_mut()).clamp(0.0, 1.0)
        }
    }

    /// What scoring `share` (0 to 1) of the index costs: its tuples and
    /// that share of its pages, read in the order they lie.
    ///
    /// # Safety
    /// The pointers amcostestimate received.
    pub unsafe fn scored(&self, share: f64) -> pg_sys::Cost {
        // SAFETY: as the caller promises.
        let (tuples, pages) = unsafe { self.index_size() };
        let share = share.clamp(0.0, 1.0);
        tuples * share * per_tuple_cost() + (pages * share).max(1.0) * unsafe { pg_sys::seq_page_cost }
    }

    /// Fills in the estimate for a scan that scores `first_share` (0 to 1)
    /// of the index before its first row and `total_share` before its last
    /// (1: the whole index), and returns the share `selectivity` of the
    /// rows; `iterative` when the scan can go on past its first search.
    ///
    /// # Safety
    /// The pointers amcostestimate received.
    pub unsafe fn estimate(&self, first_share: f64, total_share: f64, selectivity: f64, iterative: bool) {
        // SAFETY: as the caller promises.
        unsafe {
            let total = self.scored(total_share);
            self.estimate_costs(self.scored(first_share).min(total), total, selectivity, iterative);
        }
    }

    /// Fills in the estimate for a scan whose first row costs `startup` and
    /// whose last costs `total`, as `estimate` does.
    ///
    /// # Safety
    /// The pointers amcostestimate received.
    pub unsafe fn estimate_costs(&self, startup: pg_sys::Cost, total: pg_sys::Cost, selectivity: f64, iterative: bool) {
        // SAFETY: as the caller promises.
        unsafe {
            *self.selectivity = selectivity;
            *self.correlation = 0.0;
            let no_order = (*self.path).indexorderbys.is_null();
            let no_limit = (*self.root).limit_tuples < 0.0;
            if no_order || (no_limit && !iterative) {
                *self.startup_cost = f64::INFINITY;
                *self.total_cost = f64::INFINITY;
                *self.pages = 0.0;
                return;
            }
            *self.startup_cost = startup.min(total);
            *self.total_cost = total;
            *self.pages = self.index_size().1;
        }
    }
}

/// What scoring one index tuple costs: reading it and one distance.
pub(crate) fn per_tuple_cost() -> pg_sys::Cost {
    // SAFETY: planner settings, read in the backend's only thread.
    unsafe { pg_sys::cpu_index_tuple_cost + pg_sys::cpu_operator_cost * DISTANCE_COST }
}
