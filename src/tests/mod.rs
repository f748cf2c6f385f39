//! `#[pg_test]`s: SQL behaviour inside a running PostgreSQL, through SPI.
//! pgrx runs each test in the schema `tests`, so every file wraps its tests
//! in a `#[pg_schema] mod tests`.

mod hnsw;
mod vector_type;
