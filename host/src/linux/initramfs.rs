//! The guest's initial RAM filesystem: busybox, vireo's `/init` and the
//! frame test program, in the "newc" cpio format the kernel unpacks.

use std::io;
use std::path::Path;

/// One entry of the archive.
pub enum Entry<'a> {
    /// A directory.
    Dir(&'a str),
    /// An executable file with its contents.
    Exec(&'a str, &'a [u8]),
}

/// Append one newc header, name and data (each padded to 4 bytes).
fn push(out: &mut Vec<u8>, ino: u32, mode: u32, name: &str, data: &[u8]) {
    let fields = [
        ino,
        mode,
        0,
        0,
        if mode & 0o040000 != 0 { 2 } else { 1 },
        0,
        data.len() as u32,
        0,
        0,
        0,
        0,
        name.len() as u32 + 1,
        0,
    ];
    out.extend_from_slice(b"070701");
    for f in fields {
        out.extend_from_slice(format!("{f:08X}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    out.resize(out.len().next_multiple_of(4), 0);
    out.extend_from_slice(data);
    out.resize(out.len().next_multiple_of(4), 0);
}

/// The archive of `entries`.
pub fn archive(entries: &[Entry]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let ino = i as u32 + 1;
        match e {
            Entry::Dir(name) => push(&mut out, ino, 0o040755, name, &[]),
            Entry::Exec(name, data) => push(&mut out, ino, 0o100755, name, data),
        }
    }
    push(&mut out, 0, 0, "TRAILER!!!", &[]);
    out
}

/// Whether the ELF executable `bytes` is statically linked (has no
/// program interpreter).
pub fn is_static_elf(bytes: &[u8]) -> bool {
    let u16_at = |at: usize| {
        bytes
            .get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |at: usize| {
        bytes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
    };
    let u64_at = |at: usize| {
        bytes
            .get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
    };
    // 64-bit little-endian ELF only.
    if bytes.get(..6) != Some(b"\x7fELF\x02\x01") {
        return false;
    }
    let (Some(phoff), Some(phentsize), Some(phnum)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38))
    else {
        return false;
    };
    const PT_INTERP: u32 = 3;
    (0..phnum as usize).all(|i| u32_at(phoff as usize + i * phentsize as usize) != Some(PT_INTERP))
}

/// Build the initramfs at `out` from busybox, the `/init` script and the
/// frame test program.
pub fn build(out: &Path, busybox: &[u8], init: &[u8], frames: &[u8]) -> io::Result<()> {
    let entries = [
        Entry::Dir("bin"),
        Entry::Dir("dev"),
        Entry::Dir("proc"),
        Entry::Dir("sys"),
        Entry::Exec("bin/busybox", busybox),
        Entry::Exec("bin/vireo-frames", frames),
        Entry::Exec("init", init),
    ];
    std::fs::write(out, archive(&entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newc_entries_are_padded_and_terminated() {
        let a = archive(&[Entry::Dir("bin"), Entry::Exec("init", b"#!x")]);
        assert_eq!(&a[..6], b"070701");
        // Header 110 bytes + "bin\0" = 114, padded to 116.
        assert_eq!(&a[110..114], b"bin\0");
        assert_eq!(&a[116..122], b"070701");
        // Mode of the file, and its size.
        assert_eq!(&a[116 + 14..116 + 22], b"000081ED");
        assert_eq!(&a[116 + 54..116 + 62], b"00000003");
        assert!(a.len().is_multiple_of(4));
        let trailer = a.len() - 124;
        assert_eq!(&a[trailer + 110..trailer + 121], b"TRAILER!!!\0");
    }

    #[test]
    fn tells_static_from_dynamic_executables() {
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert!(!is_static_elf(&me), "the test binary is dynamically linked");
        assert!(!is_static_elf(b"#!/bin/sh\n"));
    }
}
