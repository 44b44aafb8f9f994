//! The home-node side: report this node's addresses, Mimeis and domains to each DNN named in
//! `Gateway`.
//!
//! One task on the node's thread. Every [`TICK`] (or `GatewaySecs` when shorter) it builds the
//! report's content (interface addresses with the HTTP port, `https://` URLs from `FixedAddr`,
//! the Mimeis any visitor may read with their newest version, this node's domain bindings)
//! and sends it when it changed, when `GatewaySecs` (default 300) passed since the last one,
//! or when a binding was set (`MiMeiSetDomain` wakes the task). Each report is signed with the
//! node key and goes to `POST <gateway>/api/DnnReport` as `["<base64url report>"]`.
//!
//! Reports go over plain HTTP: they are signed, so a path cannot alter them, and a DNN refuses
//! replays. A gateway named by a host name is resolved with the system resolver when a report
//! is sent (a blocking call, every few minutes; name the DNN by IP on a router whose DNS may
//! hang). Failures are logged when they change, never retried in a tight loop, and shown by
//! `DnnStatus`.

use std::net::IpAddr;
use std::rc::Rc;
use std::time::Duration;

use super::addr::{self, Host, Offer, Scope};
use super::report::{Binding, MAX_ADDRS, MAX_MIMEIS, Report};
use super::{GatewayStatus, ifaddrs, own_binds};
use crate::api::NodeState;
use crate::api::json::{JsonLimits, decode};
use crate::clock::unix_now;
use crate::mimei::store::Mimeis;
use crate::mimei::{MimeiId, Right};
use crate::{log_info, log_warn};

/// How often the content of the report is checked for changes.
pub const TICK: Duration = Duration::from_secs(30);
/// How long one report may take.
pub const TIMEOUT: Duration = crate::api::remote::TIMEOUT;

/// The HTTP addresses this node can be reached at (see the module doc).
pub fn local_offers(state: &NodeState) -> Vec<Offer> {
    let Some(listen) = state.listen.get() else {
        return Vec::new();
    };
    let port = listen.port();
    let mut out: Vec<Offer> = Vec::new();
    let mut push = |o: Offer| {
        if out.len() < MAX_ADDRS && !out.contains(&o) {
            out.push(o);
        }
    };
    for a in &state.vars.borrow().fixed_addr {
        if let Some(o) = url_offer(a) {
            push(o);
        }
    }
    // The HTTP port the home router maps to us (UPnP, net/nat_upnp.rs).
    #[cfg(feature = "net")]
    if let Some(o) = state
        .net()
        .and_then(|n| n.nat().mapped_http)
        .and_then(|u| url_offer(&u))
    {
        push(o);
    }
    for i in ifaddrs::list() {
        if !listen.ip().is_unspecified() && listen.ip() != i.ip {
            continue;
        }
        if listen.ip().is_ipv4() && i.ip.is_ipv6() && !listen.ip().is_unspecified() {
            continue;
        }
        if matches!(addr::scope(i.ip), Scope::LinkLocal | Scope::Unusable) {
            continue;
        }
        push(Offer {
            https: false,
            host: Host::Ip(i.ip),
            port,
            prefix: i.prefix,
            vpn: i.vpn,
        });
    }
    out
}

/// An offer from an `http://` or `https://` URL in `FixedAddr` (other entries are the
/// swarm's).
pub fn url_offer(s: &str) -> Option<Offer> {
    let (https, rest) = if let Some(r) = s.strip_prefix("https://") {
        (true, r)
    } else {
        (false, s.strip_prefix("http://")?)
    };
    let hostport = rest.split('/').next()?;
    let (host, port) = split_host_port(hostport, if https { 443 } else { 80 })?;
    let host = match host.parse::<IpAddr>() {
        Ok(ip) => Host::Ip(ip),
        Err(_) => {
            let h = host.to_ascii_lowercase();
            super::report::check_domain(&h).ok()?;
            Host::Name(h)
        }
    };
    Some(Offer {
        https,
        host,
        port,
        prefix: 0,
        vpn: false,
    })
}

fn split_host_port(s: &str, default: u16) -> Option<(&str, u16)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => default,
            None => return None,
        };
        return Some((h, port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => Some((h, p.parse().ok()?)),
        _ => Some((s, default)),
    }
}

/// The Mimeis a visitor may read here, with their newest version (its number from the store's
/// key: this runs every tick, and verifying every record of every Mimei each time would cost
/// a router seconds; the headers are still verified).
pub fn public_mimeis(state: &NodeState) -> Vec<(MimeiId, u64)> {
    let m = Mimeis::new(&state.store);
    let mut out = Vec::new();
    for mid in m.ids().unwrap_or_default() {
        if out.len() >= MAX_MIMEIS {
            log_warn!("DNN report: only the first {MAX_MIMEIS} public Mimeis are reported");
            break;
        }
        let Ok(h) = m.header(&mid) else { continue };
        if h.rights().check(None, Right::READ).is_err() {
            continue;
        }
        if let Ok(Some(v)) = m.last_number(&mid) {
            out.push((mid, v));
        }
    }
    out
}

/// The bindings this node asks for, each with the Mimei's header.
pub fn bindings(state: &NodeState) -> Vec<Binding> {
    let m = Mimeis::new(&state.store);
    let mut out = Vec::new();
    for (domain, kind, mid) in own_binds(&state.store).unwrap_or_default() {
        match m.header(&mid) {
            Ok(h) => out.push(Binding {
                domain,
                kind,
                header: h.to_bytes(),
            }),
            Err(e) => log_warn!("domain {domain}: Mimei {mid} cannot be reported: {e}"),
        }
    }
    out.truncate(super::report::MAX_DOMAINS);
    out
}

/// A `Gateway` entry as (host, port, path prefix).
pub fn parse_gateway(url: &str) -> Result<(String, u16, String), String> {
    let rest = if let Some(r) = url.strip_prefix("http://") {
        r
    } else if url.starts_with("https://") {
        return Err(format!(
            "{url}: reports go over plain HTTP (they are signed); name the DNN's http:// URL"
        ));
    } else {
        url
    };
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let (host, port) =
        split_host_port(hostport, 80).ok_or_else(|| format!("{url}: not http://host[:port]"))?;
    if host.is_empty() {
        return Err(format!("{url}: no host"));
    }
    Ok((host.to_string(), port, path.to_string()))
}

/// POSTs `body` (JSON) to `path` on `host:port` (the node's one client,
/// [`crate::api::remote::post`], with the same bounds); returns the status and the body.
pub async fn post_json(
    host: &str,
    port: u16,
    path: &str,
    body: &str,
) -> Result<(u16, String), String> {
    let buf = crate::api::remote::post(host, port, path, body).await?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or("the answer is not HTTP")?;
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("the answer has no status")?;
    Ok((status, body.to_string()))
}

/// Sends `report` to one gateway; the status line to keep for it.
async fn send_one(url: &str, report_b64: &str) -> (bool, String) {
    let (host, port, prefix) = match parse_gateway(url) {
        Ok(g) => g,
        Err(e) => return (false, e),
    };
    let body = format!("[\"{report_b64}\"]");
    match post_json(&host, port, &format!("{prefix}/api/DnnReport"), &body).await {
        Ok((200, answer)) => (true, summary(&answer)),
        Ok((status, answer)) => {
            let msg = decode(answer.as_bytes(), &JsonLimits::DEFAULT)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
                .unwrap_or(answer);
            (
                false,
                format!(
                    "refused (HTTP {status}): {}",
                    crate::api::truncate(&msg, 300)
                ),
            )
        }
        Err(e) => (false, e),
    }
}

fn summary(answer: &str) -> String {
    let Ok(v) = decode(answer.as_bytes(), &JsonLimits::DEFAULT) else {
        return "accepted".into();
    };
    let mut s = "accepted".to_string();
    if let Some(seen) = v.get("seen").and_then(|x| x.as_str()) {
        s.push_str(&format!("; it sees this node at {seen}"));
    }
    if let Some(crate::api::Value::List(r)) = v.get("refused") {
        for x in r {
            if let Some(reason) = x.get("reason").and_then(|y| y.as_str()) {
                s.push_str(&format!("; refused: {reason}"));
            }
        }
    }
    s
}

/// Signs a report of `offers` and `mimeis` (with this node's bindings) and sends it to every
/// gateway now.
pub async fn report_now(
    state: &NodeState,
    seq: &mut u64,
    offers: Vec<Offer>,
    mimeis: Vec<(MimeiId, u64)>,
) {
    let gateways = state.vars.borrow().gateway.clone();
    if gateways.is_empty() {
        return;
    }
    let now_ms = crate::clock::unix_ms();
    *seq = (*seq + 1).max(now_ms);
    let r = Report::sign(&state.key, *seq, offers, mimeis, bindings(state));
    let b64 = crate::pki::encoding::base64url_encode(&r.to_bytes());
    let mut statuses = Vec::with_capacity(gateways.len());
    for url in &gateways {
        let (ok, message) = send_one(url, &b64).await;
        let old = state
            .dnn
            .gateways
            .borrow()
            .iter()
            .find(|g| &g.url == url)
            .cloned()
            .unwrap_or_default();
        if old.at == 0 || old.ok != ok || old.message != message {
            if ok {
                log_info!("DNN {url}: report {message}");
            } else {
                log_warn!("DNN {url}: report not delivered: {message}");
            }
        }
        statuses.push(GatewayStatus {
            url: url.clone(),
            ok,
            at: unix_now(),
            message,
        });
    }
    *state.dnn.gateways.borrow_mut() = statuses;
}

/// What the last report held (addresses, Mimeis, number of bindings) and when it went.
type Sent = (Vec<Offer>, Vec<(MimeiId, u64)>, usize, u64);

/// Starts the reporting task when `Gateway` names any DNN.
pub fn spawn(state: &Rc<NodeState>) -> Option<tokio::task::JoinHandle<()>> {
    if state.vars.borrow().gateway.is_empty() {
        return None;
    }
    let state = state.clone();
    Some(tokio::task::spawn_local(async move {
        let every = u64::from(state.vars.borrow().gateway_secs.max(1));
        let tick = TICK.min(Duration::from_secs(every));
        let mut seq = 0u64;
        let mut last: Option<Sent> = None;
        loop {
            let offers = local_offers(&state);
            let mimeis = public_mimeis(&state);
            let binds = own_binds(&state.store).map(|b| b.len()).unwrap_or(0);
            let now = unix_now();
            let due = match &last {
                None => true,
                Some((o, m, b, at)) => {
                    *o != offers || *m != mimeis || *b != binds || now >= at + every
                }
            };
            if due {
                report_now(&state, &mut seq, offers.clone(), mimeis.clone()).await;
                last = Some((offers, mimeis, binds, now));
            }
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = state.dnn.wake.notified() => { last = None; }
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateways_and_fixed_urls() {
        assert_eq!(
            parse_gateway("http://dnn.example.org:4800").unwrap(),
            ("dnn.example.org".into(), 4800, "".into())
        );
        assert_eq!(
            parse_gateway("10.0.0.1:4800").unwrap(),
            ("10.0.0.1".into(), 4800, "".into())
        );
        assert_eq!(
            parse_gateway("http://[2001:db8::1]:80/dnn/").unwrap(),
            ("2001:db8::1".into(), 80, "/dnn".into())
        );
        assert!(parse_gateway("https://dnn.example.org").is_err());
        assert!(parse_gateway("http://:80").is_err());
        let o = url_offer("https://Node.Example.org/").unwrap();
        assert_eq!(o.url(), "https://node.example.org:443");
        assert_eq!(
            url_offer("http://81.2.69.160:8080").unwrap().url(),
            "http://81.2.69.160:8080"
        );
        assert!(url_offer("/ip4/1.2.3.4/tcp/4801").is_none());
        assert!(url_offer("1.2.3.4:4801").is_none());
    }
}
