//! A netlink socket subscribed to the kernel's address changes (IPv4 and IPv6), used only to
//! learn *that* something changed: the messages are read and dropped, never parsed, and the
//! watcher lists the addresses again (scan.rs).
//!
//! Only the kernel can send to these multicast groups, but any local process may send a
//! unicast netlink message to this socket: messages whose sender is not the kernel (port id 0)
//! ring nothing, and one read takes at most `MAX_READS` messages so a flood cannot hold the
//! thread.

use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{OwnedFd, RawFd};

/// Messages read per call of [`read_all`]; the caller comes back for the rest.
pub(crate) const MAX_READS: usize = 64;

/// Opens the socket: non-blocking, close-on-exec, bound to the address-change groups.
pub(crate) fn open() -> io::Result<OwnedFd> {
    crate::dump::route_socket(
        libc::SOCK_NONBLOCK,
        (libc::RTMGRP_IPV4_IFADDR | libc::RTMGRP_IPV6_IFADDR) as u32,
    )
}

/// What one [`read_all`] found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Rung {
    /// The kernel reported a change, or its messages overflowed the socket (ENOBUFS: some
    /// were lost, so the list must be read again anyway).
    pub changed: bool,
    /// `MAX_READS` messages were read and more may wait.
    pub more: bool,
}

/// Reads waiting messages (at most `MAX_READS`) and drops them.
pub(crate) fn read_all(fd: RawFd) -> io::Result<Rung> {
    let mut buf = [0u8; 8192];
    let mut rung = Rung::default();
    for _ in 0..MAX_READS {
        // SAFETY: sockaddr_nl is plain data; all-zero is a valid value.
        let mut from: libc::sockaddr_nl = unsafe { zeroed() };
        let mut len = size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: `buf` and `from` are valid for the lengths passed.
        let n = unsafe {
            libc::recvfrom(
                fd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                0,
                (&mut from as *mut libc::sockaddr_nl).cast(),
                &mut len,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EAGAIN) => return Ok(rung),
                Some(libc::EINTR) => continue,
                Some(libc::ENOBUFS) => rung.changed = true,
                _ => return Err(e),
            }
        } else if from.nl_pid == 0 {
            rung.changed = true;
        }
    }
    rung.more = true;
    Ok(rung)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{AsRawFd, FromRawFd};

    /// A user-space netlink socket sends `count` empty messages to port `to`.
    fn send_from_stranger(to: u32, count: usize) {
        let s = crate::dump::test_util::stranger_socket();
        // A bare nlmsghdr (16 bytes): length, type NLMSG_NOOP, no flags.
        let mut msg = [0u8; 16];
        msg[0..4].copy_from_slice(&16u32.to_ne_bytes());
        msg[4..6].copy_from_slice(&(libc::NLMSG_NOOP as u16).to_ne_bytes());
        for _ in 0..count {
            assert_eq!(
                crate::dump::send_to(s.as_raw_fd(), to, &msg, 0).unwrap(),
                16
            );
        }
    }

    #[test]
    fn nothing_waiting_rings_nothing() {
        let fd = open().unwrap();
        assert_eq!(read_all(fd.as_raw_fd()).unwrap(), Rung::default());
    }

    #[test]
    fn stranger_netlink_message_does_not_trigger_a_rescan() {
        let fd = open().unwrap();
        send_from_stranger(crate::dump::test_util::port_of(&fd), 3);
        let rung = read_all(fd.as_raw_fd()).unwrap();
        assert!(!rung.changed && !rung.more, "{rung:?}");
    }

    #[test]
    fn netlink_flood_is_read_in_bounded_batches() {
        let fd = open().unwrap();
        send_from_stranger(crate::dump::test_util::port_of(&fd), MAX_READS + 10);
        let first = read_all(fd.as_raw_fd()).unwrap();
        assert!(first.more && !first.changed, "{first:?}");
        let second = read_all(fd.as_raw_fd()).unwrap();
        assert!(!second.more, "{second:?}");
    }
}
