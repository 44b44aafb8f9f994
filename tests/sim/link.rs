//! The simulated link: libp2p's memory transport (`/memory/N`) with latency and loss, then
//! the node's own noise and yamux upgrades.
//!
//! The model (docs/performance.md, "Simulation"), on tokio's clock (paused in the
//! simulation, so the figures do not depend on how busy the CPU is):
//! - A dial takes one RTT before the dialer may send (TCP's handshake).
//! - Each write arrives RTT/2 after it was made.
//! - Loss on a reliable stream shows as a retransmission: a write of `n` segments of
//!   [`SEGMENT`] bytes loses one with probability `1 - (1 - loss)^n`, and then arrives one
//!   RTO (200 ms + RTT) later.
//! - Order is kept: a write never overtakes an earlier one on its connection, so a lost
//!   segment holds up what follows (head-of-line blocking).
//! - Bandwidth and congestion windows are not modelled: any amount is in flight at once.
//!
//! Bytes are counted as written, per node, noise and yamux framing included.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf};
use libp2p::Transport;
use libp2p::core::transport::MemoryTransport;
use libp2p::core::transport::memory::Channel;
use libp2p::core::upgrade::Version;
use libp2p::{identity, noise, yamux};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Bytes of one TCP segment (an Ethernet MTU less the headers).
pub const SEGMENT: usize = 1448;

/// Linux's least retransmission timeout.
pub const MIN_RTO: Duration = Duration::from_millis(200);

/// A link's latency and loss.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    /// Round-trip time.
    pub rtt: Duration,
    /// Fraction of segments lost (0.01: 1 %).
    pub loss: f64,
}

impl Link {
    fn rto(&self) -> Duration {
        MIN_RTO + self.rtt
    }
}

/// The upgraded transport of one node: memory, the link model, noise, yamux. `sent` counts
/// the node's bytes; `seed` makes its losses repeatable.
pub fn transport(
    kp: &identity::Keypair,
    link: Link,
    sent: Arc<AtomicU64>,
    seed: u64,
) -> leither::net::Upgraded {
    let seeds = Arc::new(AtomicU64::new(seed));
    let noise = noise::Config::new(kp).expect("a noise config for an ed25519 key");
    MemoryTransport::default()
        .and_then(move |chan, endpoint| {
            let seed = seeds.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
            let conn = SimConn::new(chan, link, sent.clone(), seed);
            let dialer = endpoint.is_dialer();
            async move {
                if dialer {
                    tokio::time::sleep(link.rtt).await;
                }
                Ok::<_, io::Error>(conn)
            }
        })
        .upgrade(Version::V1Lazy)
        .authenticate(noise)
        .multiplex(yamux::Config::default())
        .boxed()
}

/// One connection's end: reads come straight from the channel (the sender delayed them);
/// writes go to a task that hands each to the channel at its arrival time.
struct SimConn {
    read: ReadHalf<Channel<Vec<u8>>>,
    tx: mpsc::UnboundedSender<(Instant, Vec<u8>)>,
    link: Link,
    /// When the previous write arrives (a later one never arrives before).
    last: Instant,
    rng: u64,
    sent: Arc<AtomicU64>,
}

impl SimConn {
    fn new(chan: Channel<Vec<u8>>, link: Link, sent: Arc<AtomicU64>, seed: u64) -> SimConn {
        let (read, mut write) = chan.split();
        let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
        tokio::spawn(async move {
            while let Some((at, data)) = rx.recv().await {
                tokio::time::sleep_until(at).await;
                if write.write_all(&data).await.is_err() {
                    break;
                }
            }
        });
        SimConn {
            read,
            tx,
            link,
            last: Instant::now(),
            rng: seed | 1,
            sent,
        }
    }

    /// A number in [0, 1) (xorshift64*).
    fn uniform(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let x = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl AsyncRead for SimConn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.read).poll_read(cx, buf)
    }
}

impl AsyncWrite for SimConn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let segments = buf.len().div_ceil(SEGMENT) as i32;
        let p_lost = 1.0 - (1.0 - self.link.loss).powi(segments);
        let mut delay = self.link.rtt / 2;
        if self.uniform() < p_lost {
            delay += self.link.rto();
        }
        let at = (Instant::now() + delay).max(self.last);
        self.last = at;
        if self.tx.send((at, buf.to_vec())).is_err() {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        self.sent.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
