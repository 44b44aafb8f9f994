//! The address report a node sends to its domain-name nodes (sans-io).
//!
//! A [`Report`] says "node N (this ed25519 key) is reachable at these HTTP addresses, holds
//! these Mimeis at these versions, and asks for these domains", with a sequence number (unix
//! milliseconds when it was made) and a signature by the node key over every byte before it.
//! A DNN keeps the highest `seq` per node and refuses anything not newer, so a captured report
//! cannot be replayed to roll a node's addresses back.
//!
//! A domain binding carries the Mimei's signed header: the DNN checks it is a valid header for
//! that Mimei and that the reporting node holds the write right in it, so a node can only bind
//! a domain to a Mimei it may change.
//!
//! Layout: the postcard subset of `mimei::wire` (docs/dnn.md has the table), magic `LDR\x01`.
//! Parsing is bounded (the whole input first, then every count and length against its limit
//! before anything is allocated), never panics, and strict: `from_bytes(b)?.to_bytes() == b`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::addr::{Host, Offer};
use crate::mimei::record::MAX_HEADER_LEN;
use crate::mimei::wire::{Reader, WireError, Writer};
use crate::mimei::{MimeiHeader, MimeiId, Right};
use crate::pki::{LeitherId, NodeKey, verify};

/// First bytes of a report: "LDR" and the format version.
pub const REPORT_MAGIC: [u8; 4] = *b"LDR\x01";
/// Most addresses in one report.
pub const MAX_ADDRS: usize = 32;
/// Most Mimeis in one report.
pub const MAX_MIMEIS: usize = 4096;
/// Most domain bindings in one report.
pub const MAX_DOMAINS: usize = 16;
/// Longest domain name.
pub const MAX_DOMAIN_LEN: usize = 253;
/// Longest encoded report accepted.
pub const MAX_REPORT_LEN: usize = 4
    + 32
    + 10
    + 1
    + MAX_ADDRS * 270
    + 3
    + MAX_MIMEIS * 30
    + 1
    + MAX_DOMAINS * (2 + MAX_DOMAIN_LEN + 1 + 2 + MAX_HEADER_LEN)
    + 64;

/// What a domain is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The Mimei's content (`/mm/<mid>/`).
    Mimei,
    /// An app (`/tpt/<appid>/`).
    App,
}

impl Kind {
    /// The path prefix of the kind (`mm` or `tpt`).
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Mimei => "mm",
            Kind::App => "tpt",
        }
    }
}

/// A domain bound to a Mimei, with the Mimei's header as proof of the write right.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The domain (lower case).
    pub domain: String,
    /// Mimei or app.
    pub kind: Kind,
    /// The Mimei's signed header.
    pub header: Vec<u8>,
}

/// A node's signed address report. See the module doc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The node's public key.
    pub node_pk: [u8; 32],
    /// Unix milliseconds when it was made; higher replaces lower.
    pub seq: u64,
    /// Where the node answers HTTP.
    pub addrs: Vec<Offer>,
    /// The Mimeis it holds, with the newest version of each.
    pub mimeis: Vec<(MimeiId, u64)>,
    /// Domains it asks the DNN to bind.
    pub domains: Vec<Binding>,
    /// Signature over everything before it.
    pub signature: [u8; 64],
}

/// Why a report was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportError {
    /// Not a report, or a field out of bounds.
    Malformed(String),
    /// The signature is not the node key's.
    BadSignature,
    /// A domain binding that cannot be verified.
    BadBinding {
        /// The domain.
        domain: String,
        /// Why.
        reason: String,
    },
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::Malformed(m) => write!(f, "malformed address report: {m}"),
            ReportError::BadSignature => write!(
                f,
                "the address report's signature is not the node key's: refused"
            ),
            ReportError::BadBinding { domain, reason } => {
                write!(f, "domain {domain} cannot be bound: {reason}")
            }
        }
    }
}

impl std::error::Error for ReportError {}

fn wire(e: WireError) -> ReportError {
    ReportError::Malformed(e.to_string())
}

/// Checks a domain name: 1 to 253 characters of lower-case letters, digits, `-` and `.`,
/// labels of 1 to 63 characters that do not start or end with `-`.
pub fn check_domain(d: &str) -> Result<(), String> {
    if d.is_empty() || d.len() > MAX_DOMAIN_LEN {
        return Err(format!(
            "a domain name has 1 to {MAX_DOMAIN_LEN} characters"
        ));
    }
    for label in d.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
        if !ok {
            return Err(format!(
                "\"{}\" is not a domain name (lower-case letters, digits, '-' and '.'; no empty label)",
                crate::api::truncate(d, 80)
            ));
        }
    }
    Ok(())
}

impl Report {
    /// The node's Leither ID.
    pub fn node(&self) -> LeitherId {
        LeitherId::from_public_key(&self.node_pk)
    }

    fn signed_bytes(&self) -> Writer {
        let mut w = Writer::new();
        w.array(&REPORT_MAGIC);
        w.array(&self.node_pk);
        w.varint(self.seq);
        w.varint(self.addrs.len() as u64);
        for a in &self.addrs {
            w.u8(u8::from(a.https));
            match &a.host {
                Host::Ip(IpAddr::V4(v4)) => {
                    w.varint(0);
                    w.array(&v4.octets());
                }
                Host::Ip(IpAddr::V6(v6)) => {
                    w.varint(1);
                    w.array(&v6.octets());
                }
                Host::Name(n) => {
                    w.varint(2);
                    w.bytes(n.as_bytes());
                }
            }
            w.varint(u64::from(a.port));
            w.u8(a.prefix);
            w.u8(u8::from(a.vpn));
        }
        w.varint(self.mimeis.len() as u64);
        for (mid, ver) in &self.mimeis {
            w.array(mid.as_bytes());
            w.varint(*ver);
        }
        w.varint(self.domains.len() as u64);
        for b in &self.domains {
            w.bytes(b.domain.as_bytes());
            w.varint(match b.kind {
                Kind::Mimei => 0,
                Kind::App => 1,
            });
            w.bytes(&b.header);
        }
        w
    }

    /// Signs a report with the node key.
    pub fn sign(
        key: &NodeKey,
        seq: u64,
        addrs: Vec<Offer>,
        mimeis: Vec<(MimeiId, u64)>,
        domains: Vec<Binding>,
    ) -> Report {
        let mut r = Report {
            node_pk: key.public_key(),
            seq,
            addrs,
            mimeis,
            domains,
            signature: [0; 64],
        };
        r.signature = key.sign(&r.signed_bytes().into_vec());
        r
    }

    /// The encoding (docs/dnn.md).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = self.signed_bytes();
        w.array(&self.signature);
        w.into_vec()
    }

    /// Parses [`Report::to_bytes`]; checks the layout only (call [`Report::verify`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Report, ReportError> {
        if bytes.len() > MAX_REPORT_LEN {
            return Err(ReportError::Malformed(format!(
                "it is {} bytes long, the limit is {MAX_REPORT_LEN}",
                bytes.len()
            )));
        }
        let mut r = Reader::new(bytes);
        if r.array::<4>("magic").map_err(wire)? != REPORT_MAGIC {
            return Err(ReportError::Malformed(
                "it does not start with the report magic LDR 0x01".into(),
            ));
        }
        let node_pk = r.array::<32>("node key").map_err(wire)?;
        let seq = r.varint("sequence number").map_err(wire)?;
        let n = r.length("address count", MAX_ADDRS).map_err(wire)?;
        let mut addrs = Vec::with_capacity(n);
        for _ in 0..n {
            let https = match r.u8("scheme").map_err(wire)? {
                0 => false,
                1 => true,
                x => return Err(ReportError::Malformed(format!("scheme {x} is not 0 or 1"))),
            };
            let host = match r.varint("host kind").map_err(wire)? {
                0 => Host::Ip(IpAddr::V4(Ipv4Addr::from(
                    r.array::<4>("IPv4").map_err(wire)?,
                ))),
                1 => Host::Ip(IpAddr::V6(Ipv6Addr::from(
                    r.array::<16>("IPv6").map_err(wire)?,
                ))),
                2 => {
                    let name = r.str("host name", MAX_DOMAIN_LEN).map_err(wire)?;
                    check_domain(name).map_err(ReportError::Malformed)?;
                    Host::Name(name.to_string())
                }
                x => {
                    return Err(ReportError::Malformed(format!(
                        "host kind {x} is not 0, 1 or 2"
                    )));
                }
            };
            let port = r.varint("port").map_err(wire)?;
            let port = u16::try_from(port)
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| ReportError::Malformed(format!("port {port} is out of range")))?;
            let prefix = r.u8("prefix").map_err(wire)?;
            if prefix > 128 {
                return Err(ReportError::Malformed(format!("prefix {prefix} > 128")));
            }
            let vpn = match r.u8("vpn").map_err(wire)? {
                0 => false,
                1 => true,
                x => {
                    return Err(ReportError::Malformed(format!(
                        "vpn flag {x} is not 0 or 1"
                    )));
                }
            };
            addrs.push(Offer {
                https,
                host,
                port,
                prefix,
                vpn,
            });
        }
        let n = r.length("Mimei count", MAX_MIMEIS).map_err(wire)?;
        let mut mimeis = Vec::with_capacity(n);
        for _ in 0..n {
            let mid = LeitherId::from_bytes(r.array("Mimei ID").map_err(wire)?);
            let ver = r.varint("version").map_err(wire)?;
            mimeis.push((mid, ver));
        }
        let n = r.length("domain count", MAX_DOMAINS).map_err(wire)?;
        let mut domains = Vec::with_capacity(n);
        for _ in 0..n {
            let domain = r.str("domain", MAX_DOMAIN_LEN).map_err(wire)?.to_string();
            check_domain(&domain).map_err(ReportError::Malformed)?;
            let kind = match r.varint("binding kind").map_err(wire)? {
                0 => Kind::Mimei,
                1 => Kind::App,
                x => {
                    return Err(ReportError::Malformed(format!(
                        "binding kind {x} is not 0 or 1"
                    )));
                }
            };
            let header = r.bytes("header", MAX_HEADER_LEN).map_err(wire)?.to_vec();
            domains.push(Binding {
                domain,
                kind,
                header,
            });
        }
        let signature = r.array::<64>("signature").map_err(wire)?;
        r.finish().map_err(wire)?;
        Ok(Report {
            node_pk,
            seq,
            addrs,
            mimeis,
            domains,
            signature,
        })
    }

    /// Checks the signature.
    pub fn verify(&self) -> Result<(), ReportError> {
        if verify(
            &self.node_pk,
            &self.signed_bytes().into_vec(),
            &self.signature,
        ) {
            Ok(())
        } else {
            Err(ReportError::BadSignature)
        }
    }
}

impl Binding {
    /// The Mimei a verified binding names: its header is valid and the reporting `node` holds
    /// the write right in it.
    pub fn verify(&self, node: &LeitherId) -> Result<MimeiId, ReportError> {
        let bad = |reason: String| ReportError::BadBinding {
            domain: self.domain.clone(),
            reason,
        };
        let h = MimeiHeader::from_bytes(&self.header).map_err(|e| bad(e.to_string()))?;
        h.verify().map_err(|e| bad(e.to_string()))?;
        h.rights().check(Some(node), Right::WRITE).map_err(|_| {
            bad(format!(
                "node {node} has no write right on Mimei {}",
                h.mid()
            ))
        })?;
        Ok(*h.mid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mimei::{HeaderFields, MimeiType, Rights};

    fn key(n: u8) -> NodeKey {
        NodeKey::from_seed(&[n; 32]).unwrap()
    }

    fn header(k: &NodeKey) -> MimeiHeader {
        MimeiHeader::create(
            k,
            HeaderFields {
                app: None,
                kind: MimeiType::File,
                mark: "site".into(),
                nonce: None,
                ext: String::new(),
                created: 1_790_000_000,
                revision: 0,
                rights: Rights::new(k.id()),
            },
        )
        .unwrap()
    }

    fn sample(k: &NodeKey) -> Report {
        let h = header(k);
        Report::sign(
            k,
            1_790_000_000_000,
            vec![
                Offer {
                    https: false,
                    host: Host::Ip("192.168.1.5".parse().unwrap()),
                    port: 4800,
                    prefix: 24,
                    vpn: false,
                },
                Offer {
                    https: true,
                    host: Host::Name("node.example.org".into()),
                    port: 443,
                    prefix: 0,
                    vpn: false,
                },
                Offer {
                    https: false,
                    host: Host::Ip("2a02:c7f::5".parse().unwrap()),
                    port: 4800,
                    prefix: 64,
                    vpn: true,
                },
            ],
            vec![(*h.mid(), 7)],
            vec![Binding {
                domain: "blog.example.org".into(),
                kind: Kind::Mimei,
                header: h.to_bytes(),
            }],
        )
    }

    #[test]
    fn round_trip_verify_and_bindings() {
        let k = key(1);
        let r = sample(&k);
        let b = r.to_bytes();
        let back = Report::from_bytes(&b).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.to_bytes(), b);
        back.verify().unwrap();
        assert_eq!(back.node(), k.id());
        let mid = back.domains[0].verify(&k.id()).unwrap();
        assert_eq!(mid, back.mimeis[0].0);
        // Another node cannot bind k's Mimei.
        let e = back.domains[0].verify(&key(2).id()).unwrap_err();
        assert!(e.to_string().contains("no write right"), "{e}");
    }

    #[test]
    fn tampering_is_caught() {
        let r = sample(&key(1));
        let mut b = r.to_bytes();
        // Flip a bit of the port of the first address.
        let at = 4 + 32 + 6 + 1 + 1 + 1 + 4;
        b[at] ^= 1;
        let t = Report::from_bytes(&b).unwrap();
        assert_eq!(t.verify(), Err(ReportError::BadSignature));
        // Another key's signature over the same content.
        let mut forged = r.clone();
        forged.signature = key(2).sign(&r.signed_bytes().into_vec());
        assert_eq!(forged.verify(), Err(ReportError::BadSignature));
    }

    #[test]
    fn bad_input_is_refused_without_panic() {
        let b = sample(&key(1)).to_bytes();
        for cut in 0..b.len() {
            assert!(Report::from_bytes(&b[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = b.clone();
        extra.push(0);
        assert!(Report::from_bytes(&extra).is_err());
        assert!(Report::from_bytes(&vec![0; MAX_REPORT_LEN + 1]).is_err());
        let mut big_count = REPORT_MAGIC.to_vec();
        big_count.extend_from_slice(&[0; 32]);
        big_count.extend_from_slice(&[1, 0xff, 0xff, 0x03]);
        let e = Report::from_bytes(&big_count).unwrap_err();
        assert!(matches!(e, ReportError::Malformed(_)), "{e}");
    }

    #[test]
    fn domains() {
        for ok in ["a.b", "blog.example.org", "x-1.y", "localhost"] {
            check_domain(ok).unwrap();
        }
        for bad in ["", "A.b", "a..b", "-a.b", "a-.b", "a b", ".a", "a.", "ä.de"] {
            assert!(check_domain(bad).is_err(), "{bad}");
        }
        assert!(check_domain(&"a".repeat(254)).is_err());
    }
}
