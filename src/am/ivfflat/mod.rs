//! The `ivfflat` index access method: k-means cells, each a chain of pages
//! of (heap TID, vector) entries; a scan reads the `ivfflat.probes` cells
//! whose centroids lie nearest the query.
//!
//! - `format.rs`  the on-disk format (the spec)
//! - `build.rs`   k-means on a sample, assignment, one sequential write
//! - `insert.rs`  INSERT into the nearest cell
//! - `scan.rs`    probes, iterative scans
//! - `vacuum.rs`  marking dead rows' entries
//! - `options.rs` lists and the ivfflat.* settings
//! - `cost.rs`    the planner's estimate
//! - `verify.rs`  ivfflat_verify(), an amcheck-style consistency check

mod build;
pub(crate) mod cost;
pub mod format;
mod insert;
pub mod options;
mod scan;
mod vacuum;
mod verify;

use pgrx::pg_sys;
use pgrx::prelude::*;

use format::{Centroid, MetaPage, CENTROID_PAGE, META_BLOCK, META_BYTES, META_PAGE};
use super::handler;
use crate::storage::{corrupted, Index};

#[pg_extern(sql = false)]
fn ivfflat_handler(_fcinfo: pg_sys::FunctionCallInfo) -> PgBox<pg_sys::IndexAmRoutine> {
    handler::routine_of_submodules!()
}

pub(crate) fn read_meta(index: &Index) -> MetaPage {
    let page = index.read(META_BLOCK, META_PAGE);
    let bytes = page.page().contents(META_BYTES).unwrap_or_else(|| corrupted(index, META_BLOCK, "has no meta data"));
    MetaPage::decode(bytes).unwrap_or_else(|e| crate::am::bad_meta(index, e))
}

/// Every centroid with the block and offset of its tuple.
pub(crate) fn read_centroids(index: &Index, meta: &MetaPage) -> Vec<(Centroid, u32, u16)> {
    let mut centroids = Vec::with_capacity(meta.lists as usize);
    for block in 1..=meta.centroid_pages {
        let page = index.read(block, CENTROID_PAGE);
        let page = page.page();
        for offset in 1..=page.max_offset() {
            let bytes = page.item(offset).unwrap_or_else(|| corrupted(index, block, "lacks a centroid"));
            let centroid = Centroid::decode(bytes, meta.shape()).unwrap_or_else(|e| corrupted(index, block, &e.to_string()));
            if centroid.list as usize != centroids.len() {
                corrupted(index, block, "holds centroids out of order");
            }
            centroids.push((centroid, block, offset));
        }
    }
    centroids
}
