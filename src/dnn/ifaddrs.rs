//! The node's interface addresses, for its address reports.
//!
//! Each up interface's IPv4 and IPv6 addresses, with the prefix length of the subnet (so a DNN
//! can tell a visitor on the same LAN) and whether the link is a VPN. The addresses come from
//! the same bounded netlink dump libp2p's address watcher uses (`if_watch::addresses`: no
//! getifaddrs, whose link messages qemu-mips fails to translate); each interface's name and
//! whether it is up are asked by index (`if_indextoname`, `SIOCGIFFLAGS`), once per interface.
//! VPN links are named by their drivers: `tun*`, `tap*`, `wg*`, `tailscale*`, `zt*`
//! (ZeroTier), `nordlynx`, `ipsec*`. A router's `pppoe-wan` is not a VPN: it carries the
//! public address.

use std::collections::BTreeMap;
use std::ffi::CStr;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// One interface address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IfAddr {
    /// The interface name.
    pub name: String,
    /// The address.
    pub ip: IpAddr,
    /// The subnet prefix length.
    pub prefix: u8,
    /// On a VPN link.
    pub vpn: bool,
}

/// Whether an interface name is a VPN link's.
pub fn is_vpn(name: &str) -> bool {
    [
        "tun",
        "tap",
        "wg",
        "tailscale",
        "zt",
        "nordlynx",
        "ipsec",
        "utun",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

/// The addresses of the interfaces that are up. Empty when the system will not say.
#[cfg(target_os = "linux")]
pub fn list() -> Vec<IfAddr> {
    let Ok(addrs) = if_watch::addresses() else {
        return Vec::new();
    };
    let Some(sock) = ioctl_socket() else {
        return Vec::new();
    };
    // Each interface is asked once; the dump holds at most if_watch::rtaddr::MAX_ADDRS.
    let mut links: BTreeMap<u32, Option<String>> = BTreeMap::new();
    let mut out = Vec::new();
    for a in addrs {
        let name = links
            .entry(a.index)
            .or_insert_with(|| up_link_name(&sock, a.index));
        let Some(name) = name else { continue };
        out.push(IfAddr {
            name: name.clone(),
            ip: a.net.addr(),
            prefix: a.net.prefix_len(),
            vpn: is_vpn(name),
        });
    }
    out
}

/// Not Linux: no address reports from interfaces.
#[cfg(not(target_os = "linux"))]
pub fn list() -> Vec<IfAddr> {
    Vec::new()
}

/// A datagram socket to ask interface ioctls on.
#[cfg(target_os = "linux")]
fn ioctl_socket() -> Option<OwnedFd> {
    for family in [libc::AF_INET, libc::AF_INET6] {
        // SAFETY: plain socket(2) call; the result is checked before use.
        let fd = unsafe { libc::socket(family, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd >= 0 {
            // SAFETY: `fd` is a new descriptor that nothing else owns.
            return Some(unsafe { OwnedFd::from_raw_fd(fd) });
        }
    }
    None
}

/// The name of interface `index` when it is up; None when it is down or gone.
#[cfg(target_os = "linux")]
fn up_link_name(sock: &OwnedFd, index: u32) -> Option<String> {
    let mut name = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: `name` holds IF_NAMESIZE bytes, as if_indextoname requires.
    if unsafe { libc::if_indextoname(index, name.as_mut_ptr()) }.is_null() {
        return None;
    }
    // SAFETY: ifreq is plain data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    // Both arrays are IF_NAMESIZE (= IFNAMSIZ) long and the name ends with its NUL.
    req.ifr_name = name;
    // SAFETY: SIOCGIFFLAGS reads the name and writes the flags into `req`, a valid ifreq.
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS as _, &mut req) } != 0 {
        return None;
    }
    // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    if i32::from(flags) & libc::IFF_UP == 0 {
        return None;
    }
    // SAFETY: if_indextoname wrote a NUL-terminated name into `name`.
    let name = unsafe { CStr::from_ptr(name.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::net::Ipv4Addr;

    #[test]
    fn loopback_is_listed_with_its_prefix() {
        let l = list();
        let lo = l
            .iter()
            .find(|a| a.ip == IpAddr::V4(Ipv4Addr::LOCALHOST))
            .expect("127.0.0.1 is up");
        assert_eq!(lo.prefix, 8);
        assert_eq!(lo.name, "lo");
        assert!(!lo.vpn);
    }

    #[test]
    fn a_gone_interface_has_no_name() {
        let sock = ioctl_socket().unwrap();
        assert_eq!(up_link_name(&sock, u32::MAX), None);
        assert_eq!(up_link_name(&sock, 0), None);
    }

    #[test]
    fn vpn_names() {
        for v in ["tun0", "wg0", "tailscale0", "zt5u4y", "tap1", "nordlynx"] {
            assert!(is_vpn(v), "{v}");
        }
        for n in ["eth0", "br-lan", "pppoe-wan", "wlan0", "lo", "enp3s0"] {
            assert!(!is_vpn(n), "{n}");
        }
    }
}
