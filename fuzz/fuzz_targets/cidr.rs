//! Swarm address filters from untrusted text: the parser never panics; whatever parses prints
//! a multiaddr that parses to the same filter, contains its own network, and agrees with a
//! plain bit-by-bit reference on addresses taken from the input (IPv4, IPv6, IPv4-mapped).
//! A Filters set built from the same lines stays bounded and denies exactly what some filter
//! contains.
#![no_main]
use leither::net::cidr::{Cidr, Filters, MAX_FILTERS};
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The address as 128 bits (IPv4 in its mapped form) and whether it is IPv4 at heart.
fn bits(ip: IpAddr) -> (u128, bool) {
    match ip {
        IpAddr::V4(v4) => (u128::from(v4.to_ipv6_mapped()), true),
        IpAddr::V6(v6) => (u128::from(v6), v6.to_ipv4_mapped().is_some()),
    }
}

/// Bit by bit: does `ip` share the filter's first `prefix` bits?
fn reference(c: &Cidr, ip: IpAddr) -> bool {
    let (net, _) = bits(c.network());
    let (addr, addr_v4) = bits(ip);
    let (skip, len) = match c.network() {
        IpAddr::V4(_) => (96, u32::from(c.prefix_len())),
        IpAddr::V6(_) => (0, u32::from(c.prefix_len())),
    };
    if c.network().is_ipv4() && !addr_v4 {
        return false;
    }
    (skip..skip + len).all(|i| (net >> (127 - i)) & 1 == (addr >> (127 - i)) & 1)
}

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (text, rest) = data.split_at(split);
    let mut ips = Vec::new();
    if let Some(b) = rest.get(1..17) {
        let mut a = [0u8; 16];
        a.copy_from_slice(b);
        let v6 = Ipv6Addr::from(a);
        ips.push(IpAddr::V6(v6));
        ips.push(IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3])));
        ips.push(IpAddr::V6(
            Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_ipv6_mapped(),
        ));
    }
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let mut filters = Filters::new();
    let mut parsed = Vec::new();
    for line in text.split('\n') {
        let Ok(c) = line.parse::<Cidr>() else {
            continue;
        };
        let printed = c.to_string();
        assert_eq!(printed.parse::<Cidr>().ok(), Some(c));
        assert!(c.contains(c.network()));
        for &ip in &ips {
            assert_eq!(c.contains(ip), reference(&c, ip), "{c} {ip}");
        }
        let _ = filters.add(c);
        parsed.push(c);
    }
    assert!(filters.len() <= MAX_FILTERS);
    for &ip in &ips {
        assert_eq!(
            filters.denies(ip),
            filters.list().iter().any(|c| c.contains(ip))
        );
    }
    for c in &parsed {
        if filters.list().contains(c) {
            assert!(filters.remove(c).is_ok());
            assert!(filters.remove(c).is_err());
        }
    }
    assert!(filters.is_empty());
});
