//! The HTTP tunnel's wire format (sans-io, fuzzed: `fuzz/fuzz_targets/tunnel_wire.rs`).
//!
//! Two protocols on libp2p streams (docs/network.md, "The HTTP tunnel"):
//! - `/leither/tunnel-open/1.0.0`, the node behind a NAT to the public node: one [`Control`]
//!   message each way (`Open` with Leither's `uuid`; `Opened` with the path the tunnel has
//!   on the public node and its HTTP port, or `Refused` with the reason), each framed by a
//!   varint length of at most [`MAX_CONTROL`] bytes. The stream then stays open: the tunnel
//!   lives as long as it does.
//! - `/leither/tunnel/1.0.0`, the public node to the node behind the NAT: one HTTP/1.1
//!   request per stream, as its head ([`request_head`]: the request line and only the
//!   headers the tunnel passes, with `Connection: close`) and its body; the answer is the
//!   node's HTTP/1.1 response, read by [`parse_response`] (head at most [`MAX_HEAD`] bytes,
//!   at most [`MAX_HEADERS`] headers, a body framed by `Content-Length`, chunked, or the end
//!   of the stream, at most the caller's cap).

/// Largest control message.
pub const MAX_CONTROL: usize = 1024;
/// Largest response head.
pub const MAX_HEAD: usize = 16 * 1024;
/// Most headers in a response head.
pub const MAX_HEADERS: usize = 64;
/// Longest `uuid` and path in a control message.
const MAX_TEXT: usize = 256;
/// Longest reason in a `Refused`.
const MAX_REASON: usize = MAX_CONTROL - 8;

/// What went wrong reading or writing the tunnel's messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub String);

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for WireError {}

fn bad(s: impl Into<String>) -> WireError {
    WireError(s.into())
}

/// A message of the control protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Open a tunnel for the sender.
    Open {
        /// Leither's `uuid` argument: the tunnel's name (may be empty).
        uuid: String,
    },
    /// Opened: browsers reach the sender at `path` on the public node's `http_port`.
    Opened {
        /// `/tun/<PeerId>`.
        path: String,
        /// The public node's `ServicePort`.
        http_port: u16,
    },
    /// Not opened.
    Refused {
        /// Why: the rule, and what would allow it.
        reason: String,
    },
}

fn put_text(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    let n = b.len().min(u16::MAX as usize);
    out.extend_from_slice(&(n as u16).to_be_bytes());
    out.extend_from_slice(&b[..n]);
}

fn take_text<'a>(b: &mut &'a [u8], max: usize) -> Result<&'a str, WireError> {
    if b.len() < 2 {
        return Err(bad("a text field is cut short"));
    }
    let n = u16::from_be_bytes([b[0], b[1]]) as usize;
    if n > max {
        return Err(bad(format!("a text field of {n} bytes is over {max}")));
    }
    let rest = &b[2..];
    if rest.len() < n {
        return Err(bad("a text field is cut short"));
    }
    let s = std::str::from_utf8(&rest[..n]).map_err(|_| bad("a text field is not UTF-8"))?;
    *b = &rest[n..];
    Ok(s)
}

impl Control {
    /// The message's bytes (without the length frame).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Control::Open { uuid } => {
                out.push(1);
                put_text(&mut out, truncated(uuid, MAX_TEXT));
            }
            Control::Opened { path, http_port } => {
                out.push(2);
                put_text(&mut out, truncated(path, MAX_TEXT));
                out.extend_from_slice(&http_port.to_be_bytes());
            }
            Control::Refused { reason } => {
                out.push(3);
                put_text(&mut out, truncated(reason, MAX_REASON));
            }
        }
        out
    }

    /// Reads a message; anything else (an unknown kind, a field too long, bytes left over)
    /// is an error.
    pub fn decode(bytes: &[u8]) -> Result<Control, WireError> {
        if bytes.len() > MAX_CONTROL {
            return Err(bad("control message over its limit"));
        }
        let (&kind, mut b) = bytes
            .split_first()
            .ok_or_else(|| bad("empty control message"))?;
        let msg = match kind {
            1 => Control::Open {
                uuid: take_text(&mut b, MAX_TEXT)?.to_string(),
            },
            2 => {
                let path = take_text(&mut b, MAX_TEXT)?.to_string();
                if b.len() < 2 {
                    return Err(bad("Opened without a port"));
                }
                let http_port = u16::from_be_bytes([b[0], b[1]]);
                b = &b[2..];
                if !path.starts_with('/') {
                    return Err(bad("Opened with a path that does not start with /"));
                }
                Control::Opened { path, http_port }
            }
            3 => Control::Refused {
                reason: take_text(&mut b, MAX_REASON)?.to_string(),
            },
            k => return Err(bad(format!("unknown control message kind {k}"))),
        };
        if !b.is_empty() {
            return Err(bad("bytes after the control message"));
        }
        Ok(msg)
    }
}

/// `s` cut to at most `max` bytes, on a character boundary.
fn truncated(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn clean(s: &str) -> bool {
    !s.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
}

/// The head of a request sent through the tunnel: `METHOD TARGET HTTP/1.1`, `Host: tunnel`,
/// the given headers, `Content-Length` and `Connection: close`. The target must be a path
/// (`/...`); no part may hold CR, LF or NUL (no header can be smuggled in).
pub fn request_head(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body_len: usize,
) -> Result<Vec<u8>, WireError> {
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(bad("the method is not a token"));
    }
    if !target.starts_with('/') || target.contains(' ') || !clean(target) {
        return Err(bad("the target is not a path"));
    }
    let mut out = format!("{method} {target} HTTP/1.1\r\nHost: tunnel\r\n");
    for (n, v) in headers {
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(bad("a header name is not a token"));
        }
        if !clean(v) {
            return Err(bad("a header value holds a line break"));
        }
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {body_len}\r\nConnection: close\r\n\r\n"
    ));
    if out.len() > MAX_HEAD {
        return Err(bad("the request head is over its limit"));
    }
    Ok(out.into_bytes())
}

/// A response read from the tunnel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TunnelResponse {
    /// The status code (100 to 599).
    pub status: u16,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl TunnelResponse {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads a response from `buf`, the bytes received so far; `eof` says the stream ended.
/// `Ok(None)`: not complete yet (read more). A body over `max_body`, a head over
/// [`MAX_HEAD`], more than [`MAX_HEADERS`] headers, or a broken framing is an error.
pub fn parse_response(
    buf: &[u8],
    eof: bool,
    max_body: usize,
) -> Result<Option<TunnelResponse>, WireError> {
    let Some(head_end) = find(buf, b"\r\n\r\n") else {
        if buf.len() > MAX_HEAD {
            return Err(bad("the response head is over its limit"));
        }
        if eof {
            return Err(bad("the stream ended inside the response head"));
        }
        return Ok(None);
    };
    if head_end > MAX_HEAD {
        return Err(bad("the response head is over its limit"));
    }
    let head =
        std::str::from_utf8(&buf[..head_end]).map_err(|_| bad("the response head is not text"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    if !parts.next().is_some_and(|v| v.starts_with("HTTP/1.")) {
        return Err(bad("not an HTTP/1 status line"));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| bad("the status code is not a number from 100 to 599"))?;
    let mut headers = Vec::new();
    for line in lines {
        if headers.len() >= MAX_HEADERS {
            return Err(bad("too many response headers"));
        }
        let (n, v) = line
            .split_once(':')
            .ok_or_else(|| bad("a header line without a colon"))?;
        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let rest = &buf[head_end + 4..];
    let value = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let chunked = value("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked"));
    let body = if status == 204 || status == 304 || (100..200).contains(&status) {
        Vec::new()
    } else if chunked {
        match dechunk(rest, max_body)? {
            Some(b) => b,
            None if eof => return Err(bad("the stream ended inside a chunked body")),
            None => return Ok(None),
        }
    } else if let Some(len) = value("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| bad("Content-Length is not a number"))?;
        if len > max_body {
            return Err(bad(format!(
                "the response body of {len} bytes is over the tunnel's limit of {max_body}"
            )));
        }
        if rest.len() < len {
            if eof {
                return Err(bad("the stream ended inside the response body"));
            }
            return Ok(None);
        }
        rest[..len].to_vec()
    } else {
        if rest.len() > max_body {
            return Err(bad(format!(
                "the response body is over the tunnel's limit of {max_body} bytes"
            )));
        }
        if !eof {
            return Ok(None);
        }
        rest.to_vec()
    };
    Ok(Some(TunnelResponse {
        status,
        headers,
        body,
    }))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A chunked body from `b`; `Ok(None)` while the last chunk has not come.
fn dechunk(mut b: &[u8], max_body: usize) -> Result<Option<Vec<u8>>, WireError> {
    let mut out = Vec::new();
    loop {
        let Some(line_end) = find(b, b"\r\n") else {
            if b.len() > 64 {
                return Err(bad("a chunk size line is too long"));
            }
            return Ok(None);
        };
        let line =
            std::str::from_utf8(&b[..line_end]).map_err(|_| bad("a chunk size is not text"))?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| bad("a chunk size is not hexadecimal"))?;
        b = &b[line_end + 2..];
        if size == 0 {
            return Ok(Some(out));
        }
        if out.len().saturating_add(size) > max_body {
            return Err(bad(format!(
                "the response body is over the tunnel's limit of {max_body} bytes"
            )));
        }
        if b.len() < size + 2 {
            return Ok(None);
        }
        if &b[size..size + 2] != b"\r\n" {
            return Err(bad("a chunk does not end with CRLF"));
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_messages_round_trip_and_junk_is_refused() {
        for m in [
            Control::Open { uuid: "u-1".into() },
            Control::Opened {
                path: "/tun/x/".into(),
                http_port: 8080,
            },
            Control::Refused {
                reason: "no".into(),
            },
        ] {
            assert_eq!(Control::decode(&m.encode()), Ok(m));
        }
        assert!(Control::decode(&[]).is_err());
        assert!(Control::decode(&[9]).is_err());
        assert!(Control::decode(&[1, 0, 5, b'a']).is_err());
        let mut extra = Control::Open { uuid: "a".into() }.encode();
        extra.push(0);
        assert!(Control::decode(&extra).is_err());
        assert!(Control::decode(&vec![1; MAX_CONTROL + 1]).is_err());
    }

    #[test]
    fn a_request_head_cannot_smuggle_a_header() {
        let ok = request_head("GET", "/mm/x?a=1", &[("Range", "bytes=0-1")], 0).unwrap();
        let text = String::from_utf8(ok).unwrap();
        assert!(text.starts_with("GET /mm/x?a=1 HTTP/1.1\r\nHost: tunnel\r\n"));
        assert!(text.ends_with("Content-Length: 0\r\nConnection: close\r\n\r\n"));
        assert!(request_head("GET", "/x\r\nEvil: 1", &[], 0).is_err());
        assert!(request_head("GET", "/x", &[("A", "b\r\nHost: evil")], 0).is_err());
        assert!(request_head("GET", "http://evil/", &[], 0).is_err());
        assert!(request_head("G T", "/", &[], 0).is_err());
    }

    #[test]
    fn responses_are_read_by_length_chunks_or_end_within_bounds() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
        let got = parse_response(r, false, 100).unwrap().unwrap();
        assert_eq!((got.status, got.body.as_slice()), (200, &b"hello"[..]));
        assert_eq!(got.header("content-type"), Some("text/plain"));
        assert_eq!(parse_response(&r[..r.len() - 1], false, 100), Ok(None));
        assert!(parse_response(&r[..r.len() - 1], true, 100).is_err());
        assert!(parse_response(r, false, 4).is_err());
        let c = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
        assert_eq!(
            parse_response(c, false, 100).unwrap().unwrap().body,
            b"abcde"
        );
        assert_eq!(parse_response(&c[..60], false, 100), Ok(None));
        assert!(parse_response(c, false, 4).is_err());
        let e = b"HTTP/1.1 404 Not Found\r\n\r\nnope";
        assert_eq!(parse_response(e, false, 100), Ok(None));
        assert_eq!(parse_response(e, true, 100).unwrap().unwrap().body, b"nope");
        assert!(parse_response(b"SSH-2.0\r\n\r\n", true, 100).is_err());
        assert!(parse_response(&vec![b'a'; MAX_HEAD + 1], false, 100).is_err());
    }
}
