//! Fuzz target for the pass (PPT) parser: arbitrary bytes, as text when they are UTF-8, into
//! `Pass::parse` and as binary into `Pass::from_bytes`. Parsing must never panic, and whatever
//! parses must print back to exactly the text it came from (the format has one spelling per
//! pass) and parse again to an equal pass. Certificates (`Cert::parse`, lenient) must not
//! panic either, nor their checks.

#![no_main]

use leither::pki::ppt::Pass;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(pass) = Pass::parse(text)
    {
        let printed = pass.to_text();
        assert_eq!(
            printed,
            text.trim_ascii(),
            "to_text must reproduce the parsed text"
        );
        let again = Pass::parse(&printed).expect("printed pass must parse");
        assert_eq!(again, pass);
        // Verification must not panic either, at any time.
        let _ = pass.verify(0);
        let _ = pass.verify(u64::MAX);
    }
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(cert) = leither::pki::Cert::parse(text)
    {
        let _ = cert.verify_with(&cert.public_key);
        let _ = cert.public().to_text();
    }
    if let Ok(pass) = Pass::from_bytes(data) {
        assert_eq!(
            pass.to_bytes(),
            data,
            "to_bytes must reproduce the parsed bytes"
        );
    }
});
