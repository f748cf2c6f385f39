//! Rows whose vectors are identical share one element.
//!
//! Many rows often carry the very same vector (the embedding of an empty
//! text, a default). As separate elements they defeat the neighbor
//! heuristic (Algorithm 4 finds every other candidate redundant next to an
//! identical one), so copies link only to each other and searches lose
//! them. Instead, an insert whose vector an element already holds adds its
//! heap TID to that element's chain of duplicates tuples, and a search
//! returns every TID of an element it finds.
//!
//! Locking: the element's page lock guards its state, its own TID and its
//! duplicate count; the chain tuples are changed under one WAL record
//! together with the element (both pages locked in ascending block order),
//! so VACUUM decides whether an element still has rows from its page alone,
//! and never deletes an element a concurrent insert is adding a row to.
//! Scans read the element, then the chain, one page at a time: a row whose
//! insert they miss belongs to a transaction their snapshot cannot see.

use super::format::{self, Address, Duplicates, ElementState, Shape, GRAPH_PAGE};
use super::graph::{append_duplicates, decode_element};
use crate::am::DeadRows;
use crate::storage::{corrupted, Index, PageMut, PageRef, WalRecord};

/// Adds `heap_tid` to the rows of `element`, which holds the row's vector.
/// False if the element is no longer live (VACUUM deleted it since the
/// insert found it) or its chain is at its limit: the caller then stores
/// the row as an element of its own.
pub fn add_duplicate(index: &Index, shape: Shape, element: Address, heap_tid: Address) -> bool {
    let head = {
        let page = index.read(element.block, GRAPH_PAGE);
        let current = decode_element(index, page.page(), element, shape);
        if current.state() != ElementState::Live || current.duplicate_count() >= format::MAX_DUPLICATES {
            return false;
        }
        current.duplicates()
    };
    if head.is_valid() {
        let mut pair = ElementAndTuple::lock(index, element, head);
        let (live, still_head, count) = {
            let page = pair.record.page(pair.element_slot);
            let current = decode_element(index, page.as_ref(), element, shape);
            (current.state() == ElementState::Live, current.duplicates() == head, current.duplicate_count())
        };
        if !live || count >= format::MAX_DUPLICATES {
            return false;
        }
        if still_head && pair.push(index, head, heap_tid) {
            let mut page = pair.record.page(pair.element_slot);
            format::set_element_duplicate_count(page.item_mut(element.offset).expect("decoded above"), count + 1);
            pair.record.commit();
            return true;
        }
        // The head is full (or another insert replaced it): start a new one.
    }
    // A new head tuple, holding the TID, is linked in front of whatever
    // head the element has by then, in one record with the element.
    let new_head = append_duplicates(index, heap_tid, head);
    let mut pair = ElementAndTuple::lock(index, element, new_head);
    let (live, head, count) = {
        let page = pair.record.page(pair.element_slot);
        let current = decode_element(index, page.as_ref(), element, shape);
        (current.state() == ElementState::Live, current.duplicates(), current.duplicate_count())
    };
    let added = live && count < format::MAX_DUPLICATES;
    let mut page = pair.record.page(pair.tuple_slot);
    let bytes = page.item_mut(new_head.offset).expect("appended above");
    format::set_duplicates_next(bytes, head);
    if !added {
        format::write_duplicates(bytes, &[]); // the caller indexes the row anew
    }
    let mut page = pair.record.page(pair.element_slot);
    let bytes = page.item_mut(element.offset).expect("decoded above");
    format::set_element_duplicates(bytes, new_head);
    if added {
        format::set_element_duplicate_count(bytes, count + 1);
    }
    pair.record.commit();
    added
}

/// Appends the heap TIDs of the chain starting at `head`.
pub fn read_chain(index: &Index, head: Address, out: &mut Vec<Address>) {
    let mut steps = ChainSteps::new(index);
    let mut at = head;
    while at.is_valid() {
        steps.count(at);
        let page = index.read(at.block, GRAPH_PAGE);
        let tuple = decode_duplicates(index, page.page(), at);
        tuple.read_heap_tids(out);
        at = tuple.next();
    }
}

/// Removes the dead rows from the chain of a live element; returns how many.
/// Each tuple changes in one WAL record with the element's count.
pub fn remove_dead(index: &Index, shape: Shape, element: Address, head: Address, dead_rows: &DeadRows) -> usize {
    let mut removed = 0;
    let mut steps = ChainSteps::new(index);
    let mut at = head;
    let mut tids = Vec::new();
    while at.is_valid() {
        steps.count(at);
        let next = {
            let page = index.read(at.block, GRAPH_PAGE);
            let tuple = decode_duplicates(index, page.page(), at);
            tids.clear();
            tuple.read_heap_tids(&mut tids);
            tuple.next()
        };
        if tids.iter().any(|&tid| dead_rows.contains(tid)) {
            let mut pair = ElementAndTuple::lock(index, element, at);
            let count = {
                let page = pair.record.page(pair.element_slot);
                decode_element(index, page.as_ref(), element, shape).duplicate_count()
            };
            let mut page = pair.record.page(pair.tuple_slot);
            let bytes = duplicates_bytes(index, &mut page, at);
            tids.clear();
            duplicates_in(index, bytes, at).read_heap_tids(&mut tids);
            let before = tids.len();
            tids.retain(|&tid| !dead_rows.contains(tid));
            format::write_duplicates(bytes, &tids);
            let gone = before - tids.len();
            let mut page = pair.record.page(pair.element_slot);
            format::set_element_duplicate_count(page.item_mut(element.offset).expect("decoded above"), count.saturating_sub(gone));
            pair.record.commit();
            removed += gone;
        }
        at = next;
    }
    removed
}

/// Empties the chain of a deleted element before its slot is freed, so the
/// insert that reuses the slot starts with no rows but its own.
pub fn clear_chain(index: &Index, head: Address) {
    let mut steps = ChainSteps::new(index);
    let mut at = head;
    while at.is_valid() {
        steps.count(at);
        let mut record = WalRecord::start(index);
        let slot = record.register(index.lock_exclusive(at.block, GRAPH_PAGE));
        let mut page = record.page(slot);
        let bytes = duplicates_bytes(index, &mut page, at);
        at = duplicates_in(index, bytes, at).next();
        format::write_duplicates(bytes, &[]);
        record.commit();
    }
}

/// An element's page and a chain tuple's page in one WAL record.
struct ElementAndTuple {
    record: WalRecord,
    element_slot: usize,
    tuple_slot: usize,
}

impl ElementAndTuple {
    fn lock(index: &Index, element: Address, tuple: Address) -> Self {
        let mut record = WalRecord::start(index);
        let slots = record.register_in_block_order(index, &[element.block, tuple.block], GRAPH_PAGE);
        Self { record, element_slot: slots[0], tuple_slot: slots[1] }
    }

    /// Appends `heap_tid` to the tuple at `at` if it has room.
    fn push(&mut self, index: &Index, at: Address, heap_tid: Address) -> bool {
        let mut page = self.record.page(self.tuple_slot);
        let bytes = duplicates_bytes(index, &mut page, at);
        let mut tids = Vec::new();
        let tuple = duplicates_in(index, bytes, at);
        if tuple.is_full() {
            return false;
        }
        tuple.read_heap_tids(&mut tids);
        tids.push(heap_tid);
        format::write_duplicates(bytes, &tids);
        true
    }
}

/// Bounds a walk along a chain, so a damaged index with a cycle raises an
/// error instead of looping. The bound (as many steps as the index has
/// room for duplicates tuples) is asked of the file at the first step
/// only: asking costs a system call, and a scan reads the chain of every
/// element it returns, almost always empty (SIFT 5k at ef_search 40: 45
/// `lseek` calls per query before, 5 after).
struct ChainSteps<'a> {
    index: &'a Index,
    left: Option<usize>,
}

impl<'a> ChainSteps<'a> {
    fn new(index: &'a Index) -> Self {
        Self { index, left: None }
    }

    fn count(&mut self, at: Address) {
        let index = self.index;
        let left = self.left.get_or_insert_with(|| index.block_count() as usize * (crate::storage::EMPTY_PAGE_BYTES / format::DUPLICATES_BYTES));
        if *left == 0 {
            corrupted(self.index, at.block, "has a duplicates chain that loops");
        }
        *left -= 1;
    }
}

fn decode_duplicates<'p>(index: &Index, page: PageRef<'p>, at: Address) -> Duplicates<'p> {
    let bytes = page.item(at.offset).unwrap_or_else(|| corrupted(index, at.block, "lacks a duplicates tuple"));
    duplicates_in(index, bytes, at)
}

/// The bytes of the duplicates tuple at `at` on a page being changed.
fn duplicates_bytes<'b>(index: &Index, page: &'b mut PageMut<'_>, at: Address) -> &'b mut [u8] {
    page.item_mut(at.offset).unwrap_or_else(|| corrupted(index, at.block, "lacks a duplicates tuple"))
}

fn duplicates_in<'b>(index: &Index, bytes: &'b [u8], at: Address) -> Duplicates<'b> {
    Duplicates::decode(bytes).unwrap_or_else(|e| corrupted(index, at.block, &e.to_string()))
}
