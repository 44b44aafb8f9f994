//! Unit tests of [`super`] (address filters): both spellings, printing, refusals with their
//! hints, matching at the edges and across IPv4-mapped addresses, the set's rules.

use super::*;

fn c(s: &str) -> Cidr {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn parses_both_forms_and_prints_the_multiaddr() {
    for (text, printed) in [
        ("/ip4/10.0.0.0/ipcidr/8", "/ip4/10.0.0.0/ipcidr/8"),
        ("10.0.0.0/8", "/ip4/10.0.0.0/ipcidr/8"),
        ("/ip6/fc00::/ipcidr/7", "/ip6/fc00::/ipcidr/7"),
        ("fc00::/7", "/ip6/fc00::/ipcidr/7"),
        ("FC00:0::/7", "/ip6/fc00::/ipcidr/7"),
        ("0.0.0.0/0", "/ip4/0.0.0.0/ipcidr/0"),
        ("::/0", "/ip6/::/ipcidr/0"),
        ("192.168.1.7/32", "/ip4/192.168.1.7/ipcidr/32"),
        ("/ip6/::1/ipcidr/128", "/ip6/::1/ipcidr/128"),
        ("169.254.0.0/016", "/ip4/169.254.0.0/ipcidr/16"),
    ] {
        let cidr = c(text);
        assert_eq!(cidr.to_string(), printed, "{text}");
        assert_eq!(c(printed), cidr, "the printed form parses back");
    }
    let cidr = c("10.0.0.0/8");
    assert_eq!(cidr.network(), ip("10.0.0.0"));
    assert_eq!(cidr.prefix_len(), 8);
}

#[test]
fn refuses_bad_forms() {
    for bad in [
        "",
        "10.0.0.0",
        "/ip4/10.0.0.0",
        "/ip4/10.0.0.0/ipcidr",
        "/ip4/10.0.0.0/ipcidr/8/",
        "/ip4/10.0.0.0/tcp/8",
        "/dns4/example.com/ipcidr/8",
        "ip4/10.0.0.0/ipcidr/8",
    ] {
        assert!(bad.parse::<Cidr>().is_err(), "{bad:?}");
    }
    assert!(matches!(
        "/ip4/10.0.0.0/tcp/8".parse::<Cidr>(),
        Err(CidrError::UnknownForm { .. })
    ));
    assert!(matches!(
        "".parse::<Cidr>(),
        Err(CidrError::BadLength { len: 0 })
    ));
    let long = format!("10.0.0.0/{}", "8".repeat(MAX_TEXT_LEN));
    assert!(matches!(
        long.parse::<Cidr>(),
        Err(CidrError::BadLength { .. })
    ));
    // The family named must match the address.
    for bad in [
        "/ip4/fc00::/ipcidr/7",
        "/ip6/10.0.0.0/ipcidr/8",
        "10.0.0/8",
        "10.0.0.00/8",
    ] {
        assert!(
            matches!(bad.parse::<Cidr>(), Err(CidrError::BadAddress { .. })),
            "{bad}"
        );
    }
    for (bad, max) in [
        ("10.0.0.0/33", 32),
        ("fc00::/129", 128),
        ("10.0.0.0/-1", 32),
        ("10.0.0.0/+8", 32),
        ("10.0.0.0/", 32),
        ("10.0.0.0/0008", 32),
        ("10.0.0.0/ 8", 32),
    ] {
        assert_eq!(
            bad.parse::<Cidr>()
                .map_err(|e| matches!(e, CidrError::BadPrefix { max: m, .. } if m == max)),
            Err(true),
            "{bad}"
        );
    }
    let e = "10.0.0.0/33".parse::<Cidr>().unwrap_err().to_string();
    assert!(e.contains("0 to 32"), "{e}");
}

#[test]
fn host_bits_are_refused_with_the_network_meant() {
    let e = "10.1.0.0/8".parse::<Cidr>().unwrap_err();
    assert_eq!(
        e,
        CidrError::HostBitsSet {
            given: "/ip4/10.1.0.0/ipcidr/8".into(),
            network: "/ip4/10.0.0.0/ipcidr/8".into(),
        }
    );
    assert!(
        e.to_string()
            .contains("did you mean /ip4/10.0.0.0/ipcidr/8?")
    );
    let e = "/ip6/fd12::1/ipcidr/7".parse::<Cidr>().unwrap_err();
    assert!(e.to_string().contains("/ip6/fc00::/ipcidr/7"), "{e}");
    assert!(Cidr::new(ip("1.2.3.4"), 0).is_err());
    assert!(Cidr::new(ip("1.2.3.4"), 33).is_err());
    assert!(Cidr::new(ip("::"), 128).is_ok());
}

#[test]
fn contains_at_the_edges() {
    let ten = c("10.0.0.0/8");
    assert!(ten.contains(ip("10.0.0.0")));
    assert!(ten.contains(ip("10.255.255.255")));
    assert!(!ten.contains(ip("11.0.0.0")));
    assert!(!ten.contains(ip("9.255.255.255")));
    let host = c("192.168.1.7/32");
    assert!(host.contains(ip("192.168.1.7")));
    assert!(!host.contains(ip("192.168.1.8")));
    let all4 = c("0.0.0.0/0");
    assert!(all4.contains(ip("255.255.255.255")));
    assert!(
        !all4.contains(ip("2001:db8::1")),
        "an IPv6 address is not in IPv4"
    );
    let ula = c("fc00::/7");
    assert!(ula.contains(ip("fc00::")));
    assert!(ula.contains(ip("fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")));
    assert!(!ula.contains(ip("fe00::")));
    assert!(!ula.contains(ip("10.0.0.1")));
    assert!(c("::/0").contains(ip("2001:db8::1")));
}

#[test]
fn mapped_addresses_match_ipv4_filters() {
    let ten = c("10.0.0.0/8");
    assert!(ten.contains(ip("::ffff:10.1.2.3")));
    assert!(!ten.contains(ip("::ffff:11.1.2.3")));
    // An IPv4-compatible (not mapped) address is IPv6 proper.
    assert!(!ten.contains(ip("::10.1.2.3")));
    let mapped = c("/ip6/::ffff:0:0/ipcidr/96");
    assert!(mapped.contains(ip("1.2.3.4")));
    assert!(mapped.contains(ip("::ffff:1.2.3.4")));
    assert!(!mapped.contains(ip("2001:db8::1")));
    assert!(c("/ip6/::ffff:10.0.0.0/ipcidr/104").contains(ip("10.9.9.9")));
}

#[test]
fn filters_add_remove_deny_list() {
    let mut f = Filters::new();
    assert!(f.is_empty());
    assert!(!f.denies(ip("10.0.0.1")));
    assert_eq!(f.add(c("10.0.0.0/8")), Ok(true));
    assert_eq!(f.add(c("fc00::/7")), Ok(true));
    assert_eq!(f.add(c("/ip4/10.0.0.0/ipcidr/8")), Ok(false), "dedup");
    assert_eq!(f.len(), 2);
    assert_eq!(f.list(), &[c("10.0.0.0/8"), c("fc00::/7")]);
    assert!(f.denies(ip("10.0.0.1")));
    assert!(f.denies(ip("::ffff:10.0.0.1")));
    assert!(f.denies(ip("fd00::1")));
    assert!(!f.denies(ip("8.8.8.8")));
    f.remove(&c("10.0.0.0/8")).unwrap();
    assert!(!f.denies(ip("10.0.0.1")));
    let e = f.remove(&c("10.0.0.0/8")).unwrap_err();
    assert_eq!(
        e,
        CidrError::NotFound {
            filter: "/ip4/10.0.0.0/ipcidr/8".into()
        }
    );
    assert_eq!(f.list(), &[c("fc00::/7")]);
}

#[test]
fn filters_are_bounded() {
    let mut f = Filters::new();
    for i in 0..MAX_FILTERS {
        let net = Cidr::new(
            IpAddr::V4(Ipv4Addr::new(10, (i / 256) as u8, i as u8, 0)),
            24,
        );
        assert_eq!(f.add(net.unwrap()), Ok(true));
    }
    assert_eq!(f.len(), MAX_FILTERS);
    assert_eq!(f.add(c("192.168.0.0/16")), Err(CidrError::Full));
    // A duplicate is still no error at the limit.
    assert_eq!(f.add(c("10.0.0.0/24")), Ok(false));
    assert!(CidrError::Full.to_string().contains("256"));
}

#[test]
fn lan_addresses_are_kubos_private_ones() {
    for lan in [
        "127.0.0.1",
        "127.255.255.254",
        "10.0.0.1",
        "10.255.255.255",
        "100.64.0.1",
        "100.127.255.255",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.20",
        "169.254.10.10",
        "::ffff:192.168.1.20",
        "::1",
        "fd00::1",
        "fc00::1",
        "fe80::1",
    ] {
        assert!(is_lan(ip(lan)), "{lan} is on a LAN");
    }
    for public in [
        "8.8.8.8",
        "1.1.1.1",
        "100.63.255.255",
        "100.128.0.0",
        "172.15.255.255",
        "172.32.0.0",
        "192.169.0.1",
        "11.0.0.1",
        "::ffff:8.8.8.8",
        "2001:db8::1",
        "2a00:1450::1",
        "3fff::1",
        "ff02::1",
    ] {
        assert!(!is_lan(ip(public)), "{public} is not on a LAN");
    }
}
