//! `ivfflat_verify(regclass)`: checks an ivfflat index and returns one row
//! per problem (none for a healthy index):
//!
//! - the meta page, the centroid pages and every list page carry their tags
//!   and this format's version; pages never initialized are empty;
//! - there is one centroid per list, in list order, and every centroid's page
//!   chain decodes, ends at the page the centroid names as its last, and
//!   shares no page with another list;
//! - the insert page of every list is one of its pages;
//! - every initialized list page belongs to a list, and every heap TID is
//!   indexed once.

use std::collections::{HashMap, HashSet};

use pgrx::pg_sys;
use pgrx::prelude::*;

use super::format::{decode_link, Centroid, Entry, MetaPage, CENTROID_PAGE, LINK_OFFSET, LIST_PAGE, META_BLOCK, META_BYTES, META_PAGE};
use crate::am::verify::{self, OpenIndex, Problems};
use crate::storage::{BlockNumber, Index, INVALID_BLOCK};

#[pg_extern(sql = false)]
fn ivfflat_verify(index: pg_sys::Oid) -> TableIterator<'static, (name!(block, i64), name!(item, i32), name!(problem, String))> {
    let open = OpenIndex::open(index, c"ivfflat");
    let mut problems = Problems::default();
    verify(&open.index(), &mut problems);
    problems.into_rows()
}

fn verify(index: &Index, problems: &mut Problems) {
    let Some(meta) = verify::read_meta(index, (META_BLOCK, META_PAGE, META_BYTES), MetaPage::decode, problems) else { return };
    let centroids = read_centroids(index, &meta, problems);
    let blocks = index.block_count();
    let mut list_of_page: HashMap<BlockNumber, u32> = HashMap::new();
    let mut heap_tids = HashSet::new();
    for centroid in &centroids {
        let mut block = centroid.first;
        let mut last = INVALID_BLOCK;
        let mut insert_page_seen = false;
        while block != INVALID_BLOCK {
            if block >= blocks || block <= meta.centroid_pages {
                problems.add(block, 0, format!("list {} links to block {block}, which is not a list page", centroid.list));
                break;
            }
            if let Some(other) = list_of_page.insert(block, centroid.list) {
                problems.add(block, 0, format!("list {} reaches a page of list {other} (or itself again)", centroid.list));
                break;
            }
            let page = index.read_unchecked(block);
            let page = page.page();
            if page.tag() != Some(LIST_PAGE) {
                problems.add(block, 0, format!("list {} reaches a page that is not an ivfflat list page", centroid.list));
                break;
            }
            for offset in LINK_OFFSET + 1..=page.max_offset() {
                match page.item(offset).map(|bytes| Entry::decode(bytes, meta.shape())) {
                    Some(Ok(entry)) => {
                        let tid = entry.heap_tid();
                        if !heap_tids.insert(tid) {
                            problems.add(block, offset, format!("heap TID ({},{}) is indexed twice", tid.block, tid.offset));
                        }
                    }
                    Some(Err(e)) => problems.add(block, offset, e.to_string()),
                    None => problems.add(block, offset, "lacks an entry"),
                }
            }
            last = block;
            insert_page_seen |= block == centroid.insert;
            match page.item(LINK_OFFSET).map(decode_link) {
                Some(Ok(next)) => block = next,
                _ => {
                    problems.add(block, LINK_OFFSET, "lacks its link to the next page");
                    break;
                }
            }
        }
        if block == INVALID_BLOCK && last != centroid.last {
            problems.add(0, 0, format!("list {} ends at block {last}, its centroid says {}", centroid.list, centroid.last));
        }
        if block == INVALID_BLOCK && !insert_page_seen {
            problems.add(0, 0, format!("list {} has insert page {}, which is not one of its pages", centroid.list, centroid.insert));
        }
    }
    for block in meta.centroid_pages + 1..blocks {
        if !list_of_page.contains_key(&block) && !index.read_unchecked(block).page().is_new() {
            problems.add(block, 0, "is a page of no list");
        }
    }
}


fn read_centroids(index: &Index, meta: &MetaPage, problems: &mut Problems) -> Vec<Centroid> {
    let mut centroids = Vec::new();
    for block in 1..=meta.centroid_pages {
        let page = index.read_unchecked(block);
        let page = page.page();
        if page.tag() != Some(CENTROID_PAGE) {
            problems.add(block, 0, "is not an ivfflat centroid page");
            continue;
        }
        for offset in 1..=page.max_offset() {
            match page.item(offset).map(|bytes| Centroid::decode(bytes, meta.shape())) {
                Some(Ok(centroid)) => {
                    if centroid.list as usize != centroids.len() {
                        problems.add(block, offset, format!("holds list {} where list {} belongs", centroid.list, centroids.len()));
                    }
                    centroids.push(centroid);
                }
                Some(Err(e)) => problems.add(block, offset, e.to_string()),
                None => problems.add(block, offset, "lacks a centroid"),
            }
        }
    }
    if centroids.len() != meta.lists as usize {
        problems.add(0, 0, format!("the meta page names {} lists, the centroid pages hold {}", meta.lists, centroids.len()));
    }
    centroids
}
