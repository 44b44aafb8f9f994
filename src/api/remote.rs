//! Calling a function of another node's API from inside this node: `POST <url>/api/<F>` with
//! a JSON array of arguments, on the node's one thread (tokio's TCP, never blocking it on
//! the network). `Accept` calls the inviting node's `GetVar` and `AddNode` with it.
//!
//! Bounded everywhere: [`CONNECT_TIMEOUT`] to connect, [`TIMEOUT`] for the whole exchange,
//! an answer of at most [`MAX_ANSWER`] bytes. Plain HTTP only (the node has no TLS client;
//! what goes over it is either public or, for an invitation code, as exposed as the code
//! was on its way to the owner). A URL naming a host, not an IP, is resolved with the
//! system's resolver, a blocking call, as the DNN reporter does (`src/dnn/reporter.rs`):
//! callers try IP URLs first.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Value;
use super::json::{JsonLimits, decode, encode};

/// Longest wait for the connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait for one whole call.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read.
pub const MAX_ANSWER: usize = 64 * 1024;

/// `http://host[:port][/prefix]` as (host, port, path prefix without a trailing `/`).
pub fn parse_url(url: &str) -> Result<(String, u16, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs are called"))?;
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].trim_end_matches('/')),
        None => (rest, ""),
    };
    let (host, port) = if let Some(r) = hostport.strip_prefix('[') {
        let (h, after) = r
            .split_once(']')
            .ok_or_else(|| format!("{url}: bad host"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().map_err(|_| format!("{url}: bad port"))?,
            None if after.is_empty() => 80,
            None => return Err(format!("{url}: bad host")),
        };
        (h, port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().map_err(|_| format!("{url}: bad port"))?),
            None => (hostport, 80),
        }
    };
    if host.is_empty() {
        return Err(format!("{url}: no host"));
    }
    Ok((host.to_string(), port, path.to_string()))
}

/// Whether `url`'s host is an IP address (no resolver needed).
pub fn names_ip(url: &str) -> bool {
    parse_url(url).is_ok_and(|(h, _, _)| h.parse::<IpAddr>().is_ok())
}

/// Calls `function` with `args` on the node at `url`: the HTTP status and the decoded JSON
/// answer, or why there is none.
pub async fn call(url: &str, function: &str, args: Vec<Value>) -> Result<(u16, Value), String> {
    let (host, port, prefix) = parse_url(url)?;
    let mut body = String::new();
    encode(&Value::List(args), &mut body);
    let buf = post(&host, port, &format!("{prefix}/api/{function}"), &body).await?;
    parse_answer(&buf).map_err(|e| format!("{host}:{port}: {e}"))
}

/// POSTs `body` (JSON) to `path` on `host:port` and reads the whole HTTP answer: within
/// [`CONNECT_TIMEOUT`] to connect and [`TIMEOUT`] in all, at most [`MAX_ANSWER`] bytes. The
/// one small HTTP client of the node (`Accept` here, the DNN reporter's reports).
pub async fn post(host: &str, port: u16, path: &str, body: &str) -> Result<Vec<u8>, String> {
    let addr: SocketAddr = match host.parse::<IpAddr>() {
        Ok(ip) => SocketAddr::new(ip, port),
        Err(_) => std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .next()
            .ok_or_else(|| format!("{host} has no address"))?,
    };
    let work = async {
        let mut s = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| {
                format!(
                    "{addr} did not accept within {} s",
                    CONNECT_TIMEOUT.as_secs()
                )
            })?
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let host_header = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {host_header}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        s.write_all(body.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = s.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if n == 0 {
                break;
            }
            if buf.len() + n > MAX_ANSWER {
                return Err(format!("{addr} answered more than {MAX_ANSWER} bytes"));
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        Ok(buf)
    };
    tokio::time::timeout(TIMEOUT, work)
        .await
        .map_err(|_| format!("no answer from {addr} within {} s", TIMEOUT.as_secs()))?
}

/// An HTTP/1.1 answer with a JSON body (a `Content-Length` one, or read to the end).
pub fn parse_answer(buf: &[u8]) -> Result<(u16, Value), String> {
    let at = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the answer is not HTTP")?;
    let head = String::from_utf8_lossy(&buf[..at]);
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("the answer has no status")?;
    if head.lines().any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.eq_ignore_ascii_case("transfer-encoding")
                && !v.trim().eq_ignore_ascii_case("identity")
        })
    }) {
        return Err("the answer is chunked, which this client does not read".into());
    }
    let mut body = &buf[at + 4..];
    let length = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-length")
            .then(|| v.trim().parse::<usize>().ok())?
    });
    if let Some(n) = length {
        body = body.get(..n).ok_or("the answer is cut short")?;
    }
    let v = decode(body, &JsonLimits::DEFAULT).map_err(|e| {
        format!(
            "HTTP {status} with a body that is not JSON ({e}): {}",
            super::truncate(&String::from_utf8_lossy(body), 200)
        )
    })?;
    Ok((status, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("http://127.0.0.1:4800").unwrap(),
            ("127.0.0.1".into(), 4800, "".into())
        );
        assert_eq!(
            parse_url("http://[::1]:80/x/").unwrap(),
            ("::1".into(), 80, "/x".into())
        );
        assert_eq!(
            parse_url("http://node.example").unwrap(),
            ("node.example".into(), 80, "".into())
        );
        assert!(parse_url("https://node.example").is_err());
        assert!(parse_url("http://:80").is_err());
        assert!(parse_url("http://h:port").is_err());
        assert!(names_ip("http://10.0.0.1:1"));
        assert!(!names_ip("http://node.example:1"));
    }

    #[test]
    fn answers() {
        let (s, v) = parse_answer(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ntrueXX").unwrap();
        assert_eq!((s, v), (200, Value::Bool(true)));
        let (s, v) = parse_answer(b"HTTP/1.1 403 Forbidden\r\n\r\n{\"error\":\"no\"}").unwrap();
        assert_eq!(s, 403);
        assert_eq!(v.get("error").and_then(Value::as_str), Some("no"));
        assert!(parse_answer(b"garbage").is_err());
        assert!(parse_answer(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\ntrue").is_err());
        assert!(
            parse_answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\ntrue")
                .is_err()
        );
    }
}
