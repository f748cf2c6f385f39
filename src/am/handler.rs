//! The IndexAmRoutine both access methods hand PostgreSQL: the same
//! capabilities (ordered by an ORDER BY operator on the first key column,
//! filter columns after it), only the callbacks differ.

use pgrx::pg_sys;
use pgrx::PgBox;

/// An access method's callbacks.
pub(crate) struct Callbacks {
    pub ambuild: pg_sys::ambuild_function,
    pub ambuildempty: pg_sys::ambuildempty_function,
    pub aminsert: pg_sys::aminsert_function,
    pub ambulkdelete: pg_sys::ambulkdelete_function,
    pub amvacuumcleanup: pg_sys::amvacuumcleanup_function,
    pub amcostestimate: pg_sys::amcostestimate_function,
    pub amoptions: pg_sys::amoptions_function,
    pub ambuildphasename: pg_sys::ambuildphasename_function,
    pub ambeginscan: pg_sys::ambeginscan_function,
    pub amrescan: pg_sys::amrescan_function,
    pub amgettuple: pg_sys::amgettuple_function,
    pub amendscan: pg_sys::amendscan_function,
}

/// The routine of the access method whose callbacks are the functions of
/// the same names in the invoking module's `build`, `insert`, `vacuum`,
/// `cost`, `options` and `scan` modules (both access methods are laid out
/// so, one file per concern).
macro_rules! routine_of_submodules {
    () => {
        $crate::am::handler::routine($crate::am::handler::Callbacks {
            ambuild: Some(build::ambuild),
            ambuildempty: Some(build::ambuildempty),
            aminsert: Some(insert::aminsert),
            ambulkdelete: Some(vacuum::ambulkdelete),
            amvacuumcleanup: Some(vacuum::amvacuumcleanup),
            amcostestimate: Some(cost::amcostestimate),
            amoptions: Some(options::amoptions),
            ambuildphasename: Some(build::ambuildphasename),
            ambeginscan: Some(scan::ambeginscan),
            amrescan: Some(scan::amrescan),
            amgettuple: Some(scan::amgettuple),
            amendscan: Some(scan::amendscan),
        })
    };
}
pub(crate) use routine_of_submodules;

/// The routine: support functions 1 (distance) and 2 (norm, for cosine),
/// ORDER BY operators only, no key needed (a scan with none reads every
/// row), filter columns after the vector (`am::filter`) with `IN (...)`
/// conditions on them as `= ANY(array)` keys, VACUUM's bulk delete may run
/// in parallel workers. Every flag not set here is false: no order of its
/// own, no uniqueness, no NULL searches, no parallel scans.
pub(crate) fn routine(callbacks: Callbacks) -> PgBox<pg_sys::IndexAmRoutine> {
    // SAFETY: a new, zeroed IndexAmRoutine node.
    let mut am = unsafe { PgBox::<pg_sys::IndexAmRoutine>::alloc_node(pg_sys::NodeTag::T_IndexAmRoutine) };
    am.amstrategies = 0;
    am.amsupport = 2;
    am.amcanorderbyop = true;
    am.amoptionalkey = true;
    am.amcanmulticol = true;
    am.amsearcharray = true;
    am.amparallelvacuumoptions = pg_sys::VACUUM_OPTION_PARALLEL_BULKDEL as u8;
    am.amkeytype = pg_sys::InvalidOid;

    am.ambuild = callbacks.ambuild;
    am.ambuildempty = callbacks.ambuildempty;
    am.aminsert = callbacks.aminsert;
    am.ambulkdelete = callbacks.ambulkdelete;
    am.amvacuumcleanup = callbacks.amvacuumcleanup;
    am.amcostestimate = callbacks.amcostestimate;
    am.amoptions = callbacks.amoptions;
    am.amvalidate = Some(super::amvalidate);
    am.ambuildphasename = callbacks.ambuildphasename;
    am.ambeginscan = callbacks.ambeginscan;
    am.amrescan = callbacks.amrescan;
    am.amgettuple = callbacks.amgettuple;
    am.amendscan = callbacks.amendscan;
    am.into_pg_boxed()
}

