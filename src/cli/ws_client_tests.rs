//! Tests of the WebSocket client on a socket: a whole exchange with a scripted server on
//! 127.0.0.1 (a ping answered, messages both ways, the close) and a refused upgrade.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use super::*;
use crate::cli::ws_proto::accept_for;

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
