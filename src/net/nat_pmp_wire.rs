//! NAT-PMP (RFC 6886) and PCP (RFC 6887) messages, sans-io (fuzzed:
//! `fuzz/fuzz_targets/nat_pmp_wire.rs`); the driver that sends them is `nat_pmp.rs`.
//!
//! Both speak UDP to the router's port [`PORT`]; the first byte of every message is its
//! version: 0 for NAT-PMP, 2 for PCP. What the node asks for:
//! - NAT-PMP: the router's external address (opcode 0) and a TCP mapping (opcode 2), a
//!   12-byte request each; answers are 12 and 16 bytes, opcode + 128, a 16-bit result code
//!   and the seconds since the router's mapping table started (its epoch).
//! - PCP: a MAP (opcode 1) for TCP: a 24-byte header (version, opcode, lifetime, our own
//!   address as IPv4-mapped IPv6) and a 36-byte body (a random 12-byte nonce, protocol 6,
//!   internal and suggested external port, suggested external address). The answer has the
//!   same shape with the response bit set, an 8-bit result code, the lifetime granted and the
//!   epoch, and the assigned external port and address; options after the body are skipped.
//!
//! Fallback between them: a NAT-PMP-only router answers a PCP request with a NAT-PMP
//! "unsupported version" answer (version 0, result 1), and a PCP router that does not speak
//! NAT-PMP answers a version-0 request with PCP's UNSUPP_VERSION; [`Answer::wants_pmp`] says
//! when to ask again in NAT-PMP. [`matches`] says whether an answer is the one to a request
//! (opcode, nonce, internal port), so a stray or stale datagram is not taken.

use std::net::Ipv4Addr;

/// The router's NAT-PMP and PCP port.
pub const PORT: u16 = 5351;
/// NAT-PMP's version byte.
pub const PMP_VERSION: u8 = 0;
/// PCP's version byte.
pub const PCP_VERSION: u8 = 2;
/// Largest PCP message (RFC 6887 §7): longer datagrams are refused unread.
pub const MAX_MESSAGE: usize = 1100;

/// NAT-PMP's opcode for the external address.
const PMP_OP_EXTERNAL: u8 = 0;
/// NAT-PMP's opcode for a TCP mapping.
const PMP_OP_MAP_TCP: u8 = 2;
/// PCP's MAP opcode.
const PCP_OP_MAP: u8 = 1;
/// The response bit of the opcode byte.
const RESPONSE: u8 = 0x80;
/// IANA's protocol number of TCP, in a PCP MAP.
const IPPROTO_TCP: u8 = 6;
/// PCP's common header.
const PCP_HEADER: usize = 24;
/// PCP's MAP body.
const PCP_MAP_BODY: usize = 36;

/// A message that is not a NAT-PMP or PCP answer we understand.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// Shorter than its kind needs.
    Short {
        /// Bytes the message has.
        got: usize,
        /// Bytes its kind needs.
        need: usize,
    },
    /// Longer than [`MAX_MESSAGE`], or a PCP length that is not a multiple of 4.
    Length(usize),
    /// A version neither protocol has.
    Version(u8),
    /// A request (response bit clear): our own kind of message, not an answer.
    NotAnswer,
    /// An opcode the node never asks for.
    Opcode(u8),
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Short { got, need } => {
                write!(f, "a {got}-byte message; this kind needs {need}")
            }
            WireError::Length(n) => write!(
                f,
                "a {n}-byte message: PCP messages are at most {MAX_MESSAGE} bytes, in 4-byte words"
            ),
            WireError::Version(v) => {
                write!(f, "version {v}: neither NAT-PMP (0) nor PCP (2)")
            }
            WireError::NotAnswer => f.write_str("a request, not an answer"),
            WireError::Opcode(o) => write!(f, "opcode {o} is none the node asks for"),
        }
    }
}

impl std::error::Error for WireError {}

/// Which protocol a message belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proto {
    /// RFC 6886.
    NatPmp,
    /// RFC 6887.
    Pcp,
}

impl Proto {
    /// The name shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::NatPmp => "NAT-PMP",
            Proto::Pcp => "PCP",
        }
    }
}

/// What the node asks the router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// NAT-PMP: the router's external address.
    PmpExternal,
    /// NAT-PMP: map TCP `internal` (asking for `external`) for `lifetime` seconds; lifetime
    /// 0 with external 0 deletes the mapping.
    PmpMap {
        /// Our port.
        internal: u16,
        /// The port asked for outside (0: any).
        external: u16,
        /// Seconds asked for.
        lifetime: u32,
    },
    /// PCP: MAP TCP `internal` of `client` for `lifetime` seconds (0 deletes it).
    PcpMap {
        /// Random, kept for the mapping's renewals and deletion.
        nonce: [u8; 12],
        /// Our address as the router sees it (the source of the datagram).
        client: Ipv4Addr,
        /// Our port.
        internal: u16,
        /// The port asked for outside (0: any).
        external: u16,
        /// Seconds asked for.
        lifetime: u32,
    },
}

impl Request {
    /// The datagram.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Request::PmpExternal => vec![PMP_VERSION, PMP_OP_EXTERNAL],
            Request::PmpMap {
                internal,
                external,
                lifetime,
            } => {
                let mut b = vec![PMP_VERSION, PMP_OP_MAP_TCP, 0, 0];
                b.extend_from_slice(&internal.to_be_bytes());
                b.extend_from_slice(&external.to_be_bytes());
                b.extend_from_slice(&lifetime.to_be_bytes());
                b
            }
            Request::PcpMap {
                nonce,
                client,
                internal,
                external,
                lifetime,
            } => {
                let mut b = Vec::with_capacity(PCP_HEADER + PCP_MAP_BODY);
                b.extend_from_slice(&[PCP_VERSION, PCP_OP_MAP, 0, 0]);
                b.extend_from_slice(&lifetime.to_be_bytes());
                b.extend_from_slice(&client.to_ipv6_mapped().octets());
                b.extend_from_slice(nonce);
                b.extend_from_slice(&[IPPROTO_TCP, 0, 0, 0]);
                b.extend_from_slice(&internal.to_be_bytes());
                b.extend_from_slice(&external.to_be_bytes());
                // No preference for the external address: IPv4's all-zeros, mapped.
                b.extend_from_slice(&Ipv4Addr::UNSPECIFIED.to_ipv6_mapped().octets());
                b
            }
        }
    }

    /// The protocol the request speaks.
    pub fn proto(&self) -> Proto {
        match self {
            Request::PcpMap { .. } => Proto::Pcp,
            _ => Proto::NatPmp,
        }
    }
}

/// A mapping the router made (or renewed, or deleted: lifetime 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// PCP's nonce (NAT-PMP has none).
    pub nonce: Option<[u8; 12]>,
    /// Our port.
    pub internal: u16,
    /// The port outside.
    pub external: u16,
    /// Seconds granted.
    pub lifetime: u32,
    /// The address outside (PCP says it; NAT-PMP answers it to [`Request::PmpExternal`]).
    /// `None` when PCP's is not an IPv4 one.
    pub ip: Option<Ipv4Addr>,
}

/// An answer from the router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// NAT-PMP: the router's external address.
    External(Ipv4Addr),
    /// A mapping.
    Mapped(Mapping),
    /// A refusal (result code not 0); PCP's nonce when the router echoed the body.
    Refused {
        /// PCP's nonce, if the body was there.
        nonce: Option<[u8; 12]>,
        /// NAT-PMP's internal port, if it was there.
        internal: Option<u16>,
    },
}

/// An answer, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Which protocol answered.
    pub proto: Proto,
    /// The version byte (PCP's UNSUPP_VERSION names the version the router speaks there).
    pub version: u8,
    /// The opcode answered (response bit cleared).
    pub opcode: u8,
    /// The result code: 0 is success (NAT-PMP's are 16 bits, PCP's 8).
    pub result: u16,
    /// Seconds since the router's mapping table started.
    pub epoch: u32,
    /// What it says.
    pub body: Body,
}

impl Answer {
    /// Whether the router does not speak PCP and NAT-PMP should be asked instead: a NAT-PMP
    /// "unsupported version" answer, or PCP's UNSUPP_VERSION naming version 0.
    pub fn wants_pmp(&self) -> bool {
        match self.proto {
            Proto::NatPmp => self.result == 1,
            Proto::Pcp => self.result == 1 && self.version < PCP_VERSION,
        }
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn need(b: &[u8], n: usize) -> Result<(), WireError> {
    if b.len() < n {
        return Err(WireError::Short {
            got: b.len(),
            need: n,
        });
    }
    Ok(())
}

/// Decodes an answer (any length; longer than [`MAX_MESSAGE`] is refused).
pub fn decode(b: &[u8]) -> Result<Answer, WireError> {
    if b.len() > MAX_MESSAGE {
        return Err(WireError::Length(b.len()));
    }
    need(b, 2)?;
    match b[0] {
        PMP_VERSION => decode_pmp(b),
        PCP_VERSION => decode_pcp(b),
        // PCP's UNSUPP_VERSION from a router speaking another version keeps PCP's header.
        v if b.len() >= PCP_HEADER && b[1] & RESPONSE != 0 && b[3] == 1 => Ok(Answer {
            proto: Proto::Pcp,
            version: v,
            opcode: b[1] & !RESPONSE,
            result: 1,
            epoch: u32_at(b, 8),
            body: Body::Refused {
                nonce: None,
                internal: None,
            },
        }),
        v => Err(WireError::Version(v)),
    }
}

fn decode_pmp(b: &[u8]) -> Result<Answer, WireError> {
    if b[1] & RESPONSE == 0 {
        return Err(WireError::NotAnswer);
    }
    let opcode = b[1] & !RESPONSE;
    need(b, 8)?;
    let result = u16_at(b, 2);
    let epoch = u32_at(b, 4);
    let body = if result != 0 {
        // A refusal may be just the 8-byte header ("unsupported version" always is).
        Body::Refused {
            nonce: None,
            internal: (opcode != PMP_OP_EXTERNAL && b.len() >= 10).then(|| u16_at(b, 8)),
        }
    } else {
        match opcode {
            PMP_OP_EXTERNAL => {
                need(b, 12)?;
                Body::External(Ipv4Addr::new(b[8], b[9], b[10], b[11]))
            }
            1 | PMP_OP_MAP_TCP => {
                need(b, 16)?;
                Body::Mapped(Mapping {
                    nonce: None,
                    internal: u16_at(b, 8),
                    external: u16_at(b, 10),
                    lifetime: u32_at(b, 12),
                    ip: None,
                })
            }
            o => return Err(WireError::Opcode(o)),
        }
    };
    Ok(Answer {
        proto: Proto::NatPmp,
        version: PMP_VERSION,
        opcode,
        result,
        epoch,
        body,
    })
}

fn decode_pcp(b: &[u8]) -> Result<Answer, WireError> {
    need(b, PCP_HEADER)?;
    if !b.len().is_multiple_of(4) {
        return Err(WireError::Length(b.len()));
    }
    if b[1] & RESPONSE == 0 {
        return Err(WireError::NotAnswer);
    }
    let opcode = b[1] & !RESPONSE;
    let result = u16::from(b[3]);
    let lifetime = u32_at(b, 4);
    let epoch = u32_at(b, 8);
    let has_body = opcode == PCP_OP_MAP && b.len() >= PCP_HEADER + PCP_MAP_BODY;
    let nonce = has_body.then(|| {
        let mut n = [0u8; 12];
        n.copy_from_slice(&b[PCP_HEADER..PCP_HEADER + 12]);
        n
    });
    let body = if result != 0 {
        Body::Refused {
            nonce,
            internal: has_body.then(|| u16_at(b, PCP_HEADER + 16)),
        }
    } else {
        if opcode != PCP_OP_MAP {
            return Err(WireError::Opcode(opcode));
        }
        need(b, PCP_HEADER + PCP_MAP_BODY)?;
        let at = PCP_HEADER;
        let mut ip6 = [0u8; 16];
        ip6.copy_from_slice(&b[at + 20..at + 36]);
        Body::Mapped(Mapping {
            nonce,
            internal: u16_at(b, at + 16),
            external: u16_at(b, at + 18),
            lifetime,
            ip: std::net::Ipv6Addr::from(ip6).to_ipv4_mapped(),
        })
    };
    Ok(Answer {
        proto: Proto::Pcp,
        version: PCP_VERSION,
        opcode,
        result,
        epoch,
        body,
    })
}

/// Whether `a` answers `req`: the same protocol (or a version refusal from the other), the
/// same opcode, and the same nonce (PCP) or internal port (NAT-PMP mappings).
pub fn matches(req: &Request, a: &Answer) -> bool {
    if req.proto() != a.proto {
        // The other protocol only ever answers "not my version".
        return a.result == 1;
    }
    match (req, &a.body) {
        (Request::PmpExternal, Body::External(_)) => true,
        (Request::PmpExternal, Body::Refused { .. }) => a.opcode == PMP_OP_EXTERNAL,
        (Request::PmpMap { internal, .. }, Body::Mapped(m)) => {
            a.opcode == PMP_OP_MAP_TCP && m.internal == *internal
        }
        (Request::PmpMap { internal, .. }, Body::Refused { internal: i, .. }) => {
            a.opcode == PMP_OP_MAP_TCP && i.is_none_or(|i| i == *internal)
        }
        (Request::PcpMap { nonce, .. }, Body::Mapped(m)) => m.nonce == Some(*nonce),
        (Request::PcpMap { nonce, .. }, Body::Refused { nonce: n, .. }) => {
            // Without the body (a refusal of the header) there is no nonce to compare.
            a.opcode == PCP_OP_MAP && n.is_none_or(|n| n == *nonce)
        }
        _ => false,
    }
}

/// A result code in words, and what the owner can do about it.
pub fn result_text(proto: Proto, code: u16) -> (&'static str, &'static str) {
    const ENABLE: &str = "enable NAT-PMP/PCP on the router for this node's address (or forward the swarm and HTTP ports by hand)";
    const FULL: &str = "the router's mapping table is full: remove old mappings on the router";
    const WAN: &str = "the router has no working internet connection yet: check its WAN side";
    match (proto, code) {
        (_, 0) => ("success", ""),
        (_, 1) => ("unsupported version", "the router speaks another version"),
        (_, 2) => ("not authorized", ENABLE),
        (Proto::NatPmp, 3) => ("network failure", WAN),
        (Proto::NatPmp, 4) => ("out of resources", FULL),
        (Proto::NatPmp, 5) => ("unsupported opcode", ENABLE),
        (Proto::Pcp, 3) => ("malformed request", "report this to leither"),
        (Proto::Pcp, 4) => ("unsupported opcode", ENABLE),
        (Proto::Pcp, 5 | 6) => ("unsupported option", "report this to leither"),
        (Proto::Pcp, 7) => ("network failure", WAN),
        (Proto::Pcp, 8) => ("no resources", FULL),
        (Proto::Pcp, 9) => ("unsupported protocol", ENABLE),
        (Proto::Pcp, 10) => (
            "user exceeded quota",
            "this node's address has too many mappings on the router: remove old ones",
        ),
        (Proto::Pcp, 11) => (
            "cannot provide external",
            "the port is taken on the router: free it or forward another by hand",
        ),
        (Proto::Pcp, 12) => (
            "address mismatch",
            "a second NAT sits between this node and the router: map the ports on the outer router by hand",
        ),
        (Proto::Pcp, 13) => ("excessive remote peers", FULL),
        _ => ("unknown result", ENABLE),
    }
}

/// Whether the router lost its mappings between two answers (RFC 6887 §8.5, RFC 6886
/// §3.6): its epoch went back, or moved much less than our clock did (or much more).
/// `prev`/`now` are (router's epoch, our seconds) at each answer.
pub fn router_restarted(prev: (u32, u64), now: (u32, u64)) -> bool {
    let (e0, t0) = prev;
    let (e1, t1) = now;
    if e1 < e0.saturating_sub(1) {
        return true;
    }
    let client = t1.saturating_sub(t0);
    let server = u64::from(e1.saturating_sub(e0));
    client + 2 < server.saturating_sub(server / 16)
        || server + 2 < client.saturating_sub(client / 16)
}

#[cfg(test)]
#[path = "nat_pmp_wire_tests.rs"]
mod tests;
