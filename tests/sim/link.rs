//! The simulated links: an in-process transport on `/memory/N` addresses with latency and
//! loss, then the node's own noise and yamux upgrades.
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
//! - A node dials from its listen address, as the node's TCP transport does (port reuse),
//!   so the peer sees it at the address it listens on. libp2p's `MemoryTransport` dials
//!   from a new random port each time: every connection then told identify of another
//!   "observed address", AutoNAT v2 tested each (a dial-back and 30-100 KB of padding
//!   apiece, every 5 s of wall time), and that work grew with N and with the run's length.
//!
//! Bytes are counted as written, per node, noise and yamux framing included.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::future::{BoxFuture, Ready};
use futures::io::{AsyncRead, AsyncWrite};
use futures::{FutureExt, future};
use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::transport::{DialOpts, ListenerId, TransportError, TransportEvent};
use libp2p::core::upgrade::Version;
use libp2p::multiaddr::{Multiaddr, Protocol};
use libp2p::{Transport, identity, noise, yamux};
use tokio::sync::mpsc;

use super::tally::Tally;
use tokio::time::{Instant, Sleep};

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

/// The upgraded transport of one node: the simulated links, noise, yamux. `sent` counts the
/// node's bytes, `tally` them by protocol; `seed` makes its losses repeatable.
pub fn transport(
    kp: &identity::Keypair,
    link: Link,
    sent: Arc<AtomicU64>,
    seed: u64,
    tally: Tally,
) -> leither::net::Upgraded {
    let noise = noise::Config::new(kp).expect("a noise config for an ed25519 key");
    SimTransport {
        link,
        sent,
        seed,
        listeners: Vec::new(),
        events: VecDeque::new(),
        waker: None,
    }
    .upgrade(Version::V1Lazy)
    .authenticate(noise)
    .multiplex(yamux::Config::default())
    .map(move |(peer, muxer), _| (peer, tally.wrap(StreamMuxerBox::new(muxer))))
    .boxed()
}

/// One direction of a connection: each write with the time it arrives.
type Pipe = mpsc::UnboundedSender<(Instant, Vec<u8>)>;
type PipeEnd = mpsc::UnboundedReceiver<(Instant, Vec<u8>)>;

/// A dial as its listener receives it: the dialer's port, where to write, what to read.
struct Incoming {
    from: u64,
    to_dialer: Pipe,
    from_dialer: PipeEnd,
}

/// The listening ports of every node in the process.
static PORTS: LazyLock<Mutex<HashMap<u64, mpsc::UnboundedSender<Incoming>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Connections dialled in this process, refused ones too.
pub static DIALS: AtomicU64 = AtomicU64::new(0);

/// Ports for nodes that dial before they listen (none in the simulation), far above any
/// port a run listens on.
static EPHEMERAL: AtomicU64 = AtomicU64::new(1 << 62);

fn memory_port(addr: &Multiaddr) -> Option<u64> {
    let mut it = addr.iter();
    match (it.next(), it.next()) {
        (Some(Protocol::Memory(p)), None | Some(Protocol::P2p(_))) if p > 0 => Some(p),
        _ => None,
    }
}

/// The transport of one node.
struct SimTransport {
    link: Link,
    sent: Arc<AtomicU64>,
    /// The next connection's loss seed (each takes the next of a sequence).
    seed: u64,
    listeners: Vec<(ListenerId, u64, mpsc::UnboundedReceiver<Incoming>)>,
    events: VecDeque<TransportEvent<Ready<Result<SimConn, io::Error>>, io::Error>>,
    waker: Option<Waker>,
}

impl SimTransport {
    fn conn(&mut self, tx: Pipe, rx: PipeEnd) -> SimConn {
        self.seed = self.seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        SimConn {
            rx,
            tx: Some(tx),
            reading: None,
            sleep: None,
            link: self.link,
            last: Instant::now(),
            rng: self.seed | 1,
            sent: self.sent.clone(),
        }
    }

    fn wake(&mut self) {
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

impl Transport for SimTransport {
    type Output = SimConn;
    type Error = io::Error;
    type ListenerUpgrade = Ready<Result<SimConn, io::Error>>;
    type Dial = BoxFuture<'static, Result<SimConn, io::Error>>;

    fn listen_on(
        &mut self,
        id: ListenerId,
        addr: Multiaddr,
    ) -> Result<(), TransportError<Self::Error>> {
        let Some(port) = memory_port(&addr) else {
            return Err(TransportError::MultiaddrNotSupported(addr));
        };
        let (tx, rx) = mpsc::unbounded_channel();
        {
            let mut ports = PORTS.lock().map_err(|_| {
                TransportError::Other(io::Error::other("the port table is poisoned"))
            })?;
            if ports.contains_key(&port) {
                return Err(TransportError::Other(io::ErrorKind::AddrInUse.into()));
            }
            ports.insert(port, tx);
        }
        self.listeners.push((id, port, rx));
        self.events.push_back(TransportEvent::NewAddress {
            listener_id: id,
            listen_addr: Protocol::Memory(port).into(),
        });
        self.wake();
        Ok(())
    }

    fn remove_listener(&mut self, id: ListenerId) -> bool {
        let Some(i) = self.listeners.iter().position(|(l, _, _)| *l == id) else {
            return false;
        };
        let (_, port, _) = self.listeners.remove(i);
        if let Ok(mut ports) = PORTS.lock() {
            ports.remove(&port);
        }
        self.events.push_back(TransportEvent::ListenerClosed {
            listener_id: id,
            reason: Ok(()),
        });
        self.wake();
        true
    }

    fn dial(
        &mut self,
        addr: Multiaddr,
        _opts: DialOpts,
    ) -> Result<Self::Dial, TransportError<Self::Error>> {
        let Some(port) = memory_port(&addr) else {
            return Err(TransportError::MultiaddrNotSupported(addr));
        };
        // Every dial leaves from the listen port (see the module doc). TCP dials that do not
        // reuse it (AutoNAT's dial-backs) are seen at the listen port too after identify's
        // address translation, which does not apply to `/memory/`.
        let from = match self.listeners.first() {
            Some((_, p, _)) => *p,
            None => EPHEMERAL.fetch_add(1, Ordering::Relaxed),
        };
        DIALS.fetch_add(1, Ordering::Relaxed);
        let listener = PORTS.lock().ok().and_then(|p| p.get(&port).cloned());
        let (to_listener, from_dialer) = mpsc::unbounded_channel();
        let (to_dialer, from_listener) = mpsc::unbounded_channel();
        let conn = self.conn(to_listener, from_listener);
        let rtt = self.link.rtt;
        Ok(async move {
            // The handshake's round trip, whether it is answered or refused.
            tokio::time::sleep(rtt).await;
            let listener = listener.ok_or(io::ErrorKind::ConnectionRefused)?;
            listener
                .send(Incoming {
                    from,
                    to_dialer,
                    from_dialer,
                })
                .map_err(|_| io::ErrorKind::ConnectionRefused)?;
            Ok(conn)
        }
        .boxed())
    }

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<TransportEvent<Self::ListenerUpgrade, Self::Error>> {
        if let Some(ev) = self.events.pop_front() {
            return Poll::Ready(ev);
        }
        let mut got = None;
        for (id, port, rx) in &mut self.listeners {
            if let Poll::Ready(Some(inc)) = rx.poll_recv(cx) {
                got = Some((*id, *port, inc));
                break;
            }
        }
        if let Some((listener_id, port, inc)) = got {
            let conn = self.conn(inc.to_dialer, inc.from_dialer);
            return Poll::Ready(TransportEvent::Incoming {
                listener_id,
                upgrade: future::ready(Ok(conn)),
                local_addr: Protocol::Memory(port).into(),
                send_back_addr: Protocol::Memory(inc.from).into(),
            });
        }
        self.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for SimTransport {
    /// Frees the node's ports: a later dial to them is refused.
    fn drop(&mut self) {
        if let Ok(mut ports) = PORTS.lock() {
            for (_, port, _) in &self.listeners {
                ports.remove(port);
            }
        }
    }
}

/// One end of a connection. A write goes to the peer at once, stamped with the time it
/// arrives; the peer's read holds it until then.
pub struct SimConn {
    rx: PipeEnd,
    /// `None` once closed: the peer reads the end after what was written.
    tx: Option<Pipe>,
    /// The write being read, and how far.
    reading: Option<(Instant, Vec<u8>, usize)>,
    sleep: Option<Pin<Box<Sleep>>>,
    link: Link,
    /// When the previous write arrives (a later one never arrives before).
    last: Instant,
    rng: u64,
    sent: Arc<AtomicU64>,
}

impl SimConn {
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
        let this = &mut *self;
        if this.reading.is_none() {
            match this.rx.poll_recv(cx) {
                Poll::Ready(Some((at, data))) => this.reading = Some((at, data, 0)),
                Poll::Ready(None) => return Poll::Ready(Ok(0)),
                Poll::Pending => return Poll::Pending,
            }
        }
        let Some((at, data, off)) = this.reading.as_mut() else {
            return Poll::Pending;
        };
        if *at > Instant::now() {
            let sleep = this
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(*at)));
            if sleep.deadline() != *at {
                sleep.as_mut().reset(*at);
            }
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
        let n = buf.len().min(data.len() - *off);
        buf[..n].copy_from_slice(&data[*off..*off + n]);
        *off += n;
        if *off == data.len() {
            this.reading = None;
        }
        Poll::Ready(Ok(n))
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
        let sent = match &self.tx {
            Some(tx) => tx.send((at, buf.to_vec())).is_ok(),
            None => false,
        };
        if !sent {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        self.sent.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.tx = None;
        Poll::Ready(Ok(()))
    }
}
