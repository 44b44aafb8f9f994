//! Mimei records from untrusted bytes: the version record, header and rights table parsers
//! never panic, and whatever parses has one encoding (`to_bytes` gives back the input) and
//! parses again to an equal value. Verification must not panic either, whatever was parsed.
//! The same bytes, as text, go through the `MID[:VER][/path]` parsers: whatever parses prints a
//! canonical text that parses to the same value, and no component can leave the Mimei.
#![no_main]
use leither::mimei::names::MimeiPath;
use leither::mimei::record::{MimeiHeader, VersionRecord};
use leither::mimei::rights::Rights;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let header = MimeiHeader::from_bytes(data).ok();
    if let Some(h) = &header {
        assert_eq!(
            h.to_bytes(),
            data,
            "a parsed header re-encodes to its input"
        );
        assert_eq!(
            MimeiHeader::from_bytes(&h.to_bytes()).ok().as_ref(),
            Some(h)
        );
        let _ = h.verify();
    }
    if let Ok(rec) = VersionRecord::from_bytes(data) {
        assert_eq!(
            rec.to_bytes(),
            data,
            "a parsed version record re-encodes to its input"
        );
        assert!(rec.version() >= 1 && rec.prev_version() < rec.version());
        assert_eq!(
            VersionRecord::from_bytes(&rec.to_bytes()).ok(),
            Some(rec.clone())
        );
        // Against a table naming the signer's ID as author, and against an empty one.
        let _ = rec.verify(&Rights::new(*rec.signer()));
        let _ = rec.verify(&Rights::new(*rec.mid()));
    }
    if let Ok(rights) = Rights::from_bytes(data) {
        assert_eq!(
            rights.to_bytes(),
            data,
            "a parsed rights table re-encodes to its input"
        );
        let _ = rights.check(None, leither::mimei::rights::Right::READ);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        for parsed in [MimeiPath::parse(text), MimeiPath::parse_url(text)] {
            if let Ok(p) = parsed {
                for c in &p.path {
                    assert!(!c.is_empty() && c != "." && c != "..");
                    assert!(!c.contains('/') && !c.contains('\\'));
                }
                let canonical = p.to_string();
                assert_eq!(MimeiPath::parse(&canonical).ok(), Some(p));
            }
        }
    }
});
