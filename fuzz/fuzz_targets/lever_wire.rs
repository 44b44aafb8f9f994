//! `/leither/lever/1.0.0` messages from untrusted bytes: requests and frames parse or fail
//! cleanly, never panic, and whatever parses re-encodes to its input.
#![no_main]
use leither::net::lever_wire::{Frame, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Request::from_bytes(data) {
        assert_eq!(r.to_bytes(), data, "a request re-encodes to its input");
        let _ = r.signed_bytes();
    }
    if let Ok(f) = Frame::from_bytes(data) {
        assert_eq!(f.to_bytes(), data, "a frame re-encodes to its input");
    }
});
