//! The DNN's pages and the node's dashboard.
//!
//! - `/` with a `Host` bound to a Mimei or app ([`crate::dnn::directory::domain`]): the DNN
//!   page for it. With a `Host` that is a name nothing is bound to, on a node that serves
//!   bindings: a 404 page that says so. Otherwise (an IP address, `localhost`, a node with no
//!   bindings): the dashboard, which is also always at `/dashboard`.
//! - `/mm/<mid>[:ver][/path]` and `/tpt/<appid>[/path]` for a Mimei this node does not hold
//!   (src/http/mm.rs and tpt.rs serve the ones it holds): the DNN page when live providers
//!   reported it, else a 404 page (HTML for browsers, the JSON error for others). `?dnn=0`
//!   (what the page's own fetches send) never gets a page, so a provider that lost the Mimei
//!   answers 404 and the page moves on.
//! - `/tpt/<appid>[:ver]/` from a browser on the node that holds the app ([`app_page`], called
//!   by src/http/tpt.rs): the same page with this node as a candidate, so every app runs under
//!   the page and gets Leither's `getParam()` (docs/template.md).
//!
//! The page is `temp.html` filled by [`crate::dnn::page::render`] with the candidates
//! [`crate::dnn::addr::offers`] picks for the visitor's address. It is never cached: it
//! depends on who asks and on which providers are live.

use std::net::IpAddr;

use picoserve::ResponseSent;
use picoserve::io::Read;
use picoserve::request::Request;
use picoserve::response::{IntoResponse, Response, ResponseWriter, StatusCode};

use super::reply::{CORS, json_error};
use crate::api::NodeState;
use crate::clock::unix_now;
use crate::dnn::addr::{self, Candidate, Provider};
use crate::dnn::directory;
use crate::dnn::page::{self, Page};
use crate::dnn::report::Kind;
use crate::mimei::store::Mimeis;
use crate::mimei::{MimeiId, MimeiPath, VersionName};

/// The dashboard (src/dnn/dashboard.html).
pub const DASHBOARD: &str = include_str!("../dnn/dashboard.html");
/// Most candidates put in a page.
pub const MAX_CANDIDATES: usize = 8;

/// Writes an HTML response with the given `Cache-Control`.
pub(crate) async fn html<R: Read, W: ResponseWriter<Error = R::Error>>(
    request: Request<'_, R>,
    writer: W,
    status: u16,
    cache: &'static str,
    body: String,
) -> Result<ResponseSent, W::Error> {
    let connection = request.body_connection.finalize().await?;
    Response::new(StatusCode::new(status), body.into_bytes())
        .with_content_type("text/html; charset=utf-8")
        .with_headers(CORS)
        .with_header("Cache-Control", cache)
        .write_to(connection, writer)
        .await
}

/// A small 404 page.
pub fn not_found_page(message: &str) -> String {
    let mut m = String::new();
    page::html_escape(message, &mut m);
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>Not found</title></head><body style=\"font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:3em auto;padding:0 1em\"><h1>Not found</h1><p>{m}</p></body></html>"
    )
}

/// Whether the request is a browser's (it accepts HTML).
fn wants_html(parts: &picoserve::request::RequestParts<'_>) -> bool {
    parts
        .headers()
        .get("accept")
        .and_then(|v| v.as_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// The `Host` header without its port, lower case.
fn host(parts: &picoserve::request::RequestParts<'_>) -> String {
    let h = parts
        .headers()
        .get("host")
        .and_then(|v| v.as_str().ok())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("").to_string();
    }
    match h.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|c| c.is_ascii_digit()) => name.to_string(),
        _ => h,
    }
}

/// The `Host` header as sent (for the DNN's own entry in a Leither template's `ips`; the page
/// checks it is a plain `host[:port]`).
fn raw_host(parts: &picoserve::request::RequestParts<'_>) -> String {
    parts
        .headers()
        .get("host")
        .and_then(|v| v.as_str().ok())
        .unwrap_or("")
        .trim()
        .to_string()
}

/// Whether the page is served over HTTPS.
fn secure() -> bool {
    super::is_secure()
}

/// When [`page_for`] makes a page, and where this node goes in its candidates.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Only when a provider reported the content or this node holds it; this node last (the
    /// providers should carry the load).
    IfKnown,
    /// Always (a bound domain); this node last.
    Always,
    /// Always, this node first: the visitor reached the node that holds the app, whose API
    /// (and the data beside it) the app should use.
    HereFirst,
}

/// The filled page for `target` (a path on a provider) of `mid`, for this visitor; `None`
/// when no provider reported it and this node does not hold it either, in [`Mode::IfKnown`].
fn page_for(
    state: &NodeState,
    mid: &MimeiId,
    min_version: u64,
    target: &str,
    title: &str,
    host: &str,
    mode: Mode,
) -> Option<String> {
    // Unknown (never on a connection): no address, so nothing local is offered.
    let visitor = crate::api::remote_addr()
        .map(|a| addr::canonical(a.ip()))
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let secure = secure();
    let now = unix_now();
    let me = state.key.id();
    let mut dir = state.dnn.directory.borrow_mut();
    let known = dir.providers(&state.store, mid, min_version, now);
    let reported = !known.is_empty();
    let providers: Vec<Provider<'_>> = known
        .iter()
        .filter(|(k, _)| k.report.node() != me)
        .map(|(k, v)| Provider {
            offers: &k.report.addrs,
            seen_from: k.from,
            version: *v,
        })
        .collect();
    let mut cands = addr::offers(&providers, visitor, secure, MAX_CANDIDATES);
    // Providers behind a NAT with a tunnel open here: after every direct address.
    #[cfg(feature = "net")]
    if let Some(net) = state.net() {
        for (k, _) in known.iter().filter(|(k, _)| k.report.node() != me) {
            if let Some(peer) = crate::net::tunnel::served_peer(net, &k.report.node()) {
                let c = addr::tunnel_candidate(&peer.to_string());
                if !cands.contains(&c) {
                    cands.push(c);
                }
            }
        }
    }
    let here = Mimeis::new(&state.store)
        .resolve(mid, VersionName::Last)
        .ok()
        .flatten()
        .is_some_and(|v| v >= min_version);
    if !(reported || here || mode != Mode::IfKnown) {
        return None;
    }
    if here && mode == Mode::HereFirst {
        // Before every other group, so the page's shuffle cannot put another node first.
        for c in cands.iter_mut() {
            c.group = c.group.saturating_add(1);
        }
        cands.insert(
            0,
            Candidate {
                url: String::new(),
                group: 0,
            },
        );
    } else if here {
        cands.push(Candidate {
            url: String::new(),
            group: 9,
        });
    }
    let mut note = String::new();
    if secure && cands.is_empty() {
        let plain = addr::offers(&providers, visitor, false, MAX_CANDIDATES);
        if !plain.is_empty() {
            note = format!(
                "This page came over HTTPS, and the {} node(s) holding this content offer plain HTTP only, which browsers block on an HTTPS page. Open this address with http:// instead.",
                plain.len()
            );
        }
    }
    drop(dir);
    let template = state.dnn.template(&state.home);
    let visitor_text = visitor.to_string();
    let p = Page {
        title,
        note: &note,
        target,
        cands: &cands,
        visitor: &visitor_text,
        host,
    };
    Some(match page::render(&template, &p) {
        Ok(t) => t,
        Err(e) => {
            crate::log_error!(
                "DNN page: temp.html cannot be filled ({e}); using the built-in page"
            );
            page::render(page::BUILTIN, &p).unwrap_or_else(|e| not_found_page(&e.to_string()))
        }
    })
}

/// The page for `GET /tpt/<appid>[:ver]/` from a browser, on a node that holds the app (the
/// caller checked the visitor may read it): this node first, then the providers that reported
/// the app, so the app gets Leither's `getParam()` (and the failover) as it does through a DNN,
/// and uses the node the visitor reached while it answers. `None` for anything else: a file of the app, a non-browser, `?dnn=0` (the
/// page's own fetch), which get the file itself.
pub fn app_page(
    state: &NodeState,
    path: &str,
    parts: &picoserve::request::RequestParts<'_>,
) -> Option<String> {
    let rest = path.strip_prefix("/tpt/")?.strip_suffix('/')?;
    if parts.method() != "GET"
        || rest.is_empty()
        || rest.contains('/')
        || !wants_html(parts)
        || super::reply::query(parts)
            .split('&')
            .any(|kv| kv == "dnn=0")
    {
        return None;
    }
    let p = MimeiPath::parse_url(rest).ok()?;
    let min = match p.version {
        Some(VersionName::Number(n)) => n,
        _ => 0,
    };
    let title = format!("App {}", p.mid);
    page_for(
        state,
        &p.mid,
        min,
        path,
        &title,
        &raw_host(parts),
        Mode::HereFirst,
    )
}

/// `GET /mm/...` or `/tpt/...` for a Mimei that is not here: the page, or a 404.
pub async fn not_here<R: Read, W: ResponseWriter<Error = R::Error>>(
    state: &NodeState,
    path: &str,
    code: &str,
    status: u16,
    message: String,
    request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    let query = super::reply::query(&request.parts);
    let (kind, rest) = match path.strip_prefix("/mm/") {
        Some(r) => (Kind::Mimei, r),
        None => (Kind::App, path.strip_prefix("/tpt/").unwrap_or("")),
    };
    let parsed = MimeiPath::parse_url(rest).ok();
    let absent = parsed.as_ref().is_some_and(|p| {
        Mimeis::new(&state.store).header(&p.mid).is_err() || (kind == Kind::App && status == 404)
    });
    let no_page = query.split('&').any(|kv| kv == "dnn=0");
    if let (Some(p), true, false) = (&parsed, absent, no_page) {
        let min = match p.version {
            Some(VersionName::Number(n)) => n,
            _ => 0,
        };
        let mut target = format!("/{}/{rest}", kind.prefix());
        if p.path.is_empty() && !target.ends_with('/') {
            target.push('/');
        }
        let title = match kind {
            Kind::Mimei => format!("Mimei {}", p.mid),
            Kind::App => format!("App {}", p.mid),
        };
        if let Some(body) = page_for(
            state,
            &p.mid,
            min,
            &target,
            &title,
            &raw_host(&request.parts),
            Mode::IfKnown,
        ) {
            return html(request, writer, 200, "no-store", body).await;
        }
    }
    if wants_html(&request.parts) && !no_page {
        let body = not_found_page(&format!(
            "{message}. No node that holds it has reported to this node either."
        ));
        return html(request, writer, status, "no-store", body).await;
    }
    let body = json_error(&message, code);
    super::reply::send(request, writer, status, "application/json", body).await
}

/// `GET /`: a bound domain's page, an unknown domain's 404, or the dashboard.
pub async fn root<R: Read, W: ResponseWriter<Error = R::Error>>(
    state: &NodeState,
    request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    let h = host(&request.parts);
    let bound = if h.is_empty() {
        None
    } else {
        directory::domain(&state.store, &h).ok().flatten()
    };
    if let Some(b) = bound {
        let target = format!("/{}/{}/", b.kind.prefix(), b.mid);
        let body = page_for(
            state,
            &b.mid,
            0,
            &target,
            &h,
            &raw_host(&request.parts),
            Mode::Always,
        )
        .unwrap_or_default();
        return html(request, writer, 200, "no-store", body).await;
    }
    let is_name = !h.is_empty() && h.parse::<IpAddr>().is_err() && h != "localhost";
    if is_name
        && !directory::domains(&state.store)
            .unwrap_or_default()
            .is_empty()
    {
        let body = not_found_page(&format!(
            "No Mimei or app is bound to {h} on this node. Its owner binds one with `leither mimei setdomain MID {h}` (or `leither lapp setdomain -a APP -d {h}`) on a node that reports here; this node's own dashboard is at /dashboard."
        ));
        return html(request, writer, 404, "no-store", body).await;
    }
    dashboard(request, writer).await
}

/// `GET /dashboard`.
pub async fn dashboard<R: Read, W: ResponseWriter<Error = R::Error>>(
    request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    html(request, writer, 200, "no-cache", DASHBOARD.to_string()).await
}
