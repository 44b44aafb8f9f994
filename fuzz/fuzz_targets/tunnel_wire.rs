//! The HTTP tunnel's wire (`net::tunnel_wire`) from untrusted bytes: control messages parse or
//! fail cleanly and re-encode to their input; a response from a tunnelled node parses or
//! fails cleanly, never panics, and never yields a body over the cap; a body decoded as it
//! streams in (split where the first byte says) gives the same bytes as decoded whole.
#![no_main]
use leither::net::tunnel_wire::{BodyDecoder, Control, parse_response, parse_response_head};
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
    let split = usize::from(data.first().copied().unwrap_or(1).max(1));
    if let Ok(Some((head, used))) = parse_response_head(data, true, false) {
        let rest = &data[used..];
        let (Ok(mut whole), Ok(mut pieces)) = (
            BodyDecoder::new(head.framing, 4096),
            BodyDecoder::new(head.framing, 4096),
        ) else {
            return;
        };
        let mut a = Vec::new();
        let whole_result = whole.feed(rest, &mut a);
        let mut b = Vec::new();
        let mut taken = 0;
        let mut piece_error = false;
        for piece in rest.chunks(split) {
            match pieces.feed(piece, &mut b) {
                Ok(n) => {
                    taken += n;
                    if n < piece.len() {
                        break;
                    }
                }
                Err(_) => {
                    piece_error = true;
                    break;
                }
            }
        }
        assert!(a.len() <= 4096 && b.len() <= 4096, "a body over the cap");
        match whole_result {
            Ok(n) => {
                assert!(!piece_error, "pieces failed where the whole did not");
                assert_eq!(n, taken, "the same bytes taken");
                assert_eq!(a, b, "the same body");
                assert_eq!(whole.is_done(), pieces.is_done());
            }
            Err(_) => assert!(piece_error, "the whole failed where pieces did not"),
        }
    }
});
