//! What Lever reads from outside never panics: `lever.json` (what it accepts has its bounds),
//! Lever URLs and HTTP paths (an accepted target has a valid service and method, and a
//! resource within its bound), the environment from `?forceenv=`/`Host`, percent-decoding.
#![no_main]
use leither::lever::manifest::{Manifest, service_name_ok};
use leither::lever::settings::{MAX_VARS, MAX_VARS_BYTES};
use leither::lever::target::{MAX_RESOURCE, Target, env_ok, http_env, method_ok, percent_decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Manifest::parse(data) {
        assert!(service_name_ok(&m.name));
        assert!((1..=1024).contains(&m.ram_mb));
        assert!(m.cron.len() <= 64);
        if let Some(env) = &m.env {
            assert!(env.iter().count() <= MAX_VARS);
            assert!(env.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() <= MAX_VARS_BYTES);
        }
        assert!(m.cron.iter().all(|c| c.every_ms >= 1000));
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for t in [Target::parse_url(text), Target::parse_path(text)] {
        if let Ok(t) = t {
            assert!(service_name_ok(&t.service) && method_ok(&t.method));
            assert!(
                t.resource
                    .as_ref()
                    .is_none_or(|r| !r.is_empty() && r.len() <= MAX_RESOURCE)
            );
            assert!(t.env.as_ref().is_none_or(|e| env_ok(e)));
        }
    }
    let mut mid = text.len() / 2;
    while !text.is_char_boundary(mid) {
        mid -= 1;
    }
    let (a, b) = text.split_at(mid);
    if let Ok(e) = http_env(Some(a).filter(|s| !s.is_empty()), Some(b)) {
        assert!(env_ok(&e));
    }
    let _ = percent_decode(text);
});
