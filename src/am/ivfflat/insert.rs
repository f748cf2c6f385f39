//! INSERT: the row goes to the last page of its nearest cell, or to a new
//! page linked after it. The centroid page (lower block) is locked before
//! the list pages, as the lock order requires.

use pgrx::pg_sys;
use pgrx::prelude::*;
use vector_core::{check_same_dimensions, ivf};

use super::format::{self, CENTROID_PAGE, LINK_OFFSET, LIST_PAGE};
use super::{read_centroids, read_meta};
use crate::am::hnsw::format::{Address, FormatError};
use crate::am::prepare_vector;
use crate::storage::{corrupted, item_space, Index, WalRecord};
use crate::vector::{OrRaise, PgVector};

#[pg_guard]
pub unsafe extern "C-unwind" fn aminsert(
    index_relation: pg_sys::Relation,
    values: *mut pg_sys::Datum,
    is_null: *mut bool,
    heap_tid: pg_sys::ItemPointer,
    _heap: pg_sys::Relation,
    _check_unique: pg_sys::IndexUniqueCheck::Type,
    _index_unchanged: bool,
    _index_info: *mut pg_sys::IndexInfo,
) -> bool {
    if unsafe { *is_null } {
        return false;
    }
    // SAFETY: an open index; the key column is a non-null vector.
    let index = unsafe { Index::from_raw(index_relation) };
    let vector = unsafe { PgVector::from_datum_unchecked(*values) };
    let (block, offset) = pgrx::itemptr::item_pointer_get_both(unsafe { *heap_tid });
    let meta = read_meta(&index);
    check_same_dimensions(meta.dimensions as usize, vector.dim()).or_raise();
    let metric = meta.metric.metric();
    let Some(vector) = prepare_vector(metric, vector.as_slice()) else { return false };

    let centroids = read_centroids(&index, &meta);
    let flat: Vec<f32> = centroids.iter().flat_map(|(c, _, _)| c.vector.iter().copied()).collect();
    let cell = ivf::nearest_centroid(&vector, &flat, meta.dimensions as usize, metric);
    let (_, centroid_block, centroid_offset) = centroids[cell];
    let mut entry = Vec::new();
    format::encode_entry(Address { block, offset }, &vector, &mut entry);

    let mut record = WalRecord::start(&index);
    let centroid_slot = record.register(index.lock_exclusive(centroid_block, CENTROID_PAGE));
    let last = {
        let mut page = record.page(centroid_slot);
        let bytes = page.item_mut(centroid_offset).unwrap_or_else(|| corrupted(&index, centroid_block, "lacks a centroid"));
        let centroid = format::Centroid::decode(bytes, meta.dimensions as usize).unwrap_or_else(|e| bad(&index, centroid_block, e));
        centroid.last
    };
    let last_slot = record.register(index.lock_exclusive(last, LIST_PAGE));
    if record.page(last_slot).as_ref().free_space() + 4 >= item_space(entry.len()) {
        record.page(last_slot).add_item(&entry).expect("room was checked");
    } else {
        let new_slot = record.register(index.extend());
        let new_block = record.block(new_slot);
        let mut new_page = record.page(new_slot);
        new_page.init(LIST_PAGE);
        new_page.add_item(&format::encode_link(crate::storage::INVALID_BLOCK)).expect("an empty page holds a link");
        new_page.add_item(&entry).expect("an empty page holds an entry");
        let mut last_page = record.page(last_slot);
        let link = last_page.item_mut(LINK_OFFSET).unwrap_or_else(|| corrupted(&index, last, "lacks its link"));
        link.copy_from_slice(&format::encode_link(new_block));
        format::set_centroid_last(record.page(centroid_slot).item_mut(centroid_offset).expect("read above"), new_block);
    }
    record.commit();
    false
}

fn bad(index: &Index, block: u32, error: FormatError) -> ! {
    corrupted(index, block, &error.to_string())
}
