//! Port mapping on the home router with UPnP IGD (docs/network.md, "Behind a NAT"), our own
//! small client rather than a crate (igd-next brings hyper and a blocking HTTP client):
//! SSDP `M-SEARCH` for an Internet Gateway Device, its description (the `controlURL` of
//! `WANIPConnection` or `WANPPPConnection`), then SOAP `GetExternalIPAddress` and
//! `AddPortMapping` for the swarm port and the HTTP port, renewed at half the lease.
//!
//! On success the swarm address `/ip4/EXT/tcp/PORT` is announced (AutoNAT then checks it) and
//! `http://EXT:PORT` is offered to DNNs (`NatView::mapping`). A router that has no UPnP, or
//! refuses, is logged once with what to do. Everything is bounded: 3 s for discovery, 5 s
//! and 64 KiB per HTTP exchange. The parsing is sans-io (unit-tested below).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::handle::Net;
use crate::{log_debug, log_info, log_warn};

/// How long a lease is asked for (renewed at half).
const LEASE_SECS: u32 = 3600;
/// Largest HTTP answer read from the router.
const MAX_ANSWER: usize = 64 * 1024;
/// How long one exchange with the router may take.
const TIMEOUT: Duration = Duration::from_secs(5);

/// The SSDP answer's `LOCATION` header.
pub fn ssdp_location(answer: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(answer).ok()?;
    text.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case("location")
            .then(|| v.trim().to_string())
    })
}

/// The control URL and service type of the WAN connection service in a device description.
pub fn control_url(description: &str) -> Option<(String, String)> {
    for kind in [
        "urn:schemas-upnp-org:service:WANIPConnection:2",
        "urn:schemas-upnp-org:service:WANIPConnection:1",
        "urn:schemas-upnp-org:service:WANPPPConnection:1",
    ] {
        let Some(at) = description.find(kind) else {
            continue;
        };
        let rest = &description[at..];
        let end = rest.find("</service>").unwrap_or(rest.len());
        let service = &rest[..end];
        if let Some(url) = between(service, "<controlURL>", "</controlURL>") {
            return Some((url.trim().to_string(), kind.to_string()));
        }
    }
    None
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let a = s.find(open)? + open.len();
    let b = s[a..].find(close)? + a;
    Some(&s[a..b])
}

/// `http://host:port/path` split into the address and the path (IPv4 hosts only).
pub fn split_url(url: &str) -> Option<(SocketAddr, String)> {
    let rest = url.strip_prefix("http://")?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, "/".to_string()),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().ok()?),
        None => (hostport, 80),
    };
    let ip: Ipv4Addr = host.parse().ok()?;
    Some((SocketAddr::new(IpAddr::V4(ip), port), path))
}

/// The SOAP request body of `action` with `args`.
pub fn soap_body(service: &str, action: &str, args: &[(&str, String)]) -> String {
    let mut inner = String::new();
    for (k, v) in args {
        inner.push_str(&format!("<{k}>{v}</{k}>"));
    }
    format!(
        "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body><u:{action} xmlns:u=\"{service}\">{inner}</u:{action}></s:Body></s:Envelope>"
    )
}

/// What a SOAP answer says: `Ok(body)` for HTTP 200, else the fault's code and description.
pub fn soap_result(answer: &str) -> Result<String, String> {
    let status = answer
        .lines()
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .unwrap_or("");
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    if status == "200" {
        return Ok(body.to_string());
    }
    let code = between(body, "<errorCode>", "</errorCode>").unwrap_or("?");
    let text = between(body, "<errorDescription>", "</errorDescription>").unwrap_or("");
    Err(format!("HTTP {status}, UPnP error {code} {text}")
        .trim()
        .to_string())
}

/// One HTTP exchange with the router: the whole answer (at most [`MAX_ANSWER`]) and the
/// local address of the connection (the address the router sees us at).
async fn http(to: SocketAddr, request: String) -> Result<(String, IpAddr), String> {
    let go = async {
        let mut s = TcpStream::connect(to).await.map_err(|e| e.to_string())?;
        let local = s.local_addr().map_err(|e| e.to_string())?.ip();
        s.write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
            if out.len() > MAX_ANSWER {
                return Err("the router's answer is too long".to_string());
            }
        }
        Ok((String::from_utf8_lossy(&out).into_owned(), local))
    };
    tokio::time::timeout(TIMEOUT, go)
        .await
        .map_err(|_| format!("{to} did not answer within {} s", TIMEOUT.as_secs()))?
}

/// The gateway found by SSDP: its control endpoint and service type.
struct Gateway {
    addr: SocketAddr,
    path: String,
    service: String,
}

async fn discover(local: IpAddr) -> Result<Gateway, String> {
    if !local.is_ipv4() {
        return Err("UPnP IGD is asked over IPv4 only (ListenAddr is IPv6)".into());
    }
    let sock = UdpSocket::bind(SocketAddr::new(local, 0))
        .await
        .map_err(|e| e.to_string())?;
    let search = "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 2\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n";
    sock.send_to(search.as_bytes(), "239.255.255.250:1900")
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = vec![0u8; 2048];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    let location = loop {
        let got = tokio::time::timeout_at(deadline, sock.recv_from(&mut buf)).await;
        match got {
            Ok(Ok((n, _))) => {
                if let Some(l) = ssdp_location(&buf[..n]) {
                    break l;
                }
            }
            Ok(Err(e)) => return Err(e.to_string()),
            Err(_) => return Err("no UPnP gateway answered on the LAN within 3 s".into()),
        }
    };
    let (addr, path) = split_url(&location)
        .ok_or_else(|| format!("gateway location {location} is not http://IPv4"))?;
    let req = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    let (desc, _) = http(addr, req).await?;
    let (url, service) =
        control_url(&desc).ok_or("the gateway's description names no WANIPConnection service")?;
    let (addr, path) = if url.starts_with("http://") {
        split_url(&url).ok_or("the control URL is not http://IPv4")?
    } else {
        (addr, url)
    };
    Ok(Gateway {
        addr,
        path,
        service,
    })
}

async fn soap(
    g: &Gateway,
    action: &str,
    args: &[(&str, String)],
) -> Result<(String, IpAddr), String> {
    let body = soap_body(&g.service, action, args);
    let req = format!(
        "POST {} HTTP/1.0\r\nHost: {}\r\nContent-Type: text/xml; charset=\"utf-8\"\r\nSOAPAction: \"{}#{action}\"\r\nContent-Length: {}\r\n\r\n{body}",
        g.path,
        g.addr,
        g.service,
        body.len()
    );
    let (answer, local) = http(g.addr, req).await?;
    soap_result(&answer).map(|b| (b, local))
}

/// Maps `port` (TCP) to us; answers the external IP.
async fn map(g: &Gateway, port: u16) -> Result<Ipv4Addr, String> {
    let (ext, local) = soap(g, "GetExternalIPAddress", &[]).await?;
    let ext: Ipv4Addr = between(&ext, "<NewExternalIPAddress>", "</NewExternalIPAddress>")
        .and_then(|t| t.trim().parse().ok())
        .ok_or("the gateway did not say its external address")?;
    let args = |lease: u32| {
        vec![
            ("NewRemoteHost", String::new()),
            ("NewExternalPort", port.to_string()),
            ("NewProtocol", "TCP".to_string()),
            ("NewInternalPort", port.to_string()),
            ("NewInternalClient", local.to_string()),
            ("NewEnabled", "1".to_string()),
            ("NewPortMappingDescription", "leither".to_string()),
            ("NewLeaseDuration", lease.to_string()),
        ]
    };
    match soap(g, "AddPortMapping", &args(LEASE_SECS)).await {
        Ok(_) => Ok(ext),
        // 725 OnlyPermanentLeasesSupported
        Err(e) if e.contains("725") => soap(g, "AddPortMapping", &args(0)).await.map(|_| ext),
        Err(e) => Err(e),
    }
}

/// Starts the mapping task (on with `Upnp`, the default); SSDP goes out from `local` (the
/// `ListenAddr`; 0.0.0.0: the default route's interface).
pub fn spawn(net: &Net, local: IpAddr) {
    let net = net.clone();
    tokio::task::spawn_local(async move {
        if !net.wait_listening(Duration::from_secs(10)).await {
            return;
        }
        let mut told = String::new();
        loop {
            let wait = match once(&net, local).await {
                Ok(()) => Duration::from_secs(u64::from(LEASE_SECS) / 2),
                Err(e) => {
                    if e != told {
                        log_warn!(
                            "UPnP: no port mapping ({e}); to be reachable, forward the swarm and HTTP ports on the router, or set FixedAddr / SetExtAddr, or rely on relays and the HTTP tunnel (set \"Upnp\": false to stop trying)"
                        );
                        told = e.clone();
                    }
                    net.inner.shared.borrow_mut().nat.mapping = Some(format!("failed: {e}"));
                    Duration::from_secs(600)
                }
            };
            tokio::time::sleep(wait).await;
        }
    });
}

async fn once(net: &Net, local: IpAddr) -> Result<(), String> {
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
    let g = discover(local).await?;
    log_debug!("UPnP: gateway at {} ({})", g.addr, g.service);
    let ext = map(&g, swarm_port).await?;
    let mut mapped = format!("/ip4/{ext}/tcp/{swarm_port}");
    let addr: libp2p::Multiaddr = mapped.parse().map_err(|e| format!("{e}"))?;
    net.add_external(addr);
    let mut http_url = None;
    if let Some(p) = http_port {
        match map(&g, p).await {
            Ok(ext) => {
                let u = format!("http://{ext}:{p}");
                mapped.push_str(&format!(" and {u}"));
                http_url = Some(u);
            }
            Err(e) => log_warn!("UPnP: the HTTP port {p} was not mapped: {e}"),
        }
    }
    let mut sh = net.inner.shared.borrow_mut();
    if sh.nat.mapped_http.is_none() {
        log_info!("UPnP: the router {} mapped {mapped}", g.addr);
    }
    sh.nat.mapping = Some(format!("mapped {mapped} on {}", g.addr));
    sh.nat.mapped_http = http_url;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssdp_description_and_soap_answers_are_read() {
        let a = b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nLocation: http://192.168.1.1:5000/rootDesc.xml\r\n\r\n";
        assert_eq!(
            ssdp_location(a).as_deref(),
            Some("http://192.168.1.1:5000/rootDesc.xml")
        );
        assert_eq!(ssdp_location(b"junk"), None);
        let desc = "<root><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>/ctl/IPConn</controlURL></service></root>";
        assert_eq!(
            control_url(desc),
            Some((
                "/ctl/IPConn".to_string(),
                "urn:schemas-upnp-org:service:WANIPConnection:1".to_string()
            ))
        );
        assert_eq!(control_url("<root/>"), None);
        let (addr, path) = split_url("http://192.168.1.1:5000/rootDesc.xml").unwrap();
        assert_eq!((addr.port(), path.as_str()), (5000, "/rootDesc.xml"));
        assert!(split_url("https://x/").is_none());
        let fault = "HTTP/1.1 500 Internal Server Error\r\n\r\n<s:Fault><detail><UPnPError><errorCode>718</errorCode><errorDescription>ConflictInMappingEntry</errorDescription></UPnPError></detail></s:Fault>";
        assert_eq!(
            soap_result(fault),
            Err("HTTP 500, UPnP error 718 ConflictInMappingEntry".to_string())
        );
        assert!(soap_result("HTTP/1.1 200 OK\r\n\r\n<ok/>").is_ok());
        assert!(
            soap_body("S", "A", &[("K", "v".into())]).contains("<u:A xmlns:u=\"S\"><K>v</K></u:A>")
        );
    }
}
