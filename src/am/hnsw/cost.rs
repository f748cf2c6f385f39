//! The planner's estimate for an hnsw scan (the model is in `am::cost`): a
//! search scores about ef candidates times their links (2m, m = 16 by
//! default) before the first row comes back, divided by the selectivity of
//! its conditions on filter columns, except that of an `=` or `IN`
//! condition on a linked column (values.rs), whose walk meets matching
//! elements only.

use pgrx::pg_sys;

use super::graph::read_meta_if_current;
use super::options::{IterativeScan, EF_SEARCH, ITERATIVE_SCAN};
use crate::am::cost::CostArgs;
use crate::am::paths::{pointers, EQUAL_STRATEGY};
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
        // A walk of value graphs meets the elements of its values only (at
        // most all of them), and passes those that fail the other
        // conditions; with no other condition, all its rows come from that
        // walk (a walk of the whole graph follows only if the executor asks
        // for more rows than the values have).
        let (met, walked_past, total_share) = match linked_selectivity(&args) {
            Some(linked) if linked <= selectivity * 1.0001 => ((ef * 32.0).min(linked * tuples), 1.0, linked),
            Some(linked) => ((ef * 32.0).min(linked * tuples), selectivity / linked, 1.0),
            None => (ef * 32.0, selectivity, 1.0),
        };
        let filtered = !(*path).indexclauses.is_null();
        args.estimate(met / (tuples * walked_past), total_share, selectivity, filtered || ITERATIVE_SCAN.get() != IterativeScan::Off);
    }
}

/// The selectivity of the most selective `=` or `IN` condition on a linked
/// column, if the scan has one: a scan walks that value's graphs (scan.rs
/// picks the condition with the fewest values, nearly always the same one).
unsafe fn linked_selectivity(args: &CostArgs) -> Option<f64> {
    // SAFETY: the planner's path; the index is locked while it plans, and
    // an index of another format, or one being built, has no linked columns.
    unsafe {
        let info = &*(*args.path).indexinfo;
        if (*args.path).indexclauses.is_null() || (*args.path).indexorderbys.is_null() {
            return None;
        }
        let relation = pg_sys::index_open(info.indexoid, pg_sys::NoLock as pg_sys::LOCKMODE);
        let meta = read_meta_if_current(&Index::from_raw(relation));
        pg_sys::index_close(relation, pg_sys::NoLock as pg_sys::LOCKMODE);
        let meta = meta.filter(|meta| meta.linked_columns != 0)?;
        let clauses = pointers::<pg_sys::IndexClause>(&(*args.path).indexclauses);
        let linked = clauses.into_iter().filter(|&clause| {
            let column = (*clause).indexcol as usize;
            column >= 1 && meta.value_list_of(column - 1).is_some() && is_equality(info, clause)
        });
        let relid = (*info.rel).relid as i32;
        linked
            .map(|clause| pg_sys::clause_selectivity(args.root, (*(*clause).rinfo).clause.cast(), relid, pg_sys::JoinType::JOIN_INNER, std::ptr::null_mut()))
            .min_by(f64::total_cmp)
    }
}

/// Whether an index clause is `column = value` or `column = ANY(values)`.
unsafe fn is_equality(info: &pg_sys::IndexOptInfo, clause: *mut pg_sys::IndexClause) -> bool {
    // SAFETY: a planner IndexClause on a key column of `info`.
    unsafe {
        let expression = (*(*clause).rinfo).clause.cast::<pg_sys::Node>();
        let operator = match (*expression).type_ {
            pg_sys::NodeTag::T_OpExpr => (*expression.cast::<pg_sys::OpExpr>()).opno,
            pg_sys::NodeTag::T_ScalarArrayOpExpr if (*expression.cast::<pg_sys::ScalarArrayOpExpr>()).useOr => (*expression.cast::<pg_sys::ScalarArrayOpExpr>()).opno,
            _ => return false,
        };
        let family = *info.opfamily.add((*clause).indexcol as usize);
        pg_sys::get_op_opfamily_strategy(operator, family) == EQUAL_STRATEGY
    }
}
