//! Tests of `nat_pmp`: the gateway read from a route table, and the client against fake
//! routers on loopback: PCP, the NAT-PMP fallback, refusals, silence, and the attacks (a
//! spoofed answer from another port, a flood of stray datagrams).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::net::UdpSocket;

use super::*;

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[test]
fn the_default_gateway_is_read_from_proc_net_route() {
    let table = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
        eth0\t0001A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
        wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n\
        eth0\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n";
    assert_eq!(
        default_gateway(table),
        Some(Ipv4Addr::new(192, 168, 2, 1)),
        "the lowest metric wins"
    );
    assert_eq!(default_gateway("Iface\n"), None);
    assert_eq!(
        default_gateway("x\neth0\t00000000\tZZ\t0003\t0\t0\t0\n"),
        None
    );
    assert_eq!(default_gateway(""), None);
}

/// A fake router: answers each request it receives with what `answer` makes of it.
async fn router(answer: impl Fn(&[u8]) -> Option<Vec<u8>> + 'static) -> SocketAddr {
    let sock = UdpSocket::bind((LO, 0)).await.unwrap();
    let addr = sock.local_addr().unwrap();
    tokio::task::spawn_local(async move {
        let mut buf = [0u8; 2048];
        while let Ok((n, from)) = sock.recv_from(&mut buf).await {
            if let Some(a) = answer(&buf[..n]) {
                let _ = sock.send_to(&a, from).await;
            }
        }
    });
    addr
}

fn pcp_answer(req: &[u8], result: u8, ip: [u8; 4]) -> Vec<u8> {
    let mut b = vec![2, 0x81, 0, result];
    b.extend_from_slice(&req[4..8]);
    b.extend_from_slice(&1234u32.to_be_bytes());
    b.extend_from_slice(&[0; 12]);
    b.extend_from_slice(&req[24..44]);
    b.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);
    b.extend_from_slice(&ip);
    b
}

fn pmp_only(req: &[u8]) -> Option<Vec<u8>> {
    Some(match (req[0], req[1]) {
        (0, 0) => vec![0, 128, 0, 0, 0, 0, 0, 5, 11, 77, 0, 11],
        (0, 2) => {
            let mut b = vec![0, 130, 0, 0, 0, 0, 0, 5];
            b.extend_from_slice(&req[4..6]);
            b.extend_from_slice(&req[6..8]);
            b.extend_from_slice(&req[8..12]);
            b
        }
        // Any other version: RFC 6886's "unsupported version".
        (_, op) => vec![0, 128 + op, 0, 1, 0, 0, 0, 5],
    })
}

async fn local<F: std::future::Future>(f: F) -> F::Output {
    tokio::task::LocalSet::new().run_until(f).await
}

#[tokio::test]
async fn a_pcp_router_maps_the_port_and_keeps_the_nonce_for_renewals_and_deletion() {
    local(async {
        let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let s = seen.clone();
        let gw = router(move |req| {
            s.borrow_mut().push(req.to_vec());
            (req[0] == 2).then(|| pcp_answer(req, 0, [11, 77, 0, 11]))
        })
        .await;
        let mut c = Client::new(gw, LO).await.unwrap();
        let m = c.map(4001, 3600).await.unwrap();
        assert_eq!(m.proto, Proto::Pcp);
        assert_eq!(
            (m.ip, m.external, m.lifetime),
            (Ipv4Addr::new(11, 77, 0, 11), 4001, 3600)
        );
        c.map(4001, 3600).await.unwrap();
        c.unmap(4001).await.unwrap();
        let seen = seen.borrow();
        assert_eq!(seen.len(), 3);
        assert_eq!(
            seen[0][24..36],
            seen[1][24..36],
            "a renewal keeps the nonce"
        );
        assert_eq!(seen[0][24..36], seen[2][24..36], "so does the deletion");
        assert_eq!(&seen[2][4..8], &[0, 0, 0, 0], "a deletion asks lifetime 0");
        assert_eq!(
            &seen[0][8..24],
            &Ipv4Addr::LOCALHOST.to_ipv6_mapped().octets()
        );
    })
    .await;
}

#[tokio::test]
async fn a_nat_pmp_only_router_is_asked_in_nat_pmp_after_its_version_refusal() {
    local(async {
        let gw = router(pmp_only).await;
        let mut c = Client::new(gw, LO).await.unwrap();
        let m = c.map(4001, 3600).await.unwrap();
        assert_eq!(m.proto, Proto::NatPmp);
        assert_eq!((m.ip, m.external), (Ipv4Addr::new(11, 77, 0, 11), 4001));
    })
    .await;
}

#[tokio::test]
async fn a_refusal_says_the_rule_and_what_to_do() {
    local(async {
        let gw = router(|req| Some(pcp_answer(req, 2, [0; 4]))).await;
        let mut c = Client::new(gw, LO).await.unwrap();
        let e = c.map(4001, 3600).await.unwrap_err();
        assert!(matches!(e, PmpError::Refused { code: 2, .. }), "{e:?}");
        let text = e.to_string();
        assert!(
            text.contains("not authorized") && text.contains("enable NAT-PMP"),
            "{text}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_silent_router_is_given_up_after_the_bounded_tries() {
    local(async {
        let gw = router(|_| None).await;
        let mut c = Client::new(gw, LO)
            .await
            .unwrap()
            .with_first_wait(Duration::from_millis(20));
        let t = std::time::Instant::now();
        let e = c.map(4001, 3600).await.unwrap_err();
        assert_eq!(e, PmpError::NoAnswer(gw));
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "20 + 40 + 80 ms, not {:?}",
            t.elapsed()
        );
    })
    .await;
}

#[tokio::test]
async fn a_closed_port_is_no_router_at_once() {
    local(async {
        // A port nobody listens on: the kernel's ICMP "port unreachable" ends it early.
        let gw = UdpSocket::bind((LO, 0))
            .await
            .unwrap()
            .local_addr()
            .unwrap();
        let mut c = Client::new(gw, LO).await.unwrap();
        let t = std::time::Instant::now();
        assert_eq!(c.map(4001, 3600).await.unwrap_err(), PmpError::NoAnswer(gw));
        assert!(t.elapsed() < Duration::from_millis(1500));
    })
    .await;
}

/// Attack: a host on the LAN that saw our request answers it first, from its own port, with
/// its own address as the "external" one. The answer is not taken; the router's is.
#[tokio::test]
async fn a_spoofed_answer_from_another_address_is_ignored() {
    local(async {
        let spoofer = std::rc::Rc::new(UdpSocket::bind((LO, 0)).await.unwrap());
        let sp = spoofer.clone();
        let gw_sock = UdpSocket::bind((LO, 0)).await.unwrap();
        let gw = gw_sock.local_addr().unwrap();
        tokio::task::spawn_local(async move {
            let mut buf = [0u8; 2048];
            while let Ok((n, from)) = gw_sock.recv_from(&mut buf).await {
                let req = buf[..n].to_vec();
                // The forged answer arrives first, with the right nonce.
                let _ = sp.send_to(&pcp_answer(&req, 0, [6, 6, 6, 6]), from).await;
                tokio::time::sleep(Duration::from_millis(30)).await;
                let _ = gw_sock
                    .send_to(&pcp_answer(&req, 0, [11, 77, 0, 11]), from)
                    .await;
            }
        });
        let mut c = Client::new(gw, LO).await.unwrap();
        let m = c.map(4001, 3600).await.unwrap();
        assert_eq!(
            m.ip,
            Ipv4Addr::new(11, 77, 0, 11),
            "the spoofed 6.6.6.6 was taken"
        );
        drop(spoofer);
    })
    .await;
}

/// Attack: the router's port (or a host forging its address) floods us with datagrams that
/// are not the answer: the exchange ends after a bounded count, not at the deadline.
#[tokio::test]
async fn a_flood_of_stray_datagrams_ends_the_exchange() {
    local(async {
        let gw_sock = UdpSocket::bind((LO, 0)).await.unwrap();
        let gw = gw_sock.local_addr().unwrap();
        tokio::task::spawn_local(async move {
            let mut buf = [0u8; 2048];
            if let Ok((_, from)) = gw_sock.recv_from(&mut buf).await {
                for i in 0..(MAX_STRAY * 2) {
                    // Junk, and well-formed answers with another nonce.
                    let d = if i % 2 == 0 {
                        vec![0xff; 7]
                    } else {
                        let mut fake = vec![0u8; 60];
                        fake[..4].copy_from_slice(&[2, 0x81, 0, 0]);
                        fake
                    };
                    let _ = gw_sock.send_to(&d, from).await;
                }
            }
        });
        let mut c = Client::new(gw, LO)
            .await
            .unwrap()
            .with_first_wait(Duration::from_secs(5));
        let t = std::time::Instant::now();
        assert_eq!(c.map(4001, 3600).await.unwrap_err(), PmpError::Stray(gw));
        assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
    })
    .await;
}
