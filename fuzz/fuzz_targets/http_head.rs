//! The connection guard follows any byte stream without panicking, and never lets a head
//! grow past its limit: fed in arbitrary pieces, it agrees with itself fed all at once.
#![no_main]
use leither::http::guard::HeadGuard;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut whole = HeadGuard::new(256);
    let a = whole.feed(data).is_ok();
    let mut pieces = HeadGuard::new(256);
    let mut b = true;
    for chunk in data.chunks(7) {
        if pieces.feed(chunk).is_err() {
            b = false;
            break;
        }
    }
    assert_eq!(a, b);
});
