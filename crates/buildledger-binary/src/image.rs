//! A flat view of an executable's file-backed memory: virtual address ranges
//! and the file bytes behind them.

/// One mapped range: `data` is what the file holds for `[addr, addr + data.len())`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Region<'a> {
    pub addr: u64,
    pub data: &'a [u8],
}

/// The mapped regions of one executable, in header order.
#[derive(Debug, Default)]
pub(crate) struct Image<'a> {
    pub regions: Vec<Region<'a>>,
}

impl<'a> Image<'a> {
    /// Up to `len` bytes starting at virtual address `addr`, taken from the
    /// first region containing `addr` and cut at that region's end.
    /// `None` when no region contains `addr`.
    pub fn read(&self, addr: u64, len: u64) -> Option<&'a [u8]> {
        self.regions.iter().find_map(|r| {
            let off = addr.checked_sub(r.addr)?;
            let off = usize::try_from(off).ok()?;
            if off >= r.data.len() {
                return None;
            }
            let avail = r.data.len() - off;
            let take = usize::try_from(len).map_or(avail, |l| l.min(avail));
            r.data.get(off..off + take)
        })
    }
}
