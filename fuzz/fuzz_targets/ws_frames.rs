//! The WebSocket client's frame reader (`lever stream`) follows any byte stream from a server
//! without panicking: a frame never claims more bytes than it was given nor zero bytes, the
//! assembler never holds more than its bound, and reading the stream in small pieces finds the
//! same messages (or the same error) as reading it whole. The handshake check takes any text.
#![no_main]
use leither::cli::ws_proto::{Assembler, Message, check_handshake, parse_frame};
use libfuzzer_sys::fuzz_target;

const MAX: usize = 300;

/// Every message in `data` read `step` bytes at a time, and how it stopped.
fn messages(data: &[u8], step: usize) -> (Vec<Message>, Option<String>) {
    let mut asm = Assembler::new(MAX);
    let mut out = Vec::new();
    let mut start = 0;
    let mut end = 0;
    while end < data.len() {
        end = (end + step).min(data.len());
        loop {
            match parse_frame(&data[start..end], MAX) {
                Ok(Some((frame, used))) => {
                    assert!(used >= 2 && start + used <= end, "used {used}");
                    assert!(frame.payload.len() <= MAX);
                    start += used;
                    match asm.push(frame) {
                        Ok(Some(m)) => out.push(m),
                        Ok(None) => {}
                        Err(e) => return (out, Some(e.to_string())),
                    }
                }
                Ok(None) => break,
                Err(e) => return (out, Some(e.to_string())),
            }
        }
    }
    (out, None)
}

fuzz_target!(|data: &[u8]| {
    let whole = messages(data, data.len().max(1));
    let step = 1 + data.first().map_or(0, |c| usize::from(*c % 7));
    assert_eq!(whole, messages(data, step));
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = check_handshake(text, "dGhlIHNhbXBsZSBub25jZQ==");
    }
});
