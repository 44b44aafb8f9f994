//! A rogue libp2p peer for attack tests: a fresh identity over tcp + noise + yamux with
//! libp2p-stream, sending exactly the bytes a test chooses on our protocols (one exchange, or
//! a flood of streams at once). Used by tests/net.rs and tests/nat_attacks.rs.

use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::{Multiaddr, PeerId, StreamProtocol, noise, tcp, yamux};
use std::time::Duration;

/// Connects to `addr` (a multiaddr ending in `/p2p/...`) with a fresh identity on a runtime
/// of its own, and runs `then` with the stream control and the peer while the swarm is
/// polled.
fn with_peer<T, F>(
    addr: &str,
    then: impl FnOnce(libp2p_stream::Control, PeerId) -> F,
) -> Result<T, String>
where
    F: std::future::Future<Output = Result<T, String>>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut swarm = libp2p::SwarmBuilder::with_new_identity()
            .with_tokio()
            .with_tcp(
                tcp::Config::default(),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| e.to_string())?
            .with_behaviour(|_| libp2p_stream::Behaviour::new())
            .map_err(|e| e.to_string())?
            .build();
        let control = swarm.behaviour().new_control();
        let m: Multiaddr = addr.parse().map_err(|e| format!("{e}"))?;
        let peer = match m.iter().last() {
            Some(libp2p::multiaddr::Protocol::P2p(p)) => p,
            _ => return Err("address without /p2p".into()),
        };
        swarm.dial(m).map_err(|e| e.to_string())?;
        let poll = tokio::spawn(async move {
            loop {
                swarm.select_next_some().await;
            }
        });
        let r = then(control, peer).await;
        poll.abort();
        r
    })
}

/// Connects to `addr` with a fresh identity, opens a stream of `proto`, writes each of
/// `frames` (raw bytes: framing is the caller's), then reads the answer until the stream
/// ends or 3 s pass. Returns the answer bytes, or why the stream could not be opened.
pub fn exchange(addr: &str, proto: &'static str, frames: &[Vec<u8>]) -> Result<Vec<u8>, String> {
    with_peer(addr, |mut control, peer| async move {
        let mut s = tokio::time::timeout(
            Duration::from_secs(5),
            control.open_stream(peer, StreamProtocol::new(proto)),
        )
        .await
        .map_err(|_| "timeout opening the stream".to_string())?
        .map_err(|e| e.to_string())?;
        for f in frames {
            s.write_all(f).await.map_err(|e| e.to_string())?;
        }
        s.flush().await.map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut out)).await;
        Ok(out)
    })
}

/// Connects to `addr` with a fresh identity and opens `streams` streams of `proto` at
/// once; on each writes `frame` and reads the answer until it ends or 3 s pass. Returns
/// the answers (empty for a stream dropped or refused).
pub fn flood(
    addr: &str,
    proto: &'static str,
    frame: &[u8],
    streams: usize,
) -> Result<Vec<Vec<u8>>, String> {
    with_peer(addr, |control, peer| async move {
        let one = |mut control: libp2p_stream::Control| async move {
            let Ok(Ok(mut s)) = tokio::time::timeout(
                Duration::from_secs(5),
                control.open_stream(peer, StreamProtocol::new(proto)),
            )
            .await
            else {
                return Vec::new();
            };
            if s.write_all(frame).await.is_err() || s.flush().await.is_err() {
                return Vec::new();
            }
            let mut out = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut out)).await;
            out
        };
        Ok(futures::future::join_all((0..streams).map(|_| one(control.clone()))).await)
    })
}

/// One varint-framed message.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    let mut n = body.len() as u64;
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            v.push(b);
            break;
        }
        v.push(b | 0x80);
    }
    v.extend_from_slice(body);
    v
}
