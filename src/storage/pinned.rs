//! Pages pinned for the length of one graph operation.
//!
//! A search visits the same pages again and again; keeping them pinned turns
//! each visit into a hash lookup. A page pinned by an earlier search is
//! looked for first in the buffer it was in then (`ReadRecentBuffer`).
//! Bytes that never change while the page is reachable (element vectors and
//! heap TIDs, see the hnsw format) are read under the pin alone; everything
//! else under a share lock ([`SharedLock`]).
//!
//! Pages reached here are not tag-checked: a graph walk touches each page
//! once or twice, and the special space at the far end of the page costs a
//! cache miss per page. Every tuple decoded from them checks its own kind
//! byte and exact length instead, so a foreign page is still a clean error.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use pgrx::pg_sys;
use vector_core::hnsw::MixHasher;

use super::{corrupted, BlockNumber, Index, OffsetNumber, PageRef, RelationFile};

/// Per index file, the buffer each of its blocks was in, by block number
/// (`InvalidBuffer`, 0, where not known).
type RecentBuffers = HashMap<RelationFile, Vec<pg_sys::Buffer>, BuildHasherDefault<MixHasher>>;

thread_local! {
    /// The buffer each block this backend pinned was in, across searches:
    /// pinning it again there skips the shared buffer-mapping table, whose
    /// lookup was 15% of a search's CPU (pydoc-minilm, ef_search 40). A
    /// stale entry costs one failed check. A [`PinnedPages`] takes its
    /// index's array for its life and puts it back when dropped, so a pin
    /// looks it up by block number alone (a map keyed by file and block
    /// had been 5% of a search's CPU).
    static RECENT_BUFFERS: RefCell<RecentBuffers> = RefCell::new(HashMap::default());
}

/// Blocks remembered per index at most (4 bytes each): an index of up to
/// 2 GiB entirely.
const MAX_RECENT_BLOCKS: usize = 1 << 18;

/// Index files remembered at most: past it, the map starts over.
const MAX_RECENT_FILES: usize = 16;

const NO_BUFFER: pg_sys::Buffer = pg_sys::InvalidBuffer as pg_sys::Buffer;

/// More pins than this and [`PinnedPages::trim`] releases them all: at most
/// 8,192, and never more than a sixteenth of shared_buffers, so a wide walk
/// under a small shared_buffers leaves other backends unpinned buffers.
fn max_pins() -> usize {
    // SAFETY: NBuffers is set at server start and never changes.
    let buffers = unsafe { pg_sys::NBuffers }.max(0) as usize;
    (buffers / 16).clamp(1, 8192)
}

/// A page [`PinnedPages`] holds; see [`PinnedPages::page`].
#[derive(Clone, Copy)]
pub struct Pinned(pg_sys::Buffer);

pub struct PinnedPages {
    index: Index,
    max_pins: usize,
    pins: HashMap<BlockNumber, pg_sys::Buffer, BuildHasherDefault<MixHasher>>,
    /// This index's part of [`RECENT_BUFFERS`], taken from it for this
    /// object's life, if it uses it.
    recent: Option<(RelationFile, Vec<pg_sys::Buffer>)>,
    /// The relation's size when last asked (it only grows).
    known_blocks: BlockNumber,
    /// Pins taken so far, released or not.
    pins_taken: u64,
    /// The pins of the batch `prefetched_items` is reading (kept for its
    /// allocation).
    batch: Vec<Pinned>,
}

impl PinnedPages {
    /// Pins pages of `index` on demand.
    pub fn new(index: Index) -> Self {
        let mut pins = HashMap::default();
        pins.reserve(256);
        let recent = index
            .recent_buffer_key()
            .map(|file| (file, RECENT_BUFFERS.with_borrow_mut(|recent| recent.remove(&file)).unwrap_or_default()));
        Self { index, max_pins: max_pins(), pins, recent, known_blocks: index.size_last_seen(), pins_taken: 0, batch: Vec::new() }
    }

    /// Pins `block` (if it is not yet) until [`Self::trim`] or drop.
    pub fn pin(&mut self, block: BlockNumber) -> Pinned {
        Pinned(self.buffer(block))
    }

    /// The page of a pinned block, not locked: read only bytes that cannot
    /// change while the page is reachable.
    pub fn page(&self, pinned: Pinned) -> PageRef<'_> {
        // SAFETY: pinned until trim() or drop, both of which need `&mut self`.
        unsafe { PageRef::from_raw(pg_sys::BufferGetPage(pinned.0).cast()) }
    }

    /// Pins the pages of `items` (block, offset) and calls `each` with
    /// every item's position in `items` and bytes (`None` where there is no
    /// item), in order, after every line pointer and then the first
    /// `bytes_each` bytes of every item were prefetched, so the cache misses
    /// of a batch overlap. Read only bytes that cannot change while the
    /// page is reachable, as for [`Self::page`]. Allocates nothing once
    /// warm: a walk calls this for every element it expands.
    pub fn prefetched_items<I>(&mut self, items: I, bytes_each: usize, mut each: impl FnMut(usize, Option<&[u8]>))
    where
        I: Iterator<Item = (BlockNumber, OffsetNumber)> + Clone,
    {
        let mut pinned = std::mem::take(&mut self.batch);
        pinned.clear();
        pinned.extend(items.clone().map(|(block, _)| self.pin(block)));
        for ((_, offset), &pin) in items.clone().zip(&pinned) {
            self.page(pin).prefetch_line_pointer(offset);
        }
        let lines = bytes_each.div_ceil(64);
        for ((_, offset), &pin) in items.clone().zip(&pinned) {
            if let Some(bytes) = self.page(pin).item(offset) {
                vector_core::distance::prefetch(bytes.as_ptr(), lines);
            }
        }
        for (i, ((_, offset), &pin)) in items.zip(&pinned).enumerate() {
            each(i, self.page(pin).item(offset));
        }
        self.batch = pinned;
    }

    /// Releases every pin once there are too many (a walk that wide is a
    /// VACUUM pass, which does not revisit pages much). Call it between
    /// graph operations, never while holding pages.
    pub fn trim(&mut self) {
        if self.pins.len() >= self.max_pins {
            self.release_all();
        }
    }

    fn buffer(&mut self, block: BlockNumber) -> pg_sys::Buffer {
        if let Some(&buffer) = self.pins.get(&block) {
            return buffer;
        }
        let buffer = match self.recent {
            Some(_) => self.pin_through_recent(block),
            None => self.pin_checked(block),
        };
        self.pins.insert(block, buffer);
        self.pins_taken += 1;
        buffer
    }

    /// Pins `block` after checking that the index has it: a link past the
    /// end is a clean ERROR, not a read error. The size is asked again only
    /// for a block past the last size seen (a system call each time).
    fn pin_checked(&mut self, block: BlockNumber) -> pg_sys::Buffer {
        if block >= self.known_blocks {
            self.known_blocks = self.index.block_count();
            if block >= self.known_blocks {
                corrupted(&self.index, block, "points past the end of the index");
            }
        }
        self.index.pin_unchecked(block)
    }

    /// Pins `block` in the buffer it was in when this backend last pinned
    /// it, if it is still there (then the block exists: the index file
    /// never shrinks), and remembers where it is now.
    fn pin_through_recent(&mut self, block: BlockNumber) -> pg_sys::Buffer {
        let slot = block as usize;
        let recent = self.recent_buffers().get(slot).copied().filter(|&buffer| buffer != NO_BUFFER);
        if let Some(buffer) = recent.filter(|&buffer| self.index.pin_if_still_in(block, buffer)) {
            return buffer;
        }
        let buffer = self.pin_checked(block);
        let recent = self.recent_buffers();
        if slot < MAX_RECENT_BLOCKS {
            if slot >= recent.len() {
                recent.resize((slot + 1).next_power_of_two().min(MAX_RECENT_BLOCKS), NO_BUFFER);
            }
            recent[slot] = buffer;
        }
        buffer
    }

    fn recent_buffers(&mut self) -> &mut Vec<pg_sys::Buffer> {
        &mut self.recent.as_mut().expect("an index that remembers recent buffers").1
    }

    /// How many pins this has taken: the distinct pages a walk visited,
    /// as long as it was not trimmed.
    pub fn pins_taken(&self) -> u64 {
        self.pins_taken
    }

    /// The page, share-locked until the guard drops.
    pub fn shared(&mut self, block: BlockNumber) -> SharedLock {
        SharedLock::new(self.buffer(block))
    }

    fn release_all(&mut self) {
        for (_, buffer) in self.pins.drain() {
            // SAFETY: we pinned each buffer once.
            unsafe { pg_sys::ReleaseBuffer(buffer) };
        }
    }
}

impl Drop for PinnedPages {
    fn drop(&mut self) {
        self.release_all();
        if let Some((file, buffers)) = self.recent.take() {
            RECENT_BUFFERS.with_borrow_mut(|recent| {
                if recent.len() >= MAX_RECENT_FILES {
                    recent.clear();
                }
                // Two objects on one index (a nested walk) each hold part:
                // keep the larger.
                match recent.get(&file) {
                    Some(kept) if kept.len() > buffers.len() => {}
                    _ => {
                        recent.insert(file, buffers);
                    }
                }
            });
        }
    }
}

/// A share lock on a page that [`PinnedPages`] keeps pinned.
pub struct SharedLock {
    buffer: pg_sys::Buffer,
}

impl SharedLock {
    fn new(buffer: pg_sys::Buffer) -> Self {
        // SAFETY: a pinned buffer.
        unsafe { pg_sys::LockBuffer(buffer, pg_sys::BUFFER_LOCK_SHARE as i32) };
        Self { buffer }
    }

    pub fn page(&self) -> PageRef<'_> {
        // SAFETY: share-locked while `self` lives.
        unsafe { PageRef::from_raw(pg_sys::BufferGetPage(self.buffer).cast()) }
    }
}

impl Drop for SharedLock {
    fn drop(&mut self) {
        // SAFETY: we locked it.
        unsafe { pg_sys::LockBuffer(self.buffer, pg_sys::BUFFER_LOCK_UNLOCK as i32) };
    }
}
