//! The node's interface addresses (`getifaddrs`), for its address reports.
//!
//! Each up interface's IPv4 and IPv6 addresses, with the prefix length of the subnet (so a DNN
//! can tell a visitor on the same LAN) and whether the link is a VPN. VPN links are named by
//! their drivers: `tun*`, `tap*`, `wg*`, `tailscale*`, `zt*` (ZeroTier), `nordlynx`,
//! `ipsec*`. A router's `pppoe-wan` is not a VPN: it carries the public address.

use std::ffi::CStr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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

fn prefix_of(mask: &[u8]) -> u8 {
    mask.iter().map(|b| b.count_ones() as u8).sum()
}

/// The addresses of the interfaces that are up. Empty when the system will not say.
pub fn list() -> Vec<IfAddr> {
    let mut out = Vec::new();
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `head` with a list we free below with freeifaddrs.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return out;
    }
    let mut p = head;
    while !p.is_null() {
        // SAFETY: p is a node of the list getifaddrs returned, valid until freeifaddrs.
        let ifa = unsafe { &*p };
        p = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_flags & (libc::IFF_UP as u32) == 0 {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let name = unsafe { CStr::from_ptr(ifa.ifa_name) }
            .to_string_lossy()
            .into_owned();
        // SAFETY: ifa_addr is non-null; its family says which sockaddr it is, and the
        // netmask (when present) has the same family.
        let (ip, prefix) = unsafe {
            match i32::from((*ifa.ifa_addr).sa_family) {
                libc::AF_INET => {
                    let a = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                    let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
                    let prefix = if ifa.ifa_netmask.is_null() {
                        0
                    } else {
                        let m = &*(ifa.ifa_netmask as *const libc::sockaddr_in);
                        prefix_of(&m.sin_addr.s_addr.to_ne_bytes())
                    };
                    (IpAddr::V4(ip), prefix)
                }
                libc::AF_INET6 => {
                    let a = &*(ifa.ifa_addr as *const libc::sockaddr_in6);
                    let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
                    let prefix = if ifa.ifa_netmask.is_null() {
                        0
                    } else {
                        let m = &*(ifa.ifa_netmask as *const libc::sockaddr_in6);
                        prefix_of(&m.sin6_addr.s6_addr)
                    };
                    (IpAddr::V6(ip), prefix)
                }
                _ => continue,
            }
        };
        let vpn = is_vpn(&name);
        out.push(IfAddr {
            name,
            ip,
            prefix,
            vpn,
        });
    }
    // SAFETY: head came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_listed_with_its_prefix() {
        let l = list();
        let lo = l
            .iter()
            .find(|a| a.ip == IpAddr::V4(Ipv4Addr::LOCALHOST))
            .expect("127.0.0.1 is up");
        assert_eq!(lo.prefix, 8);
        assert!(!lo.vpn);
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
