//! The planner's estimate for an hnsw scan (the model is in `am::cost`): a
//! search scores about ef candidates times their links (2m, m = 16 by
//! default) before the first row comes back, divided by the selectivity of
//! its conditions on filter columns. An `=` or `IN` condition on a linked
//! column (values.rs) is charged apart: its walk meets matching elements
//! only, one page each.

use pgrx::pg_sys;

use super::format::value_degree;
use super::graph::read_meta_if_current;
use super::options::{IterativeScan, EF_SEARCH, ITERATIVE_SCAN};
use crate::am::cost::{per_tuple_cost, CostArgs};
use crate::am::paths::{is_equality_operator, pointers};
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
        let iterative = !(*path).indexclauses.is_null() || ITERATIVE_SCAN.get() != IterativeScan::Off;
        match linked_walk(&args) {
            Some(walk) => {
                let (startup, total) = walk.costs(&args, ef, selectivity);
                args.estimate_costs(startup, total, selectivity, iterative);
            }
            None => args.estimate(ef * 32.0 / (tuples * selectivity), 1.0, selectivity, iterative),
        }
    }
}

/// A walk of value graphs (values.rs), for an `=` or `IN` condition on a
/// linked column.
struct LinkedWalk {
    /// The share of the index's rows the walked values hold.
    selectivity: f64,
    /// Links per value list.
    degree: f64,
}

impl LinkedWalk {
    /// The costs of the first row and of the last. The walk meets elements
    /// of its values only: measured on pydoc-minilm (degree 16), a search
    /// expands about ef + degree of them and estimates half the links of
    /// each (ef 10: 26 and 208; ef 40: 88 and 360), more in proportion
    /// when other conditions fail some, at most all of the values' rows.
    /// Each element met sits on a page of its own (the walk reads about one
    /// page per estimate), scattered over the index as a btree plan's rows
    /// are over the table, so those pages are charged as the planner
    /// charges that plan's: a value of a few dozen rows costs about what
    /// fetching and sorting them does. If the LIMIT asks for more rows
    /// than match (or there is none), the scan ends with one pass over
    /// every page (scan.rs).
    ///
    /// # Safety
    /// The pointers amcostestimate received.
    unsafe fn costs(&self, args: &CostArgs, ef: f64, selectivity: f64) -> (pg_sys::Cost, pg_sys::Cost) {
        // SAFETY: as the caller promises.
        unsafe {
            let (tuples, pages) = args.index_size();
            let rows = self.selectivity * tuples;
            let passing = (selectivity / self.selectivity).min(1.0);
            let walk = |elements: f64| {
                let read = pg_sys::index_pages_fetched(elements, pages as pg_sys::BlockNumber, pages, args.root);
                elements * per_tuple_cost() + read * pg_sys::random_page_cost
            };
            let startup = walk(rows.min((ef + self.degree) * self.degree / 2.0 / passing));
            let limit = (*args.root).limit_tuples;
            let remainder = if limit < 0.0 || selectivity * tuples < limit { args.scored(1.0) } else { 0.0 };
            (startup, walk(rows) + remainder)
        }
    }
}

/// The walk of an `=` or `IN` condition on a linked column, if the scan has
/// one: of those, the condition with the fewest values, the first column's
/// among equals, as scan.rs picks it.
unsafe fn linked_walk(args: &CostArgs) -> Option<LinkedWalk> {
    // SAFETY: the planner's path; the index is locked while it plans, and
    // an index of another format, or one being built, has no linked columns.
    unsafe {
        let info = (*args.path).indexinfo;
        if (*args.path).indexclauses.is_null() || (*args.path).indexorderbys.is_null() {
            return None;
        }
        let relation = pg_sys::index_open((*info).indexoid, pg_sys::NoLock as pg_sys::LOCKMODE);
        let meta = read_meta_if_current(&Index::from_raw(relation));
        pg_sys::index_close(relation, pg_sys::NoLock as pg_sys::LOCKMODE);
        let meta = meta.filter(|meta| meta.linked_columns != 0)?;
        let clauses = pointers::<pg_sys::IndexClause>(&(*args.path).indexclauses);
        let (_, _, walked) = clauses
            .into_iter()
            .filter(|&clause| (*clause).indexcol >= 1 && meta.value_list_of((*clause).indexcol as usize - 1).is_some())
            .filter_map(|clause| Some((equal_values(info, clause)?, (*clause).indexcol, clause)))
            .min_by_key(|&(values, column, _)| (values, column))?;
        let relid = (*(*info).rel).relid as i32;
        let selectivity = pg_sys::clause_selectivity(args.root, (*(*walked).rinfo).clause.cast(), relid, pg_sys::JoinType::JOIN_INNER, std::ptr::null_mut());
        Some(LinkedWalk { selectivity, degree: value_degree(meta.m as usize) as f64 })
    }
}

/// How many values an index clause `column = value` (1) or
/// `column = ANY(values)` (the array's length, or the planner's guess for
/// an array known at execution) asks for; None for another operator.
unsafe fn equal_values(info: *mut pg_sys::IndexOptInfo, clause: *mut pg_sys::IndexClause) -> Option<i32> {
    // SAFETY: a planner IndexClause on a key column of `info`.
    unsafe {
        let expression = (*(*clause).rinfo).clause.cast::<pg_sys::Node>();
        let (operator, values) = match (*expression).type_ {
            pg_sys::NodeTag::T_OpExpr => ((*expression.cast::<pg_sys::OpExpr>()).opno, 1),
            pg_sys::NodeTag::T_ScalarArrayOpExpr if (*expression.cast::<pg_sys::ScalarArrayOpExpr>()).useOr => {
                let any = expression.cast::<pg_sys::ScalarArrayOpExpr>();
                ((*any).opno, pg_sys::estimate_array_length(pointers::<pg_sys::Node>(&(*any).args)[1]))
            }
            _ => return None,
        };
        is_equality_operator(info, (*clause).indexcol as i32, operator).then_some(values)
    }
}
