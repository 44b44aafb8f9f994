//! `IfWatcher`: the host's addresses as a stream of `Up`/`Down` events. It starts with an
//! `Up` for every address there is, then reports the difference each time the doorbell rings
//! (on Linux; elsewhere the first list is all it reports).

use crate::scan;
use crate::{IfEvent, IpNet};
use futures_core::Stream;
use futures_core::stream::FusedStream;
use std::collections::{BTreeSet, VecDeque};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

#[cfg(target_os = "linux")]
use std::os::fd::{AsRawFd, OwnedFd};
#[cfg(target_os = "linux")]
use tokio::io::{Interest, unix::AsyncFd};

/// Watches the host's addresses (see the module's doc).
pub struct IfWatcher {
    /// The addresses reported so far.
    addrs: BTreeSet<IpNet>,
    /// Events found by the last comparison and not yet taken (at most two per address).
    queue: VecDeque<IfEvent>,
    /// The list must be read again before waiting (true at the start).
    stale: bool,
    #[cfg(target_os = "linux")]
    bell: Bell,
}

/// The doorbell socket, opened at once and handed to tokio's reactor at the first poll (a
/// watcher may be made outside the runtime; polls always happen inside it).
#[cfg(target_os = "linux")]
enum Bell {
    Open(OwnedFd),
    Registered(AsyncFd<OwnedFd>),
    /// Only while moving from one to the other.
    Gone,
}

impl std::fmt::Debug for IfWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.debug_struct("IfWatcher")
            .field("addrs", &self.addrs)
            .finish_non_exhaustive()
    }
}

impl IfWatcher {
    /// A watcher; it fails when the netlink socket cannot be opened (as upstream's does).
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            addrs: BTreeSet::new(),
            queue: VecDeque::new(),
            stale: true,
            #[cfg(target_os = "linux")]
            bell: Bell::Open(crate::doorbell::open()?),
        })
    }

    /// The addresses reported so far (those of the `Up` events taken, less the `Down`s).
    pub fn iter(&self) -> impl Iterator<Item = &IpNet> {
        self.addrs.iter()
    }

    /// Reads the list again and queues what changed since the last one.
    fn rescan(&mut self) -> io::Result<()> {
        let now = scan::addresses()?;
        for gone in self.addrs.difference(&now) {
            self.queue.push_back(IfEvent::Down(*gone));
        }
        for new in now.difference(&self.addrs) {
            self.queue.push_back(IfEvent::Up(*new));
        }
        self.addrs = now;
        Ok(())
    }

    /// The next change of address.
    pub fn poll_if_event(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<IfEvent>> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Poll::Ready(Ok(event));
            }
            if self.stale {
                self.stale = false;
                self.rescan()?;
                continue;
            }
            #[cfg(target_os = "linux")]
            {
                let more = match self.poll_bell(cx)? {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(rung) => rung.more,
                };
                if more && !self.stale {
                    // A flood of messages that were not the kernel's: let the other tasks run
                    // before reading the next batch.
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
            }
            #[cfg(not(target_os = "linux"))]
            {
                let _ = cx;
                return Poll::Pending;
            }
        }
    }

    /// Waits for the doorbell, reads one batch of messages and marks the list stale when the
    /// kernel rang.
    #[cfg(target_os = "linux")]
    fn poll_bell(&mut self, cx: &mut Context<'_>) -> io::Result<Poll<crate::doorbell::Rung>> {
        if let Bell::Open(_) = self.bell {
            if ::tokio::runtime::Handle::try_current().is_err() {
                return Err(io::Error::other("if-watch: polled outside a tokio runtime"));
            }
            let Bell::Open(fd) = std::mem::replace(&mut self.bell, Bell::Gone) else {
                return Err(io::Error::other("if-watch: doorbell lost"));
            };
            // SAFETY: the AsyncFd owns the OwnedFd, which stays open and the same descriptor
            // until the AsyncFd is dropped.
            let afd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) };
            self.bell = Bell::Registered(afd.map_err(io::Error::from)?);
        }
        let Bell::Registered(afd) = &self.bell else {
            return Err(io::Error::other("if-watch: doorbell lost"));
        };
        let mut guard = match afd.poll_read_ready(cx) {
            Poll::Pending => return Ok(Poll::Pending),
            Poll::Ready(guard) => guard?,
        };
        let rung = crate::doorbell::read_all(afd.get_ref().as_raw_fd())?;
        if !rung.more {
            // Read until EAGAIN: wait for the reactor's next wake-up.
            guard.clear_ready();
        }
        if rung.changed {
            self.stale = true;
        }
        Ok(Poll::Ready(rung))
    }
}

impl Stream for IfWatcher {
    type Item = io::Result<IfEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_if_event(cx).map(Some)
    }
}

impl FusedStream for IfWatcher {
    fn is_terminated(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;

    #[test]
    fn starts_with_every_address_up_then_waits() {
        let rt = ::tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut w = IfWatcher::new().unwrap();
            let lo: IpNet = "127.0.0.1/8".parse().unwrap();
            let mut ups = Vec::new();
            // Every address is reported once, then the stream waits for a change.
            poll_fn(|cx| {
                loop {
                    match w.poll_if_event(cx) {
                        Poll::Ready(Ok(IfEvent::Up(net))) => ups.push(net),
                        Poll::Ready(other) => panic!("unexpected {other:?}"),
                        Poll::Pending => return Poll::Ready(()),
                    }
                }
            })
            .await;
            assert!(ups.contains(&lo), "{ups:?}");
            assert_eq!(w.iter().count(), ups.len());
        });
    }

    #[test]
    fn polled_outside_a_runtime_is_an_error_not_a_panic() {
        let mut w = IfWatcher::new().unwrap();
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        // The first list comes without the runtime; the wait for a change needs it.
        loop {
            match w.poll_if_event(&mut cx) {
                Poll::Ready(Ok(_)) => continue,
                Poll::Ready(Err(e)) => {
                    assert!(e.to_string().contains("outside a tokio runtime"), "{e}");
                    break;
                }
                Poll::Pending => panic!("pending without a runtime"),
            }
        }
    }
}
