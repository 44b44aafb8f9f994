//! Tests of the WebSocket client: RFC 6455's own examples, every refusal of a bad server
//! frame, and a whole exchange with a scripted server on 127.0.0.1.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use super::*;

#[test]
fn rfc_examples() {
    // RFC 6455 section 1.3.
    assert_eq!(
        accept_for("dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    // Section 5.7: a masked "Hello" from a client.
    assert_eq!(
        encode_frame(op::TEXT, b"Hello", [0x37, 0xfa, 0x21, 0x3d]),
        [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
        ]
    );
    // An unmasked "Hello" from a server.
    let (f, used) = parse_frame(&[0x81, 0x05, b'H', b'e', b'l', b'l', b'o'], 100)
        .unwrap()
        .unwrap();
    assert_eq!(used, 7);
    assert_eq!(
        f,
        RawFrame {
            fin: true,
            opcode: op::TEXT,
            payload: b"Hello".to_vec()
        }
    );
    // A fragmented "Hello", with a ping between the fragments.
    let mut a = Assembler::new(100);
    let frames: [&[u8]; 3] = [
        &[0x01, 0x03, b'H', b'e', b'l'],
        &[0x89, 0x02, b'h', b'i'],
        &[0x80, 0x02, b'l', b'o'],
    ];
    let mut out = Vec::new();
    for f in frames {
        let (frame, _) = parse_frame(f, 100).unwrap().unwrap();
        if let Some(m) = a.push(frame).unwrap() {
            out.push(m);
        }
    }
    assert_eq!(
        out,
        [Message::Ping(b"hi".to_vec()), Message::Text("Hello".into())]
    );
}

#[test]
fn lengths_and_partial_input() {
    for n in [0usize, 125, 126, 65535, 65536, 70000] {
        let payload = vec![7u8; n];
        let masked = encode_frame(op::BINARY, &payload, [1, 2, 3, 4]);
        // Turn the client frame into a server frame: drop the mask bit and key, unmask.
        let head = masked.len() - n - 4;
        let mut server = masked[..head].to_vec();
        server[1] &= 0x7f;
        server.extend_from_slice(&payload);
        for cut in [0, 1, head.min(server.len()) - 1, server.len() - 1] {
            assert!(parse_frame(&server[..cut], 1 << 20).unwrap().is_none());
        }
        let (f, used) = parse_frame(&server, 1 << 20).unwrap().unwrap();
        assert_eq!((f.payload.len(), used), (n, server.len()));
    }
}

#[test]
fn bad_server_frames_are_refused() {
    let cases: [(&[u8], &str); 6] = [
        (&[0x81, 0x85, 0, 0, 0, 0, 1, 2, 3, 4, 5], "masked"),
        (&[0xc1, 0x00], "reserved"),
        (&[0x83, 0x00], "opcode"),
        (&[0x09, 0x00], "control"),
        (&[0x89, 0x7e, 0x00, 0x7e], "control"),
        (
            &[0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            "larger",
        ),
    ];
    for (bytes, what) in cases {
        let e = parse_frame(bytes, 1 << 20).unwrap_err().to_string();
        assert!(e.contains(what), "{bytes:?}: {e}");
    }
    // A message larger than the limit, across fragments.
    let mut a = Assembler::new(4);
    let frag = |fin, opcode: u8, p: &[u8]| RawFrame {
        fin,
        opcode,
        payload: p.to_vec(),
    };
    assert!(a.push(frag(false, op::TEXT, b"abc")).unwrap().is_none());
    assert!(matches!(
        a.push(frag(true, op::CONT, b"de")),
        Err(WsError::TooLarge(5))
    ));
    let mut a = Assembler::new(100);
    assert!(a.push(frag(true, op::CONT, b"x")).is_err());
    assert!(a.push(frag(true, op::TEXT, &[0xff, 0xfe])).is_err());
    assert!(a.push(frag(false, op::TEXT, b"a")).unwrap().is_none());
    assert!(a.push(frag(true, op::BINARY, b"b")).is_err());
    assert!(a.push(frag(true, op::CLOSE, &[3])).is_err());
    assert_eq!(
        Assembler::new(10)
            .push(frag(true, op::CLOSE, &[0x03, 0xe8, b'o', b'k']))
            .unwrap(),
        Some(Message::Close(Some(1000), "ok".into()))
    );
}

#[test]
fn handshakes() {
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    let good = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
    assert!(check_handshake(good, key).is_ok());
    let wrong = good.replace("s3pP", "AAAA");
    assert!(matches!(
        check_handshake(&wrong, key),
        Err((None, WsError::Handshake(_)))
    ));
    assert!(matches!(
        check_handshake("HTTP/1.1 404 Not Found\r\nContent-Length: 2", key),
        Err((Some(404), _))
    ));
    assert!(check_handshake("SSH-2.0-OpenSSH", key).is_err());
    let r = handshake_request(
        "h:1",
        "/s/m?x=1",
        key,
        &["Authorization: Bearer abc".into()],
    );
    assert!(
        r.starts_with("GET /s/m?x=1 HTTP/1.1\r\nHost: h:1\r\n"),
        "{r}"
    );
    assert!(
        r.contains("Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"),
        "{r}"
    );
    assert!(r.ends_with("Authorization: Bearer abc\r\n\r\n"), "{r}");
    assert_eq!(base64_std(b""), "");
    assert_eq!(base64_std(b"f"), "Zg==");
    assert_eq!(base64_std(b"fo"), "Zm8=");
    assert_eq!(base64_std(b"foo"), "Zm9v");
    assert_eq!(base64_std(&[0xfb, 0xff]), "+/8=");
}

/// Reads one client frame from `s` and unmasks it.
fn read_client_frame(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut h = [0u8; 2];
    s.read_exact(&mut h).unwrap();
    assert!(h[1] & 0x80 != 0, "client frames are masked");
    let len = match h[1] & 0x7f {
        126 => {
            let mut b = [0u8; 2];
            s.read_exact(&mut b).unwrap();
            u16::from_be_bytes(b) as usize
        }
        127 => {
            let mut b = [0u8; 8];
            s.read_exact(&mut b).unwrap();
            u64::from_be_bytes(b) as usize
        }
        n => n as usize,
    };
    let mut mask = [0u8; 4];
    s.read_exact(&mut mask).unwrap();
    let mut p = vec![0u8; len];
    s.read_exact(&mut p).unwrap();
    for (i, b) in p.iter_mut().enumerate() {
        *b ^= mask[i % 4];
    }
    (h[0] & 0x0f, p)
}

#[test]
fn a_whole_exchange() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut b).unwrap();
            head.push(b[0]);
        }
        let head = String::from_utf8(head).unwrap();
        assert!(head.contains("Authorization: Bearer sid1\r\n"), "{head}");
        let key = head
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .unwrap();
        write!(
            s,
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            accept_for(key)
        )
        .unwrap();
        // A text message in the same write as a ping: the client must answer the ping.
        s.write_all(&[0x81, 0x02, b'h', b'i', 0x89, 0x01, b'p'])
            .unwrap();
        assert_eq!(read_client_frame(&mut s), (op::PONG, b"p".to_vec()));
        assert_eq!(read_client_frame(&mut s), (op::TEXT, b"\"up\"".to_vec()));
        assert_eq!(read_client_frame(&mut s), (op::BINARY, Vec::new()));
        s.write_all(&[0x88, 0x02, 0x03, 0xe8]).unwrap();
        assert_eq!(read_client_frame(&mut s).0, op::CLOSE);
    });
    let socket = TcpStream::connect(addr).unwrap();
    let mut ws = WsStream::open(
        socket,
        "x",
        "/svc/m",
        &["Authorization: Bearer sid1".into()],
        Duration::from_millis(50),
    )
    .unwrap();
    let w = ws.writer();
    let mut got = Vec::new();
    loop {
        match ws.poll_message().unwrap() {
            None => continue,
            Some(Message::Ping(p)) => {
                w.send(op::PONG, &p).unwrap();
                w.send(op::TEXT, b"\"up\"").unwrap();
                w.send(op::BINARY, b"").unwrap();
            }
            Some(Message::Close(code, _)) => {
                w.close(code.unwrap_or(1000)).unwrap();
                break;
            }
            Some(m) => got.push(m),
        }
    }
    assert_eq!(got, [Message::Text("hi".into())]);
    server.join().unwrap();
}

#[test]
fn a_refused_upgrade_reports_the_json_error() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut b = [0u8; 4096];
        let _ = s.read(&mut b).unwrap();
        let body = "{\"error\":\"no service hello in dev.lever\"}";
        write!(
            s,
            "HTTP/1.1 404 Not Found\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
    });
    let socket = TcpStream::connect(addr).unwrap();
    let e = WsStream::open(socket, "x", "/", &[], Duration::from_millis(50))
        .err()
        .unwrap();
    assert_eq!(e.to_string(), "no service hello in dev.lever (HTTP 404)");
    server.join().unwrap();
}
