//! `/leither/lever/1.0.0`: a Lever call forwarded to another node that runs the service, and
//! its answer. Sans-io; the bytes of one message, without framing (on the stream each
//! message is framed by an unsigned varint length, at most [`MAX_MESSAGE_LEN`]).
//!
//! The forwarding node opens the stream and sends a [`Request`]: the [`Claim`] it signs (who
//! calls what, until when, a nonce), the arguments as JSON, and its ed25519 signature over
//! [`Request::signed_bytes`]. The provider answers with [`Frame`]s:
//!
//! - a call: one `Ok` (the JSON result) or `Err` (the error code and message); then the
//!   stream waits for the next request (calls take turns on a stream, each request checked on
//!   its own), until the provider closes it (idle, a refusal, or its bound of calls);
//! - a stream: `Started` (or `Err`), then `Msg` frames both ways; the forwarder sends `End`
//!   when the caller's input ends; the provider's last frame is `Ok` (the handler's return
//!   value, `null` when there was none to send) or `Err`. Either side sends `Alive` after
//!   [`HEARTBEAT_SECS`] without sending anything else, so the other learns within a few
//!   heartbeats that a silent peer is gone (a pulled cable sends no reset, and closing a
//!   connection to such a peer waits on TCP).
//!
//! Every answer carries the provider's [`Load`], which the forwarder's choice uses.
//!
//! Layout (integers big-endian; `str` = u16 length + UTF-8, `bytes` = u32 length + bytes,
//! `opt` = a byte 0 or 1, then the value when 1):
//!
//! | message | layout |
//! |---|---|
//! | request | kind (1 call, 2 stream), caller `str`, caller env `opt str`, env `str`, service `str`, method `str`, resource `opt str`, nonce 16 bytes, expires u64 (unix s), args `bytes`, signature 64 bytes |
//! | 0x81 `Ok` | load, value `bytes` |
//! | 0x82 `Err` | load, code `str`, message `str` |
//! | 0x83 `Started` | load |
//! | 0x84 `Msg` | value `bytes` |
//! | 0x85 `End` | nothing |
//! | 0x86 `Alive` | nothing |
//!
//! load = in-flight calls u32, full u8 (0 or 1). Every length has a bound; every encoding is
//! canonical (whatever parses re-encodes to the same bytes: the fuzz target checks it).

use core::fmt;

/// The protocol name on libp2p streams.
pub const PROTOCOL: &str = "/leither/lever/1.0.0";
/// Longest JSON value in a message (a Lever call's body is at most 1 MiB).
pub const MAX_VALUE_LEN: usize = 1 << 20;
/// Longest message accepted.
pub const MAX_MESSAGE_LEN: usize = MAX_VALUE_LEN + 4096;
/// Seconds of silence after which a side of a stream sends `Alive`.
pub const HEARTBEAT_SECS: u64 = 5;
/// Seconds of silence after which a side of a stream takes the other as gone.
pub const SILENCE_SECS: u64 = 20;
/// Longest caller ID (a Leither ID is 27 characters; empty for a guest).
pub const MAX_CALLER_LEN: usize = 64;
/// Longest environment name.
pub const MAX_ENV_LEN: usize = 128;
/// Longest service or method name.
pub const MAX_NAME_LEN: usize = 128;
/// Longest resource name (as `lever::target::MAX_RESOURCE`).
pub const MAX_RESOURCE_LEN: usize = 512;
/// Longest error code and message.
pub const MAX_CODE_LEN: usize = 32;
/// Longest error message.
pub const MAX_ERROR_LEN: usize = 4096;
/// What the forwarder's signature covers begins with this, so it never stands for anything
/// else the node key signs.
pub const DOMAIN: &[u8] = b"leither/lever/1.0.0 forwarded call\0";

const CALL: u8 = 1;
const STREAM: u8 = 2;
const OK: u8 = 0x81;
const ERR: u8 = 0x82;
const STARTED: u8 = 0x83;
const MSG: u8 = 0x84;
const END: u8 = 0x85;
const ALIVE: u8 = 0x86;

/// What the forwarding node states, and signs, about a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The caller's user ID on the forwarding node (`""`: a guest).
    pub caller: String,
    /// The environment of the calling service, for a call from inside one.
    pub caller_env: Option<String>,
    /// The environment called.
    pub env: String,
    /// The service.
    pub service: String,
    /// The method.
    pub method: String,
    /// The resource the call sticks to.
    pub resource: Option<String>,
    /// Fresh random bytes: a request is taken once.
    pub nonce: [u8; 16],
    /// Unix seconds after which the request is refused.
    pub expires: u64,
}

/// The first message on a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// A stream (`true`) or one call.
    pub stream: bool,
    /// What is called, by whom.
    pub claim: Claim,
    /// The arguments: a JSON array.
    pub args: Vec<u8>,
    /// The forwarding node's ed25519 signature over [`Request::signed_bytes`].
    pub sig: [u8; 64],
}

/// How busy the provider is, as it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Load {
    /// Calls of the service in flight there (streams included).
    pub inflight: u32,
    /// All its instances are at `maxInstanceLoad` and its budget starts no more.
    pub full: bool,
}

/// Every message after the request, either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The result (a call's, or a stream's last).
    Ok {
        /// The provider's load.
        load: Load,
        /// The JSON result.
        value: Vec<u8>,
    },
    /// The call failed or was refused.
    Err {
        /// The provider's load.
        load: Load,
        /// `LeverError::code` of the failure.
        code: String,
        /// What happened.
        message: String,
    },
    /// The stream is open.
    Started(Load),
    /// One stream message (JSON).
    Msg(Vec<u8>),
    /// The caller's input ended.
    End,
    /// Nothing to say, but still here.
    Alive,
}

/// A message that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError(pub String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a {PROTOCOL} message that does not parse: {}", self.0)
    }
}

impl std::error::Error for WireError {}

fn bad(why: impl Into<String>) -> WireError {
    WireError(why.into())
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], WireError> {
        let (a, b) = self
            .rest
            .split_at_checked(n)
            .ok_or_else(|| bad(format!("it ends inside {what}")))?;
        self.rest = b;
        Ok(a)
    }

    fn byte(&mut self, what: &str) -> Result<u8, WireError> {
        Ok(self.take(1, what)?[0])
    }

    fn flag(&mut self, what: &str) -> Result<bool, WireError> {
        match self.byte(what)? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(bad(format!("{what}: {b} is neither 0 nor 1"))),
        }
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], WireError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }

    fn u32(&mut self, what: &str) -> Result<u32, WireError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    fn str(&mut self, max: usize, what: &str) -> Result<String, WireError> {
        let n = u16::from_be_bytes(self.array(what)?) as usize;
        if n > max {
            return Err(bad(format!("{what} of {n} bytes is over {max}")));
        }
        let b = self.take(n, what)?;
        String::from_utf8(b.to_vec()).map_err(|_| bad(format!("{what} is not UTF-8")))
    }

    fn opt_str(&mut self, max: usize, what: &str) -> Result<Option<String>, WireError> {
        if self.flag(what)? {
            Ok(Some(self.str(max, what)?))
        } else {
            Ok(None)
        }
    }

    fn bytes(&mut self, max: usize, what: &str) -> Result<Vec<u8>, WireError> {
        let n = self.u32(what)? as usize;
        if n > max {
            return Err(bad(format!("{what} of {n} bytes is over {max}")));
        }
        Ok(self.take(n, what)?.to_vec())
    }

    fn load(&mut self) -> Result<Load, WireError> {
        Ok(Load {
            inflight: self.u32("the load")?,
            full: self.flag("the load's full flag")?,
        })
    }

    fn end(&self) -> Result<(), WireError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(bad(format!("{} bytes follow the message", self.rest.len())))
        }
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Lengths are checked before encoding (`Claim::check`, the constructors' callers); a
    // longer one is cut at the u16 bound rather than written inconsistently.
    let b = &s.as_bytes()[..s.len().min(u16::MAX as usize)];
    out.extend_from_slice(&(b.len() as u16).to_be_bytes());
    out.extend_from_slice(b);
}

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
        None => out.push(0),
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    let b = &b[..b.len().min(u32::MAX as usize)];
    out.extend_from_slice(&(b.len() as u32).to_be_bytes());
    out.extend_from_slice(b);
}

fn put_load(out: &mut Vec<u8>, l: Load) {
    out.extend_from_slice(&l.inflight.to_be_bytes());
    out.push(u8::from(l.full));
}

impl Claim {
    /// Whether every field is within its bound (what [`Request::from_bytes`] accepts).
    pub fn check(&self) -> Result<(), WireError> {
        let fields = [
            (self.caller.len(), MAX_CALLER_LEN, "the caller"),
            (
                self.caller_env.as_ref().map_or(0, String::len),
                MAX_ENV_LEN,
                "the caller's environment",
            ),
            (self.env.len(), MAX_ENV_LEN, "the environment"),
            (self.service.len(), MAX_NAME_LEN, "the service"),
            (self.method.len(), MAX_NAME_LEN, "the method"),
            (
                self.resource.as_ref().map_or(0, String::len),
                MAX_RESOURCE_LEN,
                "the resource",
            ),
        ];
        for (len, max, what) in fields {
            if len > max {
                return Err(bad(format!("{what} of {len} bytes is over {max}")));
            }
        }
        Ok(())
    }
}

impl Request {
    /// The bytes before the signature, as encoded.
    fn body(&self) -> Vec<u8> {
        let c = &self.claim;
        let mut out = Vec::with_capacity(128 + self.args.len());
        out.push(if self.stream { STREAM } else { CALL });
        put_str(&mut out, &c.caller);
        put_opt_str(&mut out, c.caller_env.as_deref());
        put_str(&mut out, &c.env);
        put_str(&mut out, &c.service);
        put_str(&mut out, &c.method);
        put_opt_str(&mut out, c.resource.as_deref());
        out.extend_from_slice(&c.nonce);
        out.extend_from_slice(&c.expires.to_be_bytes());
        put_bytes(&mut out, &self.args);
        out
    }

    /// What the signature covers: [`DOMAIN`], then the request's bytes up to the signature.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut m = DOMAIN.to_vec();
        m.extend_from_slice(&self.body());
        m
    }

    /// The message's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.body();
        out.extend_from_slice(&self.sig);
        out
    }

    /// Parses a request from untrusted bytes (the signature is checked by the caller, who
    /// knows the sending peer's key).
    pub fn from_bytes(b: &[u8]) -> Result<Request, WireError> {
        if b.len() > MAX_MESSAGE_LEN {
            return Err(bad(format!("{} bytes is over {MAX_MESSAGE_LEN}", b.len())));
        }
        let mut r = Reader { rest: b };
        let stream = match r.byte("the kind")? {
            CALL => false,
            STREAM => true,
            k => return Err(bad(format!("kind {k} is not a request"))),
        };
        let claim = Claim {
            caller: r.str(MAX_CALLER_LEN, "the caller")?,
            caller_env: r.opt_str(MAX_ENV_LEN, "the caller's environment")?,
            env: r.str(MAX_ENV_LEN, "the environment")?,
            service: r.str(MAX_NAME_LEN, "the service")?,
            method: r.str(MAX_NAME_LEN, "the method")?,
            resource: r.opt_str(MAX_RESOURCE_LEN, "the resource")?,
            nonce: r.array("the nonce")?,
            expires: u64::from_be_bytes(r.array("the expiry")?),
        };
        let args = r.bytes(MAX_VALUE_LEN, "the arguments")?;
        let sig = r.array("the signature")?;
        r.end()?;
        Ok(Request {
            stream,
            claim,
            args,
            sig,
        })
    }
}

impl Frame {
    /// The message's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Frame::Ok { load, value } => {
                out.push(OK);
                put_load(&mut out, *load);
                put_bytes(&mut out, value);
            }
            Frame::Err {
                load,
                code,
                message,
            } => {
                out.push(ERR);
                put_load(&mut out, *load);
                put_str(&mut out, code);
                put_str(&mut out, message);
            }
            Frame::Started(load) => {
                out.push(STARTED);
                put_load(&mut out, *load);
            }
            Frame::Msg(v) => {
                out.push(MSG);
                put_bytes(&mut out, v);
            }
            Frame::End => out.push(END),
            Frame::Alive => out.push(ALIVE),
        }
        out
    }

    /// An `Err` frame with its message cut to [`MAX_ERROR_LEN`] bytes (at a character
    /// boundary) and its code to [`MAX_CODE_LEN`].
    pub fn error(load: Load, code: &str, message: &str) -> Frame {
        Frame::Err {
            load,
            code: cut(code, MAX_CODE_LEN),
            message: cut(message, MAX_ERROR_LEN),
        }
    }

    /// Parses a frame from untrusted bytes.
    pub fn from_bytes(b: &[u8]) -> Result<Frame, WireError> {
        if b.len() > MAX_MESSAGE_LEN {
            return Err(bad(format!("{} bytes is over {MAX_MESSAGE_LEN}", b.len())));
        }
        let mut r = Reader { rest: b };
        let f = match r.byte("the kind")? {
            OK => Frame::Ok {
                load: r.load()?,
                value: r.bytes(MAX_VALUE_LEN, "the result")?,
            },
            ERR => Frame::Err {
                load: r.load()?,
                code: r.str(MAX_CODE_LEN, "the error code")?,
                message: r.str(MAX_ERROR_LEN, "the error message")?,
            },
            STARTED => Frame::Started(r.load()?),
            MSG => Frame::Msg(r.bytes(MAX_VALUE_LEN, "the message")?),
            END => Frame::End,
            ALIVE => Frame::Alive,
            k => return Err(bad(format!("kind {k} is not a frame"))),
        };
        r.end()?;
        Ok(f)
    }
}

/// `s` cut to at most `max` bytes at a character boundary.
pub fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request {
            stream: true,
            claim: Claim {
                caller: "aM30KnES1E4OLT6DTBQpSoJmhdQ".into(),
                caller_env: None,
                env: "dev.lever".into(),
                service: "hello".into(),
                method: "echoChan".into(),
                resource: Some("room-1".into()),
                nonce: [7; 16],
                expires: 1_800_000_000,
            },
            args: b"[\"x\"]".to_vec(),
            sig: [9; 64],
        }
    }

    #[test]
    fn every_message_round_trips() {
        let r = request();
        assert_eq!(Request::from_bytes(&r.to_bytes()), Ok(r.clone()));
        let load = Load {
            inflight: 3,
            full: true,
        };
        for f in [
            Frame::Ok {
                load,
                value: b"1".to_vec(),
            },
            Frame::error(load, "lua_error", "main.lua:3: boom"),
            Frame::Started(load),
            Frame::Msg(b"\"hi\"".to_vec()),
            Frame::End,
            Frame::Alive,
        ] {
            assert_eq!(Frame::from_bytes(&f.to_bytes()), Ok(f));
        }
    }

    #[test]
    fn the_signature_covers_every_field_but_itself() {
        let r = request();
        let mut other = r.clone();
        other.claim.caller = "someone-else".into();
        assert_ne!(r.signed_bytes(), other.signed_bytes());
        let mut other = r.clone();
        other.args = b"[]".to_vec();
        assert_ne!(r.signed_bytes(), other.signed_bytes());
        let mut other = r.clone();
        other.sig = [0; 64];
        assert_eq!(r.signed_bytes(), other.signed_bytes());
        assert!(r.signed_bytes().starts_with(DOMAIN));
    }

    #[test]
    fn truncated_oversized_and_trailing_input_is_refused() {
        let b = request().to_bytes();
        for n in 0..b.len() {
            assert!(Request::from_bytes(&b[..n]).is_err(), "cut at {n}");
        }
        let mut longer = b.clone();
        longer.push(0);
        assert!(Request::from_bytes(&longer).is_err());
        // A caller length over its bound.
        let mut big = vec![CALL];
        big.extend_from_slice(&(MAX_CALLER_LEN as u16 + 1).to_be_bytes());
        big.extend(std::iter::repeat_n(b'a', MAX_CALLER_LEN + 1));
        assert!(Request::from_bytes(&big).unwrap_err().0.contains("over"));
        // A flag that is neither 0 nor 1 would not re-encode the same.
        let f = Frame::Started(Load {
            inflight: 1,
            full: false,
        })
        .to_bytes();
        let mut two = f.clone();
        *two.last_mut().unwrap() = 2;
        assert!(Frame::from_bytes(&two).is_err());
        assert!(Frame::from_bytes(&[0x99]).is_err());
        assert!(Frame::from_bytes(&[]).is_err());
    }

    #[test]
    fn long_errors_are_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_ERROR_LEN);
        let Frame::Err { message, .. } = Frame::error(Load::default(), "x", &long) else {
            unreachable!()
        };
        assert!(message.len() <= MAX_ERROR_LEN);
        assert!(Frame::from_bytes(&Frame::error(Load::default(), "x", &long).to_bytes()).is_ok());
    }
}
