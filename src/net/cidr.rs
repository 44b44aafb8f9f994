//! Swarm address filters, as `ipfs swarm filters` has them: a [`Cidr`] per network the node
//! must not dial or accept, and [`Filters`], the node's small ordered set of them.
//!
//! A filter is written as a multiaddr, `/ip4/10.0.0.0/ipcidr/8` or `/ip6/fc00::/ipcidr/7`
//! (kubo's `Swarm.AddrFilters`), or in the plain forms `10.0.0.0/8` and `fc00::/7`; it always
//! prints as the multiaddr. A filter whose address has bits set below the prefix
//! (`10.1.0.0/8`) is refused with the network it probably meant, rather than masked silently
//! as Go's `net.ParseCIDR` does: a typo in a deny list should be seen, not guessed at.
//!
//! Matching ([`Cidr::contains`]) treats an IPv4-mapped IPv6 address (`::ffff:10.1.2.3`) as the
//! IPv4 address it carries, so a dual-stack socket cannot slip past an IPv4 filter; an IPv6
//! filter sees an IPv4 address as its mapped form, so `/ip6/::ffff:0:0/ipcidr/96` covers all
//! of IPv4. Sans-io: parsing and matching only, no sockets.
//!
//! [`is_lan`] is the address class kubo's LAN DHT admits (`lan_dht.rs`).

use core::fmt;
use core::str::FromStr;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Most filters a [`Filters`] set holds; each dial and accept walks them all.
pub const MAX_FILTERS: usize = 256;
/// Longest filter text [`Cidr::from_str`] reads (the longest valid one is under 60).
pub const MAX_TEXT_LEN: usize = 128;

/// Why a filter cannot be parsed, added or removed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CidrError {
    /// The text is empty or longer than [`MAX_TEXT_LEN`].
    BadLength {
        /// The length given, in bytes.
        len: usize,
    },
    /// Neither `/ip4/ADDR/ipcidr/N`, `/ip6/ADDR/ipcidr/N`, `ADDR/N`.
    UnknownForm {
        /// The input, quoted for display.
        input: String,
    },
    /// The address part is not an IP address of the family the text names.
    BadAddress {
        /// The address part, quoted for display.
        input: String,
    },
    /// The prefix length is not a decimal number, or is above 32 (IPv4) or 128 (IPv6).
    BadPrefix {
        /// The prefix part, quoted for display.
        input: String,
        /// The largest prefix of the address family.
        max: u8,
    },
    /// The address has bits set below the prefix: it names a host, not a network.
    HostBitsSet {
        /// The filter as given, in multiaddr form.
        given: String,
        /// The network the prefix selects, in multiaddr form.
        network: String,
    },
    /// [`Filters::remove`] of a filter that is not in the set.
    NotFound {
        /// The filter, in multiaddr form.
        filter: String,
    },
    /// [`Filters::add`] to a set that holds [`MAX_FILTERS`] already.
    Full,
}

impl fmt::Display for CidrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadLength { len } => write!(
                f,
                "a filter is 1 to {MAX_TEXT_LEN} characters, this one is {len}; write it like \
                 /ip4/10.0.0.0/ipcidr/8 or 10.0.0.0/8"
            ),
            Self::UnknownForm { input } => write!(
                f,
                "{input} is not an address filter; write /ip4/10.0.0.0/ipcidr/8, \
                 /ip6/fc00::/ipcidr/7, 10.0.0.0/8 or fc00::/7"
            ),
            Self::BadAddress { input } => write!(
                f,
                "{input} is not an IP address of the family the filter names (dotted IPv4 after \
                 /ip4/, IPv6 after /ip6/)"
            ),
            Self::BadPrefix { input, max } => write!(
                f,
                "the prefix length {input} is not a number from 0 to {max}; it counts the \
                 leading bits of the address that the filter fixes"
            ),
            Self::HostBitsSet { given, network } => write!(
                f,
                "{given} has address bits set below its prefix, so it names a host, not a \
                 network; did you mean {network}?"
            ),
            Self::NotFound { filter } => write!(
                f,
                "{filter} is not among the filters; list them with `swarm filters` and remove \
                 one exactly as it is printed"
            ),
            Self::Full => write!(
                f,
                "the node already has {MAX_FILTERS} address filters, the limit; remove some or \
                 merge neighbouring networks into a shorter prefix"
            ),
        }
    }
}

impl std::error::Error for CidrError {}

/// An IP network: an address whose bits below `prefix` are zero, and the prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// The family's bits as a `u128`, left-aligned for IPv4 so masks work the same for both.
fn bits(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)) << 96, 32),
        IpAddr::V6(v6) => (u128::from(v6), 128),
    }
}

fn mask(prefix: u8) -> u128 {
    // `checked_shl` is None for a shift of 128 (prefix 0): nothing is fixed.
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

fn from_bits(v: u128, v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4(Ipv4Addr::from((v >> 96) as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(v))
    }
}

fn display(addr: IpAddr, prefix: u8) -> String {
    let family = if addr.is_ipv4() { "ip4" } else { "ip6" };
    format!("/{family}/{addr}/ipcidr/{prefix}")
}

impl Cidr {
    /// The network `addr/prefix`. Refuses a prefix beyond the family's width and an address
    /// with bits set below the prefix (the error names the network meant).
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Cidr, CidrError> {
        let (v, width) = bits(addr);
        if prefix > width {
            return Err(CidrError::BadPrefix {
                input: prefix.to_string(),
                max: width,
            });
        }
        let masked = v & mask(prefix);
        if masked != v {
            return Err(CidrError::HostBitsSet {
                given: display(addr, prefix),
                network: display(from_bits(masked, addr.is_ipv4()), prefix),
            });
        }
        Ok(Cidr {
            network: addr,
            prefix,
        })
    }

    /// The network address (host bits zero).
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// How many leading bits the filter fixes.
    pub fn prefix_len(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is in this network. An IPv4-mapped IPv6 address counts as its IPv4
    /// address for an IPv4 filter; an IPv4 address counts as its mapped form for an IPv6 one.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.network, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            (IpAddr::V6(_), IpAddr::V4(v4)) => IpAddr::V6(v4.to_ipv6_mapped()),
            _ => ip,
        };
        let m = mask(self.prefix);
        (bits(ip).0 & m) == bits(self.network).0
    }
}

fn quote(s: &str) -> String {
    format!("{s:?}")
}

fn parse_prefix(s: &str, max: u8) -> Result<u8, CidrError> {
    let bad = || CidrError::BadPrefix {
        input: quote(s),
        max,
    };
    if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match s.parse::<u8>() {
        Ok(p) if p <= max => Ok(p),
        _ => Err(bad()),
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    /// Reads `/ip4/ADDR/ipcidr/N`, `/ip6/ADDR/ipcidr/N`, `ADDR/N` (IPv4 or IPv6).
    fn from_str(s: &str) -> Result<Cidr, CidrError> {
        if s.is_empty() || s.len() > MAX_TEXT_LEN {
            return Err(CidrError::BadLength { len: s.len() });
        }
        let unknown = || CidrError::UnknownForm { input: quote(s) };
        let (family, addr, prefix) = if let Some(rest) = s.strip_prefix('/') {
            let mut parts = rest.split('/');
            let (Some(family), Some(addr), Some("ipcidr"), Some(prefix), None) = (
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
            ) else {
                return Err(unknown());
            };
            let family = match family {
                "ip4" => Some(true),
                "ip6" => Some(false),
                _ => return Err(unknown()),
            };
            (family, addr, prefix)
        } else {
            let (addr, prefix) = s.split_once('/').ok_or_else(unknown)?;
            (None, addr, prefix)
        };
        let addr: IpAddr = match family {
            Some(true) => addr.parse::<Ipv4Addr>().map(IpAddr::V4),
            Some(false) => addr.parse::<Ipv6Addr>().map(IpAddr::V6),
            None => addr.parse::<IpAddr>(),
        }
        .map_err(|_| CidrError::BadAddress { input: quote(addr) })?;
        let prefix = parse_prefix(prefix, bits(addr).1)?;
        Cidr::new(addr, prefix)
    }
}

impl fmt::Display for Cidr {
    /// The multiaddr form, `/ip4/10.0.0.0/ipcidr/8`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&display(self.network, self.prefix))
    }
}

/// The node's deny list: at most [`MAX_FILTERS`] distinct filters, in the order added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    list: Vec<Cidr>,
}

impl Filters {
    /// An empty set.
    pub fn new() -> Filters {
        Filters::default()
    }

    /// Adds `cidr` at the end. Returns false, changing nothing, if it is already there.
    pub fn add(&mut self, cidr: Cidr) -> Result<bool, CidrError> {
        if self.list.contains(&cidr) {
            return Ok(false);
        }
        if self.list.len() >= MAX_FILTERS {
            return Err(CidrError::Full);
        }
        self.list.push(cidr);
        Ok(true)
    }

    /// Removes `cidr`; an error if it is not in the set.
    pub fn remove(&mut self, cidr: &Cidr) -> Result<(), CidrError> {
        let pos = self
            .list
            .iter()
            .position(|c| c == cidr)
            .ok_or_else(|| CidrError::NotFound {
                filter: cidr.to_string(),
            })?;
        self.list.remove(pos);
        Ok(())
    }

    /// Whether some filter covers `ip`: the node must neither dial nor accept it.
    pub fn denies(&self, ip: IpAddr) -> bool {
        self.list.iter().any(|c| c.contains(ip))
    }

    /// The filters, in the order added.
    pub fn list(&self) -> &[Cidr] {
        &self.list
    }

    /// How many filters there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// Whether `ip` is on a LAN as kubo's LAN DHT reads it (go-libp2p-kad-dht `isPrivateAddr`
/// over go-multiaddr's `Private4`): IPv4 in 127/8 (loopback), 10/8, 100.64/10 (carrier-grade
/// NAT), 172.16/12, 192.168/16 or 169.254/16 (link-local); IPv6 outside the global unicast
/// `2000::/3` and not multicast `ff00::/8` (so `::1`, `fc00::/7`, `fe80::/10`). An
/// IPv4-mapped IPv6 address is read as its IPv4 address.
pub fn is_lan(ip: IpAddr) -> bool {
    let v4 = match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    };
    match (v4, ip) {
        (Some(v4), _) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        (None, IpAddr::V6(v6)) => (v6.segments()[0] & 0xe000) != 0x2000 && !v6.is_multicast(),
        (None, IpAddr::V4(_)) => false,
    }
}

#[cfg(test)]
#[path = "cidr_tests.rs"]
mod tests;
