//! The home router's port mapping (docs/network.md, "Behind a NAT"): one task that asks the
//! router to map the swarm port and the HTTP port, by PCP (then NAT-PMP, `nat_pmp.rs`) and,
//! if neither answers or they refuse, by UPnP IGD (`nat_upnp.rs`), and renews at half the
//! lifetime granted.
//!
//! PCP/NAT-PMP go first: one datagram to the known gateway, answered in milliseconds, no
//! multicast, no HTTP or XML to read; a router without them is known in 1.75 s (or at once,
//! when its port 5351 is closed). UPnP's discovery waits 3 s for SSDP answers, then reads
//! the gateway's description and speaks SOAP. A router usually has one or the other on.
//!
//! On success the swarm address `/ip4/EXT/tcp/PORT` is announced (AutoNAT then checks it;
//! it is withdrawn when a renewal maps another address or every method fails),
//! `http://EXT:PORT` is offered to DNNs, and `NatView::mapping` says which method mapped
//! what (`GetVar nat`, `swarm local`, the dashboard). When every method fails the reasons are
//! logged once with what to do, and asked again every 10 minutes. When the node stops, the
//! mappings made by PCP or NAT-PMP are deleted (lifetime 0); UPnP's lapse with their lease.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::handle::Net;
use super::nat_pmp::{self, Client};
use super::nat_pmp_wire::PORT;
use crate::{log_debug, log_info, log_warn};

/// Seconds of a mapping asked for (renewed at half of what the router grants).
pub const LIFETIME: u32 = 3600;
/// Wait before asking again after every method failed.
const RETRY: Duration = Duration::from_secs(600);
/// Shortest and longest wait before a renewal, whatever the router grants.
const RENEW_MIN: Duration = Duration::from_secs(60);
const RENEW_MAX: Duration = Duration::from_secs(3600);

/// Which methods to try (the settings `NatPmp` and `Upnp`).
#[derive(Debug, Clone, Copy)]
pub struct Methods {
    /// PCP, then NAT-PMP.
    pub pcp: bool,
    /// UPnP IGD.
    pub upnp: bool,
}

/// What a method mapped.
#[derive(Debug, Clone)]
pub struct Mapped {
    /// "PCP", "NAT-PMP" or "UPnP".
    pub method: &'static str,
    /// The router.
    pub router: IpAddr,
    /// The swarm port outside: `/ip4/EXT/tcp/PORT`.
    pub swarm: String,
    /// The HTTP port outside: `http://EXT:PORT`, if it was mapped.
    pub http: Option<String>,
    /// When to renew.
    pub renew: Duration,
    /// Our ports mapped by PCP or NAT-PMP (deleted when the node stops; UPnP's lapse).
    pub pcp_ports: Vec<u16>,
}

/// Starts the mapping task; requests go out from `local` (the `ListenAddr`; 0.0.0.0: the
/// address of the default route).
pub fn spawn(net: &Net, local: IpAddr, methods: Methods) {
    let net = net.clone();
    tokio::task::spawn_local(async move {
        if !net.wait_listening(Duration::from_secs(10)).await {
            return;
        }
        let mut told = String::new();
        let mut pcp: Option<Client> = None;
        let (tx, mut stop) = tokio::sync::oneshot::channel::<tokio::sync::oneshot::Sender<()>>();
        net.inner.shared.borrow_mut().unmap = Some(tx);
        // The ports PCP/NAT-PMP mapped, to delete when the node stops.
        let mut mapped_ports: Vec<u16> = Vec::new();
        // The swarm address announced for the mapping, to withdraw when it changes or lapses.
        let mut announced: Option<libp2p::Multiaddr> = None;
        loop {
            let result = once(&net, local, methods, &mut pcp).await;
            let now = result.as_ref().ok().and_then(|m| m.swarm.parse().ok());
            if let Some(stale) = superseded(&mut announced, now) {
                log_info!("port mapping: {stale} is no longer mapped: withdrawn");
                net.remove_external(stale);
            }
            let wait = match result {
                Ok(m) => {
                    record(&net, &m);
                    told.clear();
                    mapped_ports = m.pcp_ports.clone();
                    m.renew
                }
                Err(e) => {
                    if e != told {
                        log_warn!(
                            "port mapping: none ({e}); to be reachable, forward the swarm and HTTP ports on the router, or set FixedAddr / SetExtAddr, or rely on relays and the HTTP tunnel (set \"NatPmp\" and \"Upnp\" to false to stop asking)"
                        );
                        told = e.clone();
                    }
                    let mut sh = net.inner.shared.borrow_mut();
                    sh.nat.mapping = Some(format!("failed: {e}"));
                    sh.nat.mapped_http = None;
                    RETRY
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                ack = &mut stop => {
                    if let (Some(c), Ok(ack)) = (pcp.as_mut(), ack) {
                        for p in &mapped_ports {
                            match c.unmap(*p).await {
                                Ok(()) => log_info!("port mapping: {} deleted the mapping of port {p}", c.gateway()),
                                Err(e) => log_debug!("port mapping: deleting port {p}: {e}"),
                            }
                        }
                        let _ = ack.send(());
                    }
                    return;
                }
            }
        }
    });
}

/// The address announced before, if the mapping's address is now another one or none (the
/// router's outside address changed, or every method failed): `announced` becomes `now`.
fn superseded(
    announced: &mut Option<libp2p::Multiaddr>,
    now: Option<libp2p::Multiaddr>,
) -> Option<libp2p::Multiaddr> {
    if *announced == now {
        return None;
    }
    std::mem::replace(announced, now)
}

fn record(net: &Net, m: &Mapped) {
    if let Ok(addr) = m.swarm.parse::<libp2p::Multiaddr>() {
        net.add_external(addr);
    }
    let mut what = m.swarm.clone();
    if let Some(u) = &m.http {
        what.push_str(&format!(" and {u}"));
    }
    let text = format!("{}: mapped {what} on {}", m.method, m.router);
    let mut sh = net.inner.shared.borrow_mut();
    if sh.nat.mapping.as_deref() != Some(text.as_str()) {
        log_info!(
            "port mapping: the router {} mapped {what} by {} (renewed every {} s)",
            m.router,
            m.method,
            m.renew.as_secs()
        );
    }
    sh.nat.mapping = Some(text);
    sh.nat.mapped_http = m.http.clone();
}

async fn once(
    net: &Net,
    local: IpAddr,
    methods: Methods,
    pcp: &mut Option<Client>,
) -> Result<Mapped, String> {
    let swarm_port = net
        .inner
        .shared
        .borrow()
        .listen
        .iter()
        .find_map(|a| {
            a.iter().find_map(|p| match p {
                libp2p::core::multiaddr::Protocol::Tcp(port) => Some(port),
                _ => None,
            })
        })
        .ok_or("the swarm has no TCP listen address")?;
    let http_port = net.state().and_then(|s| s.listen.get()).map(|a| a.port());
    let mut why = Vec::new();
    if methods.pcp {
        match by_pcp(local, pcp, swarm_port, http_port).await {
            Ok(m) => return Ok(m),
            Err(e) => {
                log_debug!("PCP/NAT-PMP: {e}");
                why.push(format!("PCP/NAT-PMP: {e}"));
            }
        }
    }
    if methods.upnp {
        match super::nat_upnp::map_ports(local, swarm_port, http_port).await {
            Ok(m) => return Ok(m),
            Err(e) => why.push(format!("UPnP: {e}")),
        }
    }
    Err(why.join("; "))
}

async fn by_pcp(
    local: IpAddr,
    client: &mut Option<Client>,
    swarm_port: u16,
    http_port: Option<u16>,
) -> Result<Mapped, nat_pmp::PmpError> {
    let gw = SocketAddr::new(IpAddr::V4(nat_pmp::find_gateway()?), PORT);
    // A new client when the gateway changed (or the last round failed at the socket).
    if client.as_ref().is_none_or(|c| c.gateway() != gw) {
        *client = Some(Client::new(gw, local).await?);
    }
    let Some(c) = client.as_mut() else {
        return Err(nat_pmp::PmpError::NoGateway("no client".into()));
    };
    let s = c.map(swarm_port, LIFETIME).await?;
    if c.restarted {
        log_info!("port mapping: {gw} restarted (its epoch went back); mappings asked again");
        c.restarted = false;
    }
    let mut lifetime = s.lifetime;
    let mut ports = vec![swarm_port];
    let http = match http_port {
        Some(p) => match c.map(p, LIFETIME).await {
            Ok(h) => {
                lifetime = lifetime.min(h.lifetime);
                ports.push(p);
                Some(format!("http://{}:{}", h.ip, h.external))
            }
            Err(e) => {
                log_warn!("port mapping: the HTTP port {p} was not mapped: {e}");
                None
            }
        },
        None => None,
    };
    let renew = Duration::from_secs(u64::from(lifetime / 2)).clamp(RENEW_MIN, RENEW_MAX);
    Ok(Mapped {
        method: s.proto.as_str(),
        router: gw.ip(),
        swarm: format!("/ip4/{}/tcp/{}", s.ip, s.external),
        http,
        renew,
        pcp_ports: ports,
    })
}

#[cfg(test)]
mod tests {
    use super::superseded;

    #[test]
    fn a_changed_or_lapsed_mapping_withdraws_the_address_announced_before() {
        let a: libp2p::Multiaddr = "/ip4/198.51.100.1/tcp/4001".parse().unwrap();
        let b: libp2p::Multiaddr = "/ip4/198.51.100.2/tcp/4001".parse().unwrap();
        let mut announced = None;
        // The first mapping: nothing announced before, nothing to withdraw.
        assert_eq!(superseded(&mut announced, Some(a.clone())), None);
        // A renewal with the same outside address: nothing to withdraw.
        assert_eq!(superseded(&mut announced, Some(a.clone())), None);
        // The router's outside address changed: the old one goes.
        assert_eq!(superseded(&mut announced, Some(b.clone())), Some(a));
        assert_eq!(announced, Some(b.clone()));
        // Every method failed: the last one goes, and a second failure withdraws nothing.
        assert_eq!(superseded(&mut announced, None), Some(b));
        assert_eq!(superseded(&mut announced, None), None);
    }
}
