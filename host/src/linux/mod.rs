//! Stock Linux drives the RTL: the kernel's own virtio-pci and virtio_net
//! drivers, in User-Mode Linux, against the Verilated endpoint.
//!
//! `vireo linux` builds (once, cached) a User-Mode Linux kernel with the
//! virtual PCI bus that a vhost-user device process serves, and an
//! initramfs with busybox, an `/init` and the frame test program. It then
//! listens on a socket as that device process, with the co-simulated
//! endpoint behind it ([`device`]), and boots the guest. The guest binds
//! virtio_net to the endpoint, brings eth0 up and sends frames of every
//! size through the RTL's loopback, checking each byte that comes back.
//!
//! The guest is one process group: it is killed whole when it overstays
//! its time, and the run fails with its console output.

pub mod device;
pub mod guest_ram;
pub mod initramfs;
pub mod kernel;
pub mod vhost_user;
pub mod vring;

use crate::bfm::{BfmConfig, RootComplex};
use crate::endpoint::ModelEndpoint;
use crate::lockstep::Lockstep;
use device::{Cosim, Device};
use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use vhost_user::Connection;

/// The device ID the kernel's virtual PCI driver binds to (`uml.config`).
pub const UML_DEVICE_ID: u32 = 1234;
/// Where Debian's busybox-static installs busybox.
pub const BUSYBOX: &str = "/bin/busybox";

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Frames the guest sends through the loopback.
    pub frames: u32,
    /// Run the golden model in lock-step on every guest access.
    pub model_check: bool,
    /// Write a waveform of the RTL here.
    pub trace: Option<PathBuf>,
    /// Longest the guest may run.
    pub timeout: Duration,
    /// Seed of the root complex's timing choices.
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            frames: 2000,
            model_check: false,
            trace: None,
            timeout: Duration::from_secs(600),
            seed: 1,
        }
    }
}

/// What a run showed.
#[derive(Debug, Default)]
pub struct Report {
    /// Everything the guest printed.
    pub console: Vec<String>,
    /// What the device did.
    pub counts: device::Counts,
    /// Accesses compared with the golden model (with `model_check`).
    pub compared: u64,
    /// Failures; empty when the run passed.
    pub failures: Vec<String>,
    /// The transport's state and the device's last accesses at the end.
    pub last_accesses: String,
    /// Wall-clock time of the guest's run.
    pub seconds: f64,
}

impl Report {
    /// The run passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// The console lines worth showing: the kernel's words on PCI, virtio
    /// and eth0, and the guest's own report.
    pub fn highlights(&self) -> impl Iterator<Item = &String> {
        self.console.iter().filter(|l| {
            l.starts_with("vireo:")
                || ["pci", "virtio", "eth0", "WARNING", "BUG", "Oops", "panic"]
                    .iter()
                    .any(|k| l.contains(k))
        })
    }
}

/// Build the kernel, the initramfs and the guest program (cached), then
/// boot the guest against the co-simulated endpoint.
pub fn run(opts: &Options) -> Result<Report, String> {
    let kernel = kernel::kernel()?;
    let frames = kernel::frames_program()?;
    let busybox = std::fs::read(BUSYBOX)
        .map_err(|e| format!("{BUSYBOX}: {e}; install it with: apt-get install busybox-static"))?;
    if !initramfs::is_static_elf(&busybox) {
        return Err(format!(
            "{BUSYBOX} is not statically linked; install it with: apt-get install busybox-static"
        ));
    }
    let work = std::env::temp_dir().join(format!("vireo-linux-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let result = (|| {
        let initrd = work.join("initramfs.cpio");
        let frames = std::fs::read(&frames).map_err(|e| e.to_string())?;
        initramfs::build(&initrd, &busybox, kernel::INIT.as_bytes(), &frames)
            .map_err(|e| e.to_string())?;
        let socket = work.join("vireo.sock");
        let rc = RootComplex::new(opts.seed, BfmConfig::default());
        if opts.model_check {
            let model = ModelEndpoint::new(&vireo_sim::device_config());
            let mut pair = Lockstep::new(rc, model);
            pair.live_guest();
            boot(opts, &kernel, &initrd, &socket, pair, true)
        } else {
            boot(opts, &kernel, &initrd, &socket, rc, false)
        }
    })();
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// Where the guest's physical memory file goes: `/dev/shm` when it has
/// room (a RAM file system), else the temporary directory.
fn memory_dir() -> PathBuf {
    const NEEDED: u64 = 256 << 20;
    let shm = Path::new("/dev/shm");
    // SAFETY: statvfs fills the zeroed struct for a NUL-terminated path.
    let free = unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        (libc::statvfs(c"/dev/shm".as_ptr(), &mut st) == 0)
            .then(|| st.f_bavail as u64 * st.f_frsize as u64)
    };
    if free.is_some_and(|f| f >= NEEDED) {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

/// Kill the guest's whole process group.
fn kill(child: &mut Child) {
    // SAFETY: signalling the process group we created for the guest.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
    let _ = child.wait();
}

/// Boot the guest with `cosim` behind the socket and serve it to the end.
fn boot<E: Cosim>(
    opts: &Options,
    kernel: &Path,
    initrd: &Path,
    socket: &Path,
    mut cosim: E,
    settle: bool,
) -> Result<Report, String> {
    if let Some(path) = &opts.trace {
        cosim
            .rc()
            .trace_to(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let listener = UnixListener::bind(socket).map_err(|e| format!("{}: {e}", socket.display()))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let state = socket.parent().unwrap_or(Path::new("."));
    let mut child = Command::new(kernel)
        .arg("mem=64M")
        .arg(format!("uml_dir={}", state.display()))
        .arg(format!("initrd={}", initrd.display()))
        .args(["init=/init", "con=null", "con0=fd:0,fd:1"])
        .arg(format!(
            "virtio_uml.device={}:{UML_DEVICE_ID}",
            socket.display()
        ))
        .arg(format!("frames={}", opts.frames))
        .env("TMPDIR", memory_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("{}: {e}", kernel.display()))?;
    let (tx, console) = mpsc::channel();
    for out in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
    }
    drop(tx);
    let start = Instant::now();
    let mut report = Report::default();
    let outcome = serve(
        opts,
        &listener,
        &mut child,
        cosim,
        settle,
        start,
        &mut report,
    );
    if child.try_wait().ok().flatten().is_none() {
        kill(&mut child);
    }
    report.seconds = start.elapsed().as_secs_f64();
    // The readers end when the guest's output closes.
    let deadline = Instant::now() + Duration::from_secs(2);
    while let Ok(line) = console.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        report.console.push(line.trim_end().to_string());
    }
    if let Err(e) = outcome {
        report.failures.push(e);
    }
    judge(opts, &mut report);
    Ok(report)
}

/// Accept the guest's connection and serve it until the guest ends.
fn serve<E: Cosim>(
    opts: &Options,
    listener: &UnixListener,
    child: &mut Child,
    cosim: E,
    settle: bool,
    start: Instant,
    report: &mut Report,
) -> Result<(), String> {
    let overdue = |what: &str| {
        format!(
            "the guest {what} within {} s; killed",
            opts.timeout.as_secs()
        )
    };
    let stream = loop {
        match listener.accept() {
            Ok((s, _)) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(format!("accepting the guest: {e}")),
        }
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("the guest ended ({status}) before it connected"));
        }
        if start.elapsed() > opts.timeout {
            return Err(overdue("did not connect"));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    stream.set_nonblocking(false).map_err(|e| e.to_string())?;
    let mut dev = Device::new(Connection::new(stream), cosim, settle);
    let served = loop {
        match dev.round(20) {
            Ok(true) => {}
            Ok(false) => break Ok(()),
            Err(e) => break Err(format!("co-simulation: {e}")),
        }
        if child.try_wait().map_err(|e| e.to_string())?.is_some() {
            break Ok(());
        }
        if start.elapsed() > opts.timeout {
            break Err(overdue("did not finish"));
        }
    };
    report.counts = dev.counts.clone();
    report.compared = dev.cosim().compared();
    report.failures.extend(dev.errors.iter().cloned());
    report.last_accesses = dev.report();
    // The guest powers off after its test; give it a moment.
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().map_err(|e| e.to_string())?.is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    served
}

/// The value after `key` in the guest's report line starting with `prefix`.
fn field<'a>(console: &'a [String], prefix: &str, key: &str) -> Option<&'a str> {
    console
        .iter()
        .filter_map(|l| l.strip_prefix(prefix))
        .find_map(|rest| {
            let mut words = rest.split_whitespace();
            words.find(|w| *w == key).and_then(|_| words.next())
        })
}

/// Decide whether the guest showed what the run requires.
fn judge(opts: &Options, report: &mut Report) {
    let cfg = vireo_sim::device_config();
    let c = &report.console;
    let mut fail = |what: String| report.failures.push(what);
    let vendor_device = format!(
        "0x{:04x}:0x{:04x}",
        vireo_regs::virtio::PCI_VENDOR_ID,
        cfg.device_id()
    );
    match field(c, "vireo: pci ", "driver") {
        None => fail("the guest did not report the PCI device".into()),
        Some(d) if d != "virtio-pci" => fail(format!("PCI device bound to {d}, not virtio-pci")),
        Some(_) => {}
    }
    if !c
        .iter()
        .any(|l| l.starts_with(&format!("vireo: pci {vendor_device} ")))
    {
        fail(format!("the PCI device is not {vendor_device}"));
    }
    let bound_net = c
        .iter()
        .filter(|l| l.starts_with("vireo: virtio "))
        .any(|l| l.ends_with(" driver virtio_net"));
    if !bound_net {
        fail("virtio_net did not bind".into());
    }
    let mac: Vec<String> = cfg.mac.iter().map(|b| format!("{b:02x}")).collect();
    let mac = mac.join(":");
    if field(c, "vireo: eth0 ", "address") != Some(mac.as_str()) {
        fail(format!("eth0 does not have the device's MAC {mac}"));
    }
    if field(c, "vireo: eth0 ", "mtu") != Some(cfg.mtu.to_string().as_str()) {
        fail(format!("eth0 does not have the device's MTU {}", cfg.mtu));
    }
    let frames = field(c, "vireo: ", "frames").and_then(|v| v.parse::<u64>().ok());
    let errors = field(c, "vireo: ", "errors").and_then(|v| v.parse::<u64>().ok());
    match (frames, errors) {
        (Some(n), Some(0)) if n == opts.frames as u64 => {}
        (Some(n), Some(e)) => fail(format!(
            "frame test: {n} of {} frames back, {e} errors",
            opts.frames
        )),
        _ => fail("the frame test did not report".into()),
    }
    // The kernel's own complaints: a warning or oops anywhere, and the
    // virtual PCI driver giving up on a read (all-ones for the driver).
    for l in c {
        if [
            "WARNING:",
            "BUG:",
            "Oops",
            "Kernel panic",
            "um virt-pci delay",
        ]
        .iter()
        .any(|k| l.contains(k))
        {
            fail(format!("the guest kernel reported: {l}"));
            break;
        }
    }
    for queue in ["input.0", "output.0"] {
        let count = c
            .iter()
            .filter(|l| l.starts_with("vireo: irq") && l.contains(&format!("-{queue}")))
            .find_map(|l| l.split_whitespace().nth(3)?.parse::<u64>().ok());
        if count.unwrap_or(0) == 0 {
            fail(format!("no MSI-X interrupts counted for the {queue} queue"));
        }
    }
}
