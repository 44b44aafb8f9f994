//! The connection guard between a client's byte stream ([`Conn`]: plain TCP, TLS over TCP,
//! or a tunnelled request) and picoserve: it watches the HTTP framing of what a client sends
//! and answers `431 Request Header Fields Too Large` itself when a request head outgrows its
//! limit, and `400` when its body's length is unclear (two different `Content-Length`s:
//! picoserve would read the first, the guard the last, and a request could hide in another's
//! body); and it gathers small writes into one send.
//!
//! picoserve reads a request head into its fixed buffer and, when the buffer fills, reports
//! the client as having closed the connection (a 400 with a misleading text). A router must
//! bound header size anyway, and a client deserves the right status, so [`HeadGuard`] (sans
//! io) follows the stream: head bytes up to the blank line, then `Content-Length` body
//! bytes, then the next head. After an `Upgrade` head (WebSocket) it steps aside.
//!
//! The guard also keeps the connection's [`Slot`] up to date (fresh, in a head, busy, idle,
//! upgraded; the last byte either way), and a read gives up when the port closes the
//! connection ([`crate::limits::slots`]: a head past its timeout gets `408`, an idle one is
//! closed). Inside a body, a read that waits longer than [`BODY_STALL`] for a byte ends the
//! request: an upload may take as long as it needs, as long as it keeps moving.

use picoserve::io::{BaseWrite, ErrorKind, ErrorType, Read, Write};
use std::cell::RefCell;
use std::future::poll_fn;
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::conn::Conn;

use crate::limits::slots::{Activity, Closed, Slot};

/// The longest a request body may send nothing before the connection is dropped.
pub const BODY_STALL: std::time::Duration = std::time::Duration::from_secs(30);

/// Where the guard is in the client's byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Inside a request head; the bytes so far are kept to read `Content-Length`.
    Head,
    /// Inside a body; this many bytes remain.
    Body(u64),
    /// The connection was upgraded (or its framing is one we do not follow): pass through.
    Through,
}

/// Why the guard refuses a request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadRefused {
    /// The head grew past the limit (431).
    TooLarge,
    /// Two `Content-Length`s that differ, or one that is not a number (400, RFC 9112 6.3):
    /// readers could frame the body differently (picoserve takes the first, the guard the
    /// last), which is how a request is smuggled inside another's body.
    LengthUnclear,
}

/// Follows HTTP/1.1 request framing over a byte stream and bounds each head.
#[derive(Debug)]
pub struct HeadGuard {
    phase: Phase,
    head: Vec<u8>,
    limit: usize,
    /// Heads completed so far.
    heads: u64,
}

impl HeadGuard {
    /// A guard allowing heads (request line and headers) of at most `limit` bytes.
    pub fn new(limit: usize) -> HeadGuard {
        HeadGuard {
            phase: Phase::Head,
            head: Vec::new(),
            limit,
            heads: 0,
        }
    }

    /// What the connection is doing after the bytes fed so far, given what it did before
    /// and how many heads were complete then.
    fn activity(&self, before: Activity, heads_before: u64) -> Activity {
        match self.phase {
            Phase::Through => Activity::Through,
            Phase::Body(_) => Activity::Busy,
            Phase::Head if self.heads != heads_before => Activity::Busy,
            Phase::Head if self.head.is_empty() => before,
            Phase::Head if before == Activity::Fresh => Activity::Fresh,
            Phase::Head => Activity::Head,
        }
    }

    /// True between requests: no byte of a next head has come.
    fn between_requests(&self) -> bool {
        self.phase == Phase::Head && self.head.is_empty()
    }

    /// The body bytes the guard expects next: `Some(n)` inside a body with `n` left,
    /// `Some(0)` between requests, `None` inside a head or after an upgrade. What the hot
    /// path's codec ([`super::codec`]) frames must agree with this (its fuzz target checks).
    pub fn awaiting_body(&self) -> Option<u64> {
        match self.phase {
            Phase::Body(n) => Some(n),
            Phase::Head if self.head.is_empty() => Some(0),
            _ => None,
        }
    }

    /// Feeds bytes as they arrive from the client.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), HeadRefused> {
        while !bytes.is_empty() {
            match self.phase {
                Phase::Through => return Ok(()),
                Phase::Body(remaining) => {
                    let take = (bytes.len() as u64).min(remaining);
                    bytes = &bytes[take as usize..];
                    self.phase = if remaining == take {
                        Phase::Head
                    } else {
                        Phase::Body(remaining - take)
                    };
                }
                Phase::Head => {
                    // Leading blank lines between requests are allowed (RFC 9112 2.2).
                    if self.head.is_empty() {
                        let skip = bytes
                            .iter()
                            .take_while(|&&b| b == b'\r' || b == b'\n')
                            .count();
                        bytes = &bytes[skip..];
                        if bytes.is_empty() {
                            return Ok(());
                        }
                    }
                    let start = self.head.len();
                    let room = self.limit.saturating_sub(start);
                    let take = bytes.len().min(room);
                    self.head.extend_from_slice(&bytes[..take]);
                    match find_head_end(&self.head, start) {
                        Some(end) => {
                            let used = end - start;
                            bytes = &bytes[used..];
                            self.head.truncate(end);
                            self.phase = next_phase(&self.head)?;
                            self.head.clear();
                            self.heads += 1;
                        }
                        None if take < bytes.len() || self.head.len() >= self.limit => {
                            return Err(HeadRefused::TooLarge);
                        }
                        None => bytes = &[],
                    }
                }
            }
        }
        Ok(())
    }
}

/// Index just past the blank line ending the head, searching from near `from`.
fn find_head_end(head: &[u8], from: usize) -> Option<usize> {
    let start = from.saturating_sub(3);
    (start..head.len()).find_map(|i| {
        if head[i..].starts_with(b"\r\n\r\n") {
            Some(i + 4)
        } else if head[i..].starts_with(b"\n\n") {
            Some(i + 2)
        } else {
            None
        }
    })
}

/// What follows a complete head.
fn next_phase(head: &[u8]) -> Result<Phase, HeadRefused> {
    let mut length = None;
    for line in head.split(|&b| b == b'\n').skip(1) {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = &line[..colon];
        let value = std::str::from_utf8(&line[colon + 1..]).unwrap_or("").trim();
        if name.eq_ignore_ascii_case(b"content-length") {
            match value.parse::<u64>() {
                Ok(n) if length.is_none_or(|l| l == n) => length = Some(n),
                _ => return Err(HeadRefused::LengthUnclear),
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding")
            || name.eq_ignore_ascii_case(b"upgrade")
        {
            return Ok(Phase::Through);
        }
    }
    Ok(match length {
        None | Some(0) => Phase::Head,
        Some(n) => Phase::Body(n),
    })
}

/// The reply written straight to the socket when a head is too large.
/// The reply to a client whose head took longer than `HttpHeaderTimeoutSecs`.
const REPLY_408: &[u8] = b"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 70\r\nConnection: close\r\n\r\nthe request head came too slowly (HttpHeaderTimeoutSecs in SystemVars)";

const REPLY_400_LENGTH: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 88\r\nConnection: close\r\n\r\nthe body's length is unclear: two different Content-Lengths, or one not a decimal number";

const REPLY_431: &[u8] = b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 45\r\nConnection: close\r\n\r\nrequest headers are larger than 8 KiB allowed";

/// picoserve writes its status line as `HTTP/1.1 400 \r\n`, with an empty reason phrase, in a
/// write of its own. We fill in the reason: the handler's message when it set one in
/// [`super::REASON`] (Hprose clients show only the status line of a non-200 answer), else the
/// standard phrase.
fn status_line_with_reason(filled: &[u8]) -> Option<String> {
    let code = filled.strip_prefix(b"HTTP/1.1 ")?.strip_suffix(b" \r\n")?;
    let code = std::str::from_utf8(code).ok()?;
    let n: u16 = code.parse().ok().filter(|_| code.len() == 3)?;
    let custom = super::REASON
        .try_with(|r| r.borrow_mut().take())
        .ok()
        .flatten();
    let reason = custom.unwrap_or_else(|| standard_reason(n).to_string());
    Some(format!("HTTP/1.1 {code} {reason}\r\n"))
}

/// The reason phrase of RFC 9110 for the statuses the node sends.
pub fn standard_reason(code: u16) -> &'static str {
    match code {
        101 => "Switching Protocols",
        200 => "OK",
        204 => "No Content",
        206 => "Partial Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        411 => "Length Required",
        413 => "Content Too Large",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}

/// Makes `message` safe for a status line: printable ASCII only, at most 200 bytes.
pub fn reason_phrase(message: &str) -> String {
    let mut s: String = message
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .take(200)
        .collect();
    if s.is_empty() {
        s.push('-');
    }
    s
}

/// An I/O error of a guarded connection.
#[derive(Debug)]
pub struct GuardError(pub std::io::Error);

impl picoserve::io::Error for GuardError {
    fn kind(&self) -> ErrorKind {
        match self.0.kind() {
            std::io::ErrorKind::InvalidData => ErrorKind::InvalidData,
            std::io::ErrorKind::TimedOut => ErrorKind::TimedOut,
            std::io::ErrorKind::ConnectionReset => ErrorKind::ConnectionReset,
            _ => ErrorKind::Other,
        }
    }
}

impl std::fmt::Display for GuardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for GuardError {}

/// A client stream ([`Conn`]: TCP, TLS or the tunnel; one type, so picoserve's routes are
/// compiled once) with a [`HeadGuard`] on its read side, for picoserve.
///
/// The stream sits in a `RefCell` that both halves share: picoserve polls the read and the
/// write half from the one connection task, and each poll borrows the stream only for the
/// duration of that poll (never across an await), so the borrows cannot overlap.
pub struct GuardedStream {
    stream: RefCell<Conn>,
    guard: HeadGuard,
    out: RefCell<Vec<u8>>,
    slot: Option<Rc<Slot>>,
    replay: Replay,
}

/// Bytes read from the client (and fed to the guard) that a reader gave back unconsumed:
/// the hot path ([`super::fast`]) hands a connection to picoserve with what it read of the
/// request it does not take. Reads return them before reading the socket again.
#[derive(Default)]
struct Replay {
    bytes: Vec<u8>,
    at: usize,
}

/// Writes smaller than this are gathered and sent at `flush` (picoserve writes a response's
/// status line, each header and the body separately, and flushes after the head and after
/// the body: unbuffered that was ten `sendto` calls per answer, 78% of the node's CPU in
/// benches/lever.sh). Larger writes go straight out. A flush that would send only a response
/// head waits for the body (its own flush sends both in one packet); whatever is pending goes
/// out before the connection waits to read, and at shutdown, so nothing is ever held back
/// while the peer waits.
pub const WRITE_BUFFER: usize = 16 * 1024;

impl GuardedStream {
    /// Wraps an accepted stream; heads may be at most `head_limit` bytes.
    pub fn new(stream: Conn, head_limit: usize) -> GuardedStream {
        GuardedStream {
            stream: RefCell::new(stream),
            guard: HeadGuard::new(head_limit),
            out: RefCell::new(Vec::new()),
            slot: None,
            replay: Replay::default(),
        }
    }

    /// Gives back `bytes` (read from this stream, not consumed): the next reads return them
    /// first.
    pub fn give_back(&mut self, bytes: Vec<u8>) {
        self.replay = Replay { bytes, at: 0 };
    }

    /// Ends the connection after an answer that said `Connection: close`: sends what is
    /// pending, shuts the write side (TLS: close_notify), then reads what the client still
    /// sends (at most [`LINGER_BYTES`] for [`LINGER`]) so that closing sends no reset
    /// before the client has read the answer.
    pub async fn close(self) -> Result<(), GuardError> {
        let timeout = |e| GuardError(std::io::Error::new(std::io::ErrorKind::TimedOut, e));
        tokio::time::timeout(WRITE_TIMEOUT, drain(&self.stream, &self.out))
            .await
            .map_err(|_| timeout("the answer could not be sent within 10 s"))??;
        let shut = poll_fn(|cx| Pin::new(&mut *self.stream.borrow_mut()).poll_shutdown(cx));
        tokio::time::timeout(WRITE_TIMEOUT, shut)
            .await
            .map_err(|_| timeout("the connection could not be shut within 10 s"))?
            .map_err(GuardError)?;
        let _ = tokio::time::timeout(LINGER, async {
            let mut buffer = [0u8; 1024];
            let mut left = LINGER_BYTES;
            while left > 0 {
                match recv(&self.stream, &mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => left = left.saturating_sub(n),
                }
            }
        })
        .await;
        Ok(())
    }

    /// Reports what the connection does to `slot`, and ends it when the port closes it.
    pub fn with_slot(mut self, slot: Rc<Slot>) -> GuardedStream {
        self.slot = Some(slot);
        self
    }
}

/// How long [`GuardedStream::close`] waits for each of its writes.
pub const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long [`GuardedStream::close`] reads what a client still sends, and how much of it.
const LINGER: std::time::Duration = std::time::Duration::from_secs(1);
const LINGER_BYTES: usize = 64 * 1024;

/// The read half of a [`GuardedStream`].
pub struct GuardedRead<'a> {
    stream: &'a RefCell<Conn>,
    guard: &'a mut HeadGuard,
    replay: &'a mut Replay,
    out: &'a RefCell<Vec<u8>>,
    slot: Option<&'a Rc<Slot>>,
}

/// The write half of a [`GuardedStream`].
pub struct GuardedWrite<'a> {
    stream: &'a RefCell<Conn>,
    out: &'a RefCell<Vec<u8>>,
    slot: Option<&'a Rc<Slot>>,
}

/// Reads what is there (waiting for at least one byte, or end of stream).
async fn recv(stream: &RefCell<Conn>, buf: &mut [u8]) -> std::io::Result<usize> {
    poll_fn(|cx| {
        let mut rb = ReadBuf::new(&mut *buf);
        match Pin::new(&mut *stream.borrow_mut()).poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => Poll::Ready(Ok(rb.filled().len())),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// Writes all of `buf` and flushes it (a TLS stream holds records until flushed).
async fn send(stream: &RefCell<Conn>, mut buf: &[u8]) -> Result<(), GuardError> {
    while !buf.is_empty() {
        let n = poll_fn(|cx| Pin::new(&mut *stream.borrow_mut()).poll_write(cx, buf))
            .await
            .map_err(GuardError)?;
        if n == 0 {
            return Err(GuardError(std::io::ErrorKind::WriteZero.into()));
        }
        buf = &buf[n..];
    }
    poll_fn(|cx| Pin::new(&mut *stream.borrow_mut()).poll_flush(cx))
        .await
        .map_err(GuardError)
}

/// Sends what is pending (no borrow is held across the await).
async fn drain(stream: &RefCell<Conn>, out: &RefCell<Vec<u8>>) -> Result<(), GuardError> {
    let mut data = std::mem::take(&mut *out.borrow_mut());
    if data.is_empty() {
        return Ok(());
    }
    let r = send(stream, &data).await;
    data.clear();
    if data.capacity() <= WRITE_BUFFER * 2 {
        let mut o = out.borrow_mut();
        if o.is_empty() {
            *o = data;
        }
    }
    r
}

/// True when `buf` is exactly one response head (status line and headers, no body yet).
fn is_bare_head(buf: &[u8]) -> bool {
    buf.starts_with(b"HTTP/1.")
        && buf.ends_with(b"\r\n\r\n")
        && buf.windows(4).filter(|w| w == b"\r\n\r\n").count() == 1
}

impl ErrorType for GuardedRead<'_> {
    type Error = GuardError;
}

impl ErrorType for GuardedWrite<'_> {
    type Error = GuardError;
}

impl Read for GuardedRead<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, GuardError> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.replay.at < self.replay.bytes.len() {
            let rest = &self.replay.bytes[self.replay.at..];
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.replay.at += n;
            if self.replay.at == self.replay.bytes.len() {
                *self.replay = Replay::default();
            }
            return Ok(n);
        }
        // Before waiting for the peer, send it everything pending.
        drain(self.stream, self.out).await?;
        let before = match self.slot {
            Some(slot) => {
                // picoserve reads the next head only once the answer is out.
                if self.guard.between_requests() && slot.activity() == Activity::Busy {
                    slot.set(Activity::Idle, Instant::now());
                }
                slot.activity()
            }
            None => Activity::Busy,
        };
        let in_body = matches!(self.guard.phase, Phase::Body(_));
        let receive = async {
            if in_body {
                tokio::time::timeout(BODY_STALL, recv(self.stream, buf))
                    .await
                    .unwrap_or_else(|_| {
                        Err(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "the request body sent nothing for 30 s",
                        ))
                    })
            } else {
                recv(self.stream, buf).await
            }
        };
        let n = match self.slot {
            Some(slot) => tokio::select! {
                r = receive => r.map_err(GuardError)?,
                why = slot.closed() => return Err(self.closed_by_port(why, before).await),
            },
            None => receive.await.map_err(GuardError)?,
        };
        let heads = self.guard.heads;
        let fed = self.guard.feed(&buf[..n]);
        if let Some(slot) = self.slot {
            let now = Instant::now();
            slot.touch(now);
            slot.set(self.guard.activity(before, heads), now);
        }
        if let Err(refused) = fed {
            let (reply, why) = match refused {
                HeadRefused::TooLarge => (REPLY_431, "request head too large (answered 431)"),
                HeadRefused::LengthUnclear => (REPLY_400_LENGTH, "unclear Content-Length (400)"),
            };
            // Best effort, bounded in time.
            let _ = tokio::time::timeout(WRITE_TIMEOUT, send(self.stream, reply)).await;
            return Err(GuardError(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                why,
            )));
        }
        Ok(n)
    }
}

impl GuardedRead<'_> {
    /// The port closed this connection: a client still sending its head hears why.
    async fn closed_by_port(&self, why: Closed, doing: Activity) -> GuardError {
        let text = match why {
            Closed::HeaderTimeout => "request head not complete within HttpHeaderTimeoutSecs",
            Closed::KeepAlive => "idle beyond the keep-alive time",
            Closed::Evicted => "idle, and the port needed the slot",
        };
        if why == Closed::HeaderTimeout || matches!(doing, Activity::Fresh | Activity::Head) {
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(1),
                send(self.stream, REPLY_408),
            )
            .await;
        }
        GuardError(std::io::Error::new(std::io::ErrorKind::TimedOut, text))
    }
}

impl BaseWrite for GuardedWrite<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, GuardError> {
        if buf.is_empty() {
            return Ok(0);
        }
        if let Some(slot) = self.slot {
            slot.touch(Instant::now());
        }
        let big = buf.len() >= WRITE_BUFFER / 2;
        // What is gathered goes first, whenever this piece will not join it: a big piece
        // sent ahead of a gathered response head would put the body before the head.
        if big || self.out.borrow().len() + buf.len() > WRITE_BUFFER {
            drain(self.stream, self.out).await?;
        }
        if big {
            // Big pieces (file bodies) go out as they are, without a copy.
            send(self.stream, buf).await?;
        } else {
            self.out.borrow_mut().extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), GuardError> {
        if is_bare_head(&self.out.borrow()) {
            // The body (or the next read) follows at once; send them together.
            return Ok(());
        }
        drain(self.stream, self.out).await
    }
}

impl Write for GuardedWrite<'_> {
    async fn write_with<F: FnOnce(picoserve::mem::BorrowedCursor<'_>) -> R, R>(
        &mut self,
        f: F,
    ) -> Result<R, GuardError> {
        let mut buffer = [0; 1024];
        let mut buffer = picoserve::mem::BorrowedBuffer::new(&mut buffer);
        let output = f(buffer.unfilled());
        let filled = buffer.filled();
        match status_line_with_reason(filled) {
            Some(line) => BaseWrite::write_all(self, line.as_bytes()).await?,
            None => BaseWrite::write_all(self, filled).await?,
        }
        Ok(output)
    }
}

impl picoserve::io::Socket<picoserve::TokioRuntime> for GuardedStream {
    type Error = GuardError;
    type ReadHalf<'a> = GuardedRead<'a>;
    type WriteHalf<'a> = GuardedWrite<'a>;

    fn split(&mut self) -> (GuardedRead<'_>, GuardedWrite<'_>) {
        (
            GuardedRead {
                stream: &self.stream,
                guard: &mut self.guard,
                replay: &mut self.replay,
                out: &self.out,
                slot: self.slot.as_ref(),
            },
            GuardedWrite {
                stream: &self.stream,
                out: &self.out,
                slot: self.slot.as_ref(),
            },
        )
    }

    async fn abort<T: picoserve::Timer<picoserve::TokioRuntime>>(
        self,
        _timeouts: &picoserve::Timeouts,
        _timer: &T,
    ) -> Result<(), picoserve::Error<GuardError>> {
        Ok(())
    }

    async fn shutdown<T: picoserve::Timer<picoserve::TokioRuntime>>(
        self,
        timeouts: &picoserve::Timeouts,
        timer: &T,
    ) -> Result<(), picoserve::Error<GuardError>> {
        timer
            .run_with_timeout(timeouts.write, drain(&self.stream, &self.out))
            .await
            .map_err(picoserve::Error::WriteTimeout)?
            .map_err(picoserve::Error::Write)?;
        // TCP: FIN. TLS: close_notify, then FIN.
        let close = poll_fn(|cx| Pin::new(&mut *self.stream.borrow_mut()).poll_shutdown(cx));
        timer
            .run_with_timeout(timeouts.write, close)
            .await
            .map_err(picoserve::Error::WriteTimeout)?
            .map_err(|e| picoserve::Error::Write(GuardError(e)))?;
        let mut buffer = [0; 128];
        while timer
            .run_with_timeout(timeouts.read_request, recv(&self.stream, &mut buffer))
            .await
            .map_err(picoserve::Error::ReadTimeout)?
            .map_err(|e| picoserve::Error::Read(GuardError(e)))?
            > 0
        {}
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_requests_with_bodies() {
        let mut g = HeadGuard::new(64);
        let req = b"POST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n\r\n";
        // Byte by byte and all at once give the same result.
        for b in req.iter() {
            g.feed(std::slice::from_ref(b)).unwrap();
        }
        assert_eq!(g.phase, Phase::Head);
        let mut g = HeadGuard::new(64);
        g.feed(req).unwrap();
        assert_eq!(g.phase, Phase::Head);
        assert!(g.head.is_empty());
    }

    #[test]
    fn body_bytes_do_not_count_as_head() {
        let mut g = HeadGuard::new(40);
        g.feed(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\n")
            .unwrap();
        g.feed(&[b'x'; 100]).unwrap();
        g.feed(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    }

    #[test]
    fn large_head_is_refused() {
        let mut g = HeadGuard::new(32);
        assert_eq!(
            g.feed(b"GET / HTTP/1.1\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n"),
            Err(HeadRefused::TooLarge)
        );
        let mut g = HeadGuard::new(32);
        for _ in 0..31 {
            g.feed(b"a").unwrap();
        }
        assert_eq!(g.feed(b"a"), Err(HeadRefused::TooLarge));
    }

    #[test]
    fn a_body_length_two_readers_could_read_differently_is_refused() {
        for head in [
            &b"POST / HTTP/1.1\r\nContent-Length: 9\r\nContent-Length: 40\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\nContent-Length: nine\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        ] {
            let mut g = HeadGuard::new(256);
            assert_eq!(g.feed(head), Err(HeadRefused::LengthUnclear));
        }
        // The same length twice frames the same way (RFC 9112 6.3).
        let mut g = HeadGuard::new(256);
        g.feed(b"POST / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nhi")
            .unwrap();
        assert_eq!(g.awaiting_body(), Some(0));
    }

    #[test]
    fn status_lines_get_a_reason() {
        assert_eq!(
            status_line_with_reason(b"HTTP/1.1 404 \r\n").unwrap(),
            "HTTP/1.1 404 Not Found\r\n"
        );
        assert!(status_line_with_reason(b"HTTP/1.1 404 \r\nContent-Length: 0").is_none());
        assert!(status_line_with_reason(b"hello").is_none());
        assert_eq!(reason_phrase("bad\r\nX: y é"), "bad??X: y ?");
    }

    #[test]
    fn upgrade_and_chunked_pass_through() {
        let mut g = HeadGuard::new(64);
        g.feed(b"GET /ws/ HTTP/1.1\r\nUpgrade: websocket\r\n\r\n")
            .unwrap();
        g.feed(&[0u8; 1000]).unwrap();
        assert_eq!(g.phase, Phase::Through);
    }
}
