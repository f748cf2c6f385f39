//! vector_ext: a pgvector-compatible `vector` type with HNSW and IVFFlat
//! indexes, for PostgreSQL 15.
//!
//! The algorithms and kernels live in the pure-Rust `vector_core` crate; this
//! crate is the PostgreSQL glue. All SQL is declared in `sql/vector_ext.sql`.

use pgrx::prelude::*;

mod am;
mod storage;
mod types;

::pgrx::pg_module_magic!();

extension_sql_file!("../sql/vector_ext.sql", name = "vector_ext", finalize);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    am::hnsw::options::init();
    am::paths::init();
    am::ivfflat::options::init();
    storage::faults::init();
}

#[cfg(any(test, feature = "pg_test"))]
mod tests;

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    #[must_use]
    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
