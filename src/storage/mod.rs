//! The only module that touches PostgreSQL buffers, pages and WAL.
//!
//! Everything above it works with guards:
//! - [`SharedPage`]: a pinned, share-locked page to read; released on drop.
//! - [`WalRecord`]: exclusively locked pages being changed under one generic
//!   WAL record; [`WalRecord::commit`] logs the change, dropping it without
//!   committing (an error, a panic) discards every change.
//! - [`BuildPage`]: a new page written during an index build without WAL;
//!   the build logs all pages at the end with [`Index::log_all_pages`].
//! - [`PageLock`]: a heavyweight lock on a pseudo page, released on drop.
//! - [`PinnedPages`]: pages kept pinned for one search, so a graph walk
//!   pays the buffer-table lookup once per page instead of once per hop.
//!
//! Lock order: a backend holds at most one buffer content lock at a time,
//! except inside one [`WalRecord`], which locks its pages in ascending block
//! order. Heavyweight page locks are taken before any buffer lock.

pub mod faults;
mod page;
mod pinned;

pub use page::{item_space, PageMut, PageRef, PageTag, EMPTY_PAGE_BYTES};
pub use pinned::PinnedPages;

use pgrx::pg_sys;
use pgrx::PgSqlErrorCode;

pub type BlockNumber = u32;
pub type OffsetNumber = u16;
pub const INVALID_BLOCK: BlockNumber = pg_sys::InvalidBlockNumber;

/// An open index relation.
#[derive(Clone, Copy)]
pub struct Index {
    rel: pg_sys::Relation,
    /// How pages are read: PostgreSQL's default, or a ring of buffers (VACUUM
    /// passes one, so a whole-index pass does not evict everyone's cache).
    strategy: pg_sys::BufferAccessStrategy,
    /// The main fork, or the init fork of an unlogged index (its empty
    /// state, copied over the main fork after a crash).
    fork: pg_sys::ForkNumber::Type,
}

impl Index {
    /// # Safety
    /// `rel` must be an open index relation that outlives every use.
    pub unsafe fn from_raw(rel: pg_sys::Relation) -> Self {
        Self { rel, strategy: std::ptr::null_mut(), fork: pg_sys::ForkNumber::MAIN_FORKNUM }
    }

    /// The same index's init fork, for ambuildempty to build the empty index in.
    pub fn init_fork(self) -> Self {
        Self { fork: pg_sys::ForkNumber::INIT_FORKNUM, ..self }
    }

    /// The same index, read through `strategy` (from IndexVacuumInfo).
    pub fn with_strategy(self, strategy: pg_sys::BufferAccessStrategy) -> Self {
        Self { strategy, ..self }
    }

    pub fn raw(&self) -> pg_sys::Relation {
        self.rel
    }

    pub fn name(&self) -> String {
        // SAFETY: an open relation has a valid rd_rel with a NUL-terminated name.
        unsafe { pgrx::name_data_to_str(&(*(*self.rel).rd_rel).relname).to_owned() }
    }

    pub fn block_count(&self) -> BlockNumber {
        // SAFETY: an open relation.
        unsafe { pg_sys::RelationGetNumberOfBlocksInFork(self.rel, self.fork) }
    }

    /// The size this backend last learned the file has (asked or extended
    /// it), 0 if unknown: every block below it exists, since an index file
    /// never shrinks while it is open (a REINDEX or TRUNCATE writes a new
    /// file). PostgreSQL keeps it in the relation's storage manager and
    /// trusts it only in recovery, where no other backend extends files;
    /// as a lower bound it holds everywhere, and saves the system call
    /// of [`Self::block_count`] (4 or 5 a search, one per page an insert
    /// changes).
    pub fn size_last_seen(&self) -> BlockNumber {
        // SAFETY: an open relation; its storage manager is opened if it was not.
        let cached = unsafe { (*pg_sys::RelationGetSmgr(self.rel)).smgr_cached_nblocks[self.fork as usize] };
        if cached == pg_sys::InvalidBlockNumber { 0 } else { cached }
    }

    /// Whether changes to this index must be WAL-logged (not for unlogged
    /// or temporary relations).
    pub fn needs_wal(&self) -> bool {
        // SAFETY: an open relation.
        unsafe { (*(*self.rel).rd_rel).relpersistence == pg_sys::RELPERSISTENCE_PERMANENT as std::ffi::c_char }
    }

    /// Pins and share-locks `block`, checking that it is a page of `tag`'s kind.
    pub fn read(&self, block: BlockNumber, tag: PageTag) -> SharedPage {
        let buffer = self.pin(block);
        // SAFETY: a pinned buffer.
        unsafe { pg_sys::LockBuffer(buffer, pg_sys::BUFFER_LOCK_SHARE as i32) };
        let page = SharedPage { buffer };
        check_tag(self, block, page.page(), tag);
        page
    }

    /// Like [`Self::read`], for walks over every page: None for a page that
    /// was never initialized. Extending the relation makes a zeroed block
    /// visible before the WAL record that initializes it commits, and a crash
    /// or an ERROR in between leaves it zeroed for good; such a page is empty.
    pub fn read_initialized(&self, block: BlockNumber, tag: PageTag) -> Option<SharedPage> {
        let buffer = self.pin(block);
        // SAFETY: a pinned buffer.
        unsafe { pg_sys::LockBuffer(buffer, pg_sys::BUFFER_LOCK_SHARE as i32) };
        let page = SharedPage { buffer };
        if page.page().is_new() {
            return None;
        }
        check_tag(self, block, page.page(), tag);
        Some(page)
    }

    /// Pins and share-locks `block` without checking its tag, for the verify
    /// functions, which report a foreign page instead of raising an error.
    pub fn read_unchecked(&self, block: BlockNumber) -> SharedPage {
        let buffer = self.pin(block);
        // SAFETY: a pinned buffer.
        unsafe { pg_sys::LockBuffer(buffer, pg_sys::BUFFER_LOCK_SHARE as i32) };
        SharedPage { buffer }
    }

    /// Pins and exclusively locks `block` for a change, checking its tag.
    pub fn lock_exclusive(&self, block: BlockNumber, tag: PageTag) -> ExclusiveBuffer {
        let buffer = self.pin(block);
        // SAFETY: a pinned buffer.
        unsafe { pg_sys::LockBuffer(buffer, pg_sys::BUFFER_LOCK_EXCLUSIVE as i32) };
        let locked = ExclusiveBuffer { buffer, block, fresh: false };
        // SAFETY: we hold the exclusive lock.
        check_tag(self, block, unsafe { PageRef::from_raw(pg_sys::BufferGetPage(buffer).cast()) }, tag);
        locked
    }

    /// Adds a new, exclusively locked page at the end of the relation. The
    /// caller initializes it (in a [`WalRecord`] it is logged as a full image).
    /// Until that record commits the block is all zeros to everyone else, and
    /// stays so after a crash or an ERROR: see [`Self::read_initialized`].
    pub fn extend(&self) -> ExclusiveBuffer {
        let buffer = self.extend_fork();
        faults::after_extend();
        buffer
    }

    fn extend_fork(&self) -> ExclusiveBuffer {
        // SAFETY: extending under the relation extension lock, as PostgreSQL
        // requires; RBM_ZERO_AND_LOCK returns the new buffer already locked,
        // so no other backend can lock it before we do.
        unsafe {
            pg_sys::LockRelationForExtension(self.rel, pg_sys::ExclusiveLock as i32);
            let buffer = pg_sys::ReadBufferExtended(self.rel, self.fork, pg_sys::InvalidBlockNumber, pg_sys::ReadBufferMode::RBM_ZERO_AND_LOCK, std::ptr::null_mut());
            pg_sys::UnlockRelationForExtension(self.rel, pg_sys::ExclusiveLock as i32);
            ExclusiveBuffer { buffer, block: pg_sys::BufferGetBlockNumber(buffer), fresh: true }
        }
    }

    /// A new page for an index build, written without WAL.
    pub fn extend_for_build(&self, tag: PageTag) -> BuildPage {
        let mut buffer = self.extend();
        buffer.page_mut().init(tag);
        BuildPage { buffer: Some(buffer) }
    }

    /// WAL-logs every page of the fork as a full image: the end of a build
    /// that wrote its pages without WAL. An init fork is always logged (it is
    /// what a replica or crash recovery resets an unlogged index to).
    pub fn log_all_pages(&self) {
        if self.needs_wal() || self.fork == pg_sys::ForkNumber::INIT_FORKNUM {
            let blocks = self.block_count();
            // SAFETY: the pages exist and are not being changed concurrently (build).
            unsafe { pg_sys::log_newpage_range(self.rel, self.fork, 0, blocks, true) };
        }
    }

    /// Exclusively locks a page this build wrote before, to finish it.
    pub fn build_page(&self, block: BlockNumber) -> BuildPage {
        let buffer = self.pin(block);
        // SAFETY: a pinned buffer.
        unsafe { pg_sys::LockBuffer(buffer, pg_sys::BUFFER_LOCK_EXCLUSIVE as i32) };
        BuildPage { buffer: Some(ExclusiveBuffer { buffer, block, fresh: false }) }
    }

    /// Takes a heavyweight lock on a pseudo page number that no real page
    /// uses; used as a reader/writer lock between scans, inserts and VACUUM.
    pub fn lock_pseudo_page(&self, pseudo_block: BlockNumber, exclusive: bool) -> PageLock {
        let mode = if exclusive { pg_sys::ExclusiveLock } else { pg_sys::ShareLock } as i32;
        // SAFETY: an open relation; the lock is released by the guard or at transaction end.
        unsafe { pg_sys::LockPage(self.rel, pseudo_block, mode) };
        PageLock { rel: self.rel, block: pseudo_block, mode }
    }

    /// Pins an existing block. Asking the size of the relation costs a system
    /// call, so it is asked only for a block at or past the size this
    /// backend last saw.
    fn pin(&self, block: BlockNumber) -> pg_sys::Buffer {
        if block >= self.size_last_seen() && block >= self.block_count() {
            corrupted(self, block, "points past the end of the index");
        }
        self.pin_unchecked(block)
    }

    /// Pins a block the caller knows to exist.
    pub(crate) fn pin_unchecked(&self, block: BlockNumber) -> pg_sys::Buffer {
        // SAFETY: an open relation and an existing block.
        unsafe { pg_sys::ReadBufferExtended(self.rel, self.fork, block, pg_sys::ReadBufferMode::RBM_NORMAL, self.strategy) }
    }

    /// Pins `block` if it is still in `buffer`, where this backend last
    /// found it; false if it has moved (the caller then pins it normally).
    /// Only for pins [`Self::recent_buffer_key`] allows.
    pub(crate) fn pin_if_still_in(&self, block: BlockNumber, buffer: pg_sys::Buffer) -> bool {
        // SAFETY: an open relation; ReadRecentBuffer checks the buffer's tag
        // under its header lock and pins it only if it holds this block.
        let pinned = unsafe { pg_sys::ReadRecentBuffer((*self.rel).rd_node, self.fork, block, buffer) };
        if pinned {
            // What ReadBufferExtended counts for pg_statio_*_indexes.
            // SAFETY: pgstat_info is this backend's, NULL when not counted.
            unsafe {
                if let Some(stats) = (*self.rel).pgstat_info.as_mut() {
                    stats.t_counts.t_blocks_fetched += 1;
                    stats.t_counts.t_blocks_hit += 1;
                }
            }
        }
        pinned
    }

    /// What identifies this relation's blocks among every index's, for
    /// remembering the buffers they were in; `None` under a buffer access
    /// strategy, whose ring `ReadRecentBuffer` would bypass.
    pub(crate) fn recent_buffer_key(&self) -> Option<RelationFile> {
        if !self.strategy.is_null() {
            return None;
        }
        // SAFETY: an open relation.
        let node = unsafe { (*self.rel).rd_node };
        Some(RelationFile { tablespace: node.spcNode, database: node.dbNode, relation: node.relNode, fork: self.fork as u8 })
    }
}

/// A relation fork's storage, as buffers are tagged with it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct RelationFile {
    tablespace: pg_sys::Oid,
    database: pg_sys::Oid,
    relation: pg_sys::Oid,
    fork: u8,
}

/// Reports index corruption as an ERROR (never a crash).
pub fn corrupted(index: &Index, block: BlockNumber, what: &str) -> ! {
    pgrx::ereport!(
        ERROR,
        PgSqlErrorCode::ERRCODE_INDEX_CORRUPTED,
        format!("index \"{}\" is corrupted: block {block} {what}", index.name()),
        "REINDEX the index."
    );
}

fn check_tag(index: &Index, block: BlockNumber, page: PageRef<'_>, expected: PageTag) {
    match page.tag() {
        Some(tag) if tag == expected => {}
        Some(tag) => corrupted(index, block, &format!("has page kind {:#x}/{} where {:#x}/{} was expected", tag.magic, tag.kind, expected.magic, expected.kind)),
        None => corrupted(index, block, "is not an index page of this kind"),
    }
}

/// A pinned, share-locked page; unlocked and unpinned on drop.
pub struct SharedPage {
    buffer: pg_sys::Buffer,
}

impl SharedPage {
    pub fn page(&self) -> PageRef<'_> {
        // SAFETY: the buffer stays pinned and share-locked while `self` lives.
        unsafe { PageRef::from_raw(pg_sys::BufferGetPage(self.buffer).cast()) }
    }
}

impl Drop for SharedPage {
    fn drop(&mut self) {
        // SAFETY: we pinned and locked this buffer.
        unsafe { pg_sys::UnlockReleaseBuffer(self.buffer) };
    }
}

/// A pinned, exclusively locked buffer; hand it to a [`WalRecord`] to change it.
pub struct ExclusiveBuffer {
    buffer: pg_sys::Buffer,
    block: BlockNumber,
    /// A page just added to the relation (logged as a full image).
    fresh: bool,
}

impl ExclusiveBuffer {
    pub fn page(&self) -> PageRef<'_> {
        // SAFETY: exclusively locked while `self` lives.
        unsafe { PageRef::from_raw(pg_sys::BufferGetPage(self.buffer).cast()) }
    }

    /// Direct access, for pages that are not WAL-logged page by page.
    fn page_mut(&mut self) -> PageMut<'_> {
        // SAFETY: exclusively locked while `self` lives.
        unsafe { PageMut::from_raw(pg_sys::BufferGetPage(self.buffer).cast()) }
    }
}

impl Drop for ExclusiveBuffer {
    fn drop(&mut self) {
        // SAFETY: we pinned and locked this buffer.
        unsafe { pg_sys::UnlockReleaseBuffer(self.buffer) };
    }
}

/// Changes to up to four pages, logged atomically as one generic WAL record.
pub struct WalRecord {
    state: *mut pg_sys::GenericXLogState,
    /// The locked buffers and the working copies GenericXLog gave for them.
    pages: Vec<(ExclusiveBuffer, pg_sys::Page)>,
}

impl WalRecord {
    pub fn start(index: &Index) -> Self {
        // SAFETY: an open relation.
        let state = unsafe { pg_sys::GenericXLogStart(index.raw()) };
        Self { state, pages: Vec::with_capacity(2) }
    }

    /// Adds a locked page to the record; returns its slot for [`Self::page`].
    pub fn register(&mut self, buffer: ExclusiveBuffer) -> usize {
        assert!(self.pages.len() < pg_sys::MAX_GENERIC_XLOG_PAGES as usize, "a generic WAL record covers at most 4 pages");
        let flags = if buffer.fresh { pg_sys::GENERIC_XLOG_FULL_IMAGE as i32 } else { 0 };
        // SAFETY: a started record and an exclusively locked buffer.
        let image = unsafe { pg_sys::GenericXLogRegisterBuffer(self.state, buffer.buffer, flags) };
        self.pages.push((buffer, image));
        self.pages.len() - 1
    }

    /// Locks and adds the pages of `blocks` (repeats allowed) in ascending
    /// block order, so that two records over the same pages never wait for
    /// each other; returns each block's slot, in the order given.
    pub fn register_in_block_order(&mut self, index: &Index, blocks: &[BlockNumber], tag: PageTag) -> Vec<usize> {
        let mut ascending = blocks.to_vec();
        ascending.sort_unstable();
        ascending.dedup();
        let slots: Vec<usize> = ascending.iter().map(|&block| self.register(index.lock_exclusive(block, tag))).collect();
        blocks.iter().map(|block| slots[ascending.binary_search(block).expect("registered above")]).collect()
    }

    pub fn block(&self, slot: usize) -> BlockNumber {
        self.pages[slot].0.block
    }

    /// The working copy of a registered page; changes become real on commit.
    pub fn page(&mut self, slot: usize) -> PageMut<'_> {
        // SAFETY: GenericXLog's image of a buffer we hold exclusively.
        unsafe { PageMut::from_raw(self.pages[slot].1.cast()) }
    }

    /// Applies and logs every change, then releases the pages.
    pub fn commit(mut self) {
        // SAFETY: a started record whose buffers we still hold.
        unsafe { pg_sys::GenericXLogFinish(self.state) };
        self.state = std::ptr::null_mut();
        // Dropping `self` releases the buffers.
    }
}

impl Drop for WalRecord {
    fn drop(&mut self) {
        if !self.state.is_null() {
            // SAFETY: a record never finished: discard its working copies.
            unsafe { pg_sys::GenericXLogAbort(self.state) };
        }
        // `pages` drops next, unlocking and unpinning each buffer.
    }
}

/// A page added by an index build; marked dirty and released on drop.
pub struct BuildPage {
    buffer: Option<ExclusiveBuffer>,
}

impl BuildPage {
    pub fn block(&self) -> BlockNumber {
        self.buffer.as_ref().expect("live until dropped").block
    }

    pub fn page(&mut self) -> PageMut<'_> {
        self.buffer.as_mut().expect("live until dropped").page_mut()
    }
}

impl Drop for BuildPage {
    fn drop(&mut self) {
        if let Some(buffer) = self.buffer.take() {
            // SAFETY: an exclusively locked buffer we wrote.
            unsafe { pg_sys::MarkBufferDirty(buffer.buffer) };
        }
    }
}

/// A heavyweight page lock; released on drop.
pub struct PageLock {
    rel: pg_sys::Relation,
    block: BlockNumber,
    mode: i32,
}

impl Drop for PageLock {
    fn drop(&mut self) {
        // SAFETY: we took exactly this lock.
        unsafe { pg_sys::UnlockPage(self.rel, self.block, self.mode) };
    }
}
