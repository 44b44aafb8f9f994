//! A small blocking WebSocket client for `lever stream`: the RFC 6455 core of `ws_proto` on a
//! `TcpStream`.
//!
//! [`WsStream::open`] sends the handshake and checks the answer (a refusal's JSON error
//! becomes [`WsError::Refused`]); [`WsStream::poll_message`] reads messages, returning `None`
//! when the poll timeout passes with none, so the caller can look at other work. The writing
//! half ([`WsWriter`]) can be cloned into another thread; a mutex keeps frames whole.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::ws_proto::{
    Assembler, check_handshake, encode_frame, handshake_request, new_key, parse_frame,
};
pub use super::ws_proto::{MAX_MESSAGE, Message, WsError, op};

/// Largest head of the handshake answer.
const MAX_HEAD: usize = 16 * 1024;
/// Largest error body read from a refused handshake.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The writing half of a [`WsStream`]; clones share the socket, a mutex keeps frames whole.
#[derive(Clone)]
pub struct WsWriter {
    socket: Arc<Mutex<TcpStream>>,
}

impl WsWriter {
    /// Sends one frame (masked with a fresh random mask).
    pub fn send(&self, opcode: u8, payload: &[u8]) -> Result<(), WsError> {
        if payload.len() > MAX_MESSAGE {
            return Err(WsError::TooLarge(payload.len() as u64));
        }
        let mut mask = [0u8; 4];
        getrandom::getrandom(&mut mask)
            .map_err(|e| WsError::Io(std::io::Error::other(e.to_string())))?;
        let frame = encode_frame(opcode, payload, mask);
        let mut s = self
            .socket
            .lock()
            .map_err(|_| WsError::Io(std::io::Error::other("a writer thread failed")))?;
        s.write_all(&frame)?;
        Ok(())
    }

    /// Sends a Close with `code`.
    pub fn close(&self, code: u16) -> Result<(), WsError> {
        self.send(op::CLOSE, &code.to_be_bytes())
    }
}

/// An open WebSocket: the reading half and a writer.
pub struct WsStream {
    socket: TcpStream,
    writer: WsWriter,
    buf: Vec<u8>,
    asm: Assembler,
}

impl WsStream {
    /// Opens a WebSocket on the connected `socket` to `GET path` on `host`, with `extra`
    /// headers. `poll` is the read timeout [`WsStream::poll_message`] returns after.
    pub fn open(
        mut socket: TcpStream,
        host: &str,
        path: &str,
        extra: &[String],
        poll: Duration,
    ) -> Result<WsStream, WsError> {
        let key = new_key()?;
        socket.write_all(handshake_request(host, path, &key, extra).as_bytes())?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p;
            }
            if buf.len() > MAX_HEAD {
                return Err(WsError::Handshake(format!(
                    "an answer head longer than {MAX_HEAD} bytes"
                )));
            }
            let n = socket.read(&mut chunk)?;
            if n == 0 {
                return Err(WsError::Handshake("the connection closed".into()));
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let rest = buf[end + 4..].to_vec();
        match check_handshake(&head, &key) {
            Ok(()) => {}
            Err((Some(status), _)) => {
                // The error body: Content-Length of it when given (the node may keep the
                // connection open), else up to the end; bounded either way.
                let length = head.split("\r\n").find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.trim()
                        .eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse::<usize>().ok())?
                });
                let want = length.unwrap_or(MAX_ERROR_BODY).min(MAX_ERROR_BODY);
                let mut body = rest;
                let _ = socket.set_read_timeout(Some(Duration::from_secs(10)));
                if body.len() < want {
                    let _ = (&mut socket)
                        .take((want - body.len()) as u64)
                        .read_to_end(&mut body);
                }
                body.truncate(want);
                return Err(WsError::Refused {
                    status,
                    message: error_message(&body),
                });
            }
            Err((None, e)) => return Err(e),
        }
        socket.set_read_timeout(Some(poll))?;
        let writer = WsWriter {
            socket: Arc::new(Mutex::new(socket.try_clone()?)),
        };
        Ok(WsStream {
            socket,
            writer,
            buf: rest,
            asm: Assembler::new(MAX_MESSAGE),
        })
    }

    /// A writer for this stream (for another thread).
    pub fn writer(&self) -> WsWriter {
        self.writer.clone()
    }

    /// The next message, or `None` when the poll timeout passed with none complete.
    pub fn poll_message(&mut self) -> Result<Option<Message>, WsError> {
        loop {
            if let Some((frame, used)) = parse_frame(&self.buf, MAX_MESSAGE)? {
                self.buf.drain(..used);
                if let Some(m) = self.asm.push(frame)? {
                    return Ok(Some(m));
                }
                continue;
            }
            let mut chunk = [0u8; 16 * 1024];
            match self.socket.read(&mut chunk) {
                Ok(0) => return Err(WsError::Eof),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(None);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
}

/// The `error` of a JSON error body, else the body's first line.
fn error_message(body: &[u8]) -> String {
    let v = crate::api::json::decode(body, &crate::api::json::JsonLimits::default());
    if let Ok(v) = &v
        && let Some(m) = v.get("error").and_then(|e| e.as_str())
    {
        return m.to_string();
    }
    let text = String::from_utf8_lossy(body);
    let line = text.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        "the node refused the stream".to_string()
    } else {
        crate::api::truncate(line, 200).to_string()
    }
}

#[cfg(test)]
#[path = "ws_client_tests.rs"]
mod tests;
