//! Lever calls routed across real hosts: `tests/lever_netns.sh` runs three nodes in network
//! namespaces on a bridge (the app on B and C only), checks that calls to A are answered by
//! both, pulls C's cable during a stream through A, and checks that the stream ends with a
//! clear error and that the next calls go to B. See the script's header.
//!
//! Needs root and `ip netns`. Without them the test fails, saying why, unless
//! `LEITHER_SKIP_NETNS=1` is set, which turns it into a skip (as tests/netns.rs).
#![cfg(all(feature = "lever", feature = "net"))]

mod common;

#[test]
fn lever_calls_across_namespaces_survive_a_provider_cut_off() {
    common::netns::run_script(
        "lever_netns.sh",
        &[],
        "Lever calls routed across namespaces survive a provider cut off",
    );
}
