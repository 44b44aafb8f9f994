//! The Hprose writer: values, replies, the function list and WebSocket framing.

use super::*;
use std::collections::HashSet;

pub(super) fn payload_len(v: &Value) -> usize {
    match v {
        Value::Str(s) => s.len(),
        Value::Bytes(b) => b.len(),
        _ => 0,
    }
}

/// A float as JavaScript prints it where that is short (`1`, `1.5`, `NaN`), else Rust's
/// shortest round-trip form (`1e21`); both parse back to the same `f64` in JS and Python.
pub(super) fn float_text(f: f64) -> String {
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
pub(super) fn dedupe_entries(entries: &mut Vec<(String, Value)>) {
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

pub(super) fn dedupe_maps(v: &mut Value) {
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
pub(super) fn counted(out: &mut Vec<u8>, n: usize, delim: u8) {
    if n > 0 {
        out.extend_from_slice(n.to_string().as_bytes());
    }
    out.push(delim);
}

pub(super) fn encode_str(out: &mut Vec<u8>, s: &str) {
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
pub(super) fn encode_full_str(out: &mut Vec<u8>, s: &str) {
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
