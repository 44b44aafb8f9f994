//! SystemVars.json parsing never panics, and what it accepts writes back to an equal value.
#![no_main]
use leither::config::SystemVars;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("SystemVars.json");
    if let Ok(sv) = SystemVars::parse(data, path) {
        let again = SystemVars::parse(sv.to_text().as_bytes(), path).expect("own output parses");
        assert_eq!(again.service_port, sv.service_port);
        assert_eq!(again.bootstrap, sv.bootstrap);
        assert_eq!(again.other.len(), sv.other.len());
    }
});
