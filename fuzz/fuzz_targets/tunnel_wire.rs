//! The HTTP tunnel's wire (`net::tunnel_wire`) from untrusted bytes: control messages parse or
//! fail cleanly and re-encode to their input; a response from a tunnelled node parses or
//! fails cleanly, never panics, and never yields a body over the cap.
#![no_main]
use leither::net::tunnel_wire::{Control, parse_response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = Control::decode(data) {
        assert_eq!(c.encode(), data, "a control message re-encodes to its input");
    }
    for eof in [false, true] {
        if let Ok(Some(r)) = parse_response(data, eof, 4096) {
            assert!(r.body.len() <= 4096, "a body over the cap");
            assert!((100..600).contains(&r.status));
        }
    }
});
