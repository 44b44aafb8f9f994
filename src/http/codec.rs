//! A small sans-io HTTP/1.1 codec for the node's hot routes ([`super::fast`]): it reads one
//! request head from the bytes a connection has received and writes a response head.
//!
//! It is strict on purpose. A head it can read is a plain one: a request line `METHOD
//! /target HTTP/1.0|1.1`, header lines ending in CRLF, framing by at most one
//! `Content-Length` of digits only. Anything else — a bare LF, obs-fold, a header name with
//! spaces, `Transfer-Encoding`, `Upgrade`, `Expect`, a second `Content-Length`, more than
//! [`MAX_HEADERS`] lines, bytes outside visible ASCII in the request line — is not an error
//! here but [`Parsed::Other`]: the connection hands the bytes, unconsumed, to picoserve,
//! which answers them as it always did. So the codec can only take a request that every
//! reader (the head guard, picoserve, this) frames the same way, and a request smuggled
//! between two framings cannot reach it. Head size is bounded by the guard below it
//! ([`super::guard`], 431 past [`super::HEAD_LIMIT`]); the codec also gives up (as
//! `Other`) on a head longer than the limit it is given.

/// Most header lines the codec reads in one head (beyond: [`Parsed::Other`]).
pub const MAX_HEADERS: usize = 64;

/// One request head, borrowed from the connection's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// The path, as sent (percent-encoded), without the query.
    pub path: &'a str,
    /// What follows `?` in the target (`""` when none).
    pub query: &'a str,
    /// Bytes of body that follow the head (`Content-Length`, 0 without one).
    pub content_length: u64,
    /// `Host`, when sent.
    pub host: Option<&'a str>,
    /// `Content-Type`, when sent.
    pub content_type: Option<&'a str>,
    /// `Authorization`, when sent.
    pub authorization: Option<&'a str>,
    /// Whether the connection stays open after the answer (HTTP/1.1 without
    /// `Connection: close`; HTTP/1.0 never, as picoserve answers it).
    pub keep_alive: bool,
    /// Bytes of the buffer the head took, leading blank lines included; the body starts here.
    pub len: usize,
}

/// What the bytes received so far hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// A head, not yet whole: read more (`scanned`: where to resume looking for its end).
    Incomplete {
        /// Bytes already searched for the blank line (pass back to [`parse`]).
        scanned: usize,
    },
    /// A whole head the codec reads.
    Request(Head<'a>),
    /// Something the codec does not take: hand the bytes to picoserve.
    Other,
}

/// Reads the request head at the start of `buf` (leading CRLFs between requests are skipped,
/// RFC 9112 2.2). `scanned` is what the last `Incomplete` said (0 the first time), so a head
/// that arrives byte by byte is searched once, not once per byte. A head not whole within
/// `limit` bytes is `Other`.
pub fn parse(buf: &[u8], scanned: usize, limit: usize) -> Parsed<'_> {
    let skip = buf
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count();
    let end = match head_end(buf, scanned.max(skip)) {
        Ok(Some(end)) => end,
        Err(BareLf) => return Parsed::Other,
        Ok(None) if buf.len() - skip >= limit => return Parsed::Other,
        Ok(None) => {
            return Parsed::Incomplete { scanned: buf.len() };
        }
    };
    if end - skip > limit {
        return Parsed::Other;
    }
    // The lines, each with its CR, without the LF after the last one and the blank line.
    match head(&buf[skip..end - 3], end) {
        Some(h) => Parsed::Request(h),
        None => Parsed::Other,
    }
}

/// A LF without its CR: the head guard (and picoserve) may end the head there.
struct BareLf;

/// Index just past the CRLFCRLF ending the head, looking at the bytes from `from` on (the
/// ones before were looked at already); a bare LF on the way is [`BareLf`].
fn head_end(buf: &[u8], from: usize) -> Result<Option<usize>, BareLf> {
    for i in from..buf.len() {
        if buf[i] != b'\n' {
            continue;
        }
        if i == 0 || buf[i - 1] != b'\r' {
            return Err(BareLf);
        }
        if i >= 3 && buf[i - 3] == b'\r' && buf[i - 2] == b'\n' {
            return Ok(Some(i + 1));
        }
    }
    Ok(None)
}

/// Reads the request line and headers of `text` (each line ending in CRLF, the blank line
/// cut off), which takes `len` bytes of the buffer.
fn head(text: &[u8], len: usize) -> Option<Head<'_>> {
    // A bare CR or LF anywhere means a framing picoserve may read differently.
    let mut lines = text.split(|&b| b == b'\n');
    let request_line = lines.next()?.strip_suffix(b"\r")?;
    let (method, target, version) = request_line_parts(request_line)?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, q),
        None => (target, ""),
    };
    let mut h = Head {
        method,
        path,
        query,
        content_length: 0,
        host: None,
        content_type: None,
        authorization: None,
        keep_alive: version == "HTTP/1.1",
        len,
    };
    let mut seen_length = false;
    for (n, line) in lines.enumerate() {
        if n >= MAX_HEADERS {
            return None;
        }
        let line = line.strip_suffix(b"\r")?;
        if line.contains(&b'\r') {
            return None;
        }
        let colon = line.iter().position(|&b| b == b':')?;
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| is_token(b)) {
            return None;
        }
        let value = std::str::from_utf8(&line[colon + 1..]).ok()?;
        let value = value.trim_matches([' ', '\t']);
        if value.bytes().any(|b| b < 0x20 && b != b'\t' || b == 0x7f) {
            return None;
        }
        let name = std::str::from_utf8(name).ok()?;
        match name.len() {
            4 if name.eq_ignore_ascii_case("host") => h.host = Some(value),
            12 if name.eq_ignore_ascii_case("content-type") => h.content_type = Some(value),
            13 if name.eq_ignore_ascii_case("authorization") => h.authorization = Some(value),
            14 if name.eq_ignore_ascii_case("content-length") => {
                if seen_length || value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                seen_length = true;
                h.content_length = value.parse().ok()?;
            }
            10 if name.eq_ignore_ascii_case("connection") => {
                // Only what picoserve reads the same way: `close`, or `keep-alive`.
                if value == "close" {
                    h.keep_alive = false;
                } else if !value.eq_ignore_ascii_case("keep-alive") {
                    return None;
                }
            }
            _ if is_framing(name) => return None,
            _ => {}
        }
    }
    Some(h)
}

/// Headers that change how the request is framed or answered: the codec leaves them to
/// picoserve.
fn is_framing(name: &str) -> bool {
    ["transfer-encoding", "upgrade", "expect", "te", "trailer"]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n))
}

/// `METHOD SP origin-form SP HTTP/1.x`, visible ASCII only.
fn request_line_parts(line: &[u8]) -> Option<(&str, &str, &str)> {
    if !line.iter().all(|&b| b.is_ascii_graphic() || b == b' ') {
        return None;
    }
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split(' ');
    let method = parts.next()?;
    let target = parts.next()?;
    let version = parts.next()?;
    if parts.next().is_some()
        || method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_uppercase())
        || !target.starts_with('/')
        || target.contains('#')
        || !matches!(version, "HTTP/1.1" | "HTTP/1.0")
    {
        return None;
    }
    Some((method, target, version))
}

/// A `tchar` of RFC 9110 5.6.2.
fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The CORS headers every answer of the node carries (the same as [`super::reply::CORS`]),
/// formatted once.
pub const CORS_LINES: &str = "Access-Control-Allow-Origin: *\r\n\
    Access-Control-Allow-Methods: GET, HEAD, POST, OPTIONS\r\n\
    Access-Control-Allow-Headers: Content-Type, Authorization, X-Requested-With\r\n\
    Access-Control-Max-Age: 86400\r\n";

/// Appends a response head to `out`: the status line (`reason` as given, else the standard
/// phrase), `Content-Type`, `Content-Length`, the CORS headers, `extra` lines (each ending
/// in CRLF; the caller makes them safe), `Connection`, and the blank line.
pub fn write_head(
    out: &mut Vec<u8>,
    status: u16,
    reason: Option<&str>,
    content_type: &str,
    length: usize,
    extra: &str,
    keep_alive: bool,
) {
    let reason = reason.unwrap_or_else(|| super::guard::standard_reason(status));
    out.extend_from_slice(b"HTTP/1.1 ");
    push_number(out, status as u64);
    out.push(b' ');
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\nContent-Type: ");
    out.extend_from_slice(content_type.as_bytes());
    out.extend_from_slice(b"\r\nContent-Length: ");
    push_number(out, length as u64);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(CORS_LINES.as_bytes());
    out.extend_from_slice(extra.as_bytes());
    out.extend_from_slice(if keep_alive {
        b"Connection: keep-alive\r\n\r\n".as_slice()
    } else {
        b"Connection: close\r\n\r\n".as_slice()
    });
}

fn push_number(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(bytes: &[u8]) -> Head<'_> {
        match parse(bytes, 0, 8192) {
            Parsed::Request(h) => h,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reads_a_lever_call() {
        let b = b"POST /hello/SayHello?forceenv=dev.lever HTTP/1.1\r\nHost: 127.0.0.1:4800\r\n\
                  Content-Type: application/json\r\nContent-Length: 9\r\n\r\n[\"world\"]";
        let h = req(b);
        assert_eq!(h.method, "POST");
        assert_eq!(h.path, "/hello/SayHello");
        assert_eq!(h.query, "forceenv=dev.lever");
        assert_eq!(h.host, Some("127.0.0.1:4800"));
        assert_eq!(h.content_type, Some("application/json"));
        assert_eq!(h.content_length, 9);
        assert!(h.keep_alive);
        assert_eq!(&b[h.len..], b"[\"world\"]");
    }

    #[test]
    fn a_head_in_pieces_is_read_once_whole() {
        let b = b"\r\nPOST /a/B HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi";
        let mut scanned = 0;
        for end in 0..b.len() {
            match parse(&b[..end], scanned, 8192) {
                Parsed::Incomplete { scanned: s } => scanned = s,
                Parsed::Request(h) => {
                    assert_eq!(h.len, b.len() - 2);
                    assert_eq!(h.path, "/a/B");
                    return;
                }
                Parsed::Other => panic!("other at {end}"),
            }
        }
        panic!("never whole");
    }

    #[test]
    fn what_picoserve_may_frame_differently_is_left_to_it() {
        let others: &[&[u8]] = &[
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length : 1\r\n\r\n",
            b"POST / HTTP/1.1\r\nX: a\nContent-Length: 1\r\n\r\n",
            b"POST / HTTP/1.1\r\n folded\r\n\r\n",
            b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
            b"POST / HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
            b"POST / HTTP/1.1\r\nConnection: keep-alive, Upgrade\r\n\r\n",
            b"POST http://a/ HTTP/1.1\r\n\r\n",
            b"POST / HTTP/2.0\r\n\r\n",
            b"post / HTTP/1.1\r\n\r\n",
            b"POST /\xff HTTP/1.1\r\n\r\n",
            b"POST /  HTTP/1.1\r\n\r\n",
            b"POST / HTTP/1.1\r\nX: a\x00b\r\n\r\n",
        ];
        for o in others {
            assert_eq!(
                parse(o, 0, 8192),
                Parsed::Other,
                "{}",
                String::from_utf8_lossy(o)
            );
        }
    }

    #[test]
    fn a_flood_of_header_lines_is_left_to_picoserve() {
        let mut b = b"POST / HTTP/1.1\r\n".to_vec();
        for _ in 0..=MAX_HEADERS {
            b.extend_from_slice(b"X: y\r\n");
        }
        b.extend_from_slice(b"\r\n");
        assert_eq!(parse(&b, 0, 8192), Parsed::Other);
    }

    #[test]
    fn a_head_past_the_limit_is_not_read() {
        let b = b"POST /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n";
        assert_eq!(parse(b, 0, 32), Parsed::Other);
        let mut whole = b.to_vec();
        whole.extend_from_slice(b"\r\n");
        assert_eq!(parse(&whole, 0, 32), Parsed::Other);
    }

    #[test]
    fn http_1_0_and_close_end_the_connection() {
        assert!(!req(b"POST / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(!req(b"POST / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
        assert!(!req(b"POST / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
    }

    #[test]
    fn writes_a_head() {
        let mut out = Vec::new();
        write_head(&mut out, 200, None, "application/json", 15, "", true);
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"));
        assert!(s.contains("Content-Length: 15\r\nAccess-Control-Allow-Origin: *\r\n"));
        assert!(s.ends_with("Connection: keep-alive\r\n\r\n"));
        let mut out = Vec::new();
        write_head(
            &mut out,
            429,
            Some("slow down"),
            "x",
            0,
            "Retry-After: 3\r\n",
            false,
        );
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("HTTP/1.1 429 slow down\r\n"));
        assert!(s.ends_with("Retry-After: 3\r\nConnection: close\r\n\r\n"));
    }
}
