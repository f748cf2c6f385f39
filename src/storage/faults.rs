//! Test-only fault points: settings a superuser turns on to make a rare
//! failure happen on demand, so tests can prove the index survives it.
//! They are hidden from `SHOW ALL` and the sample configuration.

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::prelude::*;

/// `vector_ext.fault_after_extend`: raise an ERROR right after a page is
/// added to an index, before the WAL record that initializes it commits.
static FAULT_AFTER_EXTEND: GucSetting<bool> = GucSetting::<bool>::new(false);

/// Registers the fault settings; called from `_PG_init`.
pub fn init() {
    GucRegistry::define_bool_guc(
        c"vector_ext.fault_after_extend",
        c"Test only: fail right after extending an index",
        c"Raises an ERROR between adding a page and logging its initialization.",
        &FAULT_AFTER_EXTEND,
        GucContext::Suset,
        GucFlags::NO_SHOW_ALL,
    );
    // SAFETY: reserving our GUC prefix, as extensions do after defining them.
    unsafe { pgrx::pg_sys::MarkGUCPrefixReserved(c"vector_ext".as_ptr()) };
}

pub(super) fn after_extend() {
    if FAULT_AFTER_EXTEND.get() {
        ereport!(ERROR, PgSqlErrorCode::ERRCODE_INTERNAL_ERROR, "fault injected after extending an index (vector_ext.fault_after_extend)");
    }
}
