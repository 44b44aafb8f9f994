//! The RESP2 codec, sans io: requests in (multibulk `*N\r\n$len\r\n...` and inline
//! `set a "b c"\r\n`), replies out.
//!
//! The request parser follows Redis 7.0's `processMultibulkBuffer` and `processInlineBuffer`
//! (networking.c), including their error texts and their leniencies: the byte after a `\r`
//! that ends a length line, and the two bytes after a bulk, are skipped unchecked; `*0` and
//! `*-1` (and an empty inline line) are empty commands that get no reply; `*` lengths and
//! `$` lengths are read by `string2ll` (no `+`, no leading zeros). Every size is bounded by
//! [`Limits`]. Where Redis waits at a NUL byte (its `strchr`), we do not: an inline line
//! ends at its `\n`, and its words end at a NUL as in Redis's `sdssplitargs`.
//!
//! [`Parser`] keeps its place between calls, so a command arriving in many small reads is
//! scanned once, not once per read; [`parse`] is the same without memory.
//!
//! The encoders append to a caller's `Vec<u8>`; [`Reply`] is a tree of them.

use core::fmt;
use core::ops::Range;
use std::borrow::Cow;

/// Bounds on what one request may claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most arguments in one multibulk command (Redis accepts up to `INT_MAX`, lazily).
    pub max_args: usize,
    /// Longest single argument. Redis's `proto-max-bulk-len` is 512 MiB; ours defaults to
    /// 16 MiB, which is also the largest value a Mimei database stores.
    pub max_bulk: usize,
    /// Longest inline command line, and longest `*`/`$` length line (Redis:
    /// `PROTO_INLINE_MAX_SIZE`, 64 KiB).
    pub max_inline: usize,
    /// Most bytes one command may span on the wire, headers included (Redis bounds the query
    /// buffer at 1 GiB instead).
    pub max_request: usize,
}

impl Limits {
    /// 1 Mi arguments, 16 MiB per argument, 64 KiB inline, 64 MiB per command.
    pub const DEFAULT: Limits = Limits {
        max_args: 1 << 20,
        max_bulk: 16 << 20,
        max_inline: 64 << 10,
        max_request: 64 << 20,
    };
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}

/// A request the parser refuses. Redis answers each with `-ERR <Display>` and closes the
/// connection; [`ProtoError::write_reply`] writes exactly that line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtoError {
    /// `*N` with N not a `string2ll` integer, or above [`Limits::max_args`]:
    /// `Protocol error: invalid multibulk length`.
    InvalidMultibulkLength,
    /// `$N` with N not an integer, negative, or above [`Limits::max_bulk`]:
    /// `Protocol error: invalid bulk length`.
    InvalidBulkLength,
    /// A bulk header that does not start with `$`: `Protocol error: expected '$', got 'X'`
    /// (CR and LF shown as a space, as Redis does).
    ExpectedDollar(u8),
    /// No `\r` within [`Limits::max_inline`] bytes of a `*`:
    /// `Protocol error: too big mbulk count string`.
    TooBigMultibulkCount,
    /// No `\r` within [`Limits::max_inline`] bytes of a bulk header:
    /// `Protocol error: too big bulk count string`.
    TooBigBulkCount,
    /// An inline line longer than [`Limits::max_inline`]:
    /// `Protocol error: too big inline request`.
    TooBigInline,
    /// An inline line with an open quote, or a closing quote not followed by a blank:
    /// `Protocol error: unbalanced quotes in request`.
    UnbalancedQuotes,
    /// A command spanning more than [`Limits::max_request`] bytes (ours; Redis has no such
    /// limit per command): `Protocol error: too big request`.
    TooBigRequest,
}

impl ProtoError {
    /// Appends the reply Redis sends for this error: `-ERR Protocol error: ...\r\n`.
    pub fn write_reply(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"-ERR ");
        match *self {
            ProtoError::ExpectedDollar(c) => {
                // Redis prints the raw byte, turning CR and LF into spaces.
                let c = if c == b'\r' || c == b'\n' { b' ' } else { c };
                out.extend_from_slice(b"Protocol error: expected '$', got '");
                out.push(c);
                out.push(b'\'');
            }
            _ => out.extend_from_slice(self.to_string().as_bytes()),
        }
        out.extend_from_slice(b"\r\n");
    }
}

impl fmt::Display for ProtoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Protocol error: ")?;
        match *self {
            ProtoError::InvalidMultibulkLength => f.write_str("invalid multibulk length"),
            ProtoError::InvalidBulkLength => f.write_str("invalid bulk length"),
            ProtoError::ExpectedDollar(c) => {
                let c = if c == b'\r' || c == b'\n' { b' ' } else { c };
                write!(f, "expected '$', got '{}'", char::from(c))
            }
            ProtoError::TooBigMultibulkCount => f.write_str("too big mbulk count string"),
            ProtoError::TooBigBulkCount => f.write_str("too big bulk count string"),
            ProtoError::TooBigInline => f.write_str("too big inline request"),
            ProtoError::UnbalancedQuotes => f.write_str("unbalanced quotes in request"),
            ProtoError::TooBigRequest => f.write_str("too big request"),
        }
    }
}

impl std::error::Error for ProtoError {}

/// One request: its arguments, the command name first. Multibulk arguments borrow the
/// input; inline arguments are owned only where quotes or escapes changed them. No
/// arguments means an empty request (`*0`, a blank line), which Redis ignores silently.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Command<'a> {
    /// The arguments, in order.
    pub args: Vec<Cow<'a, [u8]>>,
}

impl Command<'_> {
    /// The command name as sent (Redis compares it case-insensitively).
    pub fn name(&self) -> Option<&[u8]> {
        self.args.first().map(|a| a.as_ref())
    }
}

/// Parses one request from the front of `buf`: `Ok(Some((command, bytes_used)))`, or
/// `Ok(None)` when `buf` holds only the start of one. Rescans `buf` from its start on every
/// call; a connection should keep a [`Parser`] instead.
pub fn parse<'b>(
    buf: &'b [u8],
    limits: &Limits,
) -> Result<Option<(Command<'b>, usize)>, ProtoError> {
    Parser::new(*limits).parse(buf)
}

/// A request parser that remembers how far it got into an incomplete request.
///
/// Contract: between two calls that returned `Ok(None)`, `buf` must be the same bytes,
/// possibly longer. After a command or an error the parser starts afresh, at the `buf`
/// front of the next call (the caller drops the used bytes first). Breaking the contract
/// gives wrong results or errors, never a panic.
#[derive(Debug, Clone, Default)]
pub struct Parser {
    limits: Limits,
    /// Multibulk: arguments the `*` line announced (0 while not read yet).
    argc: usize,
    /// The first byte not yet used by the request in progress.
    pos: usize,
    /// Bytes before this index were searched for a line end without finding one.
    scan: usize,
    /// Multibulk: the length of the bulk whose `$` line was read.
    bulk: Option<usize>,
    /// Multibulk: the arguments read so far.
    args: Vec<Range<usize>>,
}

impl Parser {
    /// A parser with these limits.
    pub fn new(limits: Limits) -> Parser {
        Parser {
            limits,
            ..Parser::default()
        }
    }

    /// Forgets any request in progress.
    pub fn reset(&mut self) {
        self.argc = 0;
        self.pos = 0;
        self.scan = 0;
        self.bulk = None;
        self.args.clear();
    }

    /// Parses one request from the front of `buf`; see [`parse`] and the type's contract.
    pub fn parse<'b>(&mut self, buf: &'b [u8]) -> Result<Option<(Command<'b>, usize)>, ProtoError> {
        let r = match buf.first() {
            None => Ok(None),
            Some(b'*') => self.multibulk(buf),
            Some(_) => self.inline(buf),
        };
        if !matches!(r, Ok(None)) {
            self.reset();
        }
        r
    }

    fn inline<'b>(&mut self, buf: &'b [u8]) -> Result<Option<(Command<'b>, usize)>, ProtoError> {
        let from = self.scan.min(buf.len());
        let Some(nl) = buf[from..]
            .iter()
            .position(|&c| c == b'\n')
            .map(|i| from + i)
        else {
            self.scan = buf.len();
            if buf.len() > self.limits.max_inline {
                return Err(ProtoError::TooBigInline);
            }
            return Ok(None);
        };
        if nl > self.limits.max_inline {
            return Err(ProtoError::TooBigInline);
        }
        let line = &buf[..nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let args = split_args(line).ok_or(ProtoError::UnbalancedQuotes)?;
        Ok(Some((Command { args }, nl + 1)))
    }

    /// The index of the `\r` ending the line at `self.pos`, if the byte after it arrived too.
    fn line_end(&mut self, buf: &[u8], too_big: ProtoError) -> Result<Option<usize>, ProtoError> {
        let from = self.scan.max(self.pos).min(buf.len());
        match buf[from..].iter().position(|&c| c == b'\r') {
            None => {
                self.scan = buf.len();
                if buf.len() - self.pos.min(buf.len()) > self.limits.max_inline {
                    return Err(too_big);
                }
                Ok(None)
            }
            Some(i) => {
                let cr = from + i;
                self.scan = cr;
                if cr - self.pos > self.limits.max_inline {
                    return Err(too_big);
                }
                Ok(if cr + 1 < buf.len() { Some(cr) } else { None })
            }
        }
    }

    fn multibulk<'b>(&mut self, buf: &'b [u8]) -> Result<Option<(Command<'b>, usize)>, ProtoError> {
        if self.argc == 0 {
            self.pos = 0;
            let Some(cr) = self.line_end(buf, ProtoError::TooBigMultibulkCount)? else {
                return Ok(None);
            };
            let n =
                crate::db::num::parse_int(&buf[1..cr]).ok_or(ProtoError::InvalidMultibulkLength)?;
            if n > self.limits.max_args as i64 || n > i64::from(i32::MAX) {
                return Err(ProtoError::InvalidMultibulkLength);
            }
            self.pos = cr + 2;
            self.scan = self.pos;
            if n <= 0 {
                return Ok(Some((Command::default(), self.pos)));
            }
            self.argc = n as usize;
        }
        while self.args.len() < self.argc {
            let len = match self.bulk {
                Some(len) => len,
                None => {
                    let Some(cr) = self.line_end(buf, ProtoError::TooBigBulkCount)? else {
                        return Ok(None);
                    };
                    let head = &buf[self.pos..cr];
                    match head.first() {
                        Some(b'$') => {}
                        Some(&c) => return Err(ProtoError::ExpectedDollar(c)),
                        None => return Err(ProtoError::ExpectedDollar(b'\r')),
                    }
                    let n = crate::db::num::parse_int(&head[1..])
                        .filter(|n| *n >= 0 && *n as u64 <= self.limits.max_bulk as u64)
                        .ok_or(ProtoError::InvalidBulkLength)? as usize;
                    self.pos = cr + 2;
                    self.scan = self.pos;
                    self.bulk = Some(n);
                    n
                }
            };
            let end = self.pos.saturating_add(len).saturating_add(2);
            if end > self.limits.max_request {
                return Err(ProtoError::TooBigRequest);
            }
            if buf.len() < end {
                return Ok(None);
            }
            self.args.push(self.pos..self.pos + len);
            self.pos = end;
            self.scan = end;
            self.bulk = None;
        }
        let mut args = Vec::with_capacity(self.args.len());
        for r in &self.args {
            match buf.get(r.clone()) {
                Some(a) => args.push(Cow::Borrowed(a)),
                // Only when the caller broke the contract (a shorter buffer).
                None => return Err(ProtoError::InvalidBulkLength),
            }
        }
        Ok(Some((Command { args }, self.pos)))
    }
}

/// Redis's `sdssplitargs`: words separated by blanks; `"..."` with `\xHH`, `\n`, `\r`, `\t`,
/// `\b`, `\a` and `\<any>` escapes; `'...'` with only `\'`; a closing quote must be followed
/// by a blank or the end. The line ends at a NUL byte. `None`: unbalanced quotes.
fn split_args(line: &[u8]) -> Option<Vec<Cow<'_, [u8]>>> {
    let line = match line.iter().position(|&c| c == 0) {
        Some(nul) => &line[..nul],
        None => line,
    };
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let is_space = |c: u8| matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let mut args = Vec::new();
    let mut p = 0;
    loop {
        while p < line.len() && is_space(line[p]) {
            p += 1;
        }
        if p >= line.len() {
            return Some(args);
        }
        let start = p;
        // Stays borrowed until a quote is met.
        let mut owned: Option<Vec<u8>> = None;
        let (mut inq, mut insq) = (false, false);
        loop {
            let c = at(p);
            if inq {
                let cur = owned.get_or_insert_with(Vec::new);
                if c == b'\\'
                    && at(p + 1) == b'x'
                    && at(p + 2).is_ascii_hexdigit()
                    && at(p + 3).is_ascii_hexdigit()
                {
                    let hex = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
                    cur.push(hex(at(p + 2)) * 16 + hex(at(p + 3)));
                    p += 3;
                } else if c == b'\\' && at(p + 1) != 0 {
                    p += 1;
                    cur.push(match at(p) {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 0x08,
                        b'a' => 0x07,
                        other => other,
                    });
                } else if c == b'"' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    cur.push(c);
                }
            } else if insq {
                let cur = owned.get_or_insert_with(Vec::new);
                if c == b'\\' && at(p + 1) == b'\'' {
                    p += 1;
                    cur.push(b'\'');
                } else if c == b'\'' {
                    if at(p + 1) != 0 && !is_space(at(p + 1)) {
                        return None;
                    }
                    p += 1;
                    break;
                } else if c == 0 {
                    return None;
                } else {
                    cur.push(c);
                }
            } else {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => break,
                    b'"' | b'\'' => {
                        owned.get_or_insert_with(|| line[start..p].to_vec());
                        if c == b'"' {
                            inq = true;
                        } else {
                            insq = true;
                        }
                    }
                    _ => {
                        if let Some(cur) = owned.as_mut() {
                            cur.push(c);
                        }
                    }
                }
            }
            p += 1;
        }
        args.push(match owned {
            Some(v) => Cow::Owned(v),
            None => Cow::Borrowed(&line[start..p]),
        });
    }
}

/// Appends a simple string: `+s\r\n` (CR and LF in `s` become spaces).
pub fn write_simple(out: &mut Vec<u8>, s: &str) {
    out.push(b'+');
    push_line(out, s.as_bytes());
}

/// Appends an error: `-msg\r\n`. `msg` starts with its code, as in `ERR syntax error` or
/// `WRONGTYPE Operation against a key holding the wrong kind of value`; CR and LF in it
/// become spaces, as Redis's `addReplyErrorFormat` does.
pub fn write_error(out: &mut Vec<u8>, msg: &str) {
    out.push(b'-');
    push_line(out, msg.as_bytes());
}

/// Appends an integer: `:n\r\n`.
pub fn write_int(out: &mut Vec<u8>, n: i64) {
    write_prefixed(out, b':', n);
}

/// Appends a bulk string: `$len\r\nbytes\r\n`.
pub fn write_bulk(out: &mut Vec<u8>, bytes: &[u8]) {
    write_prefixed(out, b'$', bytes.len() as i64);
    out.extend_from_slice(bytes);
    out.extend_from_slice(b"\r\n");
}

/// Appends the null bulk string `$-1\r\n` (GET of a missing key).
pub fn write_null_bulk(out: &mut Vec<u8>) {
    out.extend_from_slice(b"$-1\r\n");
}

/// Appends an array header `*len\r\n`; the caller appends the `len` elements.
pub fn write_array_header(out: &mut Vec<u8>, len: usize) {
    write_prefixed(out, b'*', len as i64);
}

/// Appends the null array `*-1\r\n` (LPOP with a count on a missing key).
pub fn write_null_array(out: &mut Vec<u8>) {
    out.extend_from_slice(b"*-1\r\n");
}

/// Appends a double as Redis 7.0 replies it in RESP2: a bulk string in `%.17g` form, or
/// `inf`/`-inf` (see [`crate::db::num::write_double`]).
pub fn write_double(out: &mut Vec<u8>, d: f64) {
    let mut text = Vec::with_capacity(24);
    crate::db::num::write_double(&mut text, d);
    write_bulk(out, &text);
}

fn push_line(out: &mut Vec<u8>, s: &[u8]) {
    out.extend(
        s.iter()
            .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
    );
    out.extend_from_slice(b"\r\n");
}

/// `<prefix><n>\r\n` without going through `fmt`.
fn write_prefixed(out: &mut Vec<u8>, prefix: u8, n: i64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.push(prefix);
    if n < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
}

/// A reply, built by a command and encoded once.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`.
    Simple(Cow<'static, str>),
    /// `-ERR ...`: the text includes its code (`ERR`, `WRONGTYPE`, ...).
    Error(Cow<'static, str>),
    /// `:n`.
    Int(i64),
    /// `$len` and the bytes.
    Bulk(Vec<u8>),
    /// A double as a bulk string, in Redis 7.0's RESP2 form.
    Double(f64),
    /// `$-1`.
    Nil,
    /// `*-1`.
    NilArray,
    /// `*n` and the elements.
    Array(Vec<Reply>),
}

impl Reply {
    /// `+OK`.
    pub const OK: Reply = Reply::Simple(Cow::Borrowed("OK"));

    /// An error with the `ERR` code: `Reply::err("syntax error")` is `-ERR syntax error`.
    pub fn err(msg: &str) -> Reply {
        Reply::Error(Cow::Owned(format!("ERR {msg}")))
    }

    /// Appends the encoded reply to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Reply::Simple(s) => write_simple(out, s),
            Reply::Error(e) => write_error(out, e),
            Reply::Int(n) => write_int(out, *n),
            Reply::Bulk(b) => write_bulk(out, b),
            Reply::Double(d) => write_double(out, *d),
            Reply::Nil => write_null_bulk(out),
            Reply::NilArray => write_null_array(out),
            Reply::Array(items) => {
                write_array_header(out, items.len());
                for item in items {
                    item.encode(out);
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "proto_tests.rs"]
mod tests;
