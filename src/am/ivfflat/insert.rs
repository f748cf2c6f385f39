//! INSERT: the row goes to its nearest cell, on the first page from the
//! cell's insert page on that has room (VACUUM makes room in place), else on
//! a new page linked after the last one. Only an append locks the centroid
//! page; every other insert locks just the page it writes.

use pgrx::pg_sys;
use pgrx::prelude::*;
use vector_core::{check_same_dimensions, ivf};

use super::format::{self, Shape, CENTROID_PAGE, LINK_OFFSET, LIST_PAGE};
use super::{read_centroids, read_meta};
use crate::am::format::FormatError;
use crate::am::filter::row_filter_values;
use crate::am::{inserted_row, KeyType};
use crate::storage::{corrupted, BlockNumber, Index, WalRecord, INVALID_BLOCK};
use crate::types::OrRaise;

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
    // SAFETY: PostgreSQL's arguments.
    let Some((vector, heap_tid)) = (unsafe { inserted_row(index_relation, values, is_null, heap_tid) }) else { return false };
    let index = unsafe { Index::from_raw(index_relation) };
    let meta = read_meta(&index);
    check_same_dimensions(meta.dimensions as usize, vector.as_slice().len()).or_raise_as(KeyType::of(index_relation).name());
    let metric = meta.metric.metric();
    let Some(vector) = metric.prepare(vector.as_slice()) else { return false };

    let centroids = read_centroids(&index, &meta);
    let flat: Vec<f32> = centroids.iter().flat_map(|(c, _, _)| c.vector.iter().copied()).collect();
    let cell = ivf::nearest_centroid(&vector, &flat, meta.dimensions as usize, metric);
    let (centroid, centroid_block, centroid_offset) = &centroids[cell];
    // SAFETY: one value per key column.
    let filter = unsafe { row_filter_values(index_relation, values, is_null) };
    let mut entry = Vec::new();
    format::encode_entry(heap_tid, &vector, meta.precision, &filter, &mut entry);
    match add_to_page_with_room(&index, centroid.insert, &entry) {
        Some(used) if used != centroid.insert => advance_insert_page(&index, (*centroid_block, *centroid_offset), meta.shape(), centroid.insert, used),
        Some(_) => {}
        None => append_page(&index, *centroid_block, *centroid_offset, meta.shape(), &entry),
    }
    false
}

/// Adds the entry to the first page from `block` on (along the list) with
/// room for it, locking one page at a time; returns that page, or None when
/// none has room.
fn add_to_page_with_room(index: &Index, mut block: BlockNumber, entry: &[u8]) -> Option<BlockNumber> {
    while block != INVALID_BLOCK {
        let buffer = index.lock_exclusive(block, LIST_PAGE);
        if buffer.page().fits(entry.len()) {
            let mut record = WalRecord::start(index);
            let slot = record.register(buffer);
            record.page(slot).add_item(entry).expect("room was checked");
            record.commit();
            return Some(block);
        }
        let link = buffer.page().item(LINK_OFFSET).and_then(|bytes| format::decode_link(bytes).ok());
        block = link.unwrap_or_else(|| corrupted(index, block, "lacks its link"));
    }
    None
}

/// The pages from the insert page up to `used` were full: later inserts
/// start at `used`, unless someone (VACUUM) moved the insert page meanwhile.
fn advance_insert_page(index: &Index, (centroid_block, centroid_offset): (BlockNumber, u16), shape: Shape, from: BlockNumber, used: BlockNumber) {
    let buffer = index.lock_exclusive(centroid_block, CENTROID_PAGE);
    let current = buffer.page().item(centroid_offset).and_then(|bytes| format::Centroid::decode(bytes, shape).ok());
    if current.is_some_and(|c| c.insert == from) {
        let mut record = WalRecord::start(index);
        let slot = record.register(buffer);
        format::set_centroid_insert(record.page(slot).item_mut(centroid_offset).expect("read above"), used);
        record.commit();
    }
}

/// Adds a page at the end of the list, with the entry on it. The centroid
/// page is locked first (it has the lower block number, as the lock order
/// asks), so concurrent appends to one list take turns; an insert that
/// finds the last page with room after all uses it instead.
fn append_page(index: &Index, centroid_block: BlockNumber, centroid_offset: u16, shape: Shape, entry: &[u8]) {
    let mut record = WalRecord::start(index);
    let centroid_slot = record.register(index.lock_exclusive(centroid_block, CENTROID_PAGE));
    let last = {
        let mut page = record.page(centroid_slot);
        let bytes = page.item_mut(centroid_offset).unwrap_or_else(|| corrupted(index, centroid_block, "lacks a centroid"));
        format::Centroid::decode(bytes, shape).unwrap_or_else(|e| bad(index, centroid_block, e)).last
    };
    let last_slot = record.register(index.lock_exclusive(last, LIST_PAGE));
    if record.page(last_slot).as_ref().fits(entry.len()) {
        record.page(last_slot).add_item(entry).expect("room was checked");
    } else {
        let new_slot = record.register(index.extend());
        let new_block = record.block(new_slot);
        let mut new_page = record.page(new_slot);
        new_page.init(LIST_PAGE);
        new_page.add_item(&format::encode_link(INVALID_BLOCK)).expect("an empty page holds a link");
        new_page.add_item(entry).expect("an empty page holds an entry");
        let mut last_page = record.page(last_slot);
        let link = last_page.item_mut(LINK_OFFSET).unwrap_or_else(|| corrupted(index, last, "lacks its link"));
        link.copy_from_slice(&format::encode_link(new_block));
        let mut centroid_page = record.page(centroid_slot);
        let centroid = centroid_page.item_mut(centroid_offset).expect("read above");
        format::set_centroid_last(centroid, new_block);
        format::set_centroid_insert(centroid, new_block);
    }
    record.commit();
}

fn bad(index: &Index, block: u32, error: FormatError) -> ! {
    corrupted(index, block, &error.to_string())
}
