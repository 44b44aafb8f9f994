//! Head records and bundles from untrusted bytes: the parsers never panic, whatever parses
//! re-encodes to exactly its input and parses again to an equal value, and verification never
//! panics, whatever was parsed. The same for references records and reference list blocks
//! (bundle format 2).
#![no_main]
use leither::mimei::head::{HeadBundle, HeadRecord};
use leither::mimei::refs::{RefsRecord, list_bytes, parse_list};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = RefsRecord::from_bytes(data) {
        assert_eq!(
            r.to_bytes(),
            data,
            "a parsed references record re-encodes to its input"
        );
        assert!(r.version() >= 1 && r.count() >= 1);
    }
    if let Ok(l) = parse_list(data) {
        assert_eq!(
            list_bytes(&l),
            data,
            "a parsed reference list re-encodes to its input"
        );
    }
    if let Ok(h) = HeadRecord::from_bytes(data) {
        assert_eq!(
            h.to_bytes(),
            data,
            "a parsed head record re-encodes to its input"
        );
        assert_eq!(HeadRecord::from_bytes(&h.to_bytes()).ok(), Some(h.clone()));
        assert!(h.version() >= 1 && !h.root_cid().is_empty());
    }
    if let Ok(b) = HeadBundle::from_bytes(data) {
        assert_eq!(
            b.to_bytes(),
            data,
            "a parsed bundle re-encodes to its input"
        );
        assert_eq!(
            HeadBundle::from_bytes(&b.to_bytes()).ok().as_ref(),
            Some(&b)
        );
        let _ = b.verify(0);
        let _ = b.verify(u64::MAX);
        let _ = b
            .head
            .verify_for(&b.header, &b.version, b.head.eol().saturating_sub(1));
    }
});
