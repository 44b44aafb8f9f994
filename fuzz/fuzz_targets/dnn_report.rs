//! DNN address reports from untrusted bytes (what `DnnReport` receives): the parser never
//! panics, whatever parses re-encodes to exactly its input, and verifying the signature and
//! each binding never panics.
#![no_main]
use leither::dnn::report::Report;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Report::from_bytes(data) {
        assert_eq!(
            r.to_bytes(),
            data,
            "a parsed report re-encodes to its input"
        );
        assert_eq!(Report::from_bytes(&r.to_bytes()).ok().as_ref(), Some(&r));
        let _ = r.verify();
        let node = r.node();
        for b in &r.domains {
            let _ = b.verify(&node);
        }
        for a in &r.addrs {
            let _ = a.url();
        }
    }
});
