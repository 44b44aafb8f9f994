//! Values of the database functions as the API gives and takes them: any [`Value`] in,
//! the same value out (`db/typed.rs` says how they are stored), and Leither's result
//! shapes `ScorePair {Score, Member}` and `FVPair {Field, Value}`.

use super::Value;
use super::hprose::{Limits, decode_value, encode_value};
use crate::db::typed::{self, Form};

/// Bounds on decoding a stored typed value: a value is at most `db::MAX_VALUE` bytes, and
/// it was written by us, but the store may be a restored version from another node.
const LIMITS: Limits = Limits {
    max_depth: 32,
    max_items: 100_000,
    max_bytes: crate::db::MAX_VALUE,
};

/// The stored form of `v`: strings and bytes as they are (escaped when they start like a
/// marker), anything else as a typed value.
pub fn to_stored(v: &Value) -> Vec<u8> {
    match v {
        Value::Str(s) => typed::escape(s.as_bytes()).into_owned(),
        Value::Bytes(b) => typed::escape(b).into_owned(),
        other => {
            let mut h = Vec::new();
            encode_value(&mut h, other);
            typed::typed(&h)
        }
    }
}

/// Plain bytes as a value: text when they are UTF-8, else bytes.
pub fn plain(b: Vec<u8>) -> Value {
    match String::from_utf8(b) {
        Ok(s) => Value::Str(s),
        Err(e) => Value::Bytes(e.into_bytes()),
    }
}

/// The value stored bytes hold. A typed value that does not decode (a damaged store) comes
/// back as its stored bytes rather than failing the whole call.
pub fn from_stored(b: Vec<u8>) -> Value {
    match typed::classify(&b) {
        Form::Plain(p) if p.len() == b.len() => plain(b),
        Form::Plain(p) => plain(p.to_vec()),
        Form::Typed(t) => decode_value(t, &LIMITS).unwrap_or(Value::Bytes(b)),
    }
}

/// A score as Leither's int64, or a float when it has a fraction (set over RESP).
pub fn score(text: &[u8]) -> Value {
    let f = std::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    if f.fract() == 0.0 && f.abs() < 9.2e18 {
        Value::Int(f as i64)
    } else {
        Value::Float(f)
    }
}

/// `{Score, Member}`.
pub fn score_pair(score_text: &[u8], member: Vec<u8>) -> Value {
    Value::Map(vec![
        ("Score".into(), score(score_text)),
        ("Member".into(), plain(member)),
    ])
}

/// `{Field, Value}`.
pub fn fv_pair(field: Vec<u8>, stored: Vec<u8>) -> Value {
    Value::Map(vec![
        ("Field".into(), plain(field)),
        ("Value".into(), from_stored(stored)),
    ])
}

/// The member of map `v` named `name` in any case (Go writes `Score`, JSON users `score`).
pub fn field<'v>(v: &'v Value, name: &str) -> Option<&'v Value> {
    match v {
        Value::Map(m) => m
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, x)| x),
        _ => None,
    }
}

/// Whether `v` is a map with exactly the two members `a` and `b` (any case).
pub fn is_pair(v: &Value, a: &str, b: &str) -> bool {
    matches!(v, Value::Map(m) if m.len() == 2) && field(v, a).is_some() && field(v, b).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(v: Value) -> Value {
        from_stored(to_stored(&v))
    }

    #[test]
    fn values_come_back_as_they_were_set() {
        let map = Value::Map(vec![
            ("a".into(), Value::Int(1)),
            (
                "b".into(),
                Value::List(vec![Value::Str("x".into()), Value::Null]),
            ),
        ]);
        assert_eq!(round(map.clone()), map);
        let list = Value::List(vec![Value::Int(1), Value::Float(2.5), Value::Bool(true)]);
        assert_eq!(round(list.clone()), list);
        assert_eq!(round(Value::Int(42)), Value::Int(42));
        assert_eq!(
            round(Value::Int(-9_000_000_000)),
            Value::Int(-9_000_000_000)
        );
        assert_eq!(
            round(Value::Str("héllo".into())),
            Value::Str("héllo".into())
        );
        let bytes = Value::Bytes(vec![0, 0xFF, 0xFE]);
        assert_eq!(round(bytes.clone()), bytes);
        // Bytes that look like a marker stay bytes.
        let tricky = Value::Bytes(vec![0xFF, 0x00, b'i', b'1', b';']);
        assert_eq!(round(tricky.clone()), tricky);
    }

    #[test]
    fn strings_are_stored_plain() {
        assert_eq!(to_stored(&Value::Str("hello".into())), b"hello");
        assert_eq!(to_stored(&Value::Bytes(b"raw".to_vec())), b"raw");
    }

    #[test]
    fn damaged_typed_values_come_back_as_bytes() {
        let b = typed::typed(b"m1{");
        assert_eq!(from_stored(b.clone()), Value::Bytes(b));
    }

    #[test]
    fn scores_are_integers_when_whole() {
        assert_eq!(score(b"10"), Value::Int(10));
        assert_eq!(score(b"-3"), Value::Int(-3));
        assert_eq!(score(b"1.5"), Value::Float(1.5));
        assert!(is_pair(&score_pair(b"1", b"m".to_vec()), "score", "member"));
    }
}
