//! The sans-io half of listing the host's addresses over netlink: the bytes of one
//! `RTM_GETADDR` dump request, and a parser for the kernel's answer that keeps each address
//! with its prefix and interface index.
//!
//! Only address messages are asked for and read: no `RTM_GETLINK` (musl's getifaddrs asks for
//! every link first, and qemu-mips on our CI host spins translating those answers). Netlink
//! speaks the host's byte order, so the parser takes it as a parameter and is tested on
//! captured answers of a little-endian (x86_64) and a big-endian (mips) host.
//!
//! Every length and alignment is checked against the datagram before a byte is read, and one
//! dump is bounded: at most [`MAX_BYTES`] bytes, [`MAX_MESSAGES`] messages, [`MAX_ADDRS`]
//! addresses kept. Bad input is an [`Error`], never a panic.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Bytes of one dump answer, all datagrams together (a host with 1,024 addresses answers in
/// about 90 KiB).
pub const MAX_BYTES: usize = 1 << 20;
/// Netlink messages in one dump answer (one per address, plus the closing one).
pub const MAX_MESSAGES: usize = 8192;
/// Addresses kept from one dump; a host with more (a router with thousands of tunnels) has
/// the rest ignored rather than a table that grows without bound.
pub const MAX_ADDRS: usize = 1024;

/// The netlink message header: length, type, flags, sequence number, port id.
const NLMSG_HDR: usize = 16;
/// `struct ifaddrmsg`: family, prefix length, flags, scope, interface index.
const IFADDRMSG: usize = 8;
/// The attribute header: length, type.
const RTA_HDR: usize = 4;

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const NLM_F_REQUEST: u16 = 0x1;
/// `NLM_F_ROOT | NLM_F_MATCH`.
const NLM_F_DUMP: u16 = 0x300;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
/// The attribute type without the `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER` bits.
const NLA_TYPE_MASK: u16 = 0x3fff;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// The byte order of the host whose kernel speaks (netlink uses the host's own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// x86, arm, mipsel, ...
    Little,
    /// mips, powerpc, ...
    Big,
}

impl Order {
    /// This host's byte order.
    pub const NATIVE: Order = if cfg!(target_endian = "big") {
        Order::Big
    } else {
        Order::Little
    };

    fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            Order::Little => u16::from_le_bytes(b),
            Order::Big => u16::from_be_bytes(b),
        }
    }

    fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            Order::Little => u32::from_le_bytes(b),
            Order::Big => u32::from_be_bytes(b),
        }
    }

    fn put_u16(self, v: u16) -> [u8; 2] {
        match self {
            Order::Little => v.to_le_bytes(),
            Order::Big => v.to_be_bytes(),
        }
    }

    fn put_u32(self, v: u32) -> [u8; 4] {
        match self {
            Order::Little => v.to_le_bytes(),
            Order::Big => v.to_be_bytes(),
        }
    }
}

/// One address of the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Addr {
    /// The interface's index (`if_indextoname` names it).
    pub index: u32,
    /// The address with its prefix length.
    pub net: IpNet,
}

/// Why a dump answer was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// A message or attribute whose length field is shorter than its header or runs past the
    /// bytes that hold it.
    BadLength,
    /// The kernel answered the request with this error number.
    Refused(i32),
    /// The answer went past [`MAX_BYTES`] or [`MAX_MESSAGES`].
    TooBig,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BadLength => f.write_str(
                "netlink address dump: a length field runs past its message (only whole, \
                 aligned messages are read)",
            ),
            Error::Refused(e) => write!(f, "netlink address dump: the kernel refused (errno {e})"),
            Error::TooBig => write!(
                f,
                "netlink address dump: more than {MAX_BYTES} bytes or {MAX_MESSAGES} messages \
                 (the bound of one dump)"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// The request: dump every address of every family (`RTM_GETADDR`, `NLM_F_DUMP`), numbered
/// `seq`, in byte order `order`.
pub fn request(seq: u32, order: Order) -> [u8; NLMSG_HDR + IFADDRMSG] {
    let mut b = [0u8; NLMSG_HDR + IFADDRMSG];
    b[0..4].copy_from_slice(&order.put_u32((NLMSG_HDR + IFADDRMSG) as u32));
    b[4..6].copy_from_slice(&order.put_u16(RTM_GETADDR));
    b[6..8].copy_from_slice(&order.put_u16(NLM_F_REQUEST | NLM_F_DUMP));
    b[8..12].copy_from_slice(&order.put_u32(seq));
    // Port id 0: the kernel fills in ours. The ifaddrmsg stays zero: family AF_UNSPEC (all).
    b
}

/// One dump answer being read, datagram by datagram.
#[derive(Debug)]
pub struct Dump {
    seq: u32,
    order: Order,
    addrs: Vec<Addr>,
    bytes: usize,
    messages: usize,
    done: bool,
}

/// `n` rounded up to netlink's 4-byte alignment (saturating: a huge `n` stays past any end).
fn align4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

fn take<const N: usize>(b: &[u8], at: usize) -> Result<[u8; N], Error> {
    b.get(at..at.saturating_add(N))
        .and_then(|s| s.try_into().ok())
        .ok_or(Error::BadLength)
}

impl Dump {
    /// Reads the answer to the request numbered `seq`; messages with another number (an
    /// earlier request's, or not a request's at all) are counted and skipped.
    pub fn new(seq: u32, order: Order) -> Self {
        Self {
            seq,
            order,
            addrs: Vec::new(),
            bytes: 0,
            messages: 0,
            done: false,
        }
    }

    /// Whether the closing message (`NLMSG_DONE`) was read.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// The addresses read so far.
    pub fn addrs(&self) -> &[Addr] {
        &self.addrs
    }

    /// The addresses read.
    pub fn into_addrs(self) -> Vec<Addr> {
        self.addrs
    }

    /// Reads one datagram; `Ok(true)` once the dump is complete (later datagrams are ignored).
    pub fn feed(&mut self, datagram: &[u8]) -> Result<bool, Error> {
        if self.done {
            return Ok(true);
        }
        self.bytes = self.bytes.saturating_add(datagram.len());
        if self.bytes > MAX_BYTES {
            return Err(Error::TooBig);
        }
        let mut rest = datagram;
        while !rest.is_empty() {
            let len = self.order.u32(take(rest, 0)?) as usize;
            if len < NLMSG_HDR || len > rest.len() {
                return Err(Error::BadLength);
            }
            self.messages += 1;
            if self.messages > MAX_MESSAGES {
                return Err(Error::TooBig);
            }
            let msg = &rest[..len];
            // The last message of a datagram may lack its padding.
            rest = rest.get(align4(len)..).unwrap_or_default();
            let kind = self.order.u16(take(msg, 4)?);
            let seq = self.order.u32(take(msg, 8)?);
            if seq != self.seq {
                continue;
            }
            match kind {
                NLMSG_DONE => {
                    self.done = true;
                    return Ok(true);
                }
                NLMSG_ERROR => {
                    let errno = self.order.u32(take(msg, NLMSG_HDR)?) as i32;
                    // 0 is an acknowledgement, not an error.
                    if errno != 0 {
                        return Err(Error::Refused(errno.saturating_neg()));
                    }
                }
                RTM_NEWADDR => {
                    if let Some(a) = self.address(&msg[NLMSG_HDR..])?
                        && self.addrs.len() < MAX_ADDRS
                        && !self.addrs.contains(&a)
                    {
                        self.addrs.push(a);
                    }
                }
                // NLMSG_NOOP, NLMSG_OVERRUN and anything newer: nothing to read.
                _ => {}
            }
        }
        Ok(false)
    }

    /// The address an `RTM_NEWADDR` payload (ifaddrmsg and attributes) describes: the local
    /// address (`IFA_LOCAL`, which differs from `IFA_ADDRESS` on point-to-point links, where
    /// that is the peer's) or else `IFA_ADDRESS`. None for other families or no address.
    fn address(&self, body: &[u8]) -> Result<Option<Addr>, Error> {
        let head: [u8; IFADDRMSG] = take(body, 0)?;
        let (family, prefix) = (head[0], head[1]);
        let index = self.order.u32([head[4], head[5], head[6], head[7]]);
        let mut local = None;
        let mut address = None;
        let mut rest = &body[IFADDRMSG..];
        while !rest.is_empty() {
            let hdr: [u8; RTA_HDR] = take(rest, 0)?;
            let len = usize::from(self.order.u16([hdr[0], hdr[1]]));
            if len < RTA_HDR || len > rest.len() {
                return Err(Error::BadLength);
            }
            let kind = self.order.u16([hdr[2], hdr[3]]) & NLA_TYPE_MASK;
            let value = &rest[RTA_HDR..len];
            rest = rest.get(align4(len)..).unwrap_or_default();
            match kind {
                IFA_LOCAL => local = Some(value),
                IFA_ADDRESS => address = Some(value),
                _ => {}
            }
        }
        let Some(ip) = local.or(address) else {
            return Ok(None);
        };
        // An address of the wrong size for its family, or a prefix longer than the address,
        // is not an address: skipped.
        let net = match family {
            AF_INET => <[u8; 4]>::try_from(ip)
                .ok()
                .and_then(|a| Ipv4Net::new(Ipv4Addr::from(a), prefix).ok())
                .map(IpNet::V4),
            AF_INET6 => <[u8; 16]>::try_from(ip)
                .ok()
                .and_then(|a| Ipv6Net::new(Ipv6Addr::from(a), prefix).ok())
                .map(IpNet::V6),
            _ => None,
        };
        Ok(net.map(|net| Addr { index, net }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NLMSG_NOOP: u16 = 1;

    /// A captured answer: one datagram per line, in hex.
    fn datagrams(hex: &str) -> Vec<Vec<u8>> {
        hex.lines()
            .filter(|l| !l.is_empty())
            .map(|l| {
                (0..l.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&l[i..i + 2], 16).unwrap())
                    .collect()
            })
            .collect()
    }

    fn read_all(hex: &str, seq: u32, order: Order) -> Result<Vec<Addr>, Error> {
        let mut d = Dump::new(seq, order);
        for g in datagrams(hex) {
            if d.feed(&g)? {
                return Ok(d.into_addrs());
            }
        }
        panic!("no NLMSG_DONE; read {:?}", d.addrs());
    }

    fn a(index: u32, net: &str) -> Addr {
        Addr {
            index,
            net: net.parse().unwrap(),
        }
    }

    /// What both captures list: the same host (lo and eth0), seen by an x86_64 and a mips
    /// program (qemu-mips turns the kernel's answer big-endian, as a mips kernel writes it).
    fn the_host() -> Vec<Addr> {
        vec![
            a(1, "127.0.0.1/8"),
            a(4, "192.0.2.2/24"),
            a(1, "::1/128"),
            a(4, "fd00::2/64"),
            a(4, "fe80::fc:ff:fe00:1/64"),
        ]
    }

    const X86_64: &str = include_str!("../testdata/getaddr-x86_64.hex");
    const MIPS: &str = include_str!("../testdata/getaddr-mips.hex");

    #[test]
    fn little_endian_capture_lists_every_address() {
        assert_eq!(read_all(X86_64, 1, Order::Little).unwrap(), the_host());
    }

    #[test]
    fn big_endian_capture_lists_every_address() {
        assert_eq!(read_all(MIPS, 1, Order::Big).unwrap(), the_host());
    }

    #[test]
    fn request_bytes_in_both_orders() {
        let le = request(7, Order::Little);
        assert_eq!(
            le[..12],
            [24, 0, 0, 0, 22, 0, 0x01, 0x03, 7, 0, 0, 0],
            "{le:02x?}"
        );
        let be = request(7, Order::Big);
        assert_eq!(be[..12], [0, 0, 0, 24, 0, 22, 0x03, 0x01, 0, 0, 0, 7]);
        assert!(le[12..].iter().chain(&be[12..]).all(|&b| b == 0));
    }

    #[test]
    fn wrong_byte_order_is_an_error_not_a_panic() {
        let mut d = Dump::new(1, Order::Big);
        assert_eq!(d.feed(&datagrams(X86_64)[0]), Err(Error::BadLength));
    }

    #[test]
    fn another_requests_messages_are_skipped() {
        let mut d = Dump::new(2, Order::Little);
        for g in datagrams(X86_64) {
            assert_eq!(d.feed(&g), Ok(false));
        }
        assert!(d.addrs().is_empty() && !d.is_done());
    }

    /// A message header in little-endian order.
    fn msg(kind: u16, seq: u32, body: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&((NLMSG_HDR + body.len()) as u32).to_le_bytes());
        m.extend_from_slice(&kind.to_le_bytes());
        m.extend_from_slice(&[0, 0]);
        m.extend_from_slice(&seq.to_le_bytes());
        m.extend_from_slice(&[0; 4]);
        m.extend_from_slice(body);
        m
    }

    /// An RTM_NEWADDR body: ifaddrmsg and the given (type, value) attributes, padded.
    fn addr_body(family: u8, prefix: u8, index: u32, attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut b = vec![family, prefix, 0, 0];
        b.extend_from_slice(&index.to_le_bytes());
        for (t, v) in attrs {
            b.extend_from_slice(&((RTA_HDR + v.len()) as u16).to_le_bytes());
            b.extend_from_slice(&t.to_le_bytes());
            b.extend_from_slice(v);
            b.resize(align4(b.len()), 0);
        }
        b
    }

    #[test]
    fn point_to_point_link_reports_the_local_address_not_the_peer() {
        let body = addr_body(
            AF_INET,
            32,
            9,
            &[(IFA_ADDRESS, &[10, 0, 0, 2]), (IFA_LOCAL, &[10, 0, 0, 1])],
        );
        let mut d = Dump::new(5, Order::Little);
        let mut g = msg(RTM_NEWADDR, 5, &body);
        g.extend(msg(NLMSG_DONE, 5, &[0; 4]));
        assert_eq!(d.feed(&g), Ok(true));
        assert_eq!(d.into_addrs(), vec![a(9, "10.0.0.1/32")]);
    }

    #[test]
    fn kernel_refusal_is_an_error() {
        let mut d = Dump::new(5, Order::Little);
        let e = msg(NLMSG_ERROR, 5, &(-22i32).to_le_bytes());
        assert_eq!(d.feed(&e), Err(Error::Refused(22)));
        // An acknowledgement (error 0) is not one.
        let mut d = Dump::new(5, Order::Little);
        assert_eq!(d.feed(&msg(NLMSG_ERROR, 5, &0i32.to_le_bytes())), Ok(false));
    }

    #[test]
    fn message_length_past_the_datagram_is_refused() {
        let mut g = msg(RTM_NEWADDR, 5, &addr_body(AF_INET, 8, 1, &[]));
        g[0] = 200;
        assert_eq!(Dump::new(5, Order::Little).feed(&g), Err(Error::BadLength));
        // Shorter than its own header.
        g[0] = 15;
        assert_eq!(Dump::new(5, Order::Little).feed(&g), Err(Error::BadLength));
        // A few bytes that are not even a header.
        assert_eq!(
            Dump::new(5, Order::Little).feed(&[1, 2, 3]),
            Err(Error::BadLength)
        );
    }

    #[test]
    fn attribute_length_past_its_message_is_refused() {
        let mut body = addr_body(AF_INET, 8, 1, &[(IFA_ADDRESS, &[127, 0, 0, 1])]);
        body[IFADDRMSG] = 9; // the attribute claims one byte more than its message holds
        let g = msg(RTM_NEWADDR, 5, &body);
        assert_eq!(Dump::new(5, Order::Little).feed(&g), Err(Error::BadLength));
        body[IFADDRMSG] = 3; // shorter than its own header
        let g = msg(RTM_NEWADDR, 5, &body);
        assert_eq!(Dump::new(5, Order::Little).feed(&g), Err(Error::BadLength));
        // A body shorter than ifaddrmsg.
        let g = msg(RTM_NEWADDR, 5, &[2, 8, 0]);
        assert_eq!(Dump::new(5, Order::Little).feed(&g), Err(Error::BadLength));
    }

    #[test]
    fn malformed_addresses_are_skipped() {
        let bodies = [
            addr_body(AF_INET, 8, 1, &[(IFA_ADDRESS, &[127, 0, 0])]), // 3 bytes
            addr_body(AF_INET, 33, 1, &[(IFA_ADDRESS, &[127, 0, 0, 1])]), // prefix > 32
            addr_body(AF_INET6, 64, 1, &[(IFA_ADDRESS, &[0; 4])]),    // v4-sized v6
            addr_body(7, 8, 1, &[(IFA_ADDRESS, &[127, 0, 0, 1])]),    // other family
            addr_body(AF_INET, 8, 1, &[]),                            // no address
        ];
        let mut d = Dump::new(5, Order::Little);
        for b in &bodies {
            assert_eq!(d.feed(&msg(RTM_NEWADDR, 5, b)), Ok(false));
        }
        assert!(d.addrs().is_empty(), "{:?}", d.addrs());
    }

    #[test]
    fn address_flood_keeps_at_most_max_addrs() {
        let mut d = Dump::new(5, Order::Little);
        let mut g = Vec::new();
        for i in 0..(MAX_ADDRS as u32 + 100) {
            let ip = (0x0a00_0000u32 + i).to_be_bytes();
            g.extend(msg(
                RTM_NEWADDR,
                5,
                &addr_body(AF_INET, 32, 1, &[(IFA_LOCAL, &ip)]),
            ));
        }
        assert_eq!(d.feed(&g), Ok(false));
        assert_eq!(d.addrs().len(), MAX_ADDRS);
    }

    #[test]
    fn message_flood_is_cut_at_max_messages() {
        let mut d = Dump::new(5, Order::Little);
        let noop = msg(NLMSG_NOOP, 5, &[]);
        let g: Vec<u8> = noop.repeat(MAX_MESSAGES + 1);
        assert_eq!(d.feed(&g), Err(Error::TooBig));
    }

    #[test]
    fn byte_flood_is_cut_at_max_bytes() {
        let mut d = Dump::new(5, Order::Little);
        let noop = msg(NLMSG_NOOP, 9, &[0; 65_536 - NLMSG_HDR]);
        for _ in 0..(MAX_BYTES / noop.len()) {
            assert_eq!(d.feed(&noop), Ok(false));
        }
        assert_eq!(d.feed(&noop), Err(Error::TooBig));
    }

    #[test]
    fn unpadded_last_message_is_read() {
        // An attribute of 5 bytes at the very end: no padding after it.
        let body = addr_body(AF_INET, 8, 1, &[(IFA_LOCAL, &[127, 0, 0, 1]), (8, &[1])]);
        let g = msg(RTM_NEWADDR, 5, &body[..body.len() - 3]);
        let mut d = Dump::new(5, Order::Little);
        assert_eq!(d.feed(&g), Ok(false));
        assert_eq!(d.addrs(), &[a(1, "127.0.0.1/8")]);
    }
}
