//! Bitswap messages from untrusted bytes: the decoder never panics; whatever decodes encodes to
//! a body that decodes to the same message, and that body is a fixed point of encoding; every
//! block is self-certifying. The same bytes as a stream: FrameReader fed in arbitrary chunks
//! (sizes taken from the input) yields the same frames as fed whole, and fails where that does.
#![no_main]
use leither::net::bitswap_wire::{FrameReader, MAX_MESSAGE_LEN, Message, frame};
use libfuzzer_sys::fuzz_target;

fn frames(data: &[u8], chunk: usize) -> (Vec<Vec<u8>>, bool) {
    let mut r = FrameReader::new();
    let mut out = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        if r.push(piece).is_err() {
            return (out, false);
        }
        while let Some(body) = r.pop() {
            assert!(body.len() <= MAX_MESSAGE_LEN);
            out.push(body);
        }
        assert!(r.buffered() <= MAX_MESSAGE_LEN + 9 + chunk.max(1));
    }
    (out, true)
}

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Message::decode(data) {
        for (cid, block) in &m.blocks {
            assert!(cid.verify(block).is_ok(), "a decoded block matches its CID");
        }
        let body = m.encode();
        let again = Message::decode(&body).expect("an encoded message decodes");
        assert_eq!(again, m);
        assert_eq!(again.encode(), body, "encoding is canonical");
        let (got, ok) = frames(&frame(&body), 7);
        assert!(ok);
        assert_eq!(got, vec![body]);
    }
    let chunk = usize::from(data.first().copied().unwrap_or(1));
    let (whole, whole_ok) = frames(data, data.len());
    let (pieces, pieces_ok) = frames(data, chunk);
    assert_eq!(
        whole_ok, pieces_ok,
        "a bad length prefix is found however the bytes come"
    );
    if whole_ok {
        assert_eq!(whole, pieces);
    } else {
        // A push that hits a bad prefix fails as a whole, so fed whole, the frames before it
        // may never be popped; fed in pieces, some are. Never different ones.
        assert!(pieces.starts_with(&whole));
    }
});
