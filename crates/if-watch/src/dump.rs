//! The I/O half of listing the host's addresses (Linux): one `RTM_GETADDR` dump over a fresh
//! netlink socket, read by the parser of rtaddr.rs.
//!
//! The socket is blocking with a receive timeout, so a kernel that never finishes the answer
//! costs at most [`TIMEOUT`], and the reads are bounded: datagrams whose sender is not the
//! kernel (any local process may send to a netlink port) are dropped unread, and at most
//! [`MAX_DATAGRAMS`] datagrams of any sender are read per dump.

use crate::rtaddr::{self, Addr, Dump, Order};
use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// How long one read of the answer may wait.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(2);
/// Datagrams read per dump, the kernel's and strangers' together.
pub(crate) const MAX_DATAGRAMS: usize = 1024;
/// The receive buffer: the kernel sizes its dump datagrams to the reader's buffer, up to
/// 32 KiB; a longer datagram is refused (it would be cut).
const BUF: usize = 32 * 1024;

/// The request numbers, one per dump of this process.
static SEQ: AtomicU32 = AtomicU32::new(1);

/// Every IPv4 and IPv6 address of every interface, with its prefix and interface index.
pub fn addresses() -> io::Result<Vec<Addr>> {
    let fd = open()?;
    dump_on(&fd, SEQ.fetch_add(1, Ordering::Relaxed))
}

/// Sends the request numbered `seq` on `fd` and reads the answer.
fn dump_on(fd: &OwnedFd, seq: u32) -> io::Result<Vec<Addr>> {
    let req = rtaddr::request(seq, Order::NATIVE);
    send_to(fd.as_raw_fd(), 0, &req, 0)?;
    let mut dump = Dump::new(seq, Order::NATIVE);
    let mut buf = vec![0u8; BUF];
    for _ in 0..MAX_DATAGRAMS {
        // SAFETY: sockaddr_nl is plain data; all-zero is a valid value.
        let mut from: libc::sockaddr_nl = unsafe { zeroed() };
        let mut len = size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: `buf` and `from` are valid for the lengths passed.
        let n = unsafe {
            libc::recvfrom(
                fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_TRUNC,
                (&mut from as *mut libc::sockaddr_nl).cast(),
                &mut len,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EAGAIN) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("netlink address dump: no answer within {TIMEOUT:?}"),
                    ));
                }
                _ => return Err(e),
            }
        }
        let n = n as usize;
        if from.nl_pid != 0 {
            continue; // not the kernel's
        }
        let Some(datagram) = buf.get(..n) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("netlink address dump: a datagram of {n} bytes (at most {BUF} are read)"),
            ));
        };
        if dump.feed(datagram).map_err(io::Error::other)? {
            return Ok(dump.into_addrs());
        }
    }
    Err(io::Error::other(format!(
        "netlink address dump: no end after {MAX_DATAGRAMS} datagrams (the bound of one dump)"
    )))
}

/// A netlink route socket, bound (the kernel picks its port), blocking with a receive
/// timeout, close-on-exec.
fn open() -> io::Result<OwnedFd> {
    let fd = route_socket(0, 0)?;
    let tv = libc::timeval {
        tv_sec: TIMEOUT.as_secs() as libc::time_t,
        tv_usec: 0,
    };
    // SAFETY: `tv` is a valid timeval and its size is passed with it.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

/// Sends `bytes` as one datagram on the netlink socket `fd` to port `to` (0: the kernel),
/// with `sendto(2)`'s `flags`.
pub(crate) fn send_to(
    fd: std::os::fd::RawFd,
    to: u32,
    bytes: &[u8],
    flags: libc::c_int,
) -> io::Result<usize> {
    // SAFETY: sockaddr_nl is plain data; all-zero (no groups) then the family and port.
    let mut dst: libc::sockaddr_nl = unsafe { zeroed() };
    dst.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    dst.nl_pid = to;
    // SAFETY: `bytes` and `dst` are valid for the lengths passed.
    let n = unsafe {
        libc::sendto(
            fd,
            bytes.as_ptr().cast(),
            bytes.len(),
            flags,
            (&dst as *const libc::sockaddr_nl).cast(),
            size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// A close-on-exec `NETLINK_ROUTE` socket with the extra socket `flags` (e.g.
/// `SOCK_NONBLOCK`), bound to the multicast `groups` (0: none) at a port the kernel picks.
/// The dump and the doorbell (doorbell.rs) both open theirs here.
pub(crate) fn route_socket(flags: libc::c_int, groups: u32) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call; the result is checked before use.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC | flags,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_nl is plain data; all-zero with the family set asks for any port.
    let mut sa: libc::sockaddr_nl = unsafe { zeroed() };
    sa.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    sa.nl_groups = groups;
    // SAFETY: `sa` is a valid sockaddr_nl and its size is passed with it.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sa as *const libc::sockaddr_nl).cast(),
            size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_listed_with_its_prefix_and_index() {
        let all = addresses().unwrap();
        let lo: ipnet::IpNet = "127.0.0.1/8".parse().unwrap();
        let found = all.iter().find(|a| a.net == lo).expect("127.0.0.1/8");
        // SAFETY: a NUL-terminated name.
        let index = unsafe { libc::if_nametoindex(c"lo".as_ptr()) };
        assert_eq!(found.index, index);
    }

    /// A local process's netlink socket sends each datagram to port `to`.
    fn send_from_stranger(to: u32, datagrams: &[Vec<u8>]) {
        let s = test_util::stranger_socket();
        for d in datagrams {
            assert_eq!(send_to(s.as_raw_fd(), to, d, 0).unwrap(), d.len());
        }
    }

    /// A native-order netlink message.
    fn msg(kind: u16, seq: u32, body: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&(16 + body.len() as u32).to_ne_bytes());
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&[0, 0]);
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&[0; 4]);
        m.extend_from_slice(body);
        m
    }

    #[test]
    fn stranger_address_message_is_not_listed() {
        let fd = open().unwrap();
        let seq = 77;
        // A forged answer with the right number: 6.6.6.6/32 on interface 1, then the end.
        let mut body = vec![2, 32, 0, 0];
        body.extend_from_slice(&1u32.to_ne_bytes());
        body.extend_from_slice(&8u16.to_ne_bytes());
        body.extend_from_slice(&2u16.to_ne_bytes()); // IFA_LOCAL
        body.extend_from_slice(&[6, 6, 6, 6]);
        let forged = vec![msg(20, seq, &body), msg(3, seq, &[0; 4])];
        send_from_stranger(test_util::port_of(&fd), &forged);
        let all = dump_on(&fd, seq).unwrap();
        let six: ipnet::IpNet = "6.6.6.6/32".parse().unwrap();
        assert!(all.iter().all(|a| a.net != six), "{all:?}");
        assert!(all.iter().any(|a| a.net.addr().is_loopback()), "{all:?}");
    }

    #[test]
    fn stranger_flood_ends_the_dump_within_its_bound() {
        let fd = open().unwrap();
        // More datagrams than one dump reads, all waiting before the kernel's answer (as many
        // as the socket's buffer takes: the rest are refused, and the sender is told).
        let noop = msg(1, 5, &[]);
        let s = test_util::stranger_socket();
        let to = test_util::port_of(&fd);
        let mut sent = 0;
        for _ in 0..MAX_DATAGRAMS + 10 {
            if send_to(s.as_raw_fd(), to, &noop, libc::MSG_DONTWAIT).is_err() {
                break;
            }
            sent += 1;
        }
        let t = std::time::Instant::now();
        let r = dump_on(&fd, 5);
        // Either the flood was bigger than the bound (an error naming it) or the socket's
        // buffer took fewer: then the kernel's answer follows them (or the kernel says its
        // answer was lost for want of room). Never a forged address, never a long wait.
        assert!(sent > 0);
        match r {
            Ok(all) => assert!(all.iter().any(|a| a.net.addr().is_loopback()), "{all:?}"),
            Err(e) if sent > MAX_DATAGRAMS => {
                assert!(e.to_string().contains("bound of one dump"), "{e}")
            }
            Err(e) => assert_eq!(e.raw_os_error(), Some(libc::ENOBUFS), "{e}"),
        }
        assert!(t.elapsed() < TIMEOUT, "{:?}", t.elapsed());
    }

    #[test]
    fn dumps_one_after_another_agree() {
        let mut a = addresses().unwrap();
        let mut b = addresses().unwrap();
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }
}

/// What the tests of this crate's netlink sockets share.
#[cfg(test)]
pub(crate) mod test_util {
    use super::*;

    /// The port id the kernel gave a bound netlink socket.
    pub(crate) fn port_of(fd: &OwnedFd) -> u32 {
        // SAFETY: sockaddr_nl is plain data; getsockname fills at most `len` bytes of it.
        let mut sa: libc::sockaddr_nl = unsafe { zeroed() };
        let mut len = size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        let rc = unsafe {
            libc::getsockname(
                fd.as_raw_fd(),
                (&mut sa as *mut libc::sockaddr_nl).cast(),
                &mut len,
            )
        };
        assert_eq!(rc, 0);
        sa.nl_pid
    }

    /// A user-space netlink socket, as another local process would open.
    pub(crate) fn stranger_socket() -> OwnedFd {
        // SAFETY: socket(2) with constant arguments; the fd is owned from here on.
        let s = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_ROUTE) };
        assert!(s >= 0);
        unsafe { OwnedFd::from_raw_fd(s) }
    }
}
