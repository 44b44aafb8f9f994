//! Port mapping with PCP, falling back to NAT-PMP (docs/network.md, "Behind a NAT"): the
//! UDP side of `nat_pmp_wire`. The router is the default gateway of `/proc/net/route`; every
//! request goes to its port 5351 from one socket connected to it, and is sent again after
//! 250 ms, then 500 ms, [`TRIES`] times in all (RFC 6886 §3.1 doubles up to 9 times; a router
//! that has not answered in 1.75 s is taken as having none). An answer is taken only from the
//! gateway's address and port (the connected socket drops others, and the source is checked
//! again), only if it answers the request (opcode, nonce, port); at most [`MAX_STRAY`]
//! datagrams that are not the answer are read per request, so a flood ends the exchange.
//!
//! PCP is asked first. A router that answers "unsupported version" is asked in NAT-PMP from
//! then on; a router that does not answer PCP at all is not asked NAT-PMP (RFC 6886 §3.5:
//! a NAT-PMP server answers every version, so silence means neither runs there). A PCP
//! mapping keeps its nonce for its renewals, as RFC 6887 §11.2 asks.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;

use super::nat_pmp_wire::{self as wire, Answer, Body, Proto, Request};

/// Sends of one request (250 + 500 + 1000 ms).
pub const TRIES: u32 = 3;
/// Wait before the first resend.
const FIRST_WAIT: Duration = Duration::from_millis(250);
/// Datagrams read per request that are not its answer, before giving up.
pub const MAX_STRAY: usize = 64;
/// Most bytes of `/proc/net/route` read.
const MAX_ROUTE_TABLE: u64 = 64 * 1024;

/// Why the router gave no mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PmpError {
    /// No default IPv4 gateway, or the node's address is not IPv4.
    NoGateway(String),
    /// A socket error.
    Io(String),
    /// Nothing answered on the gateway's port 5351.
    NoAnswer(SocketAddr),
    /// Too many datagrams that were not the answer (a flood, or a confused router).
    Stray(SocketAddr),
    /// The router answered with a result code other than success.
    Refused {
        /// Which protocol refused.
        proto: Proto,
        /// The result code.
        code: u16,
        /// The router.
        gateway: SocketAddr,
    },
    /// The answer was a success that cannot be used (no IPv4 external address).
    Unusable(String),
}

impl std::fmt::Display for PmpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PmpError::NoGateway(why) => write!(f, "no gateway to ask: {why}"),
            PmpError::Io(e) => write!(f, "socket: {e}"),
            PmpError::NoAnswer(g) => write!(
                f,
                "nothing answers PCP or NAT-PMP at {g} (the router has neither on: enable NAT-PMP/PCP on it, or UPnP)"
            ),
            PmpError::Stray(g) => write!(
                f,
                "{MAX_STRAY} datagrams that were not {g}'s answer arrived; gave up on this round"
            ),
            PmpError::Refused {
                proto,
                code,
                gateway,
            } => {
                let (what, todo) = wire::result_text(*proto, *code);
                write!(
                    f,
                    "{gateway} refused the {} mapping: result {code} ({what}); {todo}",
                    proto.as_str()
                )
            }
            PmpError::Unusable(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for PmpError {}

/// The default IPv4 gateway in the text of `/proc/net/route` (the lowest metric wins).
pub fn default_gateway(table: &str) -> Option<Ipv4Addr> {
    const RTF_UP: u32 = 0x1;
    const RTF_GATEWAY: u32 = 0x2;
    table
        .lines()
        .skip(1)
        .take(1024)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().take(8).collect();
            if f.len() < 7 || f[1] != "00000000" {
                return None;
            }
            let gw = u32::from_str_radix(f[2], 16).ok()?;
            let flags = u32::from_str_radix(f[3], 16).ok()?;
            let metric: u32 = f[6].parse().ok()?;
            // The file writes the address in the host's byte order (little endian here).
            let ip = Ipv4Addr::from(gw.to_le_bytes());
            (flags & RTF_UP != 0 && flags & RTF_GATEWAY != 0 && !ip.is_unspecified())
                .then_some((metric, ip))
        })
        .min_by_key(|(metric, _)| *metric)
        .map(|(_, ip)| ip)
}

/// The default gateway of this machine, read from `/proc/net/route`.
pub fn find_gateway() -> Result<Ipv4Addr, PmpError> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open("/proc/net/route")
        .and_then(|f| f.take(MAX_ROUTE_TABLE).read_to_string(&mut text))
        .map_err(|e| PmpError::NoGateway(format!("/proc/net/route: {e}")))?;
    default_gateway(&text)
        .ok_or_else(|| PmpError::NoGateway("no default IPv4 route in /proc/net/route".into()))
}

/// A mapping the router made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// Which protocol made it.
    pub proto: Proto,
    /// The router's external address.
    pub ip: Ipv4Addr,
    /// The port outside.
    pub external: u16,
    /// Seconds granted.
    pub lifetime: u32,
}

/// A client of one router, kept across renewals (its socket, the protocol it speaks, the
/// nonce of each mapped port).
pub struct Client {
    sock: UdpSocket,
    gateway: SocketAddr,
    local: Ipv4Addr,
    /// `NatPmp` once the router said it does not speak PCP.
    proto: Proto,
    /// PCP nonces by internal port (the node maps two ports; at most 8 kept).
    nonces: Vec<(u16, [u8; 12])>,
    first_wait: Duration,
    /// The router's epoch at its last answer, and our seconds then.
    epoch: Option<(u32, u64)>,
    started: tokio::time::Instant,
    /// Set when an answer's epoch showed the router lost its mappings.
    pub restarted: bool,
}

impl Client {
    /// A client of `gateway` (its port 5351 in use; another in tests), sending from `local`
    /// (unspecified: the address of the route to the gateway).
    pub async fn new(gateway: SocketAddr, local: IpAddr) -> Result<Client, PmpError> {
        let IpAddr::V4(bind) = local else {
            return Err(PmpError::NoGateway(
                "PCP and NAT-PMP are asked over IPv4 only (ListenAddr is IPv6)".into(),
            ));
        };
        let io = |e: std::io::Error| PmpError::Io(e.to_string());
        let sock = UdpSocket::bind(SocketAddr::new(IpAddr::V4(bind), 0))
            .await
            .map_err(io)?;
        sock.connect(gateway).await.map_err(io)?;
        let local = match sock.local_addr().map_err(io)?.ip() {
            IpAddr::V4(ip) => ip,
            IpAddr::V6(_) => return Err(PmpError::NoGateway("no IPv4 source address".into())),
        };
        Ok(Client {
            sock,
            gateway,
            local,
            proto: Proto::Pcp,
            nonces: Vec::new(),
            first_wait: FIRST_WAIT,
            epoch: None,
            started: tokio::time::Instant::now(),
            restarted: false,
        })
    }

    /// The same with a shorter first wait (tests).
    #[cfg(test)]
    pub fn with_first_wait(mut self, d: Duration) -> Client {
        self.first_wait = d;
        self
    }

    /// The router asked.
    pub fn gateway(&self) -> SocketAddr {
        self.gateway
    }

    /// Maps TCP `port` (asking for the same port outside) for `lifetime` seconds; renews it
    /// when called again.
    pub async fn map(&mut self, port: u16, lifetime: u32) -> Result<Mapped, PmpError> {
        if self.proto == Proto::Pcp {
            let nonce = self.nonce(port)?;
            let req = Request::PcpMap {
                nonce,
                client: self.local,
                internal: port,
                external: port,
                lifetime,
            };
            let a = self.exchange(&req).await?;
            if a.wants_pmp() {
                crate::log_info!(
                    "PCP: {} speaks NAT-PMP only; asking in NAT-PMP",
                    self.gateway
                );
                self.proto = Proto::NatPmp;
            } else {
                let m = self.mapping(a)?;
                let ip = m.ip.ok_or_else(|| {
                    PmpError::Unusable("the router's PCP answer names no IPv4 address".into())
                })?;
                return Ok(Mapped {
                    proto: Proto::Pcp,
                    ip,
                    external: m.external,
                    lifetime: m.lifetime,
                });
            }
        }
        let a = self.exchange(&Request::PmpExternal).await?;
        let ip = match a.body {
            Body::External(ip) if a.result == 0 => ip,
            _ => return Err(self.refusal(&a)),
        };
        let req = Request::PmpMap {
            internal: port,
            external: port,
            lifetime,
        };
        let a = self.exchange(&req).await?;
        let m = self.mapping(a)?;
        Ok(Mapped {
            proto: Proto::NatPmp,
            ip,
            external: m.external,
            lifetime: m.lifetime,
        })
    }

    /// Deletes the mapping of TCP `port` (lifetime 0; PCP with the mapping's nonce).
    pub async fn unmap(&mut self, port: u16) -> Result<(), PmpError> {
        let req = match self.proto {
            Proto::Pcp => Request::PcpMap {
                nonce: self.nonce(port)?,
                client: self.local,
                internal: port,
                external: 0,
                lifetime: 0,
            },
            Proto::NatPmp => Request::PmpMap {
                internal: port,
                external: 0,
                lifetime: 0,
            },
        };
        let a = self.exchange(&req).await?;
        self.mapping(a).map(|_| ())
    }

    fn nonce(&mut self, port: u16) -> Result<[u8; 12], PmpError> {
        if let Some((_, n)) = self.nonces.iter().find(|(p, _)| *p == port) {
            return Ok(*n);
        }
        let mut n = [0u8; 12];
        getrandom::getrandom(&mut n)
            .map_err(|e| PmpError::Io(format!("no randomness for PCP's nonce: {e}")))?;
        if self.nonces.len() >= 8 {
            self.nonces.remove(0);
        }
        self.nonces.push((port, n));
        Ok(n)
    }

    fn refusal(&self, a: &Answer) -> PmpError {
        PmpError::Refused {
            proto: a.proto,
            code: a.result,
            gateway: self.gateway,
        }
    }

    fn mapping(&self, a: Answer) -> Result<wire::Mapping, PmpError> {
        match a.body {
            Body::Mapped(m) if a.result == 0 => Ok(m),
            _ => Err(self.refusal(&a)),
        }
    }

    /// Sends `req` until its answer comes (see the module doc for the bounds).
    async fn exchange(&mut self, req: &Request) -> Result<Answer, PmpError> {
        let bytes = req.encode();
        let mut wait = self.first_wait;
        let mut stray = 0usize;
        let mut buf = [0u8; wire::MAX_MESSAGE + 1];
        for _ in 0..TRIES {
            match self.sock.send(&bytes).await {
                Ok(_) => {}
                // ICMP "port unreachable" from an earlier send: nothing listens there.
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    return Err(PmpError::NoAnswer(self.gateway));
                }
                Err(e) => return Err(PmpError::Io(e.to_string())),
            }
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                let got = tokio::time::timeout_at(deadline, self.sock.recv_from(&mut buf)).await;
                let (n, from) = match got {
                    Err(_) => break,
                    Ok(Ok(x)) => x,
                    Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                        return Err(PmpError::NoAnswer(self.gateway));
                    }
                    Ok(Err(e)) => return Err(PmpError::Io(e.to_string())),
                };
                let answer = if from == self.gateway {
                    wire::decode(&buf[..n]).ok()
                } else {
                    crate::log_debug!(
                        "PCP/NAT-PMP: ignored a datagram from {from}, not the gateway"
                    );
                    None
                };
                match answer {
                    Some(a) if wire::matches(req, &a) => {
                        self.note_epoch(a.epoch);
                        return Ok(a);
                    }
                    _ => {
                        stray += 1;
                        if stray >= MAX_STRAY {
                            return Err(PmpError::Stray(self.gateway));
                        }
                    }
                }
            }
            wait = wait.saturating_mul(2);
        }
        Err(PmpError::NoAnswer(self.gateway))
    }

    fn note_epoch(&mut self, epoch: u32) {
        let now = self.started.elapsed().as_secs();
        if let Some(prev) = self.epoch
            && wire::router_restarted(prev, (epoch, now))
        {
            self.restarted = true;
        }
        self.epoch = Some((epoch, now));
    }
}

#[cfg(test)]
#[path = "nat_pmp_tests.rs"]
mod tests;
