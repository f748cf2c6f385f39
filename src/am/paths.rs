//! `IN (...)` and `= ANY(array)` on filter columns as index conditions of
//! an ordered hnsw or ivfflat scan.
//!
//! PostgreSQL 15's planner never lets an ordered index scan carry a
//! ScalarArrayOpExpr on a column after the first (for btree it would break
//! the order), so `WHERE tenant IN (1, 2) ORDER BY embedding <-> $1` would
//! get the condition as a Filter above the scan: post-filtering, which
//! walks and fetches every row that fails it. Our scans keep their order
//! whatever they filter on, so this `set_rel_pathlist_hook` rebuilds each
//! such path of ours with the array conditions among its index conditions
//! (`am::filter` evaluates them as `= ANY` keys) and drops the
//! post-filtering original.

use pgrx::pg_sys;
use pgrx::prelude::*;

use super::filter::EQUAL;
use super::{hnsw, ivfflat};

static mut PREVIOUS_HOOK: pg_sys::set_rel_pathlist_hook_type = None;

/// Installs the hook; called from `_PG_init`.
pub fn init() {
    // SAFETY: _PG_init runs once per backend, before any planning.
    unsafe {
        PREVIOUS_HOOK = pg_sys::set_rel_pathlist_hook;
        pg_sys::set_rel_pathlist_hook = Some(set_rel_pathlist);
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn set_rel_pathlist(root: *mut pg_sys::PlannerInfo, rel: *mut pg_sys::RelOptInfo, rti: pg_sys::Index, rte: *mut pg_sys::RangeTblEntry) {
    // SAFETY: the planner's arguments, passed on; the previous hook is
    // another extension's, called as PostgreSQL would.
    unsafe {
        if let Some(previous) = PREVIOUS_HOOK {
            previous(root, rel, rti, rte);
        }
        add_array_condition_paths(root, rel);
    }
}

/// Whether the index is one of ours: its cost estimate tells.
fn is_ours(index: &pg_sys::IndexOptInfo) -> bool {
    let ours = [hnsw::cost::amcostestimate as *const (), ivfflat::cost::amcostestimate as *const ()];
    index.amcostestimate.is_some_and(|f| ours.contains(&(f as *const ())))
}

/// Replaces every unparameterized, ordered path of ours on `rel` that leaves
/// an `= ANY` condition on one of its filter columns to a Filter by one
/// that evaluates it in the walk.
///
/// # Safety
/// The planner's `root` and `rel`, with `rel`'s paths built.
unsafe fn add_array_condition_paths(root: *mut pg_sys::PlannerInfo, rel: *mut pg_sys::RelOptInfo) {
    // SAFETY: as the caller promises; lists and nodes are the planner's.
    unsafe {
        let arrays: Vec<*mut pg_sys::RestrictInfo> =
            pointers(&(*rel).baserestrictinfo).into_iter().filter(|&rinfo| is_any_equal(rinfo)).collect();
        if arrays.is_empty() {
            return;
        }
        let mut replaced = Vec::new();
        for path in pointers::<pg_sys::Path>(&(*rel).pathlist) {
            if (*path).type_ != pg_sys::NodeTag::T_IndexPath || !(*path).param_info.is_null() {
                continue;
            }
            let path = path.cast::<pg_sys::IndexPath>();
            let index = (*path).indexinfo;
            if !is_ours(&*index) || (*path).indexorderbys.is_null() {
                continue;
            }
            let mut clauses: Vec<*mut pg_sys::IndexClause> = pointers(&(*path).indexclauses);
            let before = clauses.len();
            for &rinfo in &arrays {
                if clauses.iter().any(|&clause| (*clause).rinfo == rinfo) {
                    continue;
                }
                if let Some(column) = filter_column_of(index, rinfo) {
                    clauses.push(index_clause(rinfo, column));
                }
            }
            if clauses.len() == before {
                continue;
            }
            clauses.sort_by_key(|&clause| (*clause).indexcol);
            let with_arrays = pg_sys::create_index_path(
                root,
                index,
                list_of(&clauses),
                (*path).indexorderbys,
                (*path).indexorderbycols,
                (*path).path.pathkeys,
                pg_sys::ScanDirection::ForwardScanDirection,
                false,
                std::ptr::null_mut(),
                1.0,
                false,
            );
            replaced.push((path, with_arrays));
        }
        for (original, with_arrays) in replaced {
            (*rel).pathlist = pg_sys::list_delete_ptr((*rel).pathlist, original.cast());
            pg_sys::add_path(rel, with_arrays.cast());
        }
    }
}

/// Whether `rinfo` is `column = ANY(array)` (or `IN (...)`) with an array
/// fixed for the scan: no column of the query's tables in it, nothing
/// volatile.
unsafe fn is_any_equal(rinfo: *mut pg_sys::RestrictInfo) -> bool {
    // SAFETY: a planner RestrictInfo; its clause is a node.
    unsafe {
        let clause = (*rinfo).clause;
        if (*clause.cast::<pg_sys::Node>()).type_ != pg_sys::NodeTag::T_ScalarArrayOpExpr || (*rinfo).pseudoconstant {
            return false;
        }
        let saop = clause.cast::<pg_sys::ScalarArrayOpExpr>();
        let args = pointers::<pg_sys::Node>(&(*saop).args);
        (*saop).useOr && args.len() == 2 && !pg_sys::contain_var_clause(args[1]) && !pg_sys::contain_volatile_functions(args[1])
    }
}

/// The filter column (index column 1 and up) an `= ANY` condition compares,
/// with `=` of its operator family; None if it is on no filter column.
unsafe fn filter_column_of(index: *mut pg_sys::IndexOptInfo, rinfo: *mut pg_sys::RestrictInfo) -> Option<i32> {
    // SAFETY: is_any_equal checked the clause's shape; the index has
    // nkeycolumns opfamilies.
    unsafe {
        let saop = (*rinfo).clause.cast::<pg_sys::ScalarArrayOpExpr>();
        let left = pointers::<pg_sys::Node>(&(*saop).args)[0];
        (1..(*index).nkeycolumns).find(|&column| pg_sys::match_index_to_operand(left, column, index) && is_equality_operator(index, column, (*saop).opno))
    }
}

/// Whether `operator` is the `=` of key column `column`'s operator family.
///
/// # Safety
/// `index` is a planner IndexOptInfo with more than `column` key columns.
pub(crate) unsafe fn is_equality_operator(index: *mut pg_sys::IndexOptInfo, column: i32, operator: pg_sys::Oid) -> bool {
    // SAFETY: as the caller promises.
    unsafe { pg_sys::get_op_opfamily_strategy(operator, *(*index).opfamily.add(column as usize)) == i32::from(EQUAL) }
}

/// An IndexClause of `rinfo` on `column`, used as it is (not lossy).
unsafe fn index_clause(rinfo: *mut pg_sys::RestrictInfo, column: i32) -> *mut pg_sys::IndexClause {
    // SAFETY: a zeroed node of the planner's memory context, filled in.
    unsafe {
        let clause = pg_sys::palloc0(std::mem::size_of::<pg_sys::IndexClause>()).cast::<pg_sys::IndexClause>();
        (*clause).type_ = pg_sys::NodeTag::T_IndexClause;
        (*clause).rinfo = rinfo;
        (*clause).indexquals = pg_sys::lappend(std::ptr::null_mut(), rinfo.cast());
        (*clause).lossy = false;
        (*clause).indexcol = column as pg_sys::AttrNumber;
        clause
    }
}

/// The pointers of a List (NIL is empty).
pub(crate) unsafe fn pointers<T>(list: &*mut pg_sys::List) -> Vec<*mut T> {
    let list = *list;
    if list.is_null() {
        return Vec::new();
    }
    // SAFETY: a List of pointers has `length` cells.
    unsafe { (0..(*list).length as usize).map(|i| (*(*list).elements.add(i)).ptr_value.cast()).collect() }
}

/// A new List of `items`.
unsafe fn list_of<T>(items: &[*mut T]) -> *mut pg_sys::List {
    // SAFETY: lappend allocates in the current (planner) memory context.
    items.iter().fold(std::ptr::null_mut(), |list, &item| unsafe { pg_sys::lappend(list, item.cast()) })
}
