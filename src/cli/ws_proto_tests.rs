//! Tests of the sans-io WebSocket core: RFC 6455's own examples, frame lengths and partial
//! input, and every refusal of a bad server frame or handshake.

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
