//! `hnsw_last_scan()`: what the last hnsw index scan of this backend did,
//! to explain a query's cost (how many exact distances, code estimates,
//! neighbor lists and pages its searches took). A scan's counters start at
//! zero when it runs its first search and grow with every search and row
//! after that, so after a query they describe its last hnsw scan.

use std::cell::Cell;

use pgrx::prelude::*;

/// What one index scan did, summed over its searches.
#[derive(Clone, Copy, Default)]
pub struct ScanCounters {
    /// Batches of the graph search: one, or more when the scan resumed it
    /// (filter columns, iterative scans).
    pub searches: u64,
    /// The ef of its widest batch (ef_search, doubled for each batch after the first).
    pub ef: u64,
    /// Exact distances computed.
    pub distances: u64,
    /// Distances estimated from codes.
    pub estimates: u64,
    /// Neighbor lists read: the elements the searches expanded, every layer.
    pub neighbor_lists: u64,
    /// Index pages each search pinned, summed over the searches.
    pub pages: u64,
    /// Heap TIDs the scan returned.
    pub rows: u64,
}

thread_local! {
    static LAST_SCAN: Cell<ScanCounters> = Cell::new(ScanCounters::default());
}

/// A new scan starts: the counters go back to zero.
pub fn start_scan() {
    LAST_SCAN.set(ScanCounters::default());
}

/// Adds to the current scan's counters.
pub fn count(change: impl FnOnce(&mut ScanCounters)) {
    let mut counters = LAST_SCAN.get();
    change(&mut counters);
    LAST_SCAN.set(counters);
}

#[pg_extern(sql = false)]
fn hnsw_last_scan() -> TableIterator<
    'static,
    (
        name!(searches, i64),
        name!(ef_search, i64),
        name!(distances, i64),
        name!(estimates, i64),
        name!(neighbor_lists, i64),
        name!(pages, i64),
        name!(rows, i64),
    ),
> {
    let c = LAST_SCAN.get();
    let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    TableIterator::once((
        signed(c.searches),
        signed(c.ef),
        signed(c.distances),
        signed(c.estimates),
        signed(c.neighbor_lists),
        signed(c.pages),
        signed(c.rows),
    ))
}
