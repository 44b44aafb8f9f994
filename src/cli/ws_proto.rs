//! The client side of RFC 6455 (WebSocket), sans-io: bytes in, values out.
//!
//! [`handshake_request`] and [`check_handshake`] build and check the opening handshake (a
//! random `Sec-WebSocket-Key`; the answer must be `101` with the matching
//! `Sec-WebSocket-Accept`), [`encode_frame`] makes a client frame (always masked, as the RFC
//! requires of clients), [`parse_frame`] reads one server frame from a byte buffer (never
//! masked; no extension bits; control frames short and unfragmented) and [`Assembler`] joins
//! fragments into messages. Every length is checked against its bound before anything is
//! allocated for it. The socket side is `ws_client`.

use std::fmt;

/// Largest message (text or binary) accepted or sent.
pub const MAX_MESSAGE: usize = 1024 * 1024;
/// The GUID RFC 6455 appends to the key for `Sec-WebSocket-Accept`.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Frame opcodes.
pub mod op {
    /// A continuation of a fragmented message.
    pub const CONT: u8 = 0;
    /// A text message (UTF-8).
    pub const TEXT: u8 = 1;
    /// A binary message.
    pub const BINARY: u8 = 2;
    /// Close.
    pub const CLOSE: u8 = 8;
    /// Ping.
    pub const PING: u8 = 9;
    /// Pong.
    pub const PONG: u8 = 10;
}

/// What went wrong on a WebSocket.
#[derive(Debug)]
#[non_exhaustive]
pub enum WsError {
    /// The socket failed.
    Io(std::io::Error),
    /// The server refused the upgrade with an HTTP status (its JSON error's message, if any).
    Refused {
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The handshake answer is not a valid WebSocket upgrade.
    Handshake(String),
    /// The server broke the framing rules.
    Protocol(String),
    /// A message is larger than [`MAX_MESSAGE`].
    TooLarge(u64),
    /// The connection ended without a Close frame.
    Eof,
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WsError::Io(e) => write!(f, "the stream's connection failed: {e}"),
            WsError::Refused { status, message } => write!(f, "{message} (HTTP {status})"),
            WsError::Handshake(m) => write!(
                f,
                "the node did not open a WebSocket ({m}); is it a leither node with Lever?"
            ),
            WsError::Protocol(m) => write!(f, "the node broke the WebSocket protocol: {m}"),
            WsError::TooLarge(n) => write!(
                f,
                "a message of {n} bytes is larger than the {MAX_MESSAGE}-byte limit of `lever stream`"
            ),
            WsError::Eof => write!(f, "the node closed the stream's connection without a Close"),
        }
    }
}

impl std::error::Error for WsError {}

impl From<std::io::Error> for WsError {
    fn from(e: std::io::Error) -> Self {
        WsError::Io(e)
    }
}

/// A refused upgrade is the node's API error (its status and message); the rest say what
/// broke.
impl From<WsError> for super::CliError {
    fn from(e: WsError) -> Self {
        match e {
            WsError::Refused { status, message } => super::CliError::Api { status, message },
            other => super::CliError::Http(other.to_string()),
        }
    }
}

/// Standard base64 with padding (RFC 4648 section 4), as the handshake headers use.
pub fn base64_std(bytes: &[u8]) -> String {
    let mut s: String = crate::pki::encoding::base64url_encode(bytes)
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while !s.len().is_multiple_of(4) {
        s.push('=');
    }
    s
}

/// The `Sec-WebSocket-Accept` a server must answer to `key`.
pub fn accept_for(key: &str) -> String {
    base64_std(&super::sha1::digest(format!("{key}{GUID}").as_bytes()))
}

/// A fresh `Sec-WebSocket-Key`: 16 random bytes, base64.
pub fn new_key() -> Result<String, WsError> {
    let mut k = [0u8; 16];
    getrandom::getrandom(&mut k).map_err(|e| WsError::Io(std::io::Error::other(e.to_string())))?;
    Ok(base64_std(&k))
}

/// The opening handshake for `GET path` on `host`, with `extra` header lines (each without
/// CRLF).
pub fn handshake_request(host: &str, path: &str, key: &str, extra: &[String]) -> String {
    let mut r = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
    );
    for h in extra {
        r.push_str(h);
        r.push_str("\r\n");
    }
    r.push_str("\r\n");
    r
}

/// Checks the head of the handshake answer (up to, not including, the blank line): `Ok` for
/// a `101` upgrade with the accept value `key` calls for; the status and headers otherwise, as
/// `Err(Some(status))` when it is a plain HTTP answer (the caller reads its error body).
pub fn check_handshake(head: &str, key: &str) -> Result<(), (Option<u16>, WsError)> {
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status: u16 = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| {
            (
                None,
                WsError::Handshake(format!(
                    "the answer starts {:?}",
                    crate::api::truncate(status_line, 80)
                )),
            )
        })?;
    if status != 101 {
        return Err((
            Some(status),
            WsError::Refused {
                status,
                message: String::new(),
            },
        ));
    }
    let header = |name: &str| {
        head.split("\r\n").skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    };
    let bad = |m: String| Err((None, WsError::Handshake(m)));
    if !header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")) {
        return bad("101 without Upgrade: websocket".into());
    }
    match header("sec-websocket-accept") {
        Some(v) if v == accept_for(key) => Ok(()),
        Some(v) => bad(format!(
            "Sec-WebSocket-Accept {v:?} does not match the key sent"
        )),
        None => bad("101 without Sec-WebSocket-Accept".into()),
    }
}

/// One final client frame of `opcode` carrying `payload`, masked with `mask`.
pub fn encode_frame(opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut f = Vec::with_capacity(payload.len() + 14);
    f.push(0x80 | (opcode & 0x0f));
    let n = payload.len();
    if n < 126 {
        f.push(0x80 | n as u8);
    } else if n <= 0xffff {
        f.push(0x80 | 126);
        f.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        f.push(0x80 | 127);
        f.extend_from_slice(&(n as u64).to_be_bytes());
    }
    f.extend_from_slice(&mask);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    f
}

/// One frame as it came from the server.
#[derive(Debug, PartialEq, Eq)]
pub struct RawFrame {
    /// The last fragment of its message.
    pub fin: bool,
    /// See [`op`].
    pub opcode: u8,
    /// The payload.
    pub payload: Vec<u8>,
}

/// Reads one server frame from the start of `buf`: `Ok(None)` when `buf` does not hold all of
/// it yet, else the frame and the bytes it took. Payloads over `max` are refused before they
/// are read.
pub fn parse_frame(buf: &[u8], max: usize) -> Result<Option<(RawFrame, usize)>, WsError> {
    if buf.len() < 2 {
        return Ok(None);
    }
    let (b0, b1) = (buf[0], buf[1]);
    if b0 & 0x70 != 0 {
        return Err(WsError::Protocol("a frame sets reserved bits".into()));
    }
    if b1 & 0x80 != 0 {
        return Err(WsError::Protocol("a server frame is masked".into()));
    }
    let fin = b0 & 0x80 != 0;
    let opcode = b0 & 0x0f;
    if !matches!(opcode, 0..=2 | 8..=10) {
        return Err(WsError::Protocol(format!("unknown opcode {opcode}")));
    }
    let (len, at) = match b1 & 0x7f {
        126 => match buf.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(b) => {
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                (u64::from_be_bytes(a), 10)
            }
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    if opcode >= 8 && (len > 125 || !fin) {
        return Err(WsError::Protocol(
            "a control frame is fragmented or longer than 125 bytes".into(),
        ));
    }
    if len > max as u64 {
        return Err(WsError::TooLarge(len));
    }
    let end = at + len as usize;
    if buf.len() < end {
        return Ok(None);
    }
    let frame = RawFrame {
        fin,
        opcode,
        payload: buf[at..end].to_vec(),
    };
    Ok(Some((frame, end)))
}

/// A whole message from the server.
#[derive(Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
    /// A ping, to be answered with a pong of the same payload.
    Ping(Vec<u8>),
    /// A pong.
    Pong,
    /// Close, with its status code and reason when it had them.
    Close(Option<u16>, String),
}

/// Joins fragmented frames into messages, bounding the whole message to `max` bytes.
pub struct Assembler {
    max: usize,
    kind: Option<u8>,
    data: Vec<u8>,
}

impl Assembler {
    /// An assembler for messages of at most `max` bytes.
    pub fn new(max: usize) -> Assembler {
        Assembler {
            max,
            kind: None,
            data: Vec::new(),
        }
    }

    /// Takes the next frame; returns a message once one is complete.
    pub fn push(&mut self, f: RawFrame) -> Result<Option<Message>, WsError> {
        match f.opcode {
            op::PING => return Ok(Some(Message::Ping(f.payload))),
            op::PONG => return Ok(Some(Message::Pong)),
            op::CLOSE => {
                let p = f.payload;
                return match p.len() {
                    0 => Ok(Some(Message::Close(None, String::new()))),
                    1 => Err(WsError::Protocol("a Close of one byte".into())),
                    _ => {
                        let code = u16::from_be_bytes([p[0], p[1]]);
                        let reason = String::from_utf8_lossy(&p[2..]).into_owned();
                        Ok(Some(Message::Close(Some(code), reason)))
                    }
                };
            }
            op::CONT if self.kind.is_none() => {
                return Err(WsError::Protocol("a continuation with no message".into()));
            }
            op::CONT => {}
            _ if self.kind.is_some() => {
                return Err(WsError::Protocol(
                    "a new message before the last one ended".into(),
                ));
            }
            k => self.kind = Some(k),
        }
        let total = self.data.len() as u64 + f.payload.len() as u64;
        if total > self.max as u64 {
            self.kind = None;
            self.data = Vec::new();
            return Err(WsError::TooLarge(total));
        }
        self.data.extend_from_slice(&f.payload);
        if !f.fin {
            return Ok(None);
        }
        let data = std::mem::take(&mut self.data);
        match self.kind.take() {
            Some(op::TEXT) => String::from_utf8(data)
                .map(|t| Some(Message::Text(t)))
                .map_err(|_| WsError::Protocol("a text message is not UTF-8".into())),
            _ => Ok(Some(Message::Binary(data))),
        }
    }
}

#[cfg(test)]
#[path = "ws_proto_tests.rs"]
mod tests;
