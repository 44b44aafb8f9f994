//! Answers to the netlink address dump (`if_watch::rtaddr`, crates/if-watch) from untrusted
//! bytes, in both byte orders: any split of the bytes into datagrams parses or fails cleanly,
//! never panics, keeps at most `MAX_ADDRS` addresses, each a well-formed prefix, and a dump
//! refused once stays refused or finished.
#![no_main]
use if_watch::rtaddr::{Dump, MAX_ADDRS, Order};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // First byte: byte order and where to cut the rest into two datagrams; next four: the
    // request number the dump expects.
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let Some((seq, rest)) = rest.split_first_chunk::<4>() else {
        return;
    };
    let order = if ctl & 1 == 0 { Order::Little } else { Order::Big };
    let cut = (usize::from(ctl >> 1) * 4).min(rest.len());
    let mut d = Dump::new(u32::from_le_bytes(*seq), order);
    for g in [&rest[..cut], &rest[cut..]] {
        match d.feed(g) {
            Ok(true) => {
                assert!(d.is_done());
                assert_eq!(d.feed(g), Ok(true));
                break;
            }
            Ok(false) => {}
            Err(_) => break,
        }
    }
    assert!(d.addrs().len() <= MAX_ADDRS);
    for a in d.addrs() {
        assert!(a.net.prefix_len() <= a.net.max_prefix_len());
    }
});
