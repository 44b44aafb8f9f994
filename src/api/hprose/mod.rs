//! The Hprose 2.0/3.0 wire codec, sans-io: decodes a request body (an HTTP POST body or the
//! payload of a WebSocket message) into [`Request`], encodes replies, the function list and the
//! WebSocket message framing. Sockets live at the edge; this file only maps bytes to values.
//!
//! The rules here were read from, and tested against, the real implementations (npm `hprose`
//! 2.0.51, npm `@hprose/io` + `@hprose/rpc-core` 3, PyPI `hprose` 1.4.3); `docs/hprose.md`
//! describes the wire. The rules that matter most:
//!
//! - String lengths count UTF-16 code units (an emoji is 2). Python 1.4.3 writes code points
//!   instead; a string whose UTF-16 count does not end at the closing quote is re-read counting
//!   code points, so its emoji still decode.
//! - References `r<i>;` index, per call, everything tagged `s` `b` `g` `D` `T` `a` `m` `o` in the
//!   order the tags start (never `u`, `e`, numbers or the class name of `c`, but the field
//!   names of `c` when they are `s`). The argument list is reference 0. References and classes
//!   reset before each call's name, again before its arguments, and after the `H` header.
//! - A reference copies the referenced value (a [`Value`] shares nothing), so its copy counts
//!   against [`Limits`] in full; a reference to a list or map that is still open is an error.

use std::fmt;

use crate::api::value::Value;

/// The name a 3.0 client calls to ask for the function list (a 2.0 client sends `z` alone).
pub const FUNCTION_LIST_V3: &str = "~";

/// The bit a 3.0 server sets in a WebSocket reply id when the request failed as a whole;
/// the payload is then the UTF-8 error text, not an Hprose reply, and the client closes.
pub const WS_ERROR_FLAG: u32 = 0x8000_0000;

/// Bounds on what one request may make the decoder build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Deepest nesting of lists, maps and objects; the argument list is level 1.
    pub max_depth: usize,
    /// Most values in the whole request, each copy made by a reference counted in full.
    pub max_items: usize,
    /// Largest request, and most string and byte content it may decode to (copies counted).
    pub max_bytes: usize,
}

impl Limits {
    /// Depth 32, 100 000 values, 16 MiB.
    pub const DEFAULT: Limits = Limits {
        max_depth: 32,
        max_items: 100_000,
        max_bytes: 16 << 20,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// A decoded request: an optional 3.0 header and zero or more calls (a 2.0 batch has several).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Request {
    /// The 3.0 `H` map (e.g. `{"simple": true}` or application headers), if one was sent.
    pub header: Option<Vec<(String, Value)>>,
    /// The calls in order. None means a 2.0 function list request (`z` or an empty body).
    pub calls: Vec<Call>,
}

impl Request {
    /// True for a 2.0 function list request, answered with [`encode_function_list`] `v3: false`.
    /// A 3.0 client instead calls [`FUNCTION_LIST_V3`]; see [`Call::is_function_list`].
    pub fn is_function_list(&self) -> bool {
        self.calls.is_empty()
    }
}

/// One call of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// The function name as sent; both real servers look names up case-insensitively.
    pub name: String,
    /// The arguments (an absent list decodes as none).
    pub args: Vec<Value>,
    /// The client asked for the arguments back (`t` after the list); the real servers then add
    /// `A<list>` after the result. Clients do not require it, and [`encode_replies`] omits it.
    pub by_ref: bool,
}

impl Call {
    /// True for the 3.0 function list request `Cu~z`, answered with `v3: true`.
    pub fn is_function_list(&self) -> bool {
        self.name == FUNCTION_LIST_V3 && self.args.is_empty()
    }
}

/// Why a request or WebSocket message could not be decoded. Offsets count bytes from the start
/// of the request body; each variant's doc names its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum HproseError {
    /// The request is longer than [`Limits::max_bytes`].
    TooLarge { len: usize, max: usize },
    /// The input ends at `offset` where `expected` should follow.
    Truncated {
        offset: usize,
        expected: &'static str,
    },
    /// Byte `found` at `offset` cannot start or continue what the grammar expects there.
    UnexpectedByte {
        offset: usize,
        found: u8,
        expected: &'static str,
    },
    /// The `what` (an integer, length, count or index) at `offset` is malformed or too large.
    InvalidNumber { offset: usize, what: &'static str },
    /// A length or count at `offset` declares more than the rest of the input can hold.
    LengthExceedsInput { offset: usize, declared: usize },
    /// Text at `offset` is not valid UTF-8.
    InvalidUtf8 { offset: usize },
    /// The string at `offset` does not hold `declared` UTF-16 units (nor code points) before a
    /// closing quote.
    StringLength { offset: usize, declared: usize },
    /// The date or time (`D`/`T`) at `offset` is malformed.
    InvalidDate { offset: usize },
    /// The GUID (`g{...}`) at `offset` is malformed.
    InvalidGuid { offset: usize },
    /// The reference at `offset` names value `index`, but only `known` values precede it.
    BadReference {
        offset: usize,
        index: usize,
        known: usize,
    },
    /// The reference at `offset` names a list, map or object that contains it.
    CyclicReference { offset: usize, index: usize },
    /// The object at `offset` uses class `index`, but only `known` classes were defined.
    UnknownClass {
        offset: usize,
        index: usize,
        known: usize,
    },
    /// The map key at `offset` is `kind` (a list, map or object); keys must be scalars.
    InvalidMapKey { offset: usize, kind: &'static str },
    /// The `H` header at `offset` is `kind`, not a map.
    InvalidHeader { offset: usize, kind: &'static str },
    /// Lists, maps and objects nest deeper than `max` at `offset`.
    TooDeep { offset: usize, max: usize },
    /// The request holds more than `max` values at `offset` (reference copies included).
    TooManyItems { offset: usize, max: usize },
    /// String and byte content exceeds `max` bytes at `offset` (reference copies included).
    TooMuchData { offset: usize, max: usize },
    /// Bytes follow, at `offset`, the final `z` (or the one value of [`decode_value`]).
    TrailingBytes { offset: usize },
    /// A WebSocket message of `len` bytes is shorter than its 4-byte id.
    ShortWsFrame { len: usize },
}

impl fmt::Display for HproseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use HproseError::*;
        match *self {
            TooLarge { len, max } => write!(f, "request of {len} bytes exceeds the limit of {max}"),
            Truncated { offset, expected } => {
                write!(f, "request ends at byte {offset}; expected {expected}")
            }
            UnexpectedByte {
                offset,
                found,
                expected,
            } => {
                let shown = if found.is_ascii_graphic() || found == b' ' {
                    format!("'{}'", found as char)
                } else {
                    format!("0x{found:02x}")
                };
                write!(
                    f,
                    "unexpected byte {shown} at byte {offset}; expected {expected}"
                )
            }
            InvalidNumber { offset, what } => write!(f, "invalid {what} at byte {offset}"),
            LengthExceedsInput { offset, declared } => write!(
                f,
                "length {declared} at byte {offset} is more than the rest of the request holds"
            ),
            InvalidUtf8 { offset } => write!(f, "invalid UTF-8 at byte {offset}"),
            StringLength { offset, declared } => write!(
                f,
                "string at byte {offset} does not hold {declared} UTF-16 units before its closing quote"
            ),
            InvalidDate { offset } => write!(f, "invalid date or time at byte {offset}"),
            InvalidGuid { offset } => write!(f, "invalid GUID at byte {offset}"),
            BadReference {
                offset,
                index,
                known,
            } => write!(
                f,
                "reference {index} at byte {offset} names no value (only {known} precede it)"
            ),
            CyclicReference { offset, index } => write!(
                f,
                "reference {index} at byte {offset} points into itself; cyclic values are not supported"
            ),
            UnknownClass {
                offset,
                index,
                known,
            } => write!(
                f,
                "object at byte {offset} uses class {index}, but only {known} are defined"
            ),
            InvalidMapKey { offset, kind } => {
                write!(
                    f,
                    "map key at byte {offset} is {kind}; keys must be scalars"
                )
            }
            InvalidHeader { offset, kind } => {
                write!(f, "header at byte {offset} is {kind}; expected a map")
            }
            TooDeep { offset, max } => {
                write!(f, "values nest deeper than {max} levels at byte {offset}")
            }
            TooManyItems { offset, max } => {
                write!(f, "request holds more than {max} values at byte {offset}")
            }
            TooMuchData { offset, max } => {
                write!(
                    f,
                    "request decodes to more than {max} bytes of text at byte {offset}"
                )
            }
            TrailingBytes { offset } => {
                write!(
                    f,
                    "unexpected bytes at byte {offset} after the end of the request"
                )
            }
            ShortWsFrame { len } => {
                write!(
                    f,
                    "WebSocket message of {len} bytes is shorter than its 4-byte id"
                )
            }
        }
    }
}

impl std::error::Error for HproseError {}

type Result<T> = std::result::Result<T, HproseError>;

/// Decodes one request body: `[H<map>] (C<name>[a<n>{args}[t]])* z`, or an empty body / `z`
/// alone for the 2.0 function list.
pub fn decode_request(bytes: &[u8], limits: &Limits) -> Result<Request> {
    if bytes.len() > limits.max_bytes {
        return Err(HproseError::TooLarge {
            len: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let mut r = Reader::new(bytes, limits);
    let mut req = Request::default();
    if bytes.is_empty() {
        return Ok(req);
    }
    let mut tag = r.byte("'C', 'H' or 'z'")?;
    if tag == b'H' {
        let at = r.pos;
        match r.value(0)?.0 {
            Value::Map(mut m) => {
                dedupe_entries(&mut m);
                req.header = Some(m);
            }
            other => {
                return Err(HproseError::InvalidHeader {
                    offset: at,
                    kind: other.kind(),
                });
            }
        }
        r.reset();
        tag = r.byte("'C' or 'z'")?;
    }
    loop {
        match tag {
            b'z' if r.pos == bytes.len() => return Ok(req),
            b'z' => return Err(HproseError::TrailingBytes { offset: r.pos }),
            b'C' => {
                r.reset();
                let name = r.text("a function name")?;
                r.reset();
                let mut call = Call {
                    name,
                    args: Vec::new(),
                    by_ref: false,
                };
                let mut expected = "'a', 'C' or 'z'";
                tag = r.byte(expected)?;
                if tag == b'a' {
                    let at = r.pos - 1;
                    r.take_items(at, 1)?;
                    if let Value::List(args) = r.container(b'a', at, 0)?.0 {
                        call.args = args;
                    }
                    call.args.iter_mut().for_each(dedupe_maps);
                    expected = "'t', 'C' or 'z'";
                    tag = r.byte(expected)?;
                    if tag == b't' {
                        call.by_ref = true;
                        expected = "'C' or 'z'";
                        tag = r.byte(expected)?;
                    }
                }
                req.calls.push(call);
                if tag != b'C' && tag != b'z' {
                    return Err(r.unexpected(r.pos - 1, tag, expected));
                }
            }
            _ => {
                let expected = if req.calls.is_empty() {
                    "'C', 'H' or 'z'"
                } else {
                    "'C' or 'z'"
                };
                return Err(r.unexpected(r.pos - 1, tag, expected));
            }
        }
    }
}

/// Decodes one standalone Hprose value (its own references start at 0), e.g. what a
/// Formatter wrote; the whole input must be that one value.
pub fn decode_value(bytes: &[u8], limits: &Limits) -> Result<Value> {
    if bytes.len() > limits.max_bytes {
        return Err(HproseError::TooLarge {
            len: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let mut r = Reader::new(bytes, limits);
    let (mut v, _) = r.value(0)?;
    if r.pos < bytes.len() {
        return Err(HproseError::TrailingBytes { offset: r.pos });
    }
    dedupe_maps(&mut v);
    Ok(v)
}

/// A registered reference: a scalar kept by value, or a list, map or object found again in
/// the tree being built through its `path` of child indices (so nothing is cloned unless a
/// reference asks for it). `nodes`, `height` and `payload` let a copy be checked against the
/// limits before it is made.
mod reader;
mod writer;

use reader::Reader;
use writer::{dedupe_entries, dedupe_maps, float_text, payload_len};
pub use writer::{encode_function_list, encode_replies, encode_value, split_ws_frame, ws_frame};

#[cfg(test)]
mod tests;
