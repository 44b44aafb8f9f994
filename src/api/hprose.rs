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

use std::collections::HashSet;
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
enum Slot {
    Scalar(Value),
    Open,
    Done {
        path: Vec<usize>,
        nodes: usize,
        height: usize,
        payload: usize,
    },
}

/// A list, map or object under construction; `Reader::open` is the stack of them.
enum Open {
    List(Vec<Value>),
    Map(Vec<(String, Value)>),
}

impl Open {
    fn len(&self) -> usize {
        match self {
            Open::List(v) => v.len(),
            Open::Map(m) => m.len(),
        }
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    limits: Limits,
    items_left: usize,
    bytes_left: usize,
    refs: Vec<Slot>,
    classes: Vec<Vec<String>>,
    open: Vec<Open>,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], limits: &Limits) -> Self {
        Reader {
            buf,
            pos: 0,
            limits: *limits,
            items_left: limits.max_items,
            bytes_left: limits.max_bytes,
            refs: Vec::new(),
            classes: Vec::new(),
            open: Vec::new(),
        }
    }

    fn reset(&mut self) {
        self.refs.clear();
        self.classes.clear();
    }

    fn unexpected(&self, offset: usize, found: u8, expected: &'static str) -> HproseError {
        HproseError::UnexpectedByte {
            offset,
            found,
            expected,
        }
    }

    fn rest(&self) -> &'a [u8] {
        self.buf.get(self.pos..).unwrap_or(&[])
    }

    fn byte(&mut self, expected: &'static str) -> Result<u8> {
        let b = *self.buf.get(self.pos).ok_or(HproseError::Truncated {
            offset: self.pos,
            expected,
        })?;
        self.pos += 1;
        Ok(b)
    }

    fn expect(&mut self, want: u8, expected: &'static str) -> Result<()> {
        let b = self.byte(expected)?;
        if b == want {
            Ok(())
        } else {
            Err(self.unexpected(self.pos - 1, b, expected))
        }
    }

    fn take(&mut self, n: usize, expected: &'static str) -> Result<&'a [u8]> {
        let s = self.rest().get(..n).ok_or(HproseError::Truncated {
            offset: self.buf.len(),
            expected,
        })?;
        self.pos += n;
        Ok(s)
    }

    /// The bytes up to `delim`, consuming the delimiter too.
    fn until(&mut self, delim: u8, expected: &'static str) -> Result<&'a [u8]> {
        let rest = self.rest();
        let n = rest
            .iter()
            .position(|&b| b == delim)
            .ok_or(HproseError::Truncated {
                offset: self.buf.len(),
                expected,
            })?;
        self.pos += n + 1;
        Ok(&rest[..n])
    }

    /// An unsigned decimal ended by `delim`; empty means 0 where writers omit a zero count.
    fn uint(&mut self, delim: u8, what: &'static str, allow_empty: bool) -> Result<usize> {
        let at = self.pos;
        let digits = self.until(delim, what)?;
        if digits.is_empty() && !allow_empty {
            return Err(HproseError::InvalidNumber { offset: at, what });
        }
        digits
            .iter()
            .try_fold(0usize, |n, &d| {
                if !d.is_ascii_digit() {
                    return None;
                }
                n.checked_mul(10)?.checked_add(usize::from(d - b'0'))
            })
            .ok_or(HproseError::InvalidNumber { offset: at, what })
    }

    /// A count of `per_item`-byte-minimum items, bounded by the rest of the input and the
    /// item budget before anything is allocated for it.
    fn count(&mut self, delim: u8, per_item: usize) -> Result<usize> {
        let at = self.pos;
        let n = self.uint(delim, "count", true)?;
        if n.saturating_mul(per_item) > self.rest().len() {
            return Err(HproseError::LengthExceedsInput {
                offset: at,
                declared: n,
            });
        }
        if n > self.items_left {
            return Err(HproseError::TooManyItems {
                offset: at,
                max: self.limits.max_items,
            });
        }
        Ok(n)
    }

    fn take_items(&mut self, offset: usize, n: usize) -> Result<()> {
        self.items_left = self
            .items_left
            .checked_sub(n)
            .ok_or(HproseError::TooManyItems {
                offset,
                max: self.limits.max_items,
            })?;
        Ok(())
    }

    fn take_payload(&mut self, offset: usize, n: usize) -> Result<()> {
        self.bytes_left = self
            .bytes_left
            .checked_sub(n)
            .ok_or(HproseError::TooMuchData {
                offset,
                max: self.limits.max_bytes,
            })?;
        Ok(())
    }

    /// One value at nesting `depth` (the number of containers around it), with its height
    /// (0 for a scalar, 1 + the tallest child for a container).
    fn value(&mut self, depth: usize) -> Result<(Value, usize)> {
        let mut at = self.pos;
        let mut tag = self.byte("a value")?;
        while tag == b'c' {
            self.class()?;
            at = self.pos;
            tag = self.byte("a value after the class")?;
        }
        self.take_items(at, 1)?;
        let v = match tag {
            b'0'..=b'9' => Value::Int(i64::from(tag - b'0')),
            b'i' | b'l' => self.integer(tag)?,
            b'd' => self.double()?,
            b'N' => Value::Float(f64::NAN),
            b'I' => match self.byte("'+' or '-'")? {
                b'+' => Value::Float(f64::INFINITY),
                b'-' => Value::Float(f64::NEG_INFINITY),
                b => return Err(self.unexpected(self.pos - 1, b, "'+' or '-'")),
            },
            b'n' => Value::Null,
            b't' => Value::Bool(true),
            b'f' => Value::Bool(false),
            b'e' => Value::Str(String::new()),
            b'u' => Value::Str(self.char()?),
            b's' => {
                let s = self.counted_str(at)?;
                self.take_payload(at, s.len())?;
                self.register(Value::Str(s))
            }
            b'b' => {
                let n = self.uint(b'"', "byte length", true)?;
                if n > self.rest().len() {
                    return Err(HproseError::LengthExceedsInput {
                        offset: at + 1,
                        declared: n,
                    });
                }
                self.take_payload(at, n)?;
                let bytes = self.take(n, "bytes")?.to_vec();
                self.expect(b'"', "'\"' after the bytes")?;
                self.register(Value::Bytes(bytes))
            }
            b'g' => {
                let v = self.guid(at)?;
                self.register(v)
            }
            b'D' | b'T' => {
                let v = self.date(tag, at)?;
                self.register(v)
            }
            b'a' | b'm' | b'o' => return self.container(tag, at, depth),
            b'r' => return self.reference(at, depth),
            _ => return Err(self.unexpected(at, tag, "a value")),
        };
        Ok((v, 0))
    }

    fn register(&mut self, v: Value) -> Value {
        self.refs.push(Slot::Scalar(v.clone()));
        v
    }

    fn integer(&mut self, tag: u8) -> Result<Value> {
        let at = self.pos;
        let what = if tag == b'i' {
            "integer"
        } else {
            "long integer"
        };
        let text = self.until(b';', what)?;
        let digits = text
            .strip_prefix(b"-")
            .or_else(|| text.strip_prefix(b"+"))
            .unwrap_or(text);
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(HproseError::InvalidNumber { offset: at, what });
        }
        // Only ASCII digits and a sign remain, so the text is valid UTF-8.
        let text =
            std::str::from_utf8(text).map_err(|_| HproseError::InvalidUtf8 { offset: at })?;
        match text.parse::<i64>() {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) if tag == b'l' => {
                self.take_payload(at, text.len())?;
                Ok(Value::Str(text.trim_start_matches('+').to_string()))
            }
            Err(_) => Err(HproseError::InvalidNumber { offset: at, what }),
        }
    }

    fn double(&mut self) -> Result<Value> {
        let at = self.pos;
        let text = self.until(b';', "number")?;
        let ok = !text.is_empty()
            && text
                .iter()
                .all(|b| b.is_ascii_digit() || b"+-.eE".contains(b))
            && text.iter().any(u8::is_ascii_digit);
        let parsed = std::str::from_utf8(text)
            .ok()
            .filter(|_| ok)
            .and_then(|s| s.parse::<f64>().ok());
        parsed.map(Value::Float).ok_or(HproseError::InvalidNumber {
            offset: at,
            what: "number",
        })
    }

    /// `u`: one character. Writers send one UTF-16 unit; Python 1.4.3 also sends one astral
    /// character (4 bytes), which the 3.0 reader accepts too.
    fn char(&mut self) -> Result<String> {
        let at = self.pos;
        let rest = self.rest();
        let window = &rest[..rest.len().min(4)];
        let valid = match std::str::from_utf8(window) {
            Ok(s) => s,
            Err(e) => std::str::from_utf8(&window[..e.valid_up_to()]).unwrap_or(""),
        };
        let c = match valid.chars().next() {
            Some(c) => c,
            None if rest.is_empty() => {
                return Err(HproseError::Truncated {
                    offset: at,
                    expected: "a character",
                });
            }
            None => return Err(HproseError::InvalidUtf8 { offset: at }),
        };
        self.pos += c.len_utf8();
        Ok(c.to_string())
    }

    /// `<len>"text"` after `s` (or `c`): `len` UTF-16 units, or, failing that, `len` code
    /// points as Python 1.4.3 counts them.
    fn counted_str(&mut self, at: usize) -> Result<String> {
        let n = self.uint(b'"', "string length", true)?;
        let rest = self.rest();
        if n > rest.len() {
            return Err(HproseError::LengthExceedsInput {
                offset: at + 1,
                declared: n,
            });
        }
        // n units or code points take at most 4n bytes; only a valid prefix can count.
        let window = &rest[..rest.len().min(n.saturating_mul(4))];
        let (text, bad_utf8) = match std::str::from_utf8(window) {
            Ok(s) => (s, false),
            Err(e) => (
                std::str::from_utf8(&window[..e.valid_up_to()]).unwrap_or(""),
                true,
            ),
        };
        let (mut units, mut chars) = (0, 0);
        let (mut utf16_end, mut cp_end) = (None, None);
        for (i, c) in text.char_indices() {
            if units == n && utf16_end.is_none() {
                utf16_end = Some(i);
            }
            if chars == n {
                cp_end = Some(i);
                break;
            }
            units += c.len_utf16();
            chars += 1;
        }
        if units == n && utf16_end.is_none() {
            utf16_end = Some(text.len());
        }
        if chars == n && cp_end.is_none() {
            cp_end = Some(text.len());
        }
        let end = [utf16_end, cp_end]
            .into_iter()
            .flatten()
            .find(|&e| rest.get(e) == Some(&b'"'));
        let Some(end) = end else {
            let at_end = [utf16_end, cp_end].contains(&Some(rest.len()));
            return Err(if units >= n && !at_end {
                HproseError::StringLength {
                    offset: at,
                    declared: n,
                }
            } else if at_end {
                HproseError::Truncated {
                    offset: self.buf.len(),
                    expected: "'\"'",
                }
            } else if bad_utf8 {
                HproseError::InvalidUtf8 {
                    offset: self.pos + text.len(),
                }
            } else {
                HproseError::Truncated {
                    offset: self.buf.len(),
                    expected: "the rest of the string",
                }
            });
        };
        let s = text[..end].to_string();
        self.pos += end + 1;
        Ok(s)
    }

    /// A name: a function name or a class field name (`s`, `u`, `e` or a reference to one).
    fn text(&mut self, expected: &'static str) -> Result<String> {
        let at = self.pos;
        match self.rest().first() {
            None => Err(HproseError::Truncated {
                offset: at,
                expected,
            }),
            Some(b's' | b'u' | b'e' | b'r') => match self.value(0)?.0 {
                Value::Str(s) => Ok(s),
                _ => Err(self.unexpected(at, b'r', expected)),
            },
            Some(&b) => Err(self.unexpected(at, b, expected)),
        }
    }

    fn guid(&mut self, at: usize) -> Result<Value> {
        let bad = HproseError::InvalidGuid { offset: at };
        let raw = self.take(38, "a GUID")?;
        let inner = raw.get(1..37).ok_or(bad.clone())?;
        let shape_ok = raw[0] == b'{'
            && raw[37] == b'}'
            && inner.iter().enumerate().all(|(i, b)| match i {
                8 | 13 | 18 | 23 => *b == b'-',
                _ => b.is_ascii_hexdigit(),
            });
        match std::str::from_utf8(inner) {
            Ok(s) if shape_ok => Ok(Value::Str(s.to_string())),
            _ => Err(bad),
        }
    }

    /// `D` yyyymmdd [T hhmmss [.fff[fff[fff]]]] (Z|;) or `T` hhmmss[.fff...] (Z|;), rendered
    /// as `2020-01-02T03:04:05.678Z` (`Z` only for UTC; a date alone as `2020-01-02`).
    fn date(&mut self, tag: u8, at: usize) -> Result<Value> {
        let bad = HproseError::InvalidDate { offset: at };
        let mut out = String::new();
        let digits = |r: &mut Self, n: usize, lo: u32, hi: u32| -> Result<String> {
            let d = r.take(n, "date digits")?;
            let v = d.iter().try_fold(0u32, |v, &b| {
                b.is_ascii_digit().then(|| v * 10 + u32::from(b - b'0'))
            });
            match v {
                Some(v) if (lo..=hi).contains(&v) => Ok(String::from_utf8_lossy(d).into_owned()),
                _ => Err(bad.clone()),
            }
        };
        let mut next = tag;
        if tag == b'D' {
            let (y, m, d) = (
                digits(self, 4, 0, 9999)?,
                digits(self, 2, 1, 12)?,
                digits(self, 2, 1, 31)?,
            );
            out = format!("{y}-{m}-{d}");
            next = self.byte("'T', 'Z' or ';'")?;
            if next != b'T' {
                return match next {
                    b'Z' | b';' => Ok(Value::Str(out)),
                    _ => Err(bad),
                };
            }
            out.push('T');
        }
        debug_assert_eq!(next, b'T');
        let (h, mi, s) = (
            digits(self, 2, 0, 23)?,
            digits(self, 2, 0, 59)?,
            digits(self, 2, 0, 60)?,
        );
        out.push_str(&format!("{h}:{mi}:{s}"));
        let mut end = self.byte("'.', 'Z' or ';'")?;
        if end == b'.' {
            out.push('.');
            for _ in 0..3 {
                out.push_str(&digits(self, 3, 0, 999)?);
                end = self.byte("'Z' or ';'")?;
                if !end.is_ascii_digit() {
                    break;
                }
                self.pos -= 1;
            }
        }
        match end {
            b'Z' => out.push('Z'),
            b';' => {}
            _ => return Err(bad),
        }
        Ok(Value::Str(out))
    }

    /// `c<len>"Name"<n>{field names}`: a class definition for later `o` objects.
    fn class(&mut self) -> Result<()> {
        let at = self.pos - 1;
        self.counted_str(at)?;
        let n = self.count(b'{', 1)?;
        let mut fields = Vec::with_capacity(n.min(64));
        for _ in 0..n {
            fields.push(self.text("a field name")?);
        }
        self.expect(b'}', "'}' after the field names")?;
        self.classes.push(fields);
        Ok(())
    }

    /// A list `a<n>{...}`, map `m<n>{...}` or object `o<class>{...}` after its tag.
    fn container(&mut self, tag: u8, at: usize, depth: usize) -> Result<(Value, usize)> {
        if depth >= self.limits.max_depth {
            return Err(HproseError::TooDeep {
                offset: at,
                max: self.limits.max_depth,
            });
        }
        let (items0, bytes0) = (self.items_left, self.bytes_left);
        let (n, mut fields) = match tag {
            b'a' => (self.count(b'{', 1)?, None),
            b'm' => (self.count(b'{', 2)?, None),
            _ => {
                let idx_at = self.pos;
                let i = self.uint(b'{', "class index", false)?;
                let known = self.classes.len();
                let err = HproseError::UnknownClass {
                    offset: idx_at,
                    index: i,
                    known,
                };
                let fields = self.classes.get(i).ok_or(err)?;
                let names = fields.iter().map(String::len).sum();
                let n = fields.len();
                if n > self.rest().len() {
                    return Err(HproseError::LengthExceedsInput {
                        offset: idx_at,
                        declared: n,
                    });
                }
                // Every object carries its own copy of the field names.
                self.take_payload(at, names)?;
                (n, self.classes.get(i).map(|f| f.clone().into_iter()))
            }
        };
        let slot = self.refs.len();
        self.refs.push(Slot::Open);
        self.open.push(if tag == b'a' {
            Open::List(Vec::with_capacity(n.min(1024)))
        } else {
            Open::Map(Vec::with_capacity(n.min(1024)))
        });
        let mut height = 0;
        for _ in 0..n {
            let key = match (&mut fields, tag) {
                (Some(f), _) => f.next(),
                (None, b'm') => Some(self.key(depth + 1)?),
                _ => None,
            };
            let (v, h) = self.value(depth + 1)?;
            height = height.max(h);
            match (self.open.last_mut(), key) {
                (Some(Open::List(items)), _) => items.push(v),
                (Some(Open::Map(entries)), Some(k)) => entries.push((k, v)),
                _ => {}
            }
        }
        self.expect(b'}', "'}' after the last element")?;
        let value = match self.open.pop() {
            Some(Open::List(items)) => Value::List(items),
            Some(Open::Map(entries)) => Value::Map(entries),
            None => Value::Null,
        };
        let path = self.open.iter().map(Open::len).collect();
        let (nodes, payload) = (items0 - self.items_left + 1, bytes0 - self.bytes_left);
        self.refs[slot] = Slot::Done {
            path,
            nodes,
            height: height + 1,
            payload,
        };
        Ok((value, height + 1))
    }

    fn key(&mut self, depth: usize) -> Result<String> {
        let at = self.pos;
        if let Some(&b @ (b'a' | b'm' | b'o' | b'c')) = self.rest().first() {
            let kind = if b == b'a' {
                "a list"
            } else if b == b'm' {
                "a map"
            } else {
                "an object"
            };
            return Err(HproseError::InvalidMapKey { offset: at, kind });
        }
        Ok(match self.value(depth)?.0 {
            Value::Str(s) => s,
            Value::Int(i) => i.to_string(),
            Value::Float(f) => float_text(f),
            Value::Bool(b) => b.to_string(),
            Value::Null => "null".to_string(),
            Value::Bytes(b) => String::from_utf8_lossy(&b).into_owned(),
            other => {
                return Err(HproseError::InvalidMapKey {
                    offset: at,
                    kind: other.kind(),
                });
            }
        })
    }

    /// `r<i>;`: a copy of an earlier value, checked against the limits before it is made.
    fn reference(&mut self, at: usize, depth: usize) -> Result<(Value, usize)> {
        let index = self.uint(b';', "reference index", false)?;
        let known = self.refs.len();
        match self.refs.get(index) {
            None => Err(HproseError::BadReference {
                offset: at,
                index,
                known,
            }),
            Some(Slot::Open) => Err(HproseError::CyclicReference { offset: at, index }),
            Some(Slot::Scalar(v)) => {
                let n = payload_len(v);
                self.take_payload(at, n)?;
                match self.refs.get(index) {
                    Some(Slot::Scalar(v)) => Ok((v.clone(), 0)),
                    _ => Err(HproseError::BadReference {
                        offset: at,
                        index,
                        known,
                    }),
                }
            }
            Some(Slot::Done {
                path,
                nodes,
                height,
                payload,
            }) => {
                let (path, nodes, height, payload) = (path.clone(), *nodes, *height, *payload);
                if depth.saturating_add(height) > self.limits.max_depth {
                    return Err(HproseError::TooDeep {
                        offset: at,
                        max: self.limits.max_depth,
                    });
                }
                self.take_items(at, nodes - 1)?;
                self.take_payload(at, payload)?;
                let v = self
                    .find(&path)
                    .cloned()
                    .ok_or(HproseError::CyclicReference { offset: at, index })?;
                Ok((v, height))
            }
        }
    }

    /// The finished container at `path`: down the open containers while the path follows
    /// them, then down finished values.
    fn find(&self, path: &[usize]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        let mut level = 0;
        let mut i = *first;
        let mut path = rest.iter();
        // Follow open containers: index == len means "the open child one level down".
        loop {
            let open = self.open.get(level)?;
            if i < open.len() {
                break;
            }
            if i > open.len() {
                return None;
            }
            level += 1;
            i = *path.next()?;
        }
        let mut v = match &self.open[level] {
            Open::List(items) => items.get(i)?,
            Open::Map(entries) => &entries.get(i)?.1,
        };
        for &i in path {
            v = match v {
                Value::List(items) => items.get(i)?,
                Value::Map(entries) => &entries.get(i)?.1,
                _ => return None,
            };
        }
        Some(v)
    }
}

fn payload_len(v: &Value) -> usize {
    match v {
        Value::Str(s) => s.len(),
        Value::Bytes(b) => b.len(),
        _ => 0,
    }
}

/// A float as JavaScript prints it where that is short (`1`, `1.5`, `NaN`), else Rust's
/// shortest round-trip form (`1e21`); both parse back to the same `f64` in JS and Python.
fn float_text(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_string()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.to_string()
    } else if f == 0.0 && f.is_sign_negative() {
        "-0".to_string()
    } else if f == f.trunc() && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f:?}")
    }
}

/// Later duplicate keys overwrite the first one in place, as JS objects and Python dicts do.
fn dedupe_entries(entries: &mut Vec<(String, Value)>) {
    let mut seen = HashSet::with_capacity(entries.len());
    if entries.iter().all(|(k, _)| seen.insert(k.as_str())) {
        return;
    }
    let mut first: std::collections::HashMap<String, usize> =
        std::collections::HashMap::with_capacity(entries.len());
    let mut out: Vec<(String, Value)> = Vec::with_capacity(entries.len());
    for (k, v) in entries.drain(..) {
        match first.get(&k) {
            Some(&j) => out[j].1 = v,
            None => {
                first.insert(k.clone(), out.len());
                out.push((k, v));
            }
        }
    }
    *entries = out;
}

fn dedupe_maps(v: &mut Value) {
    match v {
        Value::List(items) => items.iter_mut().for_each(dedupe_maps),
        Value::Map(entries) => {
            dedupe_entries(entries);
            entries.iter_mut().for_each(|(_, v)| dedupe_maps(v));
        }
        _ => {}
    }
}

/// Appends `v` as Hprose without references: `0`-`9`, `i<n>;` within 32 bits, `l<n>;`
/// beyond, `d<f>;`, `N`, `I+`, `I-`, `e`, `u<c>` for one UTF-16 unit, `s<units>"..."`,
/// `b<n>"..."`, `a<n>{...}`, `m<n>{...}` with string keys.
pub fn encode_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(b'n'),
        Value::Bool(b) => out.push(if *b { b't' } else { b'f' }),
        Value::Int(i @ 0..=9) => out.push(b'0' + *i as u8),
        Value::Int(i) => {
            out.push(if i32::try_from(*i).is_ok() {
                b'i'
            } else {
                b'l'
            });
            out.extend_from_slice(i.to_string().as_bytes());
            out.push(b';');
        }
        Value::Float(f) if f.is_nan() => out.push(b'N'),
        Value::Float(f) if f.is_infinite() => {
            out.extend_from_slice(if *f > 0.0 { b"I+" } else { b"I-" })
        }
        Value::Float(f) => {
            out.push(b'd');
            out.extend_from_slice(float_text(*f).as_bytes());
            out.push(b';');
        }
        Value::Str(s) => encode_str(out, s),
        Value::Bytes(b) => {
            out.push(b'b');
            counted(out, b.len(), b'"');
            out.extend_from_slice(b);
            out.push(b'"');
        }
        Value::List(items) => {
            out.push(b'a');
            counted(out, items.len(), b'{');
            items.iter().for_each(|v| encode_value(out, v));
            out.push(b'}');
        }
        Value::Map(entries) => {
            out.push(b'm');
            counted(out, entries.len(), b'{');
            for (k, v) in entries {
                encode_str(out, k);
                encode_value(out, v);
            }
            out.push(b'}');
        }
    }
}

/// A count or length as writers put it: omitted when zero, then the delimiter.
fn counted(out: &mut Vec<u8>, n: usize, delim: u8) {
    if n > 0 {
        out.extend_from_slice(n.to_string().as_bytes());
    }
    out.push(delim);
}

fn encode_str(out: &mut Vec<u8>, s: &str) {
    match s.encode_utf16().count() {
        0 => out.push(b'e'),
        1 => {
            out.push(b'u');
            out.extend_from_slice(s.as_bytes());
        }
        _ => encode_full_str(out, s),
    }
}

/// `s<units>"..."` even when short, as 2.0 servers write error messages.
fn encode_full_str(out: &mut Vec<u8>, s: &str) {
    out.push(b's');
    counted(out, s.encode_utf16().count(), b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

/// Appends the reply to a request's calls, one result each in order, as a 2.0 server answers
/// a batch: `R<value>` or `E<message>` per call (a failed call does not stop the others),
/// then one `z`. A single call gives what 3.0 servers send too: `Rs12"Hello world!"z`,
/// `Es4"boom"z`. A request that failed to decode as a whole is answered `[Err(message)]`.
pub fn encode_replies(out: &mut Vec<u8>, results: &[std::result::Result<Value, String>]) {
    for r in results {
        match r {
            Ok(v) => {
                out.push(b'R');
                encode_value(out, v);
            }
            Err(message) => {
                out.push(b'E');
                encode_full_str(out, message);
            }
        }
    }
    out.push(b'z');
}

/// Appends the function list: `F<list>z` for a 2.0 client's `z`; for a 3.0 client's `~` call
/// the result `R<list>z`, with `~` first as 3.0 servers list it.
pub fn encode_function_list(out: &mut Vec<u8>, names: &[&str], v3: bool) {
    let tilde = v3 && !names.contains(&FUNCTION_LIST_V3);
    out.push(if v3 { b'R' } else { b'F' });
    out.push(b'a');
    counted(out, names.len() + usize::from(tilde), b'{');
    if tilde {
        encode_str(out, FUNCTION_LIST_V3);
    }
    names.iter().for_each(|n| encode_str(out, n));
    out.extend_from_slice(b"}z");
}

/// Splits a WebSocket message of the Hprose clients into its request id (4 bytes, big-endian)
/// and the request. 3.0 clients send the id as a separate, non-final frame: the WebSocket
/// layer must join fragments into one message first.
pub fn split_ws_frame(msg: &[u8]) -> Result<(u32, &[u8])> {
    match msg.split_first_chunk::<4>() {
        Some((id, payload)) => Ok((u32::from_be_bytes(*id), payload)),
        None => Err(HproseError::ShortWsFrame { len: msg.len() }),
    }
}

/// Appends a WebSocket reply message: the request's `id` (with [`WS_ERROR_FLAG`] for a 3.0
/// transport error), big-endian, then the payload.
pub fn ws_frame(id: u32, payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Value {
        Value::Str(x.to_string())
    }
    fn i(x: i64) -> Value {
        Value::Int(x)
    }
    fn list(items: Vec<Value>) -> Value {
        Value::List(items)
    }
    fn map(entries: Vec<(&str, Value)>) -> Value {
        Value::Map(
            entries
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        )
    }
    fn req(bytes: &[u8]) -> Result<Request> {
        decode_request(bytes, &Limits::DEFAULT)
    }
    fn val(bytes: &[u8]) -> Result<Value> {
        decode_value(bytes, &Limits::DEFAULT)
    }
    fn one_call(bytes: &[u8]) -> Call {
        let mut r = req(bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.calls.len(), 1);
        r.calls.remove(0)
    }
    fn replies(results: &[std::result::Result<Value, String>]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_replies(&mut out, results);
        out
    }
    fn enc(v: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        encode_value(&mut out, v);
        out
    }

    #[test]
    fn peers_md_wire_examples() {
        let c = one_call(br#"Cs5"hello"a1{s5"world"}z"#);
        assert_eq!(
            (c.name.as_str(), c.args, c.by_ref),
            ("hello", vec![s("world")], false)
        );
        assert_eq!(replies(&[Ok(s("Hello world!"))]), br#"Rs12"Hello world!"z"#);

        assert_eq!(one_call(br#"Cs3"add"a2{i40;2}z"#).args, vec![i(40), i(2)]);
        assert_eq!(replies(&[Ok(i(42))]), b"Ri42;z");

        let l = list(vec![
            i(1),
            s("two"),
            Value::Float(3.5),
            Value::Null,
            Value::Bool(true),
        ]);
        assert_eq!(
            one_call(br#"Cs4"echo"a1{a5{1s3"two"d3.5;nt}}z"#).args,
            vec![l.clone()]
        );
        assert_eq!(replies(&[Ok(l)]), br#"Ra5{1s3"two"d3.5;nt}z"#);

        let m = map(vec![("name", s("leither")), ("n", i(7))]);
        assert_eq!(
            one_call(br#"Cs4"echo"a1{m2{s4"name"s7"leither"un7}}z"#).args,
            vec![m.clone()]
        );
        assert_eq!(replies(&[Ok(m)]), br#"Rm2{s4"name"s7"leither"un7}z"#);

        assert_eq!(replies(&[Err("boom".into())]), br#"Es4"boom"z"#);
        assert!(req(b"z").unwrap().is_function_list());
        assert!(req(b"").unwrap().is_function_list());
    }

    /// Standalone values as the real Formatters wrote them (`capture2.js`, `capture3.js`,
    /// `capture_py.py` in the scratch peers folder; see docs/hprose.md).
    #[test]
    fn formatter_vectors_from_real_writers() {
        let f = Value::Float;
        let point = |x, y| map(vec![("x", x), ("y", y)]);
        let cases: &[(&[u8], Value)] = &[
            // npm hprose@2.0.51
            (b"d2147483648;", f(2147483648.0)),
            (b"d-2147483649;", f(-2147483649.0)),
            (b"d9007199254740992;", f(9007199254740992.0)),
            (b"d-0.25;", f(-0.25)),
            (b"d1e+21;", f(1e21)),
            (b"d1e-7;", f(1e-7)),
            (b"s5\"h\xc3\xa9llo\"", s("héllo")),
            (
                b"s4\"\xe4\xb8\xad\xe6\x96\x87\xe5\xad\x97\xe7\xac\xa6\"",
                s("中文字符"),
            ),
            (b"s2\"\xf0\x9f\x98\x80\"", s("😀")),
            (b"s4\"a\xf0\x9f\x98\x80b\"", s("a😀b")),
            (b"u\xe4\xb8\xad", s("中")),
            (
                b"b5\"\x00\x01\x02\xff\"\"",
                Value::Bytes(vec![0, 1, 2, 255, b'"']),
            ),
            (
                b"a2{a2{1a2{2a{}}}m{}}",
                list(vec![
                    list(vec![i(1), list(vec![i(2), list(vec![])])]),
                    map(vec![]),
                ]),
            ),
            (
                b"m2{s4\"name\"s7\"leither\"uun}",
                map(vec![("name", s("leither")), ("u", Value::Null)]),
            ),
            (b"D20200102T030405.678;", s("2020-01-02T03:04:05.678")),
            (b"D20200102;", s("2020-01-02")),
            (b"c5\"Point\"2{s1\"x\"s1\"y\"}o0{1uy}", point(i(1), s("y"))),
            (
                b"a2{c5\"Point\"2{s1\"x\"s1\"y\"}o0{12}o0{34}}",
                list(vec![point(i(1), i(2)), point(i(3), i(4))]),
            ),
            (
                b"m2{1s3\"one\"ts3\"yes\"}",
                map(vec![("1", s("one")), ("true", s("yes"))]),
            ),
            // npm @hprose/io 3
            (b"l2147483648;", i(2147483648)),
            (b"l9007199254740991;", i(9007199254740991)),
            (b"T030405;", s("03:04:05")),
            (b"D20200102T030405.678Z", s("2020-01-02T03:04:05.678Z")),
            (
                b"g{6e2a9f3c-1b2d-4c5e-8f70-123456789abc}",
                s("6e2a9f3c-1b2d-4c5e-8f70-123456789abc"),
            ),
            (
                b"l123456789012345678901234567890;",
                s("123456789012345678901234567890"),
            ),
            // PyPI hprose 1.4.3: code point counts, `u` with an astral character, 6-digit fractions
            (b"l9223372036854775808;", s("9223372036854775808")),
            (b"l-9223372036854775808;", i(i64::MIN)),
            (b"d1e+16;", f(1e16)),
            (b"d1e-07;", f(1e-7)),
            (b"u\xf0\x9f\x98\x80", s("😀")),
            (b"s3\"a\xf0\x9f\x98\x80b\"", s("a😀b")),
            (b"b\"\"", Value::Bytes(vec![])),
            (b"a{}", list(vec![])),
            (
                b"m2{1s3\"one\"2s3\"two\"}",
                map(vec![("1", s("one")), ("2", s("two"))]),
            ),
            (
                b"D20200102T030405.678901Z",
                s("2020-01-02T03:04:05.678901Z"),
            ),
            (b"D20200102T030405;", s("2020-01-02T03:04:05")),
            (b"T030405.000600;", s("03:04:05.000600")),
            // all three write shared values as references: list 0, string 1, list 2, map 3
            (
                b"a5{s13\"shared-string\"r1;a2{12}r2;m1{ukr1;}}",
                list(vec![
                    s("shared-string"),
                    s("shared-string"),
                    list(vec![i(1), i(2)]),
                    list(vec![i(1), i(2)]),
                    map(vec![("k", s("shared-string"))]),
                ]),
            ),
        ];
        for (bytes, want) in cases {
            let got =
                val(bytes).unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(bytes)));
            assert_eq!(&got, want, "{}", String::from_utf8_lossy(bytes));
        }
        for (b, v) in [
            (&b"0"[..], i(0)),
            (b"7", i(7)),
            (b"i-1;", i(-1)),
            (b"i2147483647;", i(2147483647)),
            (b"d1.5;", f(1.5)),
        ] {
            assert_eq!(val(b).unwrap(), v);
        }
        for b in [&b"N"[..], b"I+", b"I-", b"n", b"t", b"f", b"e", b"ua"] {
            assert_eq!(enc(&val(b).unwrap()), b);
        }
    }

    /// Request bodies the real clients POSTed to a 127.0.0.1 server.
    #[test]
    fn client_requests_from_real_clients() {
        let shared = || s("shared-string");
        let refs_args = vec![
            shared(),
            shared(),
            map(vec![
                ("a", shared()),
                ("b", list(vec![i(1), i(2)])),
                ("c", list(vec![i(1), i(2)])),
            ]),
        ];
        // identical from hprose@2.0.51, @hprose/rpc-core@3 and hprose 1.4.3:
        assert_eq!(
            one_call(br#"Cs4"echo"a3{s13"shared-string"r1;m3{uar1;uba2{12}ucr3;}}z"#).args,
            refs_args
        );
        let objects = one_call(br#"Cs4"echo"a2{c5"Point"2{s1"x"s1"y"}o0{12}o0{34}}z"#);
        assert_eq!(
            objects.args,
            vec![
                map(vec![("x", i(1)), ("y", i(2))]),
                map(vec![("x", i(3)), ("y", i(4))])
            ]
        );
        let noargs = one_call(br#"Cs6"noargs"z"#);
        assert_eq!((noargs.name.as_str(), noargs.args.len()), ("noargs", 0));
        // hprose@2.0.51 and 1.4.3 byref call
        let swap = one_call(br#"Cs4"swap"a2{12}tz"#);
        assert_eq!((swap.args, swap.by_ref), (vec![i(1), i(2)], true));
        // hprose@2.0.51 / rpc-core@3 (9 UTF-16 units) and hprose 1.4.3 (8 code points)
        let emoji = vec![s("😀 and 中文")];
        assert_eq!(
            one_call(b"Cs4\"echo\"a1{s9\"\xf0\x9f\x98\x80 and \xe4\xb8\xad\xe6\x96\x87\"}z").args,
            emoji
        );
        assert_eq!(
            one_call(b"Cs4\"echo\"a1{s8\"\xf0\x9f\x98\x80 and \xe4\xb8\xad\xe6\x96\x87\"}z").args,
            emoji
        );
        // hprose@2.0.51 batch: references restart with each call
        let batch =
            req(br#"Cs5"hello"a1{ua}Cs3"add"a2{12}Cs4"echo"a2{s13"shared-string"r1;}z"#).unwrap();
        let calls: Vec<_> = batch
            .calls
            .iter()
            .map(|c| (c.name.as_str(), c.args.clone()))
            .collect();
        assert_eq!(
            calls,
            vec![
                ("hello", vec![s("a")]),
                ("add", vec![i(1), i(2)]),
                ("echo", vec![shared(), shared()])
            ]
        );
        // rpc-core@3: header map, function list call, simple mode (no references)
        let h = req(br#"Hm2{s5"token"s3"abc"un1}Cs4"echo"a1{1}z"#).unwrap();
        assert_eq!(
            h.header,
            Some(vec![("token".into(), s("abc")), ("n".into(), i(1))])
        );
        assert_eq!(h.calls[0].args, vec![i(1)]);
        let tilde = req(b"Cu~z").unwrap();
        assert!(!tilde.is_function_list() && tilde.calls[0].is_function_list());
        let simple =
            req(br#"Hm1{s6"simple"t}Cs4"echo"a2{s13"shared-string"s13"shared-string"}z"#).unwrap();
        assert_eq!(simple.calls[0].args, vec![shared(), shared()]);
        // The header's references end with it: r0 in the call's args is the args list itself.
        assert!(matches!(
            req(br#"Hm1{s1"k"s2"vv"}Cs1"f"a1{r2;}z"#),
            Err(HproseError::BadReference {
                index: 2,
                known: 1,
                ..
            })
        ));
    }

    #[test]
    fn strings_count_utf16_units() {
        for (text, wire) in [
            ("😀", "s2\"😀\""),
            ("中文字符", "s4\"中文字符\""),
            ("a😀b", "s4\"a😀b\""),
            ("中", "u中"),
            ("é", "ué"),
            ("", "e"),
            ("👍🏽x", "s5\"👍🏽x\""),
            ("\"q\"", "s3\"\"q\"\""),
        ] {
            assert_eq!(enc(&s(text)), wire.as_bytes(), "{text}");
            assert_eq!(val(wire.as_bytes()).unwrap(), s(text));
        }
        // A surrogate pair cannot be split by the count; invalid UTF-8 is refused.
        assert!(matches!(
            val("s1\"😀x\"".as_bytes()),
            Err(HproseError::StringLength { .. })
        ));
        // ...unless the count ends inside it, which the real readers (and Python's count) accept
        assert_eq!(val("s1\"😀\"".as_bytes()).unwrap(), s("😀"));
        assert!(matches!(
            val(b"s2\"a\xff\""),
            Err(HproseError::InvalidUtf8 { offset: 4 })
        ));
        assert!(matches!(val(b"s2\"ab"), Err(HproseError::Truncated { .. })));
        assert!(matches!(
            val(b"s9\"ab\""),
            Err(HproseError::LengthExceedsInput { declared: 9, .. })
        ));
        assert!(matches!(
            val(b"s2\"abc\""),
            Err(HproseError::StringLength {
                offset: 0,
                declared: 2
            })
        ));
    }

    #[test]
    fn references_follow_the_real_readers() {
        // the argument list is reference 0; the function name does not count
        assert!(matches!(
            req(br#"Cs4"echo"a1{r0;}z"#),
            Err(HproseError::CyclicReference { index: 0, .. })
        ));
        assert!(matches!(
            req(br#"Cs4"echo"a1{r1;}z"#),
            Err(HproseError::BadReference {
                index: 1,
                known: 1,
                ..
            })
        ));
        // u, e and numbers are not references; s, b, g, D, T, a, m, o are, in tag order
        let args = one_call(
            b"Cs1\"f\"a14{uxes2\"ss\"b1\"B\"g{6e2a9f3c-1b2d-4c5e-8f70-123456789abc}D20200102;T010203Za{}m{}r1;r2;r3;r4;r5;}z",
        )
        .args;
        assert_eq!(
            &args[9..],
            &[
                s("ss"),
                Value::Bytes(b"B".to_vec()),
                s("6e2a9f3c-1b2d-4c5e-8f70-123456789abc"),
                s("2020-01-02"),
                s("01:02:03Z")
            ]
        );
        assert_eq!(
            one_call(br#"Cs1"f"a3{a1{1}m{}r1;}z"#).args[2],
            list(vec![i(1)])
        );
        assert_eq!(one_call(br#"Cs1"f"a3{a1{1}m{}r2;}z"#).args[2], map(vec![]));
        // class field names written as `s` are references, the class name is not
        let obj = one_call(br#"Cs1"f"a2{c1"P"1{s2"xx"}o0{5}r1;}z"#).args;
        assert_eq!(obj, vec![map(vec![("xx", i(5))]), s("xx")]);
        let obj = one_call(br#"Cs1"f"a2{c1"P"1{s2"xx"}o0{5}r2;}z"#).args;
        assert_eq!(obj[1], map(vec![("xx", i(5))]));
        // a finished container deep inside another is found again by its path
        let deep = one_call(br#"Cs1"f"a2{a2{a1{m1{s1"k"a1{9}}}r3;}r5;}z"#).args;
        let inner = map(vec![("k", list(vec![i(9)]))]);
        assert_eq!(
            deep[0],
            list(vec![list(vec![inner.clone()]), inner.clone()])
        );
        assert_eq!(deep[1], list(vec![i(9)]));
        // an ancestor that is still open is cyclic
        assert!(matches!(
            req(br#"Cs1"f"a1{a1{m1{uar1;}}}z"#),
            Err(HproseError::CyclicReference { index: 1, .. })
        ));
        // references and classes restart with every call of a batch
        assert!(matches!(
            req(br#"Cs1"a"a1{s3"abc"}Cs1"b"a1{r1;}z"#),
            Err(HproseError::BadReference { .. })
        ));
        assert!(matches!(
            req(br#"Cs1"a"a1{c1"P"1{ux}o0{1}}Cs1"b"a1{o0{2}}z"#),
            Err(HproseError::UnknownClass {
                index: 0,
                known: 0,
                ..
            })
        ));
        assert!(matches!(
            req(br#"Cs1"f"a1{r;}z"#),
            Err(HproseError::InvalidNumber {
                what: "reference index",
                ..
            })
        ));
    }

    #[test]
    fn objects_decode_as_maps() {
        let v = val(br#"a3{c1"A"2{uaub}o0{1n}c1"B"0{}o1{}o0{e2}}"#).unwrap();
        assert_eq!(
            v,
            list(vec![
                map(vec![("a", i(1)), ("b", Value::Null)]),
                map(vec![]),
                map(vec![("a", s("")), ("b", i(2))])
            ])
        );
        assert!(matches!(
            val(br#"o0{}"#),
            Err(HproseError::UnknownClass {
                offset: 1,
                index: 0,
                known: 0
            })
        ));
        assert!(matches!(
            val(br#"c1"A"1{a{}}o0{1}"#),
            Err(HproseError::UnexpectedByte {
                found: b'a',
                expected: "a field name",
                ..
            })
        ));
        // duplicate keys: the last value wins, in the first key's place
        assert_eq!(
            val(br#"m3{uaubuc2ua3}"#).unwrap(),
            map(vec![("a", i(3)), ("c", i(2))])
        );
    }

    #[test]
    fn batch_replies_keep_going_after_an_error() {
        assert_eq!(
            replies(&[Ok(i(1)), Err("boom".into()), Ok(s("ok"))]),
            br#"R1Es4"boom"Rs2"ok"z"#
        );
        assert_eq!(replies(&[Err(String::new())]), br#"Es""z"#);
        assert_eq!(replies(&[Err("é😀".into())]), "Es3\"é😀\"z".as_bytes());
    }

    #[test]
    fn function_lists() {
        let mut v2 = Vec::new();
        encode_function_list(&mut v2, &["hello", "a"], false);
        assert_eq!(v2, br#"Fa2{s5"hello"ua}z"#);
        let mut v3 = Vec::new();
        encode_function_list(&mut v3, &["hello"], true);
        assert_eq!(v3, br#"Ra2{u~s5"hello"}z"#);
        let mut none = Vec::new();
        encode_function_list(&mut none, &[], false);
        assert_eq!(none, b"Fa{}z");
    }

    #[test]
    fn encodes_numbers_like_the_real_writers() {
        let f = Value::Float;
        for (v, wire) in [
            (i(0), "0"),
            (i(9), "9"),
            (i(10), "i10;"),
            (i(-1), "i-1;"),
            (i(i32::MAX.into()), "i2147483647;"),
            (i(i32::MIN.into()), "i-2147483648;"),
            (i(2147483648), "l2147483648;"),
            (i(i64::MIN), "l-9223372036854775808;"),
            (f(3.5), "d3.5;"),
            (f(-0.25), "d-0.25;"),
            (f(1.0), "d1;"),
            (f(1e21), "d1e21;"),
            (f(1e-7), "d1e-7;"),
            (f(f64::NAN), "N"),
            (f(f64::INFINITY), "I+"),
            (f(f64::NEG_INFINITY), "I-"),
            (Value::Bytes(vec![]), "b\"\""),
            (list(vec![]), "a{}"),
            (map(vec![]), "m{}"),
        ] {
            assert_eq!(String::from_utf8(enc(&v)).unwrap(), wire);
        }
    }

    #[test]
    fn round_trips() {
        let values = vec![
            Value::Null,
            Value::Bool(false),
            i(i64::MAX),
            i(-42),
            Value::Float(0.1),
            Value::Float(-1e300),
            Value::Float(5e-324),
            Value::Float(-0.0),
            Value::Float(123456789012345.0),
            Value::Float(1e15),
            s("x"),
            s("😀"),
            s("a\"b"),
            Value::Bytes(b"\x00\"z".to_vec()),
            list(vec![
                list(vec![]),
                map(vec![("", i(1)), ("😀", list(vec![s("q")]))]),
            ]),
        ];
        for v in values {
            assert_eq!(val(&enc(&v)).unwrap(), v);
        }
        assert!(
            matches!(val(&enc(&Value::Float(f64::NAN))).unwrap(), Value::Float(x) if x.is_nan())
        );
    }

    #[test]
    fn dates_and_guids() {
        assert_eq!(val(b"D20200102Z").unwrap(), s("2020-01-02"));
        assert_eq!(
            val(b"T235960.123456789Z").unwrap(),
            s("23:59:60.123456789Z")
        );
        for bad in [
            &b"D20201302;"[..],
            b"D2020010;",
            b"D20200102X",
            b"T250000;",
            b"T010203.12;",
            b"T010203.123456789123Z",
            b"T010203",
        ] {
            assert!(
                matches!(
                    val(bad),
                    Err(HproseError::InvalidDate { offset: 0 } | HproseError::Truncated { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            val(b"g{6e2a9f3c-1b2d-4c5e-8f70-123456789abx}"),
            Err(HproseError::InvalidGuid { offset: 0 })
        ));
        assert!(matches!(
            val(b"g(6e2a9f3c-1b2d-4c5e-8f70-123456789abc)"),
            Err(HproseError::InvalidGuid { offset: 0 })
        ));
    }

    #[test]
    fn every_error_says_where() {
        let cases: &[(&[u8], HproseError, &str)] = &[
            (
                b"X",
                HproseError::UnexpectedByte {
                    offset: 0,
                    found: b'X',
                    expected: "'C', 'H' or 'z'",
                },
                "unexpected byte 'X' at byte 0; expected 'C', 'H' or 'z'",
            ),
            (
                b"Cs1\"f\"a1{x}z",
                HproseError::UnexpectedByte {
                    offset: 9,
                    found: b'x',
                    expected: "a value",
                },
                "unexpected byte 'x' at byte 9; expected a value",
            ),
            (
                b"Cs1\"f\"a1{1}q",
                HproseError::UnexpectedByte {
                    offset: 11,
                    found: b'q',
                    expected: "'t', 'C' or 'z'",
                },
                "",
            ),
            (
                b"Cs1\"f\"a1{1}tt",
                HproseError::UnexpectedByte {
                    offset: 12,
                    found: b't',
                    expected: "'C' or 'z'",
                },
                "",
            ),
            (
                b"Cs1\"f\"\x01",
                HproseError::UnexpectedByte {
                    offset: 6,
                    found: 1,
                    expected: "'a', 'C' or 'z'",
                },
                "unexpected byte 0x01 at byte 6; expected 'a', 'C' or 'z'",
            ),
            (
                b"Cn",
                HproseError::UnexpectedByte {
                    offset: 1,
                    found: b'n',
                    expected: "a function name",
                },
                "",
            ),
            (
                b"Cs1\"f\"a1{",
                HproseError::LengthExceedsInput {
                    offset: 7,
                    declared: 1,
                },
                "",
            ),
            (
                b"Cs1\"f\"a2{1}",
                HproseError::UnexpectedByte {
                    offset: 10,
                    found: b'}',
                    expected: "a value",
                },
                "unexpected byte '}' at byte 10; expected a value",
            ),
            (
                b"Cs1\"f\"a1{1",
                HproseError::Truncated {
                    offset: 10,
                    expected: "'}' after the last element",
                },
                "",
            ),
            (
                b"Cs1\"f\"a1{i12",
                HproseError::Truncated {
                    offset: 12,
                    expected: "integer",
                },
                "",
            ),
            (
                b"Cs1\"f\"a1{i1x;}z",
                HproseError::InvalidNumber {
                    offset: 10,
                    what: "integer",
                },
                "invalid integer at byte 10",
            ),
            (
                b"Cs1\"f\"a1{i99999999999999999999;}z",
                HproseError::InvalidNumber {
                    offset: 10,
                    what: "integer",
                },
                "",
            ),
            (
                b"Cs1\"f\"a1{dinf;}z",
                HproseError::InvalidNumber {
                    offset: 10,
                    what: "number",
                },
                "",
            ),
            (
                b"Cs1\"f\"a1{d1.2.3;}z",
                HproseError::InvalidNumber {
                    offset: 10,
                    what: "number",
                },
                "",
            ),
            (
                b"Cs1\"f\"a1{I*}z",
                HproseError::UnexpectedByte {
                    offset: 10,
                    found: b'*',
                    expected: "'+' or '-'",
                },
                "",
            ),
            (
                b"Cs1\"f\"a99999999999999999999999{}z",
                HproseError::InvalidNumber {
                    offset: 7,
                    what: "count",
                },
                "",
            ),
            (
                b"Cs1\"f\"a9{1}z",
                HproseError::LengthExceedsInput {
                    offset: 7,
                    declared: 9,
                },
                "length 9 at byte 7 is more than the rest of the request holds",
            ),
            (
                b"Cs1\"f\"a1{b9\"ab\"}z",
                HproseError::LengthExceedsInput {
                    offset: 10,
                    declared: 9,
                },
                "",
            ),
            (
                b"Cs1\"f\"a1{u\xff}z",
                HproseError::InvalidUtf8 { offset: 10 },
                "invalid UTF-8 at byte 10",
            ),
            (
                b"Cs1\"f\"a1{m1{a{}1}}z",
                HproseError::InvalidMapKey {
                    offset: 12,
                    kind: "a list",
                },
                "map key at byte 12 is a list; keys must be scalars",
            ),
            (
                b"Cs1\"f\"a2{a{}m1{r1;1}}z",
                HproseError::InvalidMapKey {
                    offset: 15,
                    kind: "a list",
                },
                "",
            ),
            (
                b"H1Cs1\"f\"z",
                HproseError::InvalidHeader {
                    offset: 1,
                    kind: "an integer",
                },
                "header at byte 1 is an integer; expected a map",
            ),
            (
                b"Cs1\"f\"zz",
                HproseError::TrailingBytes { offset: 7 },
                "unexpected bytes at byte 7 after the end of the request",
            ),
            (
                b"Cs1\"f\"a1{r5;}z",
                HproseError::BadReference {
                    offset: 9,
                    index: 5,
                    known: 1,
                },
                "reference 5 at byte 9 names no value (only 1 precede it)",
            ),
            (
                b"Cs1\"f\"a1{r0;}z",
                HproseError::CyclicReference {
                    offset: 9,
                    index: 0,
                },
                "",
            ),
            (
                b"Cs1\"f\"a1{o3{}}z",
                HproseError::UnknownClass {
                    offset: 10,
                    index: 3,
                    known: 0,
                },
                "object at byte 10 uses class 3, but only 0 are defined",
            ),
            (
                b"Cs1\"f\"a1{Es1\"e\"}z",
                HproseError::UnexpectedByte {
                    offset: 9,
                    found: b'E',
                    expected: "a value",
                },
                "",
            ),
        ];
        for (bytes, want, text) in cases {
            let got = req(bytes).expect_err(&String::from_utf8_lossy(bytes));
            assert_eq!(&got, want, "{}", String::from_utf8_lossy(bytes));
            if !text.is_empty() {
                assert_eq!(got.to_string(), *text);
            }
        }
    }

    #[test]
    fn limits_bound_depth_items_and_bytes() {
        let tight = Limits {
            max_depth: 3,
            max_items: 10,
            max_bytes: 64,
        };
        assert!(decode_request(br#"Cs1"f"a1{a1{1}}z"#, &tight).is_ok());
        assert!(decode_request(br#"Cs1"f"a1{a1{a1{1}}}z"#, &tight).is_ok());
        assert_eq!(
            decode_request(br#"Cs1"f"a1{a1{a1{a1{1}}}}z"#, &tight),
            Err(HproseError::TooDeep { offset: 15, max: 3 })
        );
        assert!(matches!(
            decode_request(br#"Cs1"f"a10{1111111111}z"#, &tight),
            Err(HproseError::TooManyItems { .. })
        ));
        assert!(matches!(
            decode_request(&[b'z'; 65], &tight),
            Err(HproseError::TooLarge { len: 65, max: 64 })
        ));
        // a reference copies its value, so copies count: depth, items and bytes
        let d = Limits {
            max_depth: 3,
            ..Limits::DEFAULT
        };
        assert!(decode_request(br#"Cs1"f"a2{a1{a1{1}}r1;}z"#, &d).is_ok());
        assert!(matches!(
            decode_request(br#"Cs1"f"a2{a1{a1{1}}a1{r1;}}z"#, &d),
            Err(HproseError::TooDeep { .. })
        ));
        let n = Limits {
            max_items: 12,
            ..Limits::DEFAULT
        };
        assert!(matches!(
            decode_request(br#"Cs1"f"a3{a4{1111}r1;r1;}z"#, &n),
            Err(HproseError::TooManyItems { .. })
        ));
        let b = Limits {
            max_bytes: 40,
            ..Limits::DEFAULT
        };
        assert!(matches!(
            decode_request(br#"Cs1"f"a4{s10"0123456789"r1;r1;r1;}z"#, &b),
            Err(HproseError::TooMuchData { .. })
        ));
        // class field names are copied into every object and count as text
        let objects =
            br#"Cs1"f"a8{c1"P"1{s10"0123456789"}o0{1}o0{1}o0{1}o0{1}o0{1}o0{1}o0{1}o0{1}}z"#;
        let b = Limits {
            max_bytes: objects.len(),
            ..Limits::DEFAULT
        };
        assert!(matches!(
            decode_request(objects, &b),
            Err(HproseError::TooMuchData { .. })
        ));
        // doubling through references stops at the limit instead of exhausting memory
        let mut laugh = br#"Cs1"f"a20{a2{11}"#.to_vec();
        for k in 1..20 {
            laugh.extend_from_slice(format!("a2{{r{k};r{k};}}").as_bytes());
        }
        laugh.extend_from_slice(b"}z");
        assert!(matches!(
            req(&laugh),
            Err(HproseError::TooManyItems { max: 100_000, .. })
        ));
    }

    #[test]
    fn every_prefix_of_a_valid_request_is_an_error() {
        let valid: &[&[u8]] = &[
            br#"Hm2{s5"token"s3"abc"un1}Cs4"echo"a1{1}z"#,
            br#"Cs5"hello"a1{ua}Cs3"add"a2{12}Cs4"echo"a2{s13"shared-string"r1;}tz"#,
            br#"Cs4"echo"a2{c5"Point"2{s1"x"s1"y"}o0{12}o0{34}}z"#,
            b"Cs1\"f\"a9{i-5;l99999999999999999999;d1e+21;NI-b2\"\x00\xff\"g{6e2a9f3c-1b2d-4c5e-8f70-123456789abc}D20200102T030405.678901Zu\xe4\xb8\xad}z",
            "Cs1\"f\"a3{s4\"a😀b\"u中T010203.100Z}z".as_bytes(),
        ];
        for v in valid {
            assert!(req(v).is_ok(), "{}", String::from_utf8_lossy(v));
            for n in 1..v.len() {
                assert!(
                    req(&v[..n]).is_err(),
                    "prefix {n} of {}",
                    String::from_utf8_lossy(v)
                );
            }
        }
    }

    /// A small deterministic fuzzer: mutated valid requests and random bytes must never panic,
    /// and whatever decodes re-encodes to a value that decodes the same.
    #[test]
    fn mutations_never_panic() {
        let seeds: &[&[u8]] = &[
            br#"Hm1{s1"k"a1{1}}Cs4"echo"a3{s13"shared-string"r1;m3{uar1;uba2{12}ucr3;}}tCs1"x"z"#,
            br#"Cs1"f"a4{c1"P"2{uaub}o0{D20200102Zg{6e2a9f3c-1b2d-4c5e-8f70-123456789abc}}r1;b1"b"T010203.123;}z"#,
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut rand = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"0123456789ilsdNI+-ntfeubgDTamcorCHzAEF{}\";.Z\xff\xe4";
        for round in 0..30_000 {
            let mut bytes = seeds[round % seeds.len()].to_vec();
            for _ in 0..1 + rand() % 4 {
                let at = (rand() as usize) % bytes.len();
                let b = alphabet[(rand() as usize) % alphabet.len()];
                match rand() % 3 {
                    0 => bytes[at] = b,
                    1 => bytes.insert(at, b),
                    _ => {
                        bytes.remove(at);
                    }
                }
                if bytes.is_empty() {
                    break;
                }
            }
            if let Ok(r) = req(&bytes) {
                for c in r.calls {
                    let v = list(c.args);
                    let again = val(&enc(&v)).expect("re-encoded args decode");
                    assert_eq!(format!("{again:?}"), format!("{v:?}"));
                }
            }
        }
    }

    #[test]
    fn websocket_framing() {
        let mut out = Vec::new();
        ws_frame(7, b"Ri42;z", &mut out);
        assert_eq!(out, b"\x00\x00\x00\x07Ri42;z");
        assert_eq!(split_ws_frame(&out).unwrap(), (7, &b"Ri42;z"[..]));
        assert_eq!(
            split_ws_frame(b"\x80\x00\x00\x01boom").unwrap(),
            (WS_ERROR_FLAG | 1, &b"boom"[..])
        );
        assert_eq!(split_ws_frame(b"\x00\x00\x00\x01").unwrap(), (1, &b""[..]));
        assert_eq!(
            split_ws_frame(b"\x00\x01"),
            Err(HproseError::ShortWsFrame { len: 2 })
        );
        assert_eq!(
            HproseError::ShortWsFrame { len: 2 }.to_string(),
            "WebSocket message of 2 bytes is shorter than its 4-byte id"
        );
    }
}
