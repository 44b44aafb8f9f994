//! The local IP addresses of this host and their changes, for libp2p-tcp (the addresses a
//! listener on 0.0.0.0 or :: reports) and libp2p-mdns (one responder per address), and the
//! node's own address reports (`addresses`, with each address's interface index).
//!
//! This crate takes the place of crates.io's `if-watch` 3.2 through `[patch.crates-io]`: the
//! same name, version and the part of its API that libp2p uses (`tokio::IfWatcher`, `IfEvent`,
//! `IpNet`). Upstream reads and parses the kernel's address messages with rtnetlink and
//! netlink-packet-route, about 0.3 MiB of binary. Here, on Linux, one bounded `RTM_GETADDR`
//! dump of our own lists the addresses (rtaddr.rs parses it, dump.rs does the I/O; no link
//! messages, which libc's getifaddrs asks for and qemu-mips fails to translate), and a
//! netlink socket subscribed to address changes is only a doorbell: when the kernel says
//! something changed, the list is read again and compared with the last one. Elsewhere
//! libc's getifaddrs lists them once.
#![forbid(unsafe_op_in_unsafe_fn)]

pub use ipnet::{IpNet, Ipv4Net, Ipv6Net};

// The doorbell and the set of addresses serve the watcher only.
#[cfg(all(target_os = "linux", feature = "tokio"))]
mod doorbell;
#[cfg(target_os = "linux")]
mod dump;
pub mod rtaddr;
#[cfg(feature = "tokio")]
mod scan;
#[cfg(feature = "tokio")]
mod watcher;

#[cfg(target_os = "linux")]
pub use dump::addresses;
pub use rtaddr::Addr;

/// A change of the host's addresses.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub enum IfEvent {
    /// An address was added (or was there when the watcher started).
    Up(IpNet),
    /// An address was removed.
    Down(IpNet),
}

/// The watcher for the tokio runtime, under the path libp2p uses.
#[cfg(feature = "tokio")]
pub mod tokio {
    pub use crate::watcher::IfWatcher;
}
