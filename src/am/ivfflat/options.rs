//! `WITH (lists = 100)` and the `ivfflat.*` settings.

use std::mem::offset_of;
use std::sync::atomic::{AtomicU32, Ordering};

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::prelude::*;
use pgrx::{pg_sys, PostgresGucEnum};

#[repr(C)]
struct IvfflatOptions {
    vl_len_: i32,
    lists: i32,
}

const DEFAULT_LISTS: i32 = 100;
static RELOPT_KIND: AtomicU32 = AtomicU32::new(0);

pub static PROBES: GucSetting<i32> = GucSetting::<i32>::new(1);
pub static ITERATIVE_SCAN: GucSetting<IterativeScan> = GucSetting::<IterativeScan>::new(IterativeScan::Off);
pub static MAX_PROBES: GucSetting<i32> = GucSetting::<i32>::new(32_768);

/// `ivfflat.iterative_scan`: probe more cells once the first ones are used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PostgresGucEnum)]
pub enum IterativeScan {
    #[name = c"off"]
    Off,
    #[name = c"relaxed_order"]
    RelaxedOrder,
}

pub fn init() {
    // SAFETY: called once, at library load.
    unsafe {
        let kind = pg_sys::add_reloption_kind();
        RELOPT_KIND.store(kind, Ordering::Relaxed);
        pg_sys::add_int_reloption(kind, c"lists".as_ptr(), c"Number of inverted lists".as_ptr(), DEFAULT_LISTS, 1, 32_768, pg_sys::AccessExclusiveLock as i32);
    }
    GucRegistry::define_int_guc(c"ivfflat.probes", c"Sets the number of probes", c"Valid range is 1..lists.", &PROBES, 1, 32_768, GucContext::Userset, GucFlags::default());
    GucRegistry::define_enum_guc(c"ivfflat.iterative_scan", c"Sets the mode for iterative scans", c"off or relaxed_order.", &ITERATIVE_SCAN, GucContext::Userset, GucFlags::default());
    GucRegistry::define_int_guc(c"ivfflat.max_probes", c"Sets the max number of probes for iterative scans", c"", &MAX_PROBES, 1, 32_768, GucContext::Userset, GucFlags::default());
    // SAFETY: reserving our GUC prefix.
    unsafe { pg_sys::MarkGUCPrefixReserved(c"ivfflat".as_ptr()) };
}

#[pg_guard]
pub unsafe extern "C-unwind" fn amoptions(reloptions: pg_sys::Datum, validate: bool) -> *mut pg_sys::bytea {
    let table = [pg_sys::relopt_parse_elt {
        optname: c"lists".as_ptr(),
        opttype: pg_sys::relopt_type::RELOPT_TYPE_INT,
        offset: offset_of!(IvfflatOptions, lists) as i32,
    }];
    // SAFETY: the table describes IvfflatOptions.
    unsafe {
        pg_sys::build_reloptions(reloptions, validate, RELOPT_KIND.load(Ordering::Relaxed), std::mem::size_of::<IvfflatOptions>(), table.as_ptr(), 1)
            .cast()
    }
}

pub fn lists(index: pg_sys::Relation) -> usize {
    // SAFETY: rd_options is NULL or what amoptions built.
    unsafe {
        let options = (*index).rd_options as *const IvfflatOptions;
        if options.is_null() { DEFAULT_LISTS as usize } else { (*options).lists as usize }
    }
}
