//! NAT-PMP and PCP answers (`net::nat_pmp_wire`) from untrusted bytes, as any host on the LAN
//! can send them to the node's port: they decode or fail cleanly, never panic, and a decoded
//! answer matched against our requests never panics either.
#![no_main]
use leither::net::nat_pmp_wire::{Request, decode, matches, result_text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = decode(data) {
        assert!(data.len() <= leither::net::nat_pmp_wire::MAX_MESSAGE);
        let _ = a.wants_pmp();
        let _ = result_text(a.proto, a.result);
        for req in [
            Request::PmpExternal,
            Request::PmpMap {
                internal: 4001,
                external: 4001,
                lifetime: 3600,
            },
            Request::PcpMap {
                nonce: [7; 12],
                client: std::net::Ipv4Addr::new(192, 168, 1, 2),
                internal: 4001,
                external: 4001,
                lifetime: 3600,
            },
        ] {
            let _ = matches(&req, &a);
        }
    }
});
