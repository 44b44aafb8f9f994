//! `/leither/head/1.0.0`: how nodes ask each other for a Mimei's signed head and push a new
//! one to the providers that follow it. Sans-io; the bytes of one message, without framing.
//!
//! One request per stream, one answer, then the stream closes. Each message is a kind byte
//! and a payload; on the stream it is framed by an unsigned varint length (as bitswap and
//! kad frame theirs), at most [`MAX_MESSAGE_LEN`].
//!
//! | kind | message | payload |
//! |---|---|---|
//! | 1 | `Get` | the 20 bytes of a Mimei ID |
//! | 2 | `Notify` | a head bundle (`mimei::HeadBundle` bytes) |
//! | 0x81 | `Head` | a head bundle |
//! | 0x82 | `NoHead` | nothing |
//! | 0x83 | `Ack` | nothing |
//! | 0x84 | `Refused` | UTF-8 reason, at most [`MAX_REASON_LEN`] bytes |
//!
//! The bundle inside is parsed and verified by the caller (`mimei::head`): here it is opaque
//! bytes, bounded.

use core::fmt;

use crate::mimei::MimeiId;

/// The protocol name on libp2p streams.
pub const PROTOCOL: &str = "/leither/head/1.0.0";
/// Longest message accepted (a bundle is at most about 9 KiB).
pub const MAX_MESSAGE_LEN: usize = 16 * 1024;
/// Longest reason in a `Refused` answer.
pub const MAX_REASON_LEN: usize = 256;

const GET: u8 = 1;
const NOTIFY: u8 = 2;
const HEAD: u8 = 0x81;
const NO_HEAD: u8 = 0x82;
const ACK: u8 = 0x83;
const REFUSED: u8 = 0x84;

/// What a node asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// "Send me your verified head of this Mimei."
    Get(MimeiId),
    /// "Here is a new head of a Mimei you provide": the bundle bytes.
    Notify(Vec<u8>),
}

/// What it is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The head bundle asked for.
    Head(Vec<u8>),
    /// This node knows no head of that Mimei.
    NoHead,
    /// The pushed head was taken (or was already known).
    Ack,
    /// The pushed head was refused, and why.
    Refused(String),
}

/// A message that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeadWireError {
    /// No bytes at all.
    Empty,
    /// Longer than [`MAX_MESSAGE_LEN`].
    TooLong(usize),
    /// A kind byte this version does not know.
    UnknownKind(u8),
    /// The payload does not fit the kind.
    BadPayload(&'static str),
}

impl fmt::Display for HeadWireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeadWireError::Empty => f.write_str("empty head message"),
            HeadWireError::TooLong(n) => write!(
                f,
                "head message of {n} bytes is over the limit of {MAX_MESSAGE_LEN}"
            ),
            HeadWireError::UnknownKind(k) => write!(f, "unknown head message kind {k:#x}"),
            HeadWireError::BadPayload(w) => write!(f, "malformed head message: {w}"),
        }
    }
}

impl std::error::Error for HeadWireError {}

fn split(bytes: &[u8]) -> Result<(u8, &[u8]), HeadWireError> {
    if bytes.len() > MAX_MESSAGE_LEN {
        return Err(HeadWireError::TooLong(bytes.len()));
    }
    match bytes.split_first() {
        Some((k, rest)) => Ok((*k, rest)),
        None => Err(HeadWireError::Empty),
    }
}

fn bundle(rest: &[u8]) -> Result<Vec<u8>, HeadWireError> {
    if rest.is_empty() {
        return Err(HeadWireError::BadPayload("the head bundle is empty"));
    }
    Ok(rest.to_vec())
}

impl Request {
    /// The message bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Request::Get(mid) => {
                let mut v = vec![GET];
                v.extend_from_slice(mid.as_bytes());
                v
            }
            Request::Notify(b) => {
                let mut v = vec![NOTIFY];
                v.extend_from_slice(b);
                v
            }
        }
    }

    /// Parses a request; never panics.
    pub fn from_bytes(bytes: &[u8]) -> Result<Request, HeadWireError> {
        let (kind, rest) = split(bytes)?;
        match kind {
            GET => {
                let arr: [u8; 20] = rest
                    .try_into()
                    .map_err(|_| HeadWireError::BadPayload("a Mimei ID is 20 bytes"))?;
                Ok(Request::Get(MimeiId::from_bytes(arr)))
            }
            NOTIFY => Ok(Request::Notify(bundle(rest)?)),
            k => Err(HeadWireError::UnknownKind(k)),
        }
    }
}

impl Answer {
    /// The message bytes (a `Refused` reason is cut to [`MAX_REASON_LEN`] at a character).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Answer::Head(b) => {
                let mut v = vec![HEAD];
                v.extend_from_slice(b);
                v
            }
            Answer::NoHead => vec![NO_HEAD],
            Answer::Ack => vec![ACK],
            Answer::Refused(r) => {
                let mut end = r.len().min(MAX_REASON_LEN);
                while !r.is_char_boundary(end) {
                    end -= 1;
                }
                let mut v = vec![REFUSED];
                v.extend_from_slice(&r.as_bytes()[..end]);
                v
            }
        }
    }

    /// Parses an answer; never panics.
    pub fn from_bytes(bytes: &[u8]) -> Result<Answer, HeadWireError> {
        let (kind, rest) = split(bytes)?;
        let empty = |a: Answer| {
            if rest.is_empty() {
                Ok(a)
            } else {
                Err(HeadWireError::BadPayload("trailing bytes"))
            }
        };
        match kind {
            HEAD => Ok(Answer::Head(bundle(rest)?)),
            NO_HEAD => empty(Answer::NoHead),
            ACK => empty(Answer::Ack),
            REFUSED => {
                if rest.len() > MAX_REASON_LEN {
                    return Err(HeadWireError::BadPayload("the reason is too long"));
                }
                let s = core::str::from_utf8(rest)
                    .map_err(|_| HeadWireError::BadPayload("the reason is not UTF-8"))?;
                Ok(Answer::Refused(s.to_string()))
            }
            k => Err(HeadWireError::UnknownKind(k)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let mid = MimeiId::from_bytes([7; 20]);
        for r in [Request::Get(mid), Request::Notify(vec![1, 2, 3])] {
            assert_eq!(Request::from_bytes(&r.to_bytes()).unwrap(), r);
        }
        for a in [
            Answer::Head(vec![9; 100]),
            Answer::NoHead,
            Answer::Ack,
            Answer::Refused("bad signature".into()),
        ] {
            assert_eq!(Answer::from_bytes(&a.to_bytes()).unwrap(), a);
        }
    }

    #[test]
    fn refuses_junk() {
        assert_eq!(Request::from_bytes(&[]), Err(HeadWireError::Empty));
        assert!(matches!(
            Request::from_bytes(&[GET, 1, 2]),
            Err(HeadWireError::BadPayload(_))
        ));
        assert!(matches!(
            Request::from_bytes(&[NOTIFY]),
            Err(HeadWireError::BadPayload(_))
        ));
        assert_eq!(
            Request::from_bytes(&[0x55]),
            Err(HeadWireError::UnknownKind(0x55))
        );
        assert!(matches!(
            Answer::from_bytes(&[ACK, 0]),
            Err(HeadWireError::BadPayload(_))
        ));
        assert!(matches!(
            Answer::from_bytes(&[REFUSED, 0xff]),
            Err(HeadWireError::BadPayload(_))
        ));
        let long = vec![NOTIFY; MAX_MESSAGE_LEN + 1];
        assert!(matches!(
            Request::from_bytes(&long),
            Err(HeadWireError::TooLong(_))
        ));
        // Every prefix of a valid message parses or fails cleanly.
        let msg = Answer::Refused("é".repeat(300)).to_bytes();
        assert!(msg.len() <= 1 + MAX_REASON_LEN);
        for n in 0..msg.len() {
            let _ = Answer::from_bytes(&msg[..n]);
        }
    }
}
