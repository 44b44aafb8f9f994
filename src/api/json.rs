//! JSON (RFC 8259) to and from [`Value`], sans-io: the codec of the JSON-over-HTTP front door,
//! of config files such as SystemVars.json and of the CLI's output.
//!
//! Decoding is strict: one value with optional whitespace around it (a leading UTF-8 BOM is
//! skipped), no comments, no trailing commas, no unescaped control characters, no lone
//! surrogates. Integers that fit `i64` become `Int`, other numbers `Float`. A repeated key
//! keeps its first position and its last value, as Python's `json` and JavaScript do.
//! Encoding keeps map order, writes `Bytes` as unpadded base64url text and NaN or infinities as
//! `null`; a `Float` always keeps a `.` or an exponent, so it decodes back as a `Float`.

use std::fmt;

use crate::api::value::Value;

/// Bounds on what one document may make the decoder build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonLimits {
    /// Deepest nesting of arrays and objects; the outermost one is level 1.
    pub max_depth: usize,
    /// Most values in the document (each key, array element and object counts).
    pub max_items: usize,
    /// Largest document in bytes.
    pub max_bytes: usize,
}

impl JsonLimits {
    /// Depth 32, 1 000 000 values, 16 MiB.
    pub const DEFAULT: JsonLimits = JsonLimits {
        max_depth: 32,
        max_items: 1_000_000,
        max_bytes: 16 << 20,
    };
}

impl Default for JsonLimits {
    fn default() -> Self {
        JsonLimits::DEFAULT
    }
}

/// Where in the document an error is: byte offset, and 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    /// Bytes before the error.
    pub offset: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counting characters.
    pub column: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {} (byte {})",
            self.line, self.column, self.offset
        )
    }
}

/// Why a document could not be decoded; each variant's doc names its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum JsonError {
    /// The document is longer than [`JsonLimits::max_bytes`].
    TooLarge { len: usize, max: usize },
    /// The document is not valid UTF-8 from `at` on.
    InvalidUtf8 { at: Pos },
    /// The document ends at `at` where `expected` should follow.
    UnexpectedEnd { at: Pos, expected: &'static str },
    /// Character `found` at `at` cannot start or continue what the grammar expects there.
    UnexpectedChar {
        at: Pos,
        found: char,
        expected: &'static str,
    },
    /// The number at `at` does not follow the JSON grammar (e.g. `01`, `1.`, `+1`, `.5`).
    InvalidNumber { at: Pos },
    /// The backslash escape at `at` is not one of `\" \\ \/ \b \f \n \r \t \uXXXX`.
    InvalidEscape { at: Pos },
    /// The `\u` escape at `at` is half of a surrogate pair without its other half.
    LoneSurrogate { at: Pos },
    /// A string holds the control character `found` unescaped at `at`.
    ControlCharacter { at: Pos, found: char },
    /// Arrays and objects nest deeper than `max` at `at`.
    TooDeep { at: Pos, max: usize },
    /// The document holds more than `max` values at `at`.
    TooManyItems { at: Pos, max: usize },
    /// Something other than whitespace follows the value at `at`.
    TrailingCharacters { at: Pos },
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use JsonError::*;
        match self {
            TooLarge { len, max } => {
                write!(f, "JSON document of {len} bytes exceeds the limit of {max}")
            }
            InvalidUtf8 { at } => write!(f, "invalid UTF-8 at {at}"),
            UnexpectedEnd { at, expected } => write!(f, "JSON ends at {at}; expected {expected}"),
            UnexpectedChar {
                at,
                found,
                expected,
            } => {
                write!(
                    f,
                    "unexpected character {found:?} at {at}; expected {expected}"
                )
            }
            InvalidNumber { at } => write!(f, "invalid number at {at}"),
            InvalidEscape { at } => write!(f, "invalid escape at {at}"),
            LoneSurrogate { at } => write!(f, "unpaired UTF-16 surrogate escape at {at}"),
            ControlCharacter { at, found } => write!(
                f,
                "unescaped control character U+{:04X} in a string at {at}",
                u32::from(*found)
            ),
            TooDeep { at, max } => write!(
                f,
                "arrays and objects nest deeper than {max} levels at {at}"
            ),
            TooManyItems { at, max } => write!(f, "document holds more than {max} values at {at}"),
            TrailingCharacters { at } => write!(f, "unexpected text after the JSON value at {at}"),
        }
    }
}

impl std::error::Error for JsonError {}

type Result<T> = std::result::Result<T, JsonError>;

/// Decodes one JSON document.
pub fn decode(bytes: &[u8], limits: &JsonLimits) -> Result<Value> {
    if bytes.len() > limits.max_bytes {
        return Err(JsonError::TooLarge {
            len: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or("");
            return Err(JsonError::InvalidUtf8 {
                at: pos_in(valid, valid.len()),
            });
        }
    };
    let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut p = Parser {
        text,
        s: text.as_bytes(),
        pos: start,
        limits: *limits,
        items_left: limits.max_items,
    };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.pos < p.s.len() {
        return Err(JsonError::TrailingCharacters { at: p.at(p.pos) });
    }
    Ok(v)
}

fn pos_in(text: &str, offset: usize) -> Pos {
    let before = text.as_bytes().get(..offset).unwrap_or(text.as_bytes());
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let column = 1 + before[line_start..]
        .iter()
        .filter(|&&b| b & 0xC0 != 0x80)
        .count();
    Pos {
        offset,
        line,
        column,
    }
}

struct Parser<'a> {
    text: &'a str,
    s: &'a [u8],
    pos: usize,
    limits: JsonLimits,
    items_left: usize,
}

impl Parser<'_> {
    fn at(&self, offset: usize) -> Pos {
        pos_in(self.text, offset)
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The error for whatever stands at the current position when `expected` should.
    fn unexpected(&self, expected: &'static str) -> JsonError {
        match self.text.get(self.pos..).and_then(|t| t.chars().next()) {
            Some(found) => JsonError::UnexpectedChar {
                at: self.at(self.pos),
                found,
                expected,
            },
            None => JsonError::UnexpectedEnd {
                at: self.at(self.pos),
                expected,
            },
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value> {
        if self.items_left == 0 {
            return Err(JsonError::TooManyItems {
                at: self.at(self.pos),
                max: self.limits.max_items,
            });
        }
        self.items_left -= 1;
        match self.s.get(self.pos) {
            Some(b'{') | Some(b'[') if depth >= self.limits.max_depth => Err(JsonError::TooDeep {
                at: self.at(self.pos),
                max: self.limits.max_depth,
            }),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Value::Str),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.word("true", Value::Bool(true)),
            Some(b'f') => self.word("false", Value::Bool(false)),
            Some(b'n') => self.word("null", Value::Null),
            _ => Err(self.unexpected("a value")),
        }
    }

    fn word(&mut self, word: &'static str, v: Value) -> Result<Value> {
        for &w in word.as_bytes() {
            if self.s.get(self.pos) != Some(&w) {
                return Err(self.unexpected(word));
            }
            self.pos += 1;
        }
        Ok(v)
    }

    fn array(&mut self, depth: usize) -> Result<Value> {
        self.pos += 1;
        let mut items = Vec::new();
        self.ws();
        if self.s.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(Value::List(items));
        }
        loop {
            self.ws();
            items.push(self.value(depth + 1)?);
            self.ws();
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::List(items));
                }
                _ => return Err(self.unexpected("',' or ']'")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value> {
        self.pos += 1;
        let mut entries: Vec<(String, Value)> = Vec::new();
        let mut index = std::collections::HashMap::new();
        self.ws();
        if self.s.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(Value::Map(entries));
        }
        loop {
            self.ws();
            if self.s.get(self.pos) != Some(&b'"') {
                return Err(self.unexpected("a string key"));
            }
            let key = self.string()?;
            self.ws();
            if self.s.get(self.pos) != Some(&b':') {
                return Err(self.unexpected("':'"));
            }
            self.pos += 1;
            self.ws();
            let v = self.value(depth + 1)?;
            match index.get(&key) {
                Some(&i) => entries[i] = (key, v),
                None => {
                    index.insert(key.clone(), entries.len());
                    entries.push((key, v));
                }
            }
            self.ws();
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Map(entries));
                }
                _ => return Err(self.unexpected("',' or '}'")),
            }
        }
    }

    /// A string from its opening quote; the input is valid UTF-8, and it is only ever split
    /// at ASCII bytes, so every slice taken is valid too.
    fn string(&mut self) -> Result<String> {
        self.pos += 1;
        let mut out = String::new();
        let mut run = self.pos;
        loop {
            let Some(&b) = self.s.get(self.pos) else {
                return Err(JsonError::UnexpectedEnd {
                    at: self.at(self.pos),
                    expected: "'\"'",
                });
            };
            match b {
                b'"' | b'\\' => {
                    out.push_str(self.text.get(run..self.pos).unwrap_or(""));
                    self.pos += 1;
                    if b == b'"' {
                        return Ok(out);
                    }
                    self.escape(&mut out)?;
                    run = self.pos;
                }
                0..=0x1f => {
                    return Err(JsonError::ControlCharacter {
                        at: self.at(self.pos),
                        found: char::from(b),
                    });
                }
                _ => self.pos += 1,
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<()> {
        let at = self.pos - 1;
        let c = match self.s.get(self.pos) {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                let hi = self.hex4(at)?;
                let code = match hi {
                    0xD800..=0xDBFF => {
                        if self.s.get(self.pos..self.pos + 2) != Some(b"\\u") {
                            return Err(JsonError::LoneSurrogate { at: self.at(at) });
                        }
                        self.pos += 2;
                        let lo = self.hex4(at)?;
                        if !(0xDC00..=0xDFFF).contains(&lo) {
                            return Err(JsonError::LoneSurrogate { at: self.at(at) });
                        }
                        0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return Err(JsonError::LoneSurrogate { at: self.at(at) }),
                    _ => hi,
                };
                out.push(char::from_u32(code).ok_or(JsonError::LoneSurrogate { at: self.at(at) })?);
                return Ok(());
            }
            Some(_) => return Err(JsonError::InvalidEscape { at: self.at(at) }),
            None => {
                return Err(JsonError::UnexpectedEnd {
                    at: self.at(self.pos),
                    expected: "an escape",
                });
            }
        };
        self.pos += 1;
        out.push(c);
        Ok(())
    }

    fn hex4(&mut self, at: usize) -> Result<u32> {
        let digits = self
            .s
            .get(self.pos..self.pos + 4)
            .ok_or(JsonError::InvalidEscape { at: self.at(at) })?;
        let mut v = 0;
        for &d in digits {
            let x = char::from(d)
                .to_digit(16)
                .ok_or(JsonError::InvalidEscape { at: self.at(at) })?;
            v = v * 16 + x;
        }
        self.pos += 4;
        Ok(v)
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Result<Value> {
        let start = self.pos;
        let bad = |p: &Self| JsonError::InvalidNumber { at: p.at(start) };
        let digits = |p: &mut Self| {
            let from = p.pos;
            while p.s.get(p.pos).is_some_and(u8::is_ascii_digit) {
                p.pos += 1;
            }
            p.pos - from
        };
        if self.s.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        match digits(self) {
            0 => return Err(bad(self)),
            n if n > 1 && self.s.get(int_start) == Some(&b'0') => return Err(bad(self)),
            _ => {}
        }
        let mut integer = true;
        if self.s.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            integer = false;
            if digits(self) == 0 {
                return Err(bad(self));
            }
        }
        if let Some(b'e' | b'E') = self.s.get(self.pos) {
            self.pos += 1;
            integer = false;
            if let Some(b'+' | b'-') = self.s.get(self.pos) {
                self.pos += 1;
            }
            if digits(self) == 0 {
                return Err(bad(self));
            }
        }
        let text = self.text.get(start..self.pos).ok_or_else(|| bad(self))?;
        if integer && let Ok(i) = text.parse::<i64>() {
            return Ok(Value::Int(i));
        }
        text.parse::<f64>().map(Value::Float).map_err(|_| bad(self))
    }
}

/// Appends `v` as compact JSON.
pub fn encode(v: &Value, out: &mut String) {
    write(v, out, None, 0);
}

/// Appends `v` as JSON indented by two spaces, as Python's `json.dumps(v, indent=2)` lays it
/// out (no trailing newline).
pub fn encode_pretty(v: &Value, out: &mut String) {
    write(v, out, Some(2), 0);
}

fn newline(out: &mut String, indent: Option<usize>, level: usize) {
    if let Some(n) = indent {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', n * level));
    }
}

fn write(v: &Value, out: &mut String, indent: Option<usize>, level: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::Float(f) if f.is_finite() => out.push_str(&format!("{f:?}")),
        Value::Float(_) => out.push_str("null"),
        Value::Str(s) => write_str(s, out),
        Value::Bytes(b) => {
            out.push('"');
            out.push_str(&crate::pki::encoding::base64url_encode(b));
            out.push('"');
        }
        Value::List(items) if items.is_empty() => out.push_str("[]"),
        Value::Map(entries) if entries.is_empty() => out.push_str("{}"),
        Value::List(items) => {
            out.push('[');
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                newline(out, indent, level + 1);
                write(item, out, indent, level + 1);
            }
            newline(out, indent, level);
            out.push(']');
        }
        Value::Map(entries) => {
            out.push('{');
            for (k, (key, item)) in entries.iter().enumerate() {
                if k > 0 {
                    out.push(',');
                }
                newline(out, indent, level + 1);
                write_str(key, out);
                out.push_str(if indent.is_some() { ": " } else { ":" });
                write(item, out, indent, level + 1);
            }
            newline(out, indent, level);
            out.push('}');
        }
    }
}

fn write_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
#[path = "json_tests.rs"]
mod tests;
