//! The guest's RAM, shared with the process that runs the guest.
//!
//! User-Mode Linux hands its physical memory file to the device process in
//! `VHOST_USER_SET_MEM_TABLE`: each region maps a range of guest physical
//! addresses to an offset in a file descriptor. The regions are mapped
//! shared, so the device's DMA and the guest's CPU see the same bytes; the
//! guest orders its accesses with barriers, and the device serves every
//! access whole, in the order the RTL issues it.

use crate::memory::External;
use std::fmt;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

/// One region of guest RAM as the guest describes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionDesc {
    /// First guest physical address.
    pub guest_addr: u64,
    /// Bytes in the region.
    pub size: u64,
    /// The same first byte as the front end's process addresses it (ring
    /// addresses come in this form).
    pub user_addr: u64,
    /// Where the region starts in its file.
    pub mmap_offset: u64,
}

/// A mapped region.
struct Region {
    desc: RegionDesc,
    base: *mut u8,
    /// Bytes mapped from the page-aligned start of the file range.
    mapped: usize,
    /// Offset of the region's first byte inside the mapping.
    skew: usize,
}

/// Guest RAM, mapped into this process.
pub struct GuestRam {
    regions: Vec<Region>,
}

// SAFETY: the mappings stay valid for the life of `GuestRam` (unmapped in
// `Drop`); accesses copy bytes in and out and never hand out references,
// so sharing them between threads is as safe as sharing them with the guest.
unsafe impl Send for GuestRam {}
unsafe impl Sync for GuestRam {}

impl fmt::Debug for GuestRam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.regions.iter().map(|r| r.desc))
            .finish()
    }
}

impl GuestRam {
    /// Map each region from its file descriptor.
    pub fn map(regions: &[(RegionDesc, OwnedFd)]) -> io::Result<Self> {
        let page = 4096u64;
        let mut mapped = Vec::new();
        for (desc, fd) in regions {
            let start = desc.mmap_offset & !(page - 1);
            let skew = (desc.mmap_offset - start) as usize;
            let len = skew + desc.size as usize;
            // SAFETY: a fresh shared mapping of a file the guest gave us;
            // the result is checked before use.
            let base = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    fd.as_raw_fd(),
                    start as libc::off_t,
                )
            };
            if base == libc::MAP_FAILED {
                return Err(io::Error::last_os_error());
            }
            mapped.push(Region {
                desc: *desc,
                base: base.cast(),
                mapped: len,
                skew,
            });
        }
        Ok(Self { regions: mapped })
    }

    /// The regions, as described by the guest.
    pub fn regions(&self) -> impl Iterator<Item = RegionDesc> + '_ {
        self.regions.iter().map(|r| r.desc)
    }

    /// The guest address of front-end process address `user`.
    pub fn guest_of_user(&self, user: u64) -> Option<u64> {
        self.regions.iter().find_map(|r| {
            let off = user.checked_sub(r.desc.user_addr)?;
            (off < r.desc.size).then_some(r.desc.guest_addr + off)
        })
    }

    /// Pointer to guest address `addr`, if `len` bytes from it lie in one
    /// region.
    fn at(&self, addr: u64, len: usize) -> Option<*mut u8> {
        self.regions.iter().find_map(|r| {
            let off = addr.checked_sub(r.desc.guest_addr)?;
            (off.checked_add(len as u64)? <= r.desc.size)
                // SAFETY: inside the mapping, checked just above.
                .then(|| unsafe { r.base.add(r.skew + off as usize) })
        })
    }

    /// Read a little-endian u16 at `addr`.
    pub fn read_u16(&self, addr: u64) -> Option<u16> {
        let mut b = [0; 2];
        self.holds(addr, 2).then(|| {
            self.read(addr, &mut b);
            u16::from_le_bytes(b)
        })
    }
}

impl External for GuestRam {
    fn holds(&self, addr: u64, len: usize) -> bool {
        self.at(addr, len).is_some()
    }

    fn read(&self, addr: u64, buf: &mut [u8]) {
        let p = self.at(addr, buf.len()).expect("read outside guest RAM");
        // SAFETY: `at` checked the range; the guest may write it at the
        // same time, which only makes the bytes read indeterminate, as
        // for any DMA racing the CPU.
        unsafe { std::ptr::copy_nonoverlapping(p, buf.as_mut_ptr(), buf.len()) }
    }

    fn write(&self, addr: u64, data: &[u8]) {
        let p = self.at(addr, data.len()).expect("write outside guest RAM");
        // SAFETY: as in `read`.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p, data.len()) }
    }
}

impl Drop for GuestRam {
    fn drop(&mut self) {
        for r in &self.regions {
            // SAFETY: unmapping exactly what `map` mapped.
            unsafe { libc::munmap(r.base.cast(), r.mapped) };
        }
    }
}

/// Guest RAM of `size` bytes at `guest_addr` (`user_addr` to the front
/// end), mapped from byte `mmap_offset` of a scratch file, for tests.
#[cfg(test)]
pub(super) fn scratch(guest_addr: u64, user_addr: u64, size: u64, mmap_offset: u64) -> GuestRam {
    let path =
        std::env::temp_dir().join(format!("vireo-ram-{}-{guest_addr:x}", std::process::id()));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    f.set_len(mmap_offset + size).unwrap();
    let desc = RegionDesc {
        guest_addr,
        size,
        user_addr,
        mmap_offset,
    };
    GuestRam::map(&[(desc, OwnedFd::from(f))]).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_a_region_at_its_guest_address_and_offset() {
        let ram = scratch(0x10_0000, 0x7000_0000, 4096, 4096 + 16);
        assert!(ram.holds(0x10_0000, 4096));
        assert!(!ram.holds(0x10_0000, 4097));
        assert!(!ram.holds(0xF_FFFF, 2));
        ram.write(0x10_0002, &[0x34, 0x12]);
        assert_eq!(ram.read_u16(0x10_0002), Some(0x1234));
        assert_eq!(ram.read_u16(0x10_1000), None);
        assert_eq!(ram.guest_of_user(0x7000_0010), Some(0x10_0010));
        assert_eq!(ram.guest_of_user(0x7000_1000), None);
    }
}
