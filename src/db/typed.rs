//! How a stored value says whether it is plain bytes or a typed value (sans-io).
//!
//! Leither's `Set`, `Hset`, `Lpush`, ... take any value (a map, a list, a number) and give
//! it back as it was set, while redis-cli must keep seeing strings and bytes unchanged. So
//! a value is stored as one of three forms, told apart by its first two bytes:
//!
//! - plain: the bytes themselves, when they do not start with either marker below (every
//!   UTF-8 string, since `0xFF` never occurs in UTF-8);
//! - [`TYPED`] + the value in Hprose's serialization: a value of another type, written only
//!   by the API door (`api/fns_db.rs` encodes and decodes the Hprose part);
//! - [`ESCAPED`] + the bytes: plain bytes that happen to start with a marker.
//!
//! The RESP door escapes every value it writes that starts with a marker and unescapes
//! what it reads, so no byte string a Redis client sets can ever read back as a typed
//! value: a redis-cli user who SETs the very bytes GET showed for a map stores plain bytes.
//! docs/db.md describes the forms.

use std::borrow::Cow;

/// First bytes of a typed value: the rest is one Hprose value.
pub const TYPED: [u8; 2] = [0xFF, 0x00];
/// First bytes of escaped plain bytes: the rest is the bytes.
pub const ESCAPED: [u8; 2] = [0xFF, 0x01];

/// How the values in a command's arguments and replies are given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Values {
    /// As a Redis client sees them: plain bytes (RESP, and tests).
    #[default]
    Plain,
    /// In the stored form above: the API door encodes and decodes them itself.
    Stored,
}

/// A stored value, classified.
#[derive(Debug, PartialEq, Eq)]
pub enum Form<'a> {
    /// Plain bytes (escaped ones already unescaped).
    Plain(&'a [u8]),
    /// The Hprose serialization of a typed value.
    Typed(&'a [u8]),
}

/// Whether plain bytes `v` must be escaped to be stored.
pub fn needs_escape(v: &[u8]) -> bool {
    v.starts_with(&TYPED) || v.starts_with(&ESCAPED)
}

/// The stored form of plain bytes `v`.
pub fn escape(v: &[u8]) -> Cow<'_, [u8]> {
    if needs_escape(v) {
        let mut out = Vec::with_capacity(v.len() + 2);
        out.extend_from_slice(&ESCAPED);
        out.extend_from_slice(v);
        Cow::Owned(out)
    } else {
        Cow::Borrowed(v)
    }
}

/// What a Redis client sees of stored bytes: escaped bytes lose their marker; a typed
/// value shows as stored (its marker and Hprose text), so SET of it stores plain bytes.
pub fn unescape(mut v: Vec<u8>) -> Vec<u8> {
    if v.starts_with(&ESCAPED) {
        v.drain(..2);
    }
    v
}

/// Classifies stored bytes.
pub fn classify(v: &[u8]) -> Form<'_> {
    if let Some(rest) = v.strip_prefix(&ESCAPED) {
        Form::Plain(rest)
    } else if let Some(rest) = v.strip_prefix(&TYPED) {
        Form::Typed(rest)
    } else {
        Form::Plain(v)
    }
}

/// The stored form of a typed value whose Hprose serialization is `hprose`.
pub fn typed(hprose: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hprose.len() + 2);
    out.extend_from_slice(&TYPED);
    out.extend_from_slice(hprose);
    out
}

/// The integer stored bytes hold, for `INCR` and `HINCRBY`: decimal text as Redis reads
/// it, or a typed integer (Hprose `0`-`9`, `i<n>;`, `l<n>;`), so a counter first set with
/// `Set(mmsid, k, 5)` can be incremented.
pub fn int_of(v: &[u8]) -> Option<i64> {
    match classify(v) {
        Form::Plain(p) => super::num::parse_int(p),
        Form::Typed(&[d]) if d.is_ascii_digit() => Some(i64::from(d - b'0')),
        Form::Typed(t) => {
            let body = t
                .strip_prefix(b"i")
                .or_else(|| t.strip_prefix(b"l"))?
                .strip_suffix(b";")?;
            super::num::parse_int(body)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_ordinary_bytes_are_stored_as_they_are() {
        assert_eq!(escape(b"hello"), Cow::Borrowed(b"hello".as_slice()));
        // A JPEG starts with 0xFF 0xD8: not a marker.
        assert!(!needs_escape(&[0xFF, 0xD8, 0xFF]));
        assert_eq!(classify(b"hello"), Form::Plain(b"hello"));
        assert_eq!(classify(b""), Form::Plain(b""));
        assert_eq!(classify(&[0xFF]), Form::Plain(&[0xFF]));
    }

    #[test]
    fn bytes_that_look_like_a_marker_round_trip_as_plain() {
        for v in [
            &[0xFF, 0x00, b'm'][..],
            &[0xFF, 0x01][..],
            &[0xFF, 0x00][..],
        ] {
            let s = escape(v).into_owned();
            assert_eq!(classify(&s), Form::Plain(v), "{v:?}");
            assert_eq!(unescape(s), v);
        }
    }

    #[test]
    fn typed_values_classify_and_show_as_stored() {
        let s = typed(b"a1{1}");
        assert_eq!(classify(&s), Form::Typed(b"a1{1}"));
        assert_eq!(unescape(s.clone()), s);
        // What redis-cli saw, set back, is plain bytes.
        assert_eq!(classify(&escape(&s)), Form::Plain(&s[..]));
    }

    #[test]
    fn integers_in_either_form() {
        assert_eq!(int_of(b"-12"), Some(-12));
        assert_eq!(int_of(&typed(b"7")), Some(7));
        assert_eq!(int_of(&typed(b"i-300;")), Some(-300));
        assert_eq!(int_of(&typed(b"l9000000000;")), Some(9_000_000_000));
        assert_eq!(int_of(&typed(b"d1.5;")), None);
        assert_eq!(int_of(&typed(b"i;")), None);
        assert_eq!(int_of(&escape(&[0xFF, 0x00, b'1'])), None);
    }
}
