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

/// How a response's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (a `HEAD` answer, 1xx, 204, 304).
    Empty,
    /// `Content-Length` bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Up to the end of the stream.
    Close,
}

/// A response's status line and headers, and how its body is framed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// The status code (100 to 599).
    pub status: u16,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// How the body that follows is delimited.
    pub framing: Framing,
}

impl ResponseHead {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(&self.headers, name)
    }
}

/// The first value of header `name` (lower case) among `headers`.
fn first_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// A response read whole from the tunnel.
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
        first_header(&self.headers, name)
    }
}

/// Reads a response head from `buf`, the bytes received so far (`eof`: the stream ended);
/// `head_request` says the request was a `HEAD` (its answer has no body). Answers the head
/// and how many bytes of `buf` it took; `Ok(None)`: not complete yet (read more). A head
/// over [`MAX_HEAD`], more than [`MAX_HEADERS`] headers, or a bad status line or framing is
/// an error.
pub fn parse_response_head(
    buf: &[u8],
    eof: bool,
    head_request: bool,
) -> Result<Option<(ResponseHead, usize)>, WireError> {
    let Some(head_end) = find(&buf[..buf.len().min(MAX_HEAD + 4)], b"\r\n\r\n") else {
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
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if headers.len() >= MAX_HEADERS {
            return Err(bad("too many response headers"));
        }
        let (n, v) = line
            .split_once(':')
            .ok_or_else(|| bad("a header line without a colon"))?;
        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    let value = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let chunked = value("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked"));
    let framing = if head_request || status == 204 || status == 304 || status < 200 {
        Framing::Empty
    } else if chunked {
        Framing::Chunked
    } else if let Some(len) = value("content-length") {
        Framing::Length(
            len.parse()
                .map_err(|_| bad("Content-Length is not a number"))?,
        )
    } else {
        Framing::Close
    };
    Ok(Some((
        ResponseHead {
            status,
            headers,
            framing,
        },
        head_end + 4,
    )))
}

/// Where a [`BodyDecoder`] is in a chunked body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// In a chunk-size line, this many bytes of it seen.
    Size(usize),
    /// In a chunk's data, this many bytes left.
    Data(u64),
    /// After a chunk's data: this many bytes of its CRLF seen.
    DataEnd(u8),
    /// After the last chunk, in a trailer line this many bytes long.
    Trailer(usize),
    /// The body is complete.
    Done,
}

/// Decodes a response body as it arrives, within a cap (sans io): bytes go in as they are
/// read from the stream, the body's bytes come out de-chunked.
#[derive(Debug, Clone)]
pub struct BodyDecoder {
    framing: Framing,
    chunk: Chunk,
    /// The size line being read (a chunk size is at most 16 hex digits and an extension).
    line: Vec<u8>,
    /// Body bytes given out so far.
    given: u64,
    max_body: u64,
}

/// Longest chunk-size or trailer line.
const MAX_CHUNK_LINE: usize = 256;
/// Most trailer bytes after the last chunk.
const MAX_TRAILER: usize = 4096;

impl BodyDecoder {
    /// A decoder for a body framed as `framing`, at most `max_body` bytes (a larger
    /// `Content-Length` is refused at once).
    pub fn new(framing: Framing, max_body: u64) -> Result<BodyDecoder, WireError> {
        if let Framing::Length(n) = framing
            && n > max_body
        {
            return Err(over(max_body));
        }
        Ok(BodyDecoder {
            framing,
            chunk: Chunk::Size(0),
            line: Vec::new(),
            given: 0,
            max_body,
        })
    }

    /// Body bytes given out so far.
    pub fn given(&self) -> u64 {
        self.given
    }

    /// Whether the body is complete (nothing more is to be read).
    pub fn is_done(&self) -> bool {
        match self.framing {
            Framing::Empty => true,
            Framing::Length(n) => self.given >= n,
            Framing::Chunked => self.chunk == Chunk::Done,
            Framing::Close => false,
        }
    }

    /// Feeds bytes read from the stream; the body's bytes are appended to `out`. Bytes past
    /// the body's end are not taken (a tunnel stream carries one response: the caller may
    /// treat them as an error or ignore them). Answers how many bytes of `input` were taken.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, WireError> {
        match self.framing {
            Framing::Empty => Ok(0),
            Framing::Length(n) => {
                let take = (n - self.given).min(input.len() as u64) as usize;
                out.extend_from_slice(&input[..take]);
                self.given += take as u64;
                Ok(take)
            }
            Framing::Close => {
                if self.given.saturating_add(input.len() as u64) > self.max_body {
                    return Err(over(self.max_body));
                }
                out.extend_from_slice(input);
                self.given += input.len() as u64;
                Ok(input.len())
            }
            Framing::Chunked => self.feed_chunked(input, out),
        }
    }

    fn feed_chunked(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, WireError> {
        let mut i = 0;
        while i < input.len() {
            match self.chunk {
                Chunk::Done => break,
                Chunk::Size(seen) => {
                    let b = input[i];
                    i += 1;
                    if b == b'\n' {
                        let size = chunk_size(&self.line)?;
                        self.line.clear();
                        if size == 0 {
                            self.chunk = Chunk::Trailer(0);
                        } else {
                            if self.given.saturating_add(size) > self.max_body {
                                return Err(over(self.max_body));
                            }
                            self.chunk = Chunk::Data(size);
                        }
                    } else {
                        if seen >= MAX_CHUNK_LINE {
                            return Err(bad("a chunk size line is too long"));
                        }
                        self.line.push(b);
                        self.chunk = Chunk::Size(seen + 1);
                    }
                }
                Chunk::Data(left) => {
                    let take = left.min((input.len() - i) as u64) as usize;
                    out.extend_from_slice(&input[i..i + take]);
                    i += take;
                    self.given += take as u64;
                    self.chunk = if left == take as u64 {
                        Chunk::DataEnd(0)
                    } else {
                        Chunk::Data(left - take as u64)
                    };
                }
                Chunk::DataEnd(seen) => {
                    let want = if seen == 0 { b'\r' } else { b'\n' };
                    if input[i] != want {
                        return Err(bad("a chunk does not end with CRLF"));
                    }
                    i += 1;
                    self.chunk = if seen == 0 {
                        Chunk::DataEnd(1)
                    } else {
                        Chunk::Size(0)
                    };
                }
                Chunk::Trailer(len) => {
                    let b = input[i];
                    i += 1;
                    self.line.push(b);
                    if self.line.len() > MAX_TRAILER {
                        return Err(bad("the chunked body's trailer is too long"));
                    }
                    if b == b'\n' {
                        // An empty line (CRLF alone) ends the trailer and the body.
                        self.chunk = if len <= 1 {
                            Chunk::Done
                        } else {
                            Chunk::Trailer(0)
                        };
                    } else {
                        if len >= MAX_CHUNK_LINE {
                            return Err(bad("a trailer line is too long"));
                        }
                        self.chunk = Chunk::Trailer(len + 1);
                    }
                }
            }
        }
        Ok(i)
    }

    /// The stream ended: fine where the framing allows it here, else an error.
    pub fn finish(&self) -> Result<(), WireError> {
        match self.framing {
            Framing::Close => Ok(()),
            _ if self.is_done() => Ok(()),
            Framing::Chunked => Err(bad("the stream ended inside a chunked body")),
            _ => Err(bad("the stream ended inside the response body")),
        }
    }
}

fn over(max_body: u64) -> WireError {
    bad(format!(
        "the response body is over the tunnel's limit of {max_body} bytes"
    ))
}

/// A chunk-size line's size (hexadecimal, extensions after `;` ignored, CR stripped).
fn chunk_size(line: &[u8]) -> Result<u64, WireError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = std::str::from_utf8(line).map_err(|_| bad("a chunk size is not text"))?;
    let size_text = text.split(';').next().unwrap_or("").trim();
    if size_text.is_empty() || size_text.len() > 16 {
        return Err(bad("a chunk size is not hexadecimal"));
    }
    u64::from_str_radix(size_text, 16).map_err(|_| bad("a chunk size is not hexadecimal"))
}

/// Reads a whole response from `buf`, the bytes received so far; `eof` says the stream
/// ended. `Ok(None)`: not complete yet (read more). A body over `max_body`, a head over
/// [`MAX_HEAD`], more than [`MAX_HEADERS`] headers, or a broken framing is an error.
pub fn parse_response(
    buf: &[u8],
    eof: bool,
    max_body: usize,
) -> Result<Option<TunnelResponse>, WireError> {
    let Some((head, used)) = parse_response_head(buf, eof, false)? else {
        return Ok(None);
    };
    let mut decoder = BodyDecoder::new(head.framing, max_body as u64)?;
    let mut body = Vec::new();
    decoder.feed(&buf[used..], &mut body)?;
    if !decoder.is_done() {
        if !eof {
            return Ok(None);
        }
        decoder.finish()?;
    }
    Ok(Some(TunnelResponse {
        status: head.status,
        headers: head.headers,
        body,
    }))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
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

    #[test]
    fn a_body_decodes_the_same_fed_whole_or_byte_by_byte() {
        let c = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n";
        let (head, used) = parse_response_head(c, false, false).unwrap().unwrap();
        assert_eq!(head.framing, Framing::Chunked);
        let mut whole = BodyDecoder::new(head.framing, 100).unwrap();
        let mut a = Vec::new();
        assert_eq!(whole.feed(&c[used..], &mut a).unwrap(), c.len() - used);
        assert!(whole.is_done());
        let mut bytewise = BodyDecoder::new(head.framing, 100).unwrap();
        let mut b = Vec::new();
        for byte in &c[used..] {
            assert!(!bytewise.is_done());
            bytewise.feed(std::slice::from_ref(byte), &mut b).unwrap();
        }
        assert!(bytewise.is_done() && bytewise.finish().is_ok());
        assert_eq!((a.as_slice(), b.as_slice()), (&b"abcde"[..], &b"abcde"[..]));
        // Bytes after the body are not taken.
        let mut d = BodyDecoder::new(Framing::Length(3), 10).unwrap();
        let mut out = Vec::new();
        assert_eq!(d.feed(b"abcdef", &mut out).unwrap(), 3);
        assert!(d.is_done() && out == b"abc");
        // A HEAD answer, a 304 and a 204 have no body whatever their headers say.
        let h = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n";
        assert_eq!(
            parse_response_head(h, false, true)
                .unwrap()
                .unwrap()
                .0
                .framing,
            Framing::Empty
        );
        let h = b"HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n";
        assert_eq!(
            parse_response_head(h, false, false)
                .unwrap()
                .unwrap()
                .0
                .framing,
            Framing::Empty
        );
    }

    #[test]
    fn a_streamed_body_is_bounded_and_junk_framing_is_refused() {
        let mut d = BodyDecoder::new(Framing::Chunked, 10).unwrap();
        let mut out = Vec::new();
        assert!(
            d.feed(b"b\r\n", &mut out).is_err(),
            "11 bytes over a cap of 10"
        );
        assert!(BodyDecoder::new(Framing::Length(11), 10).is_err());
        let mut d = BodyDecoder::new(Framing::Close, 10).unwrap();
        assert!(d.feed(&[0; 8], &mut out).is_ok() && d.feed(&[0; 3], &mut out).is_err());
        for junk in [
            &b"zz\r\n"[..],
            b"\r\n",
            b"1ffffffffffffffff\r\n",
            b"3\r\nabcXY",
            &[b'1'; MAX_CHUNK_LINE + 1],
        ] {
            let mut d = BodyDecoder::new(Framing::Chunked, 1 << 20).unwrap();
            assert!(d.feed(junk, &mut Vec::new()).is_err(), "{junk:?}");
        }
        let mut d = BodyDecoder::new(Framing::Chunked, 1 << 20).unwrap();
        d.feed(b"0\r\n", &mut Vec::new()).unwrap();
        assert!(
            d.feed(&[b'a'; MAX_CHUNK_LINE + 1], &mut Vec::new())
                .is_err()
        );
        let d = BodyDecoder::new(Framing::Chunked, 10).unwrap();
        assert!(
            d.finish().is_err(),
            "the stream ended inside a chunked body"
        );
        // A head hidden after 16 KiB of junk is not searched for.
        let mut big = vec![b'a'; MAX_HEAD * 4];
        big.extend_from_slice(b"\r\n\r\n");
        assert!(parse_response_head(&big, false, false).is_err());
    }
}
