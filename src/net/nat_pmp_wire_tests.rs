//! Tests of `nat_pmp_wire`: requests byte for byte as RFC 6886 and RFC 6887 lay them out,
//! answers decoded, matched to their request, and bad datagrams refused without a panic.

use super::*;

const NONCE: [u8; 12] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

fn pcp_answer(result: u8, nonce: [u8; 12], internal: u16, external: u16, ip: [u8; 4]) -> Vec<u8> {
    let mut b = vec![2, 0x81, 0, result];
    b.extend_from_slice(&3600u32.to_be_bytes());
    b.extend_from_slice(&77u32.to_be_bytes());
    b.extend_from_slice(&[0; 12]);
    b.extend_from_slice(&nonce);
    b.extend_from_slice(&[6, 0, 0, 0]);
    b.extend_from_slice(&internal.to_be_bytes());
    b.extend_from_slice(&external.to_be_bytes());
    b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
    b.extend_from_slice(&ip);
    b
}

#[test]
fn requests_are_laid_out_as_the_rfcs_say() {
    assert_eq!(Request::PmpExternal.encode(), vec![0, 0]);
    let m = Request::PmpMap {
        internal: 4001,
        external: 4001,
        lifetime: 3600,
    };
    assert_eq!(
        m.encode(),
        vec![0, 2, 0, 0, 0x0f, 0xa1, 0x0f, 0xa1, 0, 0, 0x0e, 0x10]
    );
    let p = Request::PcpMap {
        nonce: NONCE,
        client: Ipv4Addr::new(192, 168, 1, 2),
        internal: 4001,
        external: 4001,
        lifetime: 3600,
    }
    .encode();
    assert_eq!(p.len(), 60);
    assert_eq!(&p[..8], &[2, 1, 0, 0, 0, 0, 0x0e, 0x10]);
    assert_eq!(
        &p[8..24],
        &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 1, 2],
        "the client's address is IPv4-mapped IPv6"
    );
    assert_eq!(&p[24..36], &NONCE);
    assert_eq!(&p[36..44], &[6, 0, 0, 0, 0x0f, 0xa1, 0x0f, 0xa1]);
    assert_eq!(
        &p[44..60],
        &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0]
    );
}

#[test]
fn nat_pmp_answers_are_decoded_and_matched() {
    let ext = decode(&[0, 128, 0, 0, 0, 0, 0, 9, 11, 77, 0, 11]).unwrap();
    assert_eq!(ext.body, Body::External(Ipv4Addr::new(11, 77, 0, 11)));
    assert_eq!(ext.epoch, 9);
    assert!(matches(&Request::PmpExternal, &ext));
    let map = decode(&[
        0, 130, 0, 0, 0, 0, 0, 9, 0x0f, 0xa1, 0x0f, 0xa2, 0, 0, 0x0e, 0x10,
    ])
    .unwrap();
    let Body::Mapped(m) = &map.body else {
        panic!("not a mapping: {map:?}")
    };
    assert_eq!((m.internal, m.external, m.lifetime), (4001, 4002, 3600));
    let req = |internal| Request::PmpMap {
        internal,
        external: internal,
        lifetime: 3600,
    };
    assert!(matches(&req(4001), &map));
    assert!(
        !matches(&req(8080), &map),
        "an answer for another port is not ours"
    );
    assert!(!matches(&Request::PmpExternal, &map));
    // A refusal: "not authorized", with what to do.
    let no = decode(&[0, 130, 0, 2, 0, 0, 0, 9, 0x0f, 0xa1, 0, 0, 0, 0, 0, 0]).unwrap();
    assert_eq!(no.result, 2);
    assert!(matches(&req(4001), &no));
    assert!(!matches(&req(8080), &no));
    let (what, todo) = result_text(Proto::NatPmp, no.result);
    assert_eq!(what, "not authorized");
    assert!(todo.contains("enable NAT-PMP"));
}

#[test]
fn pcp_answers_are_decoded_and_matched_by_nonce() {
    let a = decode(&pcp_answer(0, NONCE, 4001, 4001, [11, 77, 0, 11])).unwrap();
    assert_eq!((a.proto, a.result, a.epoch), (Proto::Pcp, 0, 77));
    let Body::Mapped(m) = &a.body else {
        panic!("not a mapping: {a:?}")
    };
    assert_eq!(m.ip, Some(Ipv4Addr::new(11, 77, 0, 11)));
    assert_eq!((m.external, m.lifetime), (4001, 3600));
    let req = |nonce| Request::PcpMap {
        nonce,
        client: Ipv4Addr::new(192, 168, 1, 2),
        internal: 4001,
        external: 4001,
        lifetime: 3600,
    };
    assert!(matches(&req(NONCE), &a));
    assert!(
        !matches(&req([9; 12]), &a),
        "an answer with another nonce is not ours (a stale or forged one)"
    );
    // Options after the body are skipped.
    let mut with_option = pcp_answer(0, NONCE, 4001, 4001, [11, 77, 0, 11]);
    with_option.extend_from_slice(&[1, 0, 0, 4, 0, 0, 0, 0]);
    assert_eq!(decode(&with_option).unwrap().body, a.body);
    // A refusal keeps the nonce.
    let no = decode(&pcp_answer(2, NONCE, 4001, 0, [0; 4])).unwrap();
    assert_eq!(no.result, 2);
    assert!(matches(&req(NONCE), &no));
    assert!(!matches(&req([9; 12]), &no));
    assert_eq!(result_text(Proto::Pcp, 12).0, "address mismatch");
}

#[test]
fn a_nat_pmp_router_answering_pcp_asks_for_the_fallback() {
    // RFC 6886 §3.5: version 0, result 1 "unsupported version", 8 bytes.
    let a = decode(&[0, 129, 0, 1, 0, 0, 1, 0]).unwrap();
    assert!(a.wants_pmp());
    let pcp = Request::PcpMap {
        nonce: NONCE,
        client: Ipv4Addr::new(10, 0, 0, 2),
        internal: 1,
        external: 1,
        lifetime: 1,
    };
    assert!(
        matches(&pcp, &a),
        "the version refusal answers our PCP request"
    );
    // PCP's UNSUPP_VERSION naming version 0 says the same.
    let mut b = vec![0u8; 24];
    b[0] = 1;
    b[1] = 0x81;
    b[3] = 1;
    let v1 = decode(&b).unwrap();
    assert!(v1.wants_pmp());
    // A PCP success does not.
    assert!(
        !decode(&pcp_answer(0, NONCE, 1, 1, [1, 2, 3, 4]))
            .unwrap()
            .wants_pmp()
    );
    // A NAT-PMP answer with another result does not answer a PCP request.
    let no = decode(&[0, 129, 0, 2, 0, 0, 1, 0]).unwrap();
    assert!(!matches(&pcp, &no));
}

#[test]
fn bad_datagrams_are_refused_without_a_panic() {
    assert!(matches!(decode(&[]), Err(WireError::Short { .. })));
    assert!(matches!(decode(&[0]), Err(WireError::Short { .. })));
    assert_eq!(
        decode(&[0, 0]),
        Err(WireError::NotAnswer),
        "our own request"
    );
    assert!(matches!(
        decode(&[0, 128, 0, 0, 0, 0, 0, 0, 1]),
        Err(WireError::Short { need: 12, .. })
    ));
    assert!(matches!(
        decode(&[0, 130, 0, 0, 0, 0, 0, 0]),
        Err(WireError::Short { need: 16, .. })
    ));
    assert_eq!(
        decode(&[0, 0x85, 0, 0, 0, 0, 0, 0]),
        Err(WireError::Opcode(5))
    );
    assert_eq!(decode(&[7, 0x80]), Err(WireError::Version(7)));
    let mut long = pcp_answer(0, NONCE, 1, 1, [1, 2, 3, 4]);
    long.push(0);
    assert_eq!(decode(&long), Err(WireError::Length(61)));
    assert_eq!(
        decode(&vec![2u8; MAX_MESSAGE + 4]),
        Err(WireError::Length(MAX_MESSAGE + 4))
    );
    // A PCP header alone claiming success on MAP has no body to read.
    let mut header = vec![0u8; 24];
    header[0] = 2;
    header[1] = 0x81;
    assert!(matches!(
        decode(&header),
        Err(WireError::Short { need: 60, .. })
    ));
    // Every prefix of good answers decodes or fails cleanly.
    let good = pcp_answer(0, NONCE, 4001, 4001, [11, 77, 0, 11]);
    for n in 0..good.len() {
        let _ = decode(&good[..n]);
    }
}

#[test]
fn a_router_restart_is_seen_in_its_epoch() {
    assert!(
        !router_restarted((1000, 50), (1600, 650)),
        "both moved 600 s"
    );
    assert!(
        router_restarted((1000, 50), (10, 650)),
        "the epoch went back"
    );
    assert!(
        router_restarted((1000, 50), (1010, 650)),
        "the router's clock moved 10 s while ours moved 600 s"
    );
    assert!(!router_restarted((1000, 50), (1001, 50)));
}
