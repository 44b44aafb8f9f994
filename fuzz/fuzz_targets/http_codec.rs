//! The hot path's request codec reads any bytes without panicking, and never frames a
//! request differently from the head guard below it: when it reads a head, the guard fed the
//! same bytes expects exactly that head's body next. Fed in pieces (with the `scanned` hint it
//! hands back), it reads the same head as fed all at once, and bytes after a head change
//! nothing about it.
#![no_main]
use leither::http::codec::{Parsed, parse};
use leither::http::guard::HeadGuard;
use libfuzzer_sys::fuzz_target;

const LIMIT: usize = 512;

fuzz_target!(|data: &[u8]| {
    let whole = parse(data, 0, LIMIT);
    if let Parsed::Request(h) = &whole {
        assert!(h.len <= data.len());
        let mut guard = HeadGuard::new(LIMIT);
        if guard.feed(&data[..h.len]).is_ok() {
            assert_eq!(guard.awaiting_body(), Some(h.content_length));
        }
        // What follows the head does not change it.
        assert_eq!(parse(&data[..h.len], 0, LIMIT), whole);
    }
    // Byte by byte, resuming where the last look stopped.
    let mut scanned = 0;
    for end in 0..=data.len() {
        match parse(&data[..end], scanned, LIMIT) {
            Parsed::Incomplete { scanned: s } => {
                assert!(s <= end);
                scanned = s;
            }
            found => {
                // The first prefix that decides decides as the whole does.
                assert_eq!(found, whole);
                return;
            }
        }
    }
    assert!(matches!(whole, Parsed::Incomplete { .. }));
});
