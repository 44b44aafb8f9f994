//! The host's addresses right now, as a set: on Linux from our own netlink dump (dump.rs,
//! bounded by rtaddr.rs), elsewhere from libc's `getifaddrs`.

use ipnet::IpNet;
use std::collections::BTreeSet;
use std::io;

/// Every IPv4 and IPv6 address of every interface, with its prefix length.
#[cfg(target_os = "linux")]
pub(crate) fn addresses() -> io::Result<BTreeSet<IpNet>> {
    Ok(crate::dump::addresses()?
        .into_iter()
        .map(|a| a.net)
        .collect())
}

/// Every IPv4 and IPv6 address of every interface, with its prefix length (at most
/// `rtaddr::MAX_ADDRS`, as on Linux).
#[cfg(not(target_os = "linux"))]
pub(crate) fn addresses() -> io::Result<BTreeSet<IpNet>> {
    use crate::rtaddr::MAX_ADDRS;
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs writes a list head we free below with freeifaddrs.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let mut out = BTreeSet::new();
    let mut cur = head;
    while !cur.is_null() && out.len() < MAX_ADDRS {
        // SAFETY: `cur` is a node of the list getifaddrs returned, not yet freed.
        let ifa = unsafe { &*cur };
        // SAFETY: the two pointers are null or point to sockaddrs of the family they name.
        if let Some(net) = unsafe { net_of(ifa.ifa_addr, ifa.ifa_netmask) } {
            out.insert(net);
        }
        cur = ifa.ifa_next;
    }
    // SAFETY: `head` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(head) };
    Ok(out)
}

/// The address and prefix of one list entry; None for other families (AF_PACKET) or none.
///
/// # Safety
/// `addr` and `mask` are null or point to a sockaddr whose `sa_family` says its real type.
#[cfg(not(target_os = "linux"))]
unsafe fn net_of(addr: *const libc::sockaddr, mask: *const libc::sockaddr) -> Option<IpNet> {
    if addr.is_null() {
        return None;
    }
    // SAFETY: non-null, and every sockaddr starts with its family.
    let family = i32::from(unsafe { (*addr).sa_family });
    let mask_family = if mask.is_null() {
        None
    } else {
        // SAFETY: as above.
        Some(i32::from(unsafe { (*mask).sa_family }))
    };
    use ipnet::{Ipv4Net, Ipv6Net};
    use std::net::{Ipv4Addr, Ipv6Addr};
    match family {
        libc::AF_INET => {
            // SAFETY: the family says this is a sockaddr_in.
            let a = unsafe { &*(addr as *const libc::sockaddr_in) };
            let ip = Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            let prefix = match mask_family {
                Some(f) if f == family => {
                    // SAFETY: as above (the mask's own family says it is a sockaddr_in).
                    let m = unsafe { &*(mask as *const libc::sockaddr_in) };
                    u32::from_be(m.sin_addr.s_addr).count_ones() as u8
                }
                _ => 32,
            };
            Ipv4Net::new(ip, prefix).ok().map(IpNet::V4)
        }
        libc::AF_INET6 => {
            // SAFETY: the family says this is a sockaddr_in6.
            let a = unsafe { &*(addr as *const libc::sockaddr_in6) };
            let ip = Ipv6Addr::from(a.sin6_addr.s6_addr);
            let prefix = match mask_family {
                Some(f) if f == family => {
                    // SAFETY: as above.
                    let m = unsafe { &*(mask as *const libc::sockaddr_in6) };
                    u128::from_be_bytes(m.sin6_addr.s6_addr).count_ones() as u8
                }
                _ => 128,
            };
            Ipv6Net::new(ip, prefix).ok().map(IpNet::V6)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_listed_with_its_prefix() {
        let all = addresses().unwrap();
        let lo: IpNet = "127.0.0.1/8".parse().unwrap();
        assert!(all.contains(&lo), "{all:?}");
    }
}
