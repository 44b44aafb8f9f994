//! Bytes sent by protocol: a stream muxer around yamux that counts what each substream
//! writes under the protocol its multistream-select negotiation named (the first protocol
//! proposed or echoed on it, read from its first bytes either way). Noise, yamux framing
//! and the handshakes are not in any substream: they are the link's total less the sum.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures::io::{AsyncRead, AsyncWrite};
use libp2p::core::muxing::{StreamMuxer, StreamMuxerBox, StreamMuxerEvent, SubstreamBox};

/// Bytes written per protocol, over every node of a run.
#[derive(Clone, Default)]
pub struct Tally(Arc<Mutex<HashMap<String, Arc<AtomicU64>>>>);

/// How many first bytes of a substream are read for its protocol's name.
const SNIFF: usize = 256;

/// A substream that never named a protocol (refused, or closed before it did).
const UNNAMED: &str = "(unnegotiated)";

impl Tally {
    fn counter(&self, name: &str) -> Option<Arc<AtomicU64>> {
        let mut m = self.0.lock().ok()?;
        Some(m.entry(name.to_string()).or_default().clone())
    }

    /// The bytes written so far, per protocol.
    pub fn snapshot(&self) -> HashMap<String, u64> {
        self.0
            .lock()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.load(Ordering::Relaxed)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Wraps a node's muxer so that its substreams are counted here.
    pub fn wrap(&self, muxer: StreamMuxerBox) -> StreamMuxerBox {
        StreamMuxerBox::new(Counting {
            inner: muxer,
            tally: self.clone(),
        })
    }
}

struct Counting {
    inner: StreamMuxerBox,
    tally: Tally,
}

impl Counting {
    fn counted(&self, s: SubstreamBox) -> Counted {
        Counted {
            inner: s,
            tally: self.tally.clone(),
            counter: None,
            pending: 0,
            heard: [Vec::new(), Vec::new()],
        }
    }
}

impl StreamMuxer for Counting {
    type Substream = Counted;
    type Error = io::Error;

    fn poll_inbound(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Counted, io::Error>> {
        match Pin::new(&mut self.inner).poll_inbound(cx) {
            Poll::Ready(Ok(s)) => Poll::Ready(Ok(self.counted(s))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_outbound(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Counted, io::Error>> {
        match Pin::new(&mut self.inner).poll_outbound(cx) {
            Poll::Ready(Ok(s)) => Poll::Ready(Ok(self.counted(s))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), io::Error>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<StreamMuxerEvent, io::Error>> {
        Pin::new(&mut self.inner).poll(cx)
    }
}

/// A counted substream.
pub struct Counted {
    inner: SubstreamBox,
    tally: Tally,
    /// Its protocol's counter, once named.
    counter: Option<Arc<AtomicU64>>,
    /// Bytes written before the name was known.
    pending: u64,
    /// The first bytes read ([0]) and written ([1]), until the name is known.
    heard: [Vec<u8>; 2],
}

/// The first protocol a run of multistream-select messages (a varint length, then the text
/// and a newline) names, leaving out its header, `na` and `ls`.
fn named(bytes: &[u8]) -> Option<String> {
    let mut rest = bytes;
    loop {
        let (&len, tail) = rest.split_first()?;
        // Names are short: a one-byte varint.
        if len >= 0x80 || tail.len() < len as usize {
            return None;
        }
        let (msg, tail) = tail.split_at(len as usize);
        let text = std::str::from_utf8(msg).ok()?.trim_end_matches('\n');
        if text.starts_with('/') && text != "/multistream/1.0.0" {
            return Some(text.to_string());
        }
        rest = tail;
    }
}

impl Counted {
    fn hear(&mut self, dir: usize, bytes: &[u8]) {
        if self.counter.is_some() {
            return;
        }
        let h = &mut self.heard[dir];
        let room = SNIFF.saturating_sub(h.len());
        h.extend_from_slice(&bytes[..bytes.len().min(room)]);
        if let Some(name) = named(h) {
            self.counter = self.tally.counter(&name);
            if let Some(c) = &self.counter {
                c.fetch_add(self.pending, Ordering::Relaxed);
            }
            self.pending = 0;
            self.heard = [Vec::new(), Vec::new()];
        }
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        if self.counter.is_none()
            && self.pending > 0
            && let Some(c) = self.tally.counter(UNNAMED)
        {
            c.fetch_add(self.pending, Ordering::Relaxed);
        }
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            self.hear(0, &buf[..n]);
        }
        r
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            match &self.counter {
                Some(c) => {
                    c.fetch_add(n as u64, Ordering::Relaxed);
                }
                None => self.pending += n as u64,
            }
            self.hear(1, &buf[..n]);
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}
