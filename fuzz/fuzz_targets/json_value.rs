//! Fuzzes the JSON decoder: no input may panic, and every decoded value must decode again,
//! unchanged, from both `encode` and `encode_pretty` (infinities from `1e400` become null).
#![no_main]

use leither::api::json::{self, JsonLimits};
use leither::api::value::Value;
use libfuzzer_sys::fuzz_target;

const LIMITS: JsonLimits = JsonLimits {
    max_depth: 32,
    max_items: 100_000,
    max_bytes: 1 << 20,
};

/// What encoding keeps: a non-finite float is written as null.
fn encoded_form(v: &Value) -> Value {
    match v {
        Value::Float(f) if !f.is_finite() => Value::Null,
        Value::List(items) => Value::List(items.iter().map(encoded_form).collect()),
        Value::Map(entries) => Value::Map(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), encoded_form(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(v) = json::decode(data, &LIMITS) else {
        return;
    };
    let want = encoded_form(&v);
    let unbounded = JsonLimits {
        max_bytes: usize::MAX,
        max_items: usize::MAX,
        ..LIMITS
    };
    for pretty in [false, true] {
        let mut text = String::new();
        if pretty {
            json::encode_pretty(&v, &mut text);
        } else {
            json::encode(&v, &mut text);
        }
        match json::decode(text.as_bytes(), &unbounded) {
            Ok(again) => assert_eq!(again, want, "{text}"),
            Err(e) => panic!("re-encoded JSON does not decode: {e}\n{text}"),
        }
    }
});
