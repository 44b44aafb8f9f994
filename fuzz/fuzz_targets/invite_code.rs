//! Fuzz target for the invitation parser (`Invite`/`AddNode` codes): arbitrary bytes, as text
//! when they are UTF-8, into `Invitation::parse` and as binary into `Invitation::from_bytes`.
//! Parsing must never panic; whatever parses must print back to exactly what it came from
//! (one spelling per invitation), parse again to an equal invitation, and verify without
//! panicking at any time.

#![no_main]

use leither::accounts::invite::Invitation;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(inv) = Invitation::parse(text)
    {
        let printed = inv.to_text();
        assert_eq!(printed, text.trim(), "to_text must reproduce the parsed text");
        let again = Invitation::parse(&printed).expect("printed invitation must parse");
        assert_eq!(again, inv);
        let _ = inv.verify(0);
        let _ = inv.verify(u64::MAX);
        let _ = inv.http_urls().count();
    }
    if let Ok(inv) = Invitation::from_bytes(data) {
        assert_eq!(inv.to_bytes(), data, "to_bytes must reproduce the parsed bytes");
        let _ = inv.inviter();
    }
});
