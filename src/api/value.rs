//! The one value model every front door speaks: Hprose, JSON, the CLI and (later) Lua all
//! decode into [`Value`] and encode from it, so an API function is written once against it.
//!
//! Maps keep insertion order and have string keys (Hprose maps with other keys are
//! stringified on decode), so a JSON object read and written back keeps its key order.

/// A dynamically typed value passed to and returned from API functions.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Hprose `n`, JSON `null`.
    Null,
    /// Hprose `t`/`f`, JSON `true`/`false`.
    Bool(bool),
    /// Hprose `i`, digits, `l` that fits; JSON integers.
    Int(i64),
    /// Hprose `d`, `N`, `I+`, `I-`; JSON numbers with a fraction or exponent.
    Float(f64),
    /// Hprose `s`, `u`, `e`, dates and GUIDs as text; JSON strings.
    Str(String),
    /// Hprose `b`; JSON has no bytes, they encode as a base64url string.
    Bytes(Vec<u8>),
    /// Hprose `a`; JSON arrays.
    List(Vec<Value>),
    /// Hprose `m` and objects `o`; JSON objects. Order is kept.
    Map(Vec<(String, Value)>),
}

impl Value {
    /// A string slice if this is a `Str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// An integer if this is an `Int` (or a `Float` with no fraction that fits).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            _ => None,
        }
    }

    /// The value under `key` if this is a `Map`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A short name of the variant, for error messages ("expected a string, got a list").
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "a list",
            Value::Map(_) => "a map",
        }
    }

    /// Builds a map from `(key, value)` pairs.
    pub fn map<I: IntoIterator<Item = (&'static str, Value)>>(pairs: I) -> Value {
        Value::Map(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_string())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
