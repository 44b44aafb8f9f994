//! `/leither/head/1.0.0` messages from untrusted bytes: requests and answers parse or fail
//! cleanly, never panic, and whatever parses re-encodes to its input.
#![no_main]
use leither::net::head_wire::{Answer, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Request::from_bytes(data) {
        assert_eq!(r.to_bytes(), data, "a request re-encodes to its input");
    }
    if let Ok(a) = Answer::from_bytes(data) {
        assert_eq!(a.to_bytes(), data, "an answer re-encodes to its input");
    }
});
