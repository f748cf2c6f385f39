//! Typed views of an 8 KiB PostgreSQL page: line pointers, items and an
//! 8-byte special space that tags the page with a magic number and a kind.

use std::marker::PhantomData;

use pgrx::pg_sys;

use super::OffsetNumber;

/// The room a freshly initialized page has for items (and their line pointers).
pub const EMPTY_PAGE_BYTES: usize = pg_sys::BLCKSZ as usize - std::mem::size_of::<pg_sys::PageHeaderData>() - PageTag::SIZE;

/// The page space an item takes: its MAXALIGNed length and a line pointer.
pub fn item_space(len: usize) -> usize {
    len.next_multiple_of(pg_sys::MAXIMUM_ALIGNOF as usize) + std::mem::size_of::<pg_sys::ItemIdData>()
}

/// The contents of the special space: which index and which kind of page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageTag {
    pub magic: u32,
    pub kind: u16,
}

impl PageTag {
    const SIZE: usize = 8;
}

/// A read-only view of a page that the caller keeps locked.
#[derive(Clone, Copy)]
pub struct PageRef<'a> {
    page: *const u8,
    _locked: PhantomData<&'a [u8]>,
}

impl<'a> PageRef<'a> {
    /// # Safety
    /// `page` points at a BLCKSZ page that stays locked for `'a`.
    pub(super) unsafe fn from_raw(page: *const u8) -> Self {
        Self { page, _locked: PhantomData }
    }

    fn raw(&self) -> pg_sys::Page {
        self.page as pg_sys::Page
    }

    /// The page's tag, or None for a page that has none (new or foreign).
    pub fn tag(&self) -> Option<PageTag> {
        // SAFETY: the header of a valid page; the special space is checked
        // to be ours by its size before it is read.
        unsafe {
            if pg_sys::PageIsNew(self.raw()) {
                return None;
            }
            let header = &*(self.page as *const pg_sys::PageHeaderData);
            if pg_sys::BLCKSZ as usize - header.pd_special as usize != PageTag::SIZE {
                return None;
            }
            let special = pg_sys::PageGetSpecialPointer(self.raw()) as *const u8;
            let magic = u32::from_ne_bytes(std::ptr::read_unaligned(special as *const [u8; 4]));
            let kind = u16::from_ne_bytes(std::ptr::read_unaligned(special.add(4) as *const [u8; 2]));
            Some(PageTag { magic, kind })
        }
    }

    /// Whether the page is all zeros, never initialized.
    pub fn is_new(&self) -> bool {
        // SAFETY: a valid page header.
        unsafe { pg_sys::PageIsNew(self.raw()) }
    }

    pub fn max_offset(&self) -> OffsetNumber {
        // SAFETY: a valid page.
        unsafe { pg_sys::PageGetMaxOffsetNumber(self.raw()) }
    }

    /// The item at `offset` (1-based), if there is a used one.
    pub fn item(&self, offset: OffsetNumber) -> Option<&'a [u8]> {
        if offset == 0 || offset > self.max_offset() {
            return None;
        }
        // SAFETY: offset is within the line pointer array; a used line
        // pointer's offset and length lie inside the page.
        unsafe {
            let item_id = pg_sys::PageGetItemId(self.raw(), offset);
            if (*item_id).lp_flags() != pg_sys::LP_NORMAL {
                return None;
            }
            let len = (*item_id).lp_len() as usize;
            let data = pg_sys::PageGetItem(self.raw(), item_id) as *const u8;
            Some(std::slice::from_raw_parts(data, len))
        }
    }

    /// Starts loading the line pointer of `offset` into the cache.
    pub fn prefetch_line_pointer(&self, offset: OffsetNumber) {
        let at = std::mem::size_of::<pg_sys::PageHeaderData>() - std::mem::size_of::<pg_sys::ItemIdData>()
            + std::mem::size_of::<pg_sys::ItemIdData>() * offset as usize;
        vector_core::distance::prefetch(self.page.wrapping_add(at), 1);
    }

    /// Bytes available for one more item (its line pointer included).
    pub fn free_space(&self) -> usize {
        // SAFETY: a valid page.
        unsafe { pg_sys::PageGetFreeSpace(self.raw()) }
    }

    /// Whether one more item of `len` bytes fits.
    pub fn fits(&self, len: usize) -> bool {
        self.free_space() + std::mem::size_of::<pg_sys::ItemIdData>() >= super::item_space(len)
    }
}

/// A writable view of a page the caller holds exclusively.
pub struct PageMut<'a> {
    page: *mut u8,
    _locked: PhantomData<&'a mut [u8]>,
}

impl<'a> PageMut<'a> {
    /// # Safety
    /// `page` points at a BLCKSZ page held exclusively for `'a`.
    pub(super) unsafe fn from_raw(page: *mut u8) -> Self {
        Self { page, _locked: PhantomData }
    }

    pub fn as_ref(&self) -> PageRef<'_> {
        // SAFETY: reborrowing our exclusive access as shared.
        unsafe { PageRef::from_raw(self.page) }
    }

    /// Formats an empty page with `tag` in its special space.
    pub fn init(&mut self, tag: PageTag) {
        // SAFETY: we may overwrite the whole page.
        unsafe {
            pg_sys::PageInit(self.page as pg_sys::Page, pg_sys::BLCKSZ as usize, PageTag::SIZE);
            let special = pg_sys::PageGetSpecialPointer(self.page as pg_sys::Page) as *mut u8;
            std::ptr::write_unaligned(special as *mut [u8; 4], tag.magic.to_ne_bytes());
            std::ptr::write_unaligned(special.add(4) as *mut [u8; 2], tag.kind.to_ne_bytes());
            std::ptr::write_unaligned(special.add(6) as *mut [u8; 2], [0, 0]);
        }
    }

    /// Appends an item; None when it does not fit.
    pub fn add_item(&mut self, item: &[u8]) -> Option<OffsetNumber> {
        if self.as_ref().free_space() < item.len() {
            return None;
        }
        // SAFETY: PageAddItemExtended copies `item` into the page or fails.
        let offset = unsafe {
            pg_sys::PageAddItemExtended(self.page as pg_sys::Page, item.as_ptr() as pg_sys::Item, item.len(), pg_sys::InvalidOffsetNumber, 0)
        };
        (offset != pg_sys::InvalidOffsetNumber).then_some(offset)
    }

    /// Removes the items at `offsets` (ascending) and compacts the page; the
    /// items after them move down to fill the line pointer array.
    pub fn delete_items(&mut self, offsets: &mut [OffsetNumber]) {
        offsets.sort_unstable();
        // SAFETY: PageIndexMultiDelete checks each offset against the page.
        unsafe { pg_sys::PageIndexMultiDelete(self.page as pg_sys::Page, offsets.as_mut_ptr(), offsets.len() as i32) };
    }

    /// The bytes of the item at `offset`, to change in place (same size).
    pub fn item_mut(&mut self, offset: OffsetNumber) -> Option<&mut [u8]> {
        let len = self.as_ref().item(offset)?.len();
        // SAFETY: as in `item`, with exclusive access.
        unsafe {
            let item_id = pg_sys::PageGetItemId(self.page as pg_sys::Page, offset);
            let data = pg_sys::PageGetItem(self.page as pg_sys::Page, item_id) as *mut u8;
            Some(std::slice::from_raw_parts_mut(data, len))
        }
    }

    /// The start of the content area, for pages that keep one struct there
    /// (the meta page) instead of items.
    pub fn contents_mut(&mut self, len: usize) -> &mut [u8] {
        // SAFETY: the content area spans from the header to pd_special; we
        // set pd_lower past the struct so PostgreSQL keeps it (and logs it).
        unsafe {
            let header = &mut *(self.page as *mut pg_sys::PageHeaderData);
            let start = pg_sys::PageGetContents(self.page as pg_sys::Page) as *mut u8;
            let offset = start.offset_from(self.page) as usize;
            assert!(offset + len <= header.pd_special as usize, "contents fit in the page");
            header.pd_lower = (offset + len) as u16;
            std::slice::from_raw_parts_mut(start, len)
        }
    }
}

impl<'a> PageRef<'a> {
    /// The content area written by [`PageMut::contents_mut`].
    pub fn contents(&self, len: usize) -> Option<&'a [u8]> {
        // SAFETY: reading inside the page, bounded by pd_lower.
        unsafe {
            let header = &*(self.page as *const pg_sys::PageHeaderData);
            let start = pg_sys::PageGetContents(self.page as pg_sys::Page) as *const u8;
            let offset = start.offset_from(self.page) as usize;
            (offset + len <= header.pd_lower as usize).then(|| std::slice::from_raw_parts(start, len))
        }
    }
}
