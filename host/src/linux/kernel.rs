//! The User-Mode Linux kernel and the guest's programs, built once and
//! cached.
//!
//! The kernel comes from Debian's `linux-source-6.1` tarball: unpacked,
//! patched (`linux/uml-xstate.patch`), configured (`make ARCH=um defconfig`
//! plus `linux/uml.config`) and built (`make ARCH=um linux`, about four
//! minutes on two cores). The cache directory is named after a hash of the
//! tarball's size, the patch and the configuration, so a change to either
//! builds a new kernel; only the kernel binary is kept.

use crate::last_lines;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Debian's kernel source tarball.
pub const SOURCE_TARBALL: &str = "/usr/src/linux-source-6.1.tar.xz";
/// The patch applied to the kernel source.
pub const PATCH: &str = include_str!("../../../linux/uml-xstate.patch");
/// Configuration on top of the defconfig.
pub const CONFIG: &str = include_str!("../../../linux/uml.config");
/// The guest's `/init`.
pub const INIT: &str = include_str!("../../../linux/init");
/// The guest's frame test program.
pub const FRAMES_C: &str = include_str!("../../../linux/vireo-frames.c");
/// Steps (lines of `make` output) of a kernel build, for the progress line.
const BUILD_STEPS: usize = 1500;

/// Where built artefacts are kept: `$VIREO_CACHE`, else
/// `$XDG_CACHE_HOME/vireo`, else `~/.cache/vireo`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("VIREO_CACHE") {
        return PathBuf::from(d);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("vireo")
}

/// Run `cmd`, failing with its name and the end of its output.
fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot run {:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Err(format!(
        "{what} failed ({}):\n{}",
        out.status,
        last_lines(text.lines(), 15).join("\n")
    ))
}

/// The tools the builds need, with the Debian packages that have them.
fn check_tools() -> Result<(), String> {
    let mut missing = Vec::new();
    if !Path::new(SOURCE_TARBALL).exists() {
        missing.push("linux-source-6.1");
    }
    for (tool, package) in [
        ("make", "make"),
        ("gcc", "gcc"),
        ("flex", "flex"),
        ("bison", "bison"),
        ("bc", "bc"),
        ("patch", "patch"),
        ("xz", "xz-utils"),
    ] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            missing.push(package);
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the User-Mode Linux build needs more packages; install them with:\n  apt-get install {}",
        missing.join(" ")
    ))
}

/// The cache key of the kernel: tarball size, patch and configuration.
fn kernel_key() -> Result<String, String> {
    let size = std::fs::metadata(SOURCE_TARBALL)
        .map_err(|e| format!("{SOURCE_TARBALL}: {e}"))?
        .len();
    let mut h = DefaultHasher::new();
    (size, PATCH, CONFIG).hash(&mut h);
    Ok(format!("uml-6.1-{:016x}", h.finish()))
}

/// The cached kernel binary, built first if missing. Progress goes to
/// stderr.
pub fn kernel() -> Result<PathBuf, String> {
    check_tools()?;
    let dir = cache_dir().join(kernel_key()?);
    let binary = dir.join("linux");
    if binary.exists() {
        return Ok(binary);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // One build at a time: another run may be building this kernel.
    let _lock = lock(&dir.join("build.lock"))?;
    if binary.exists() {
        return Ok(binary);
    }
    let src = dir.join("src");
    let _ = std::fs::remove_dir_all(&src);
    std::fs::create_dir_all(&src).map_err(|e| format!("{}: {e}", src.display()))?;
    eprintln!("linux: unpacking {SOURCE_TARBALL} into {}", src.display());
    run(
        Command::new("tar")
            .args(["xf", SOURCE_TARBALL, "--strip-components=1", "-C"])
            .arg(&src),
        "unpacking the kernel source",
    )?;
    let patch = dir.join("uml-xstate.patch");
    std::fs::write(&patch, PATCH).map_err(|e| e.to_string())?;
    run(
        Command::new("patch")
            .args(["-p1", "-s", "-i"])
            .arg(&patch)
            .current_dir(&src),
        "patching the kernel",
    )?;
    let make = |args: &[&str]| {
        let mut c = Command::new("make");
        c.arg("ARCH=um").args(args).current_dir(&src);
        c
    };
    run(&mut make(&["defconfig"]), "make defconfig")?;
    let config = src.join(".config");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&config)
        .map_err(|e| e.to_string())?;
    f.write_all(CONFIG.as_bytes()).map_err(|e| e.to_string())?;
    run(&mut make(&["olddefconfig"]), "make olddefconfig")?;
    check_config(&std::fs::read_to_string(&config).map_err(|e| e.to_string())?)?;
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    eprintln!("linux: building the kernel with {jobs} jobs (a few minutes, once)");
    let mut child = make(&[&format!("-j{jobs}"), "linux"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("make: {e}"))?;
    let errors = std::thread::spawn({
        let stderr = child.stderr.take().unwrap();
        move || {
            BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
        }
    });
    let mut steps = 0;
    for _ in BufReader::new(child.stdout.take().unwrap()).lines() {
        steps += 1;
        if steps % 100 == 0 {
            eprintln!(
                "linux: {steps} build steps (about {}%)",
                (100 * steps / BUILD_STEPS).min(99)
            );
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let errors = errors.join().unwrap_or_default();
    if !status.success() {
        let tail = last_lines(errors.iter().map(String::as_str), 15);
        return Err(format!(
            "kernel build failed ({status}):\n{}",
            tail.join("\n")
        ));
    }
    std::fs::rename(src.join("linux"), &binary).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(&src);
    eprintln!("linux: kernel cached at {}", binary.display());
    Ok(binary)
}

/// Hold an exclusive lock on `path` (created if missing) until the file
/// returned is dropped; says so when it has to wait.
fn lock(path: &Path) -> Result<std::fs::File, String> {
    use std::os::fd::AsRawFd;
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    // SAFETY: flock on a descriptor this function owns.
    let try_now = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if try_now != 0 {
        eprintln!("linux: waiting for another run that is building the kernel");
        // SAFETY: as above, blocking this time.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(format!(
                "{}: {}",
                path.display(),
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok(f)
}

/// Every option of `linux/uml.config` must have its value in the final
/// configuration (Kconfig drops what it cannot satisfy).
fn check_config(config: &str) -> Result<(), String> {
    for line in CONFIG.lines().map(str::trim) {
        let wanted = if let Some(opt) = line
            .strip_prefix("# ")
            .filter(|l| l.ends_with("is not set"))
        {
            let name = opt.trim_end_matches(" is not set");
            let set = config.lines().any(|l| l.starts_with(&format!("{name}=")));
            if set {
                return Err(format!(
                    "kernel configuration: {name} could not be disabled"
                ));
            }
            continue;
        } else if line.starts_with("CONFIG_") {
            line
        } else {
            continue;
        };
        if !config.lines().any(|l| l == wanted) {
            return Err(format!("kernel configuration: {wanted} did not take"));
        }
    }
    Ok(())
}

/// The guest's frame test program, compiled (static) into the cache.
pub fn frames_program() -> Result<PathBuf, String> {
    let mut h = DefaultHasher::new();
    FRAMES_C.hash(&mut h);
    let dir = cache_dir().join(format!("vireo-frames-{:016x}", h.finish()));
    let binary = dir.join("vireo-frames");
    if binary.exists() {
        return Ok(binary);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // Built under names of this process's own, then renamed: another run
    // never sees half a file.
    let src = dir.join(format!("vireo-frames-{}.c", std::process::id()));
    let out = dir.join(format!("vireo-frames-{}", std::process::id()));
    std::fs::write(&src, FRAMES_C).map_err(|e| e.to_string())?;
    let built = run(
        Command::new("gcc")
            .args(["-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o"])
            .arg(&out)
            .arg(&src),
        "compiling vireo-frames",
    )
    .and_then(|()| std::fs::rename(&out, &binary).map_err(|e| e.to_string()));
    let _ = std::fs::remove_file(&src);
    built.map(|()| binary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_build_at_a_time() {
        let path = std::env::temp_dir().join(format!("vireo-lock-{}", std::process::id()));
        let held = lock(&path).unwrap();
        let waiter = std::thread::spawn({
            let path = path.clone();
            move || lock(&path).map(drop)
        });
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(
            !waiter.is_finished(),
            "a second lock was granted while the first was held"
        );
        drop(held);
        assert_eq!(waiter.join().unwrap(), Ok(()));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn configuration_check_sees_dropped_options() {
        let good: String = CONFIG
            .lines()
            .filter(|l| l.starts_with("CONFIG_"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(check_config(&good), Ok(()));
        let dropped = good.replace("CONFIG_VIRTIO_NET=y\n", "");
        assert!(check_config(&dropped).unwrap_err().contains("VIRTIO_NET"));
        let legacy = format!("{good}CONFIG_VIRTIO_PCI_LEGACY=y\n");
        assert!(check_config(&legacy).unwrap_err().contains("LEGACY"));
    }
}
