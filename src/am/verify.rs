//! What the verify functions (`hnsw_verify`, `ivfflat_verify`) share: opening
//! the index they are asked about and collecting the problems they find,
//! one row each. Like amcheck they only read, under AccessShareLock, so they
//! run beside queries, inserts and VACUUM, and on a hot standby.

use std::ffi::CStr;

use pgrx::pg_sys;
use pgrx::prelude::*;

use crate::am::format::FormatError;
use crate::storage::{BlockNumber, Index, OffsetNumber, PageTag};

#[derive(Default)]
pub(crate) struct Problems(Vec<(i64, i32, String)>);

impl Problems {
    /// Records a problem at `item` of `block` (item 0: the page as a whole).
    pub(crate) fn add(&mut self, block: BlockNumber, item: OffsetNumber, problem: impl Into<String>) {
        self.0.push((block as i64, item as i32, problem.into()));
    }

    /// The rows a verify function returns: (block, item, problem). The SQL
    /// schema generator needs this type spelled out in each signature.
    pub(crate) fn into_rows(self) -> TableIterator<'static, (name!(block, i64), name!(item, i32), name!(problem, String))> {
        TableIterator::new(self.0)
    }
}

/// Reads block `meta_block` as a meta page of kind `tag` (`bytes` long),
/// recording a problem instead of raising an error when it is not one.
pub(crate) fn read_meta<M>(
    index: &Index,
    (meta_block, tag, bytes): (BlockNumber, PageTag, usize),
    decode: fn(&[u8]) -> Result<M, FormatError>,
    problems: &mut Problems,
) -> Option<M> {
    let page = index.read_unchecked(meta_block);
    let page = page.page();
    if page.tag() != Some(tag) {
        problems.add(meta_block, 0, "is not this index's meta page");
        return None;
    }
    match page.contents(bytes).map(decode) {
        Some(Ok(meta)) => Some(meta),
        Some(Err(e)) => {
            problems.add(meta_block, 0, format!("meta page {e}"));
            None
        }
        None => {
            problems.add(meta_block, 0, "meta page has no meta data");
            None
        }
    }
}

/// An index opened for verification; closed on drop.
pub(crate) struct OpenIndex {
    rel: pg_sys::Relation,
}

impl OpenIndex {
    /// Opens the index `oid`, which must use access method `am`.
    pub(crate) fn open(oid: pg_sys::Oid, am: &CStr) -> Self {
        // SAFETY: try_relation_open returns NULL for a relation that does not exist.
        let rel = unsafe { pg_sys::try_relation_open(oid, pg_sys::AccessShareLock as i32) };
        if rel.is_null() {
            ereport!(ERROR, PgSqlErrorCode::ERRCODE_UNDEFINED_TABLE, format!("there is no relation with OID {}", oid.to_u32()));
        }
        let index = Self { rel };
        // SAFETY: an open relation.
        let relkind = unsafe { (*(*rel).rd_rel).relkind } as u8;
        if relkind == pg_sys::RELKIND_PARTITIONED_INDEX {
            // The index of a partitioned table only names its partitions' indexes.
            pg_sys::panic::ErrorReport::new(
                PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
                format!("\"{}\" is a partitioned index, which has no pages of its own", index.index().name()),
                "verify",
            )
            .set_hint(format!(
                "Verify each partition's index: SELECT p.relid, v.* FROM pg_partition_tree('{}') p, {am}_verify(p.relid) v WHERE p.isleaf;",
                index.index().name(),
                am = am.to_string_lossy()
            ))
            .report(PgLogLevel::ERROR);
        }
        if relkind != pg_sys::RELKIND_INDEX {
            ereport!(ERROR, PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE, format!("\"{}\" is not an index", index.index().name()));
        }
        // SAFETY: an open relation; get_am_oid raises an ERROR for an unknown name.
        let ours = unsafe { (*(*rel).rd_rel).relam == pg_sys::get_am_oid(am.as_ptr(), false) };
        let am = am.to_string_lossy();
        if !ours {
            ereport!(
                ERROR,
                PgSqlErrorCode::ERRCODE_WRONG_OBJECT_TYPE,
                format!("\"{}\" is not an {am} index", index.index().name())
            );
        }
        index
    }

    pub(crate) fn index(&self) -> Index {
        // SAFETY: open while `self` lives.
        unsafe { Index::from_raw(self.rel) }
    }
}

impl Drop for OpenIndex {
    fn drop(&mut self) {
        // SAFETY: we opened it with this lock.
        unsafe { pg_sys::relation_close(self.rel, pg_sys::AccessShareLock as i32) };
    }
}
