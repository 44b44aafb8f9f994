//! `GET /getvar?name=NAME&arg0=A&arg1=B[&nojson]`: Leither's plain-HTTP window on `GetVar`.
//!
//! The call runs as the guest `""`; the answer is the value as JSON, or with `nojson` the bare
//! value (a string without quotes, anything else still JSON). Errors are the JSON front
//! door's (`{"error", "code"}` and its status).
//!
//! `name=ppt&arg0=HOURS` is the Go client's `GetLocalPassport`: it answers the owner's pass,
//! so it is given only to a program on this machine. The rule ([`may_get_pass`]): the TCP
//! peer is a loopback address (the socket's, never a header such as X-Forwarded-For), the
//! `Host` header names a loopback host (a DNS-rebound name is a web page, not a local
//! program), and there is no `Origin` or `Sec-Fetch-Site` header (a browser sends them; a
//! page on any site the owner visits could otherwise fetch the pass from 127.0.0.1). The
//! pass answer carries no CORS headers and `Cache-Control: no-store`. Everyone else: 403.

use std::net::SocketAddr;

use picoserve::ResponseSent;
use picoserve::io::Read;
use picoserve::request::Request;
use picoserve::response::{IntoResponse, Response, ResponseWriter, StatusCode};

use super::reply::{json_body, json_error, query, send};
use crate::api::{self, NodeState, Value, fns_var};

/// Most query parameters read (the rest are ignored).
const MAX_PARAMS: usize = 16;

/// Most `argN` passed on (as `GetVar` takes).
const MAX_ARGS: usize = 8;

/// Handles `/getvar`.
pub async fn get<R: Read, W: ResponseWriter<Error = R::Error>>(
    state: &NodeState,
    request: Request<'_, R>,
    writer: W,
) -> Result<ResponseSent, W::Error> {
    let q = query(&request.parts);
    let h = |n: &str| {
        request
            .parts
            .headers()
            .get(n)
            .and_then(|v| v.as_str().ok())
            .map(str::to_string)
    };
    let asker = Asker {
        peer: api::remote_addr(),
        host: h("host"),
        browser: h("origin").is_some() || h("sec-fetch-site").is_some(),
    };
    let a = answer(state, &q, &asker).await;
    if a.private {
        let connection = request.body_connection.finalize().await?;
        return Response::new(StatusCode::new(a.status), a.body)
            .with_content_type(a.content_type)
            .with_header("Cache-Control", "no-store")
            .write_to(connection, writer)
            .await;
    }
    send(request, writer, a.status, a.content_type, a.body).await
}

/// Who asks, as far as the pass rule cares.
pub struct Asker {
    /// The TCP peer.
    pub peer: Option<SocketAddr>,
    /// The `Host` header.
    pub host: Option<String>,
    /// Whether the request carries headers only browsers send (`Origin`, `Sec-Fetch-Site`).
    pub browser: bool,
}

/// What `/getvar` answers.
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The content type.
    pub content_type: &'static str,
    /// The body.
    pub body: Vec<u8>,
    /// A credential: sent without CORS headers and not to be cached.
    pub private: bool,
}

/// Whether `asker` may have the owner's pass (the rule in the module doc).
pub fn may_get_pass(asker: &Asker) -> Result<(), &'static str> {
    let Some(peer) = asker.peer else {
        return Err("the caller's address is unknown");
    };
    if !peer.ip().to_canonical().is_loopback() {
        return Err("the caller is not on this machine");
    }
    if asker.browser {
        return Err("the request comes from a web page");
    }
    let host = asker.host.as_deref().unwrap_or("");
    let name = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    let loopback_name = name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback());
    if !loopback_name {
        return Err("the Host header does not name this machine");
    }
    Ok(())
}

/// `%XX` and `+` decoded; `None` for a bad escape or bytes that are not UTF-8.
fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn fail(status: u16, message: &str, code: &str) -> Answer {
    Answer {
        status,
        content_type: "application/json",
        body: json_error(message, code),
        private: false,
    }
}

/// The answer to `/getvar?<query>` from `asker` (sans HTTP, for tests).
pub async fn answer(state: &NodeState, query: &str, asker: &Asker) -> Answer {
    let mut params: Vec<(String, String)> = Vec::new();
    for kv in query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .take(MAX_PARAMS)
    {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        match (decode(k), decode(v)) {
            (Some(k), Some(v)) => params.push((k, v)),
            _ => return fail(400, "a query parameter has a bad %-escape", "bad_query"),
        }
    }
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let nojson = get("nojson").is_some();
    let Some(name) = get("name").filter(|n| !n.is_empty()) else {
        return fail(
            400,
            "/getvar needs ?name=NAME (and arg0=, arg1=, ... for its arguments)",
            "bad_query",
        );
    };
    state.calls.set(state.calls.get() + 1);
    if name.eq_ignore_ascii_case("ppt") {
        if let Err(why) = may_get_pass(asker) {
            return fail(
                403,
                &format!(
                    "/getvar?name=ppt gives the owner's pass only to a program on the node's own \
                     machine ({why}); elsewhere log in with a pass signed by your key"
                ),
                "forbidden",
            );
        }
        return match fns_var::local_pass(state, get("arg0").unwrap_or("")) {
            Ok(pass) => Answer {
                status: 200,
                content_type: "text/plain; charset=utf-8",
                body: pass.into_bytes(),
                private: true,
            },
            Err(e) => fail(e.http_status(), &e.to_string(), e.code()),
        };
    }
    let mut args = vec![Value::from(""), Value::from(name)];
    for i in 0..MAX_ARGS {
        match get(&format!("arg{i}")) {
            Some(a) => args.push(Value::from(a)),
            None => break,
        }
    }
    match api::call(state, "GetVar", args).await {
        Ok(Value::Str(s)) if nojson => Answer {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: s.into_bytes(),
            private: false,
        },
        Ok(v) => Answer {
            status: 200,
            content_type: "application/json",
            body: json_body(&v),
            private: false,
        },
        Err(e) => fail(e.http_status(), &e.to_string(), e.code()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asker(peer: &str, host: &str, browser: bool) -> Asker {
        Asker {
            peer: Some(peer.parse().unwrap()),
            host: Some(host.to_string()),
            browser,
        }
    }

    #[test]
    fn the_pass_goes_only_to_a_local_program() {
        assert!(may_get_pass(&asker("127.0.0.1:5000", "127.0.0.1:4800", false)).is_ok());
        assert!(may_get_pass(&asker("[::1]:5000", "[::1]:4800", false)).is_ok());
        assert!(may_get_pass(&asker("[::ffff:127.0.0.1]:5000", "localhost", false)).is_ok());
        // Another machine, even one that claims to be local in a header.
        assert!(may_get_pass(&asker("192.168.1.9:5000", "127.0.0.1:4800", false)).is_err());
        assert!(may_get_pass(&asker("10.0.0.2:5000", "localhost:4800", false)).is_err());
        // A web page on this machine: a browser's headers, or a rebound DNS name.
        assert!(may_get_pass(&asker("127.0.0.1:5000", "127.0.0.1:4800", true)).is_err());
        assert!(may_get_pass(&asker("127.0.0.1:5000", "evil.example:4800", false)).is_err());
        assert!(
            may_get_pass(&Asker {
                peer: None,
                host: Some("127.0.0.1".into()),
                browser: false
            })
            .is_err()
        );
    }

    #[test]
    fn query_decoding() {
        assert_eq!(decode("a%20b+c").as_deref(), Some("a b c"));
        assert_eq!(decode("%zz"), None);
        assert_eq!(decode("%4"), None);
        assert_eq!(decode("%ff"), None);
    }
}
