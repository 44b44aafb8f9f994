//! Which provider addresses a visitor may be offered, and in what order (sans-io).
//!
//! Leither's users saw DNN pages hand a public visitor private, CGNAT and VPN addresses: the
//! browser then waited on each until it timed out, and raced so many that it ran out of
//! connections. Here every address a provider reports gets a [`Scope`], and [`offers`] keeps
//! only what the visitor can reach:
//!
//! - **Global** addresses (public IPv4, IPv6 in 2000::/3 outside the special blocks, and host
//!   names from `FixedAddr` URLs) are offered to everyone.
//! - **Private** (RFC 1918), **CGNAT** (100.64/10) and **unique-local** IPv6 (fc00::/7)
//!   addresses are offered only to a visitor on the provider's network: the visitor's address
//!   lies in the address's subnet (the prefix the provider reported for its interface), or
//!   the visitor reached the DNN from the same address the provider's report came from (both
//!   behind one NAT), or both are on the DNN's own host. They come first (group 0): a LAN
//!   visitor gets the LAN address first.
//! - **VPN** addresses (the provider marks those of `tun`, `wg`, `tailscale`, `zt`... links)
//!   only to a visitor inside that VPN subnet.
//! - **Loopback** only when the visitor and the provider are both on the DNN's host.
//! - **Link-local** never (a browser cannot use them without a zone), nor multicast,
//!   unspecified, documentation, benchmarking, 6to4/Teredo/NAT64 or reserved addresses.
//!
//! A page the DNN served over HTTPS can only fetch from HTTPS providers (browsers block mixed
//! content), so then plain-HTTP addresses are left out and the caller says why in the page.
//! Order: group 0 (same network), group 1 (global, same IP family as the visitor), group 2
//! (global, the other family); a provider that is behind the newest reported version adds 3.
//! The page shuffles within a group, so equals share the load. A provider behind a NAT that
//! keeps an HTTP tunnel open on the DNN is offered last but one ([`tunnel_candidate`], group
//! 8), before the DNN itself (group 9).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What kind of address an IP is, for reachability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// 127/8, ::1.
    Loopback,
    /// 169.254/16, fe80::/10.
    LinkLocal,
    /// 10/8, 172.16/12, 192.168/16.
    Private,
    /// 100.64/10 (carrier-grade NAT; also Tailscale's range).
    Cgnat,
    /// fc00::/7.
    UniqueLocal,
    /// Routable on the Internet.
    Global,
    /// Never worth offering: unspecified, multicast, broadcast, documentation, benchmarking,
    /// reserved, 6to4, Teredo, NAT64.
    Unusable,
}

/// The IPv4 address inside an IPv4-mapped IPv6 address, else the address itself.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

fn scope_v4(a: Ipv4Addr) -> Scope {
    let o = a.octets();
    match o {
        [127, ..] => Scope::Loopback,
        [169, 254, ..] => Scope::LinkLocal,
        [10, ..] | [192, 168, ..] => Scope::Private,
        [172, b, ..] if (16..32).contains(&b) => Scope::Private,
        [100, b, ..] if (64..128).contains(&b) => Scope::Cgnat,
        [0, ..] | [192, 0, 0, _] | [192, 0, 2, _] | [198, 51, 100, _] | [203, 0, 113, _] => {
            Scope::Unusable
        }
        [198, b, ..] if b == 18 || b == 19 => Scope::Unusable,
        [a0, ..] if a0 >= 224 => Scope::Unusable,
        _ => Scope::Global,
    }
}

fn scope_v6(a: Ipv6Addr) -> Scope {
    if let Some(v4) = a.to_ipv4_mapped() {
        return scope_v4(v4);
    }
    let s = a.segments();
    if a == Ipv6Addr::LOCALHOST {
        Scope::Loopback
    } else if s[0] & 0xffc0 == 0xfe80 {
        Scope::LinkLocal
    } else if s[0] & 0xfe00 == 0xfc00 {
        Scope::UniqueLocal
    } else if s[0] & 0xe000 != 0x2000
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        || (s[0] == 0x2001 && s[1] == 0)
        || s[0] == 0x2002
    {
        // Outside 2000::/3, documentation, Teredo, 6to4.
        Scope::Unusable
    } else {
        Scope::Global
    }
}

/// The scope of `ip`.
pub fn scope(ip: IpAddr) -> Scope {
    match canonical(ip) {
        IpAddr::V4(a) => scope_v4(a),
        IpAddr::V6(a) => scope_v6(a),
    }
}

/// Whether `ip` lies in `net`/`prefix` (same family; prefix 0 never matches: unknown).
pub fn in_subnet(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    let bits = |ip: IpAddr| match canonical(ip) {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, 32u8),
        IpAddr::V6(v6) => (u128::from(v6), 128u8),
    };
    let ((a, fa), (b, fb)) = (bits(ip), bits(net));
    if fa != fb || prefix == 0 || prefix > fa {
        return false;
    }
    let mask = u128::MAX << (128 - u32::from(prefix));
    a & mask == b & mask
}

/// Where a provider can be reached over HTTP(S).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    /// An IP address.
    Ip(IpAddr),
    /// A DNS name (from a `FixedAddr` URL).
    Name(String),
}

/// One address a provider reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    /// `https` rather than `http`.
    pub https: bool,
    /// The host.
    pub host: Host,
    /// The port.
    pub port: u16,
    /// The prefix length of the interface's subnet (0: unknown).
    pub prefix: u8,
    /// On a VPN link.
    pub vpn: bool,
}

impl Offer {
    /// The base URL (`http://192.0.2.7:4800`, `https://[2001:db8::1]:443`).
    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        match &self.host {
            Host::Ip(IpAddr::V6(a)) => format!("{scheme}://[{a}]:{}", self.port),
            Host::Ip(a) => format!("{scheme}://{a}:{}", self.port),
            Host::Name(n) => format!("{scheme}://{n}:{}", self.port),
        }
    }
}

/// A provider as the DNN knows it from its last report.
#[derive(Clone, Debug)]
pub struct Provider<'a> {
    /// Its addresses.
    pub offers: &'a [Offer],
    /// The address its report came from.
    pub seen_from: IpAddr,
    /// The version it holds (0: unknown).
    pub version: u64,
}

/// One candidate for the page: a base URL and its group (lower first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Base URL without a trailing slash; `""` is the DNN itself.
    pub url: String,
    /// Lower is better; the page shuffles within a group.
    pub group: u8,
}

/// The group of `offer` for `visitor` (`None`: not offered). `secure`: the page is HTTPS.
pub fn group_for(offer: &Offer, p: &Provider<'_>, visitor: IpAddr, secure: bool) -> Option<u8> {
    if secure && !offer.https {
        return None;
    }
    let visitor = canonical(visitor);
    let seen = canonical(p.seen_from);
    let same_host = scope(visitor) == Scope::Loopback && scope(seen) == Scope::Loopback;
    let ip = match &offer.host {
        Host::Name(_) => return Some(1),
        Host::Ip(ip) => canonical(*ip),
    };
    // A public visitor is never "in" a private subnet, whatever prefix a report claims.
    let in_net = scope(visitor) != Scope::Global && in_subnet(visitor, ip, offer.prefix);
    if offer.vpn {
        return in_net.then_some(0);
    }
    match scope(ip) {
        Scope::Global => Some(if ip.is_ipv4() == visitor.is_ipv4() {
            1
        } else {
            2
        }),
        Scope::Loopback => same_host.then_some(0),
        Scope::Private | Scope::Cgnat | Scope::UniqueLocal => {
            let same_nat = visitor == seen && scope(visitor) == Scope::Global;
            (in_net || same_nat || same_host).then_some(0)
        }
        Scope::LinkLocal | Scope::Unusable => None,
    }
}

/// The group of a tunnel candidate: after every direct address (groups 0 to 5), before the
/// DNN itself (9).
pub const TUNNEL_GROUP: u8 = 8;

/// A provider behind a NAT reached through an HTTP tunnel on the DNN itself: `/tun/<PeerId>`
/// on the page's own origin, so it works for every visitor, over HTTP or HTTPS alike.
pub fn tunnel_candidate(peer: &str) -> Candidate {
    Candidate {
        url: format!("/tun/{peer}"),
        group: TUNNEL_GROUP,
    }
}

/// The candidates for `visitor` from `providers`, best group first, without duplicates, at
/// most `max`. See the module doc for the rules.
pub fn offers(
    providers: &[Provider<'_>],
    visitor: IpAddr,
    secure: bool,
    max: usize,
) -> Vec<Candidate> {
    let newest = providers.iter().map(|p| p.version).max().unwrap_or(0);
    let mut out: Vec<Candidate> = Vec::new();
    for p in providers {
        let behind = if p.version < newest { 3 } else { 0 };
        for o in p.offers {
            if let Some(g) = group_for(o, p, visitor, secure) {
                let url = o.url();
                let group = g + behind;
                match out.iter_mut().find(|c| c.url == url) {
                    Some(c) => c.group = c.group.min(group),
                    None => out.push(Candidate { url, group }),
                }
            }
        }
    }
    out.sort_by_key(|c| c.group);
    out.truncate(max);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn offer(s: &str, prefix: u8) -> Offer {
        Offer {
            https: false,
            host: Host::Ip(ip(s)),
            port: 4800,
            prefix,
            vpn: false,
        }
    }

    #[test]
    fn scopes() {
        for (a, s) in [
            ("127.0.0.1", Scope::Loopback),
            ("::1", Scope::Loopback),
            ("10.1.2.3", Scope::Private),
            ("172.16.0.1", Scope::Private),
            ("172.31.255.1", Scope::Private),
            ("172.32.0.1", Scope::Global),
            ("192.168.1.5", Scope::Private),
            ("100.64.0.1", Scope::Cgnat),
            ("100.127.255.1", Scope::Cgnat),
            ("100.128.0.1", Scope::Global),
            ("169.254.3.4", Scope::LinkLocal),
            ("fe80::1", Scope::LinkLocal),
            ("fd7a:115c:a1e0::1", Scope::UniqueLocal),
            ("2606:4700::1111", Scope::Global),
            ("2001:db8::1", Scope::Unusable),
            ("2002::1", Scope::Unusable),
            ("2001:0::1", Scope::Unusable),
            ("ff02::1", Scope::Unusable),
            ("0.0.0.0", Scope::Unusable),
            ("224.0.0.1", Scope::Unusable),
            ("255.255.255.255", Scope::Unusable),
            ("192.0.2.1", Scope::Unusable),
            ("198.18.0.1", Scope::Unusable),
            ("8.8.8.8", Scope::Global),
            ("::ffff:10.0.0.1", Scope::Private),
            ("::ffff:8.8.4.4", Scope::Global),
        ] {
            assert_eq!(scope(ip(a)), s, "{a}");
        }
    }

    #[test]
    fn subnets() {
        assert!(in_subnet(ip("192.168.1.77"), ip("192.168.1.5"), 24));
        assert!(!in_subnet(ip("192.168.2.77"), ip("192.168.1.5"), 24));
        assert!(!in_subnet(ip("192.168.1.77"), ip("192.168.1.5"), 0));
        assert!(!in_subnet(ip("192.168.1.77"), ip("fd00::1"), 8));
        assert!(in_subnet(ip("fd00::9"), ip("fd00::1"), 64));
        assert!(in_subnet(ip("::ffff:192.168.1.9"), ip("192.168.1.5"), 24));
        assert!(!in_subnet(ip("10.0.0.1"), ip("10.0.0.1"), 40));
    }

    /// Every private, CGNAT, ULA, link-local, loopback and VPN address a home node may have.
    fn home_node() -> Vec<Offer> {
        let mut v = vec![
            offer("192.168.1.5", 24),
            offer("10.8.0.2", 24),
            offer("172.20.0.1", 16),
            offer("100.71.3.4", 10),
            offer("127.0.0.1", 8),
            offer("::1", 128),
            offer("169.254.9.9", 16),
            offer("fe80::1234", 64),
            offer("fd00:1::5", 64),
            offer("81.2.69.160", 0),
            offer("2a02:c7f:1::5", 64),
        ];
        v.push(Offer {
            vpn: true,
            ..offer("100.100.1.1", 10)
        });
        v.push(Offer {
            vpn: true,
            ..offer("10.200.0.7", 24)
        });
        v
    }

    #[test]
    fn a_public_visitor_gets_only_global_addresses() {
        let offers_a = home_node();
        let p = Provider {
            offers: &offers_a,
            seen_from: ip("81.2.69.160"),
            version: 3,
        };
        for visitor in ["203.0.114.9", "8.8.8.8", "2a00:1450::1", "81.2.69.161"] {
            let c = offers(std::slice::from_ref(&p), ip(visitor), false, 16);
            let urls: Vec<&str> = c.iter().map(|c| c.url.as_str()).collect();
            assert_eq!(urls.len(), 2, "{visitor}: {urls:?}");
            for u in &urls {
                assert!(
                    u.contains("81.2.69.160") || u.contains("2a02:c7f:1::5"),
                    "{visitor}: {u}"
                );
            }
            // The visitor's own family first.
            assert_eq!(
                c[0].url.contains('['),
                ip(visitor).is_ipv6(),
                "{visitor}: {urls:?}"
            );
        }
    }

    #[test]
    fn a_lan_visitor_gets_the_lan_address_first() {
        let offers_a = home_node();
        let p = Provider {
            offers: &offers_a,
            seen_from: ip("81.2.69.160"),
            version: 3,
        };
        // In the subnet.
        let c = offers(std::slice::from_ref(&p), ip("192.168.1.40"), false, 16);
        assert_eq!(c[0].url, "http://192.168.1.5:4800");
        assert_eq!(c[0].group, 0);
        assert!(
            c.iter()
                .all(|c| !c.url.contains("100.") && !c.url.contains("169.254"))
        );
        // Behind the same NAT (the DNN sees both from one public address).
        let c = offers(std::slice::from_ref(&p), ip("81.2.69.160"), false, 16);
        let lan: Vec<&str> = c
            .iter()
            .filter(|c| c.group == 0)
            .map(|c| c.url.as_str())
            .collect();
        assert!(lan.contains(&"http://192.168.1.5:4800"), "{c:?}");
        assert!(!lan.iter().any(|u| u.contains("127.0.0.1")), "{c:?}");
        assert!(
            c.iter()
                .all(|c| !c.url.contains("169.254") && !c.url.contains("fe80"))
        );
        // Inside the VPN: its address, first.
        let c = offers(std::slice::from_ref(&p), ip("10.200.0.9"), false, 16);
        assert_eq!(c[0].url, "http://10.200.0.7:4800");
    }

    #[test]
    fn loopback_only_on_the_same_host() {
        let o = vec![offer("127.0.0.1", 8)];
        let local = Provider {
            offers: &o,
            seen_from: ip("127.0.0.1"),
            version: 1,
        };
        let remote = Provider {
            seen_from: ip("81.2.69.160"),
            ..local.clone()
        };
        assert_eq!(
            offers(std::slice::from_ref(&local), ip("127.0.0.1"), false, 8).len(),
            1
        );
        assert!(offers(&[remote], ip("127.0.0.1"), false, 8).is_empty());
        assert!(offers(&[local], ip("8.8.8.8"), false, 8).is_empty());
    }

    #[test]
    fn https_pages_get_https_providers_only() {
        let o = vec![
            offer("81.2.69.160", 0),
            Offer {
                https: true,
                host: Host::Name("node.example.org".into()),
                port: 443,
                prefix: 0,
                vpn: false,
            },
        ];
        let p = Provider {
            offers: &o,
            seen_from: ip("81.2.69.160"),
            version: 1,
        };
        let c = offers(std::slice::from_ref(&p), ip("8.8.8.8"), true, 8);
        assert_eq!(
            c,
            vec![Candidate {
                url: "https://node.example.org:443".into(),
                group: 1
            }]
        );
        assert_eq!(offers(&[p], ip("8.8.8.8"), false, 8).len(), 2);
    }

    #[test]
    fn providers_behind_the_newest_version_come_later_and_duplicates_merge() {
        let a = vec![offer("81.2.69.160", 0)];
        let b = vec![offer("81.2.69.170", 0), offer("81.2.69.160", 0)];
        let ps = [
            Provider {
                offers: &b,
                seen_from: ip("81.2.69.170"),
                version: 2,
            },
            Provider {
                offers: &a,
                seen_from: ip("81.2.69.160"),
                version: 3,
            },
        ];
        let c = offers(&ps, ip("8.8.8.8"), false, 8);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].url, "http://81.2.69.160:4800");
        assert_eq!(c[0].group, 1);
        assert_eq!(c[1].group, 4);
    }

    /// A generated sweep: for random reports and random public visitors, no offered address
    /// is ever private, CGNAT, ULA, link-local, loopback, VPN or unusable.
    #[test]
    fn no_public_visitor_ever_gets_an_unreachable_address() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..2000 {
            let mut o = Vec::new();
            for _ in 0..(next() % 8 + 1) {
                let r = next();
                let ipa = if r % 3 == 0 {
                    IpAddr::V6(Ipv6Addr::from(u128::from(r) << 64 | u128::from(next())))
                } else {
                    IpAddr::V4(Ipv4Addr::from(r as u32))
                };
                o.push(Offer {
                    https: false,
                    host: Host::Ip(ipa),
                    port: 4800,
                    prefix: (next() % 33) as u8,
                    vpn: next() % 5 == 0,
                });
            }
            let seen = IpAddr::V4(Ipv4Addr::from(next() as u32));
            let visitor = loop {
                let v = IpAddr::V4(Ipv4Addr::from(next() as u32));
                if scope(v) == Scope::Global && v != seen {
                    break v;
                }
            };
            let p = Provider {
                offers: &o,
                seen_from: seen,
                version: 1,
            };
            for c in offers(std::slice::from_ref(&p), visitor, false, 64) {
                let off = o.iter().find(|x| x.url() == c.url).unwrap();
                let Host::Ip(a) = off.host else { panic!() };
                let ok = scope(a) == Scope::Global && !off.vpn;
                assert!(ok, "{visitor} was offered {} ({:?})", c.url, scope(a));
            }
        }
    }
}
