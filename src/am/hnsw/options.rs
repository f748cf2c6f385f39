//! Index options (`WITH (m = 16, ef_construction = 64)`) and the `hnsw.*`
//! settings.

use std::ffi::CStr;
use std::mem::offset_of;
use std::sync::atomic::{AtomicU32, Ordering};

use pgrx::guc::{GucContext, GucFlags, GucRegistry, GucSetting};
use pgrx::prelude::*;
use pgrx::{pg_sys, PostgresGucEnum};
use vector_core::hnsw::HnswParams;

/// The options as PostgreSQL stores them in `rd_options`.
#[repr(C)]
struct HnswOptions {
    vl_len_: i32,
    m: i32,
    ef_construction: i32,
}

/// The reloption kind registered for hnsw at load time.
static RELOPT_KIND: AtomicU32 = AtomicU32::new(0);

pub static EF_SEARCH: GucSetting<i32> = GucSetting::<i32>::new(40);
pub static ITERATIVE_SCAN: GucSetting<IterativeScan> = GucSetting::<IterativeScan>::new(IterativeScan::Off);
pub static MAX_SCAN_TUPLES: GucSetting<i32> = GucSetting::<i32>::new(20_000);
pub static SCAN_MEM_MULTIPLIER: GucSetting<f64> = GucSetting::<f64>::new(1.0);

/// `hnsw.iterative_scan`: what a scan does once its ef_search results are used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PostgresGucEnum)]
pub enum IterativeScan {
    /// Stop: at most ef_search rows come from the index.
    #[name = c"off"]
    Off,
    /// Search further, returning only rows no closer than the last one.
    #[name = c"strict_order"]
    StrictOrder,
    /// Search further, returning every new row (slightly out of order).
    #[name = c"relaxed_order"]
    RelaxedOrder,
}

/// Registers the options and settings; called from `_PG_init`.
pub fn init() {
    // SAFETY: called once, at library load, as PostgreSQL expects.
    unsafe {
        let kind = pg_sys::add_reloption_kind();
        RELOPT_KIND.store(kind, Ordering::Relaxed);
        pg_sys::add_int_reloption(
            kind,
            c"m".as_ptr(),
            c"Max number of connections".as_ptr(),
            HnswParams::DEFAULT_M as i32,
            2,
            100,
            pg_sys::AccessExclusiveLock as i32,
        );
        pg_sys::add_int_reloption(
            kind,
            c"ef_construction".as_ptr(),
            c"Size of the dynamic candidate list for construction".as_ptr(),
            HnswParams::DEFAULT_EF_CONSTRUCTION as i32,
            4,
            1000,
            pg_sys::AccessExclusiveLock as i32,
        );
    }
    GucRegistry::define_int_guc(
        c"hnsw.ef_search",
        c"Sets the size of the dynamic candidate list for search",
        c"Valid range is 1..1000.",
        &EF_SEARCH,
        1,
        1000,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_enum_guc(
        c"hnsw.iterative_scan",
        c"Sets the mode for iterative scans",
        c"off, strict_order or relaxed_order.",
        &ITERATIVE_SCAN,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"hnsw.max_scan_tuples",
        c"Sets the max number of tuples to visit for iterative scans",
        c"",
        &MAX_SCAN_TUPLES,
        1,
        i32::MAX,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_float_guc(
        c"hnsw.scan_mem_multiplier",
        c"Sets the multiple of work_mem to use for iterative scans",
        c"",
        &SCAN_MEM_MULTIPLIER,
        1.0,
        1000.0,
        GucContext::Userset,
        GucFlags::default(),
    );
    // SAFETY: reserving our GUC prefix, as extensions do after defining them.
    unsafe { pg_sys::MarkGUCPrefixReserved(c"hnsw".as_ptr()) };
}

#[pg_guard]
pub unsafe extern "C-unwind" fn amoptions(reloptions: pg_sys::Datum, validate: bool) -> *mut pg_sys::bytea {
    let table = [
        parse_entry(c"m", offset_of!(HnswOptions, m)),
        parse_entry(c"ef_construction", offset_of!(HnswOptions, ef_construction)),
    ];
    // SAFETY: the table describes HnswOptions, whose size we pass.
    unsafe {
        pg_sys::build_reloptions(
            reloptions,
            validate,
            RELOPT_KIND.load(Ordering::Relaxed),
            std::mem::size_of::<HnswOptions>(),
            table.as_ptr(),
            table.len() as i32,
        )
        .cast()
    }
}

fn parse_entry(name: &'static CStr, offset: usize) -> pg_sys::relopt_parse_elt {
    pg_sys::relopt_parse_elt { optname: name.as_ptr(), opttype: pg_sys::relopt_type::RELOPT_TYPE_INT, offset: offset as i32 }
}

/// The index's build parameters, checked: ef_construction must be at least 2m.
pub fn params(index: pg_sys::Relation) -> HnswParams {
    // SAFETY: rd_options is NULL or the HnswOptions amoptions built.
    let (m, ef_construction) = unsafe {
        let options = (*index).rd_options as *const HnswOptions;
        if options.is_null() {
            (HnswParams::DEFAULT_M, HnswParams::DEFAULT_EF_CONSTRUCTION)
        } else {
            ((*options).m as usize, (*options).ef_construction as usize)
        }
    };
    if ef_construction < 2 * m {
        ereport!(
            ERROR,
            PgSqlErrorCode::ERRCODE_INVALID_PARAMETER_VALUE,
            "ef_construction must be greater than or equal to 2 * m"
        );
    }
    HnswParams::new(m, ef_construction)
}
