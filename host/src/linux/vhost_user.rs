//! The device end of a vhost-user connection.
//!
//! User-Mode Linux (`virtio_uml`) is the front end: it connects to the
//! socket the device listens on and describes, in messages, the guest's
//! memory and the virtqueues of a virtio device whose rings live in it.
//! Each message is a 12-byte header (request, flags, payload size) and a
//! payload; file descriptors travel as `SCM_RIGHTS` with the header. With
//! the REPLY_ACK protocol feature every message that asks for it gets a u64
//! status (0: done) back.
//!
//! Notifications both ways go in band: the front end kicks a queue with a
//! `VRING_KICK` message, the device signals a used buffer with a
//! `VRING_CALL` message on the back channel the front end opened with
//! `SET_SLAVE_REQ_FD` (or by writing the call descriptor, when the front
//! end gave one).

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

/// Header flag: the protocol version.
const VERSION: u32 = 1;
/// Header flag: this message is a reply.
const FLAG_REPLY: u32 = 1 << 2;
/// Header flag: the sender wants a status reply.
pub const FLAG_NEED_REPLY: u32 = 1 << 3;

/// Requests from the front end, and the two the device sends back.
pub mod request {
    /// Feature bits the device offers (reply: u64).
    pub const GET_FEATURES: u32 = 1;
    /// Feature bits the front end accepts.
    pub const SET_FEATURES: u32 = 2;
    /// The front end takes the device.
    pub const SET_OWNER: u32 = 3;
    /// The front end lets the device go.
    pub const RESET_OWNER: u32 = 4;
    /// Guest RAM regions, one descriptor each.
    pub const SET_MEM_TABLE: u32 = 5;
    /// Queue size of a queue.
    pub const SET_VRING_NUM: u32 = 8;
    /// Ring addresses of a queue.
    pub const SET_VRING_ADDR: u32 = 9;
    /// Next available index of a queue.
    pub const SET_VRING_BASE: u32 = 10;
    /// Stop a queue (reply: its next available index).
    pub const GET_VRING_BASE: u32 = 11;
    /// Kick descriptor of a queue (or in-band kicks).
    pub const SET_VRING_KICK: u32 = 12;
    /// Call descriptor of a queue (or in-band calls).
    pub const SET_VRING_CALL: u32 = 13;
    /// Error descriptor of a queue.
    pub const SET_VRING_ERR: u32 = 14;
    /// Protocol features the device offers (reply: u64).
    pub const GET_PROTOCOL_FEATURES: u32 = 15;
    /// Protocol features the front end accepts.
    pub const SET_PROTOCOL_FEATURES: u32 = 16;
    /// Queues the device has (reply: u64).
    pub const GET_QUEUE_NUM: u32 = 17;
    /// Enable or disable a queue.
    pub const SET_VRING_ENABLE: u32 = 18;
    /// The back channel for device-initiated messages.
    pub const SET_SLAVE_REQ_FD: u32 = 21;
    /// Read device configuration (reply: the same message, filled).
    pub const GET_CONFIG: u32 = 24;
    /// Write device configuration.
    pub const SET_CONFIG: u32 = 25;
    /// In-band kick of a queue.
    pub const VRING_KICK: u32 = 35;
    /// Back channel: a queue has used buffers.
    pub const SLAVE_VRING_CALL: u32 = 4;
}

/// Feature bit: the protocol features exist (virtio feature space).
pub const F_PROTOCOL_FEATURES: u64 = 1 << 30;
/// Protocol feature bits.
pub mod protocol {
    /// Messages may ask for a status reply.
    pub const REPLY_ACK: u64 = 1 << 3;
    /// The device has a back channel.
    pub const SLAVE_REQ: u64 = 1 << 5;
    /// Device configuration messages.
    pub const CONFIG: u64 = 1 << 9;
    /// Kicks and calls as messages.
    pub const INBAND_NOTIFICATIONS: u64 = 1 << 14;
}

/// In a vring file-descriptor message: no descriptor comes with it.
pub const VRING_NOFD: u64 = 1 << 8;

/// Most descriptors one message carries.
const MAX_FDS: usize = 8;
/// Largest payload accepted.
const MAX_PAYLOAD: usize = 4096;

/// One message from the front end.
#[derive(Debug)]
pub struct Message {
    /// The request code.
    pub request: u32,
    /// Header flags.
    pub flags: u32,
    /// The payload.
    pub payload: Vec<u8>,
    /// Descriptors that came with it.
    pub fds: Vec<OwnedFd>,
}

impl Message {
    /// Little-endian u32 at byte `at` of the payload (0 if short).
    pub fn u32_at(&self, at: usize) -> u32 {
        self.payload
            .get(at..at + 4)
            .map_or(0, |b| u32::from_le_bytes(b.try_into().unwrap()))
    }

    /// Little-endian u64 at byte `at` of the payload (0 if short).
    pub fn u64_at(&self, at: usize) -> u64 {
        self.payload
            .get(at..at + 8)
            .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()))
    }
}

/// Serialise a header and payload.
fn frame(request: u32, flags: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(12 + payload.len());
    for v in [request, flags, payload.len() as u32] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(payload);
    out
}

/// The connection to the front end.
pub struct Connection {
    stream: UnixStream,
}

impl Connection {
    /// Serve the front end connected on `stream`.
    pub fn new(stream: UnixStream) -> Self {
        Self { stream }
    }

    /// Whether a message (or the end of the connection) is waiting, after
    /// waiting at most `timeout_ms`.
    pub fn readable(&self, timeout_ms: i32) -> io::Result<bool> {
        let mut pfd = libc::pollfd {
            fd: self.stream.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        match n {
            n if n < 0 => {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    Ok(false)
                } else {
                    Err(e)
                }
            }
            0 => Ok(false),
            _ => Ok(true),
        }
    }

    /// Receive one message; `None` when the front end has hung up.
    pub fn recv(&mut self) -> io::Result<Option<Message>> {
        let mut header = [0u8; 12];
        let mut cmsg = [0u64; (MAX_FDS * 4 + 16) / 8 + 1];
        let mut iov = libc::iovec {
            iov_base: header.as_mut_ptr().cast(),
            iov_len: header.len(),
        };
        // SAFETY: zeroed msghdr is valid; its pointers are set right below
        // to buffers that outlive the call.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cmsg.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&cmsg);
        // SAFETY: msg describes live buffers.
        let n = unsafe { libc::recvmsg(self.stream.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if n == 0 {
            return Ok(None);
        }
        let fds = received_fds(&msg);
        if (n as usize) < header.len() {
            self.stream.read_exact(&mut header[n as usize..])?;
        }
        let word = |i: usize| u32::from_le_bytes(header[4 * i..4 * i + 4].try_into().unwrap());
        let (request, flags, size) = (word(0), word(1), word(2) as usize);
        if size > MAX_PAYLOAD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("vhost-user request {request} with a {size}-byte payload"),
            ));
        }
        let mut payload = vec![0; size];
        self.stream.read_exact(&mut payload)?;
        Ok(Some(Message {
            request,
            flags,
            payload,
            fds,
        }))
    }

    /// Reply to `request` with `payload`.
    pub fn reply(&mut self, request: u32, payload: &[u8]) -> io::Result<()> {
        self.stream
            .write_all(&frame(request, VERSION | FLAG_REPLY, payload))
    }

    /// Reply with a u64.
    pub fn reply_u64(&mut self, request: u32, value: u64) -> io::Result<()> {
        self.reply(request, &value.to_le_bytes())
    }
}

/// The descriptors of an `SCM_RIGHTS` control message.
fn received_fds(msg: &libc::msghdr) -> Vec<OwnedFd> {
    let mut fds = Vec::new();
    // SAFETY: walking the control buffer recvmsg filled, with the libc
    // macros made for it; each descriptor received is ours to own.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(c) as *const libc::c_int;
                let count = ((*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / 4;
                for i in 0..count {
                    fds.push(OwnedFd::from_raw_fd(data.add(i).read_unaligned()));
                }
            }
            c = libc::CMSG_NXTHDR(msg, c);
        }
    }
    fds
}

/// How the device tells the front end about used buffers of one queue.
pub enum Call {
    /// Not set up yet.
    None,
    /// Write a count to this descriptor.
    Fd(std::fs::File),
    /// Send `VRING_CALL` on the back channel.
    Inband,
}

/// Signal queue `index`: through its call descriptor or the back channel.
pub fn call(how: &mut Call, back: Option<&mut std::fs::File>, index: u32) -> io::Result<()> {
    match how {
        Call::None => Ok(()),
        Call::Fd(f) => f.write_all(&1u64.to_le_bytes()),
        Call::Inband => match back {
            Some(b) => {
                let mut state = [0u8; 8];
                state[..4].copy_from_slice(&index.to_le_bytes());
                b.write_all(&frame(request::SLAVE_VRING_CALL, VERSION, &state))
            }
            None => Ok(()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_descriptors_cross_the_socket() {
        let (a, b) = UnixStream::pair().unwrap();
        let mut conn = Connection::new(b);
        let (r, _w) = {
            let mut fds = [0; 2];
            // SAFETY: a fresh pipe.
            assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
            // SAFETY: both descriptors are new and owned here.
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
        };
        send_with_fd(
            &a,
            &frame(
                request::SET_VRING_KICK,
                VERSION | FLAG_NEED_REPLY,
                &1u64.to_le_bytes(),
            ),
            r.as_raw_fd(),
        );
        assert!(conn.readable(1000).unwrap());
        let m = conn.recv().unwrap().unwrap();
        assert_eq!(m.request, request::SET_VRING_KICK);
        assert_eq!(m.flags & FLAG_NEED_REPLY, FLAG_NEED_REPLY);
        assert_eq!(m.u64_at(0), 1);
        assert_eq!(m.fds.len(), 1);
        conn.reply_u64(m.request, 0).unwrap();
        let mut back = [0u8; 20];
        (&a).read_exact(&mut back).unwrap();
        assert_eq!(
            &back[..12],
            &frame(request::SET_VRING_KICK, VERSION | FLAG_REPLY, &[0; 8])[..12]
        );
        drop(a);
        assert!(conn.recv().unwrap().is_none());
    }

    fn send_with_fd(s: &UnixStream, bytes: &[u8], fd: i32) {
        let mut cmsg = [0u64; 4];
        let mut iov = libc::iovec {
            iov_base: bytes.as_ptr() as *mut _,
            iov_len: bytes.len(),
        };
        // SAFETY: as in `Connection::recv`, for sending.
        unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = cmsg.as_mut_ptr().cast();
            msg.msg_controllen = libc::CMSG_SPACE(4) as usize;
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(4) as usize;
            libc::CMSG_DATA(c).cast::<i32>().write_unaligned(fd);
            assert_eq!(libc::sendmsg(s.as_raw_fd(), &msg, 0), bytes.len() as isize);
        }
    }
}
