//! Sync across real hosts: `tests/netns.sh` runs three nodes in network namespaces on a
//! bridge, cuts one of the two providers off in the middle of a sync, and checks that the
//! sync completes from the other and that the file arrives whole. See the script's header.
//!
//! Needs root and `ip netns` (CI has both). Without them the test fails, saying why, unless
//! `LEITHER_SKIP_NETNS=1` is set, which turns it into a skip.

mod common;

#[test]
fn netns_sync_survives_a_provider_cut_off() {
    common::netns::run_script("netns.sh", &[], "netns sync survives a provider cut off");
}
