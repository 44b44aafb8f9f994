//! Fuzzes the Hprose decoder: no input may panic, and every decoded call's arguments (and any
//! standalone value) must decode again, unchanged, from what `encode_value` makes of them.
#![no_main]

use leither::api::hprose::{self, Limits};
use leither::api::value::Value;
use libfuzzer_sys::fuzz_target;

const LIMITS: Limits = Limits {
    max_depth: 16,
    max_items: 10_000,
    max_bytes: 1 << 20,
};

/// `decode(encode(v)) == v`, NaN included (hence the comparison of the debug text).
fn round_trips(v: &Value) {
    let mut wire = Vec::new();
    hprose::encode_value(&mut wire, v);
    // References were expanded, so the re-encoded form may be longer than the input was.
    let limits = Limits {
        max_bytes: usize::MAX,
        ..LIMITS
    };
    match hprose::decode_value(&wire, &limits) {
        Ok(again) => assert_eq!(format!("{again:?}"), format!("{v:?}")),
        Err(e) => panic!("re-encoded value does not decode: {e}\n{v:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = hprose::decode_request(data, &LIMITS) {
        for call in request.calls {
            round_trips(&Value::List(call.args));
        }
        if let Some(header) = request.header {
            round_trips(&Value::Map(header));
        }
    }
    if let Ok(v) = hprose::decode_value(data, &LIMITS) {
        round_trips(&v);
    }
    let _ = hprose::split_ws_frame(data);
});
