//! Connection slots of one port (an HTTP port or the RESP port), and who goes when they run
//! short (issue #15, item 7).
//!
//! Each accepted connection holds a [`Slot`] saying what it is doing: waiting for its first
//! request head ([`Activity::Fresh`]), inside a head ([`Activity::Head`]), being served
//! ([`Activity::Busy`]), idle between requests ([`Activity::Idle`]) or upgraded
//! ([`Activity::Through`], a WebSocket: idle when no message went either way for
//! `WsIdleSecs`). The rules ([`Slots::admit`], [`Slots::sweep`]):
//!
//! - one address holds at most `HttpMaxPerAddress` connections (its oldest idle one makes
//!   room, else the new one is refused); the node's own loopback address (`127.0.0.1`,
//!   `::1`: the owner's CLI, which may run many calls at once) is not capped, the rest of
//!   127/8 is, like any other address;
//! - `HttpLoopbackReserve` of the `HttpMaxConnections` slots are for loopback clients only,
//!   so the owner's CLI and dashboard on the node's machine are served whatever strangers do;
//! - when the port is full, the connection idle the longest (between requests, still sending
//!   its head, or a silent WebSocket) is closed for the newcomer; a connection being served
//!   is never closed; with none idle, the newcomer gets `503`;
//! - a head must be complete `HttpHeaderTimeoutSecs` after connect (or after its first byte,
//!   for the next request on a kept-alive connection): a slowloris is closed;
//! - an idle keep-alive connection is closed after `HttpKeepAliveSecs` while the port is at
//!   most half full, and sooner as it fills (1 s when full).
//!
//! The names above are the HTTP port's settings; the RESP port applies the same rules with
//! `RespMaxConnections` and `RespIdleSecs` ([`crate::limits::ConnLimits::resp`]), and a
//! refusal names the settings of its port ([`Names`]).
//!
//! The table is sans-io: it takes the time from the caller; the connection's task learns of
//! its eviction through [`Slot::closed`].

use std::cell::{Cell, RefCell};
use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::limits::ConnLimits;

/// What a connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Accepted; its first request head is not complete yet.
    Fresh,
    /// Inside the head of a later request.
    Head,
    /// A request is being read or answered.
    Busy,
    /// Between requests (keep-alive).
    Idle,
    /// Upgraded (WebSocket) or in framing the guard does not follow.
    Through,
}

/// Why a connection was closed by the port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Its head took longer than `HttpHeaderTimeoutSecs`.
    HeaderTimeout,
    /// Idle beyond the keep-alive time of the moment.
    KeepAlive,
    /// Idle, and its slot was given to a newcomer.
    Evicted,
}

/// One connection's entry.
#[derive(Debug)]
pub struct Slot {
    /// The client's address.
    pub ip: IpAddr,
    activity: Cell<Activity>,
    /// When the current activity began.
    since: Cell<Instant>,
    /// The last byte either way.
    last_io: Cell<Instant>,
    closed: Cell<Option<Closed>>,
    notify: Notify,
}

impl Slot {
    /// What the connection is doing.
    pub fn activity(&self) -> Activity {
        self.activity.get()
    }

    /// Moves to `a` (the clock restarts only when the activity changes).
    pub fn set(&self, a: Activity, now: Instant) {
        if self.activity.get() != a {
            self.activity.set(a);
            self.since.set(now);
        }
    }

    /// Restarts the clock of the current activity (RESP: a command's timeout counts from
    /// its last byte, so a large value on a slow link is not cut off).
    pub fn restart(&self, now: Instant) {
        self.since.set(now);
    }

    /// Bytes went one way or the other.
    pub fn touch(&self, now: Instant) {
        self.last_io.set(now);
    }

    /// Why the port closed this connection, if it did.
    pub fn is_closed(&self) -> Option<Closed> {
        self.closed.get()
    }

    /// Resolves when the port closes this connection.
    pub async fn closed(&self) -> Closed {
        loop {
            if let Some(c) = self.closed.get() {
                return c;
            }
            self.notify.notified().await;
        }
    }

    fn close(&self, why: Closed) {
        self.closed.set(Some(why));
        self.notify.notify_one();
    }

    /// Since when this connection may be closed for a newcomer (`None`: it may not).
    fn idle_since(&self, ws_idle: Duration, now: Instant) -> Option<Instant> {
        match self.activity.get() {
            Activity::Busy => None,
            Activity::Fresh | Activity::Head | Activity::Idle => Some(self.last_io.get()),
            Activity::Through => {
                let last = self.last_io.get();
                (now.saturating_duration_since(last) >= ws_idle).then_some(last)
            }
        }
    }
}

/// Why a connection was not admitted (the text goes into the `503`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

/// The settings a refusal names, per kind of port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Names {
    /// Connections per port.
    pub max: &'static str,
    /// Connections per address.
    pub per_address: &'static str,
    /// Slots for loopback clients.
    pub reserve: &'static str,
}

impl Names {
    /// An HTTP port's.
    pub const HTTP: Names = Names {
        max: "HttpMaxConnections",
        per_address: "HttpMaxPerAddress",
        reserve: "HttpLoopbackReserve",
    };
    /// The RESP port's.
    pub const RESP: Names = Names {
        max: "RespMaxConnections",
        per_address: "HttpMaxPerAddress",
        reserve: "HttpLoopbackReserve",
    };
}

/// The slots of one port.
#[derive(Debug)]
pub struct Slots {
    limits: ConnLimits,
    names: Names,
    open: RefCell<Vec<Rc<Slot>>>,
}

/// Holds a slot; gives it back when dropped (when the connection's task ends).
#[derive(Debug)]
pub struct SlotGuard {
    slots: Rc<Slots>,
    /// The slot.
    pub slot: Rc<Slot>,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.slots.remove(&self.slot);
    }
}

impl Slots {
    /// An empty table with these limits; refusals name the settings in `names`.
    pub fn new(limits: ConnLimits, names: Names) -> Rc<Slots> {
        Rc::new(Slots {
            limits,
            names,
            open: RefCell::new(Vec::new()),
        })
    }

    /// Connections held.
    pub fn len(&self) -> usize {
        self.open.borrow().len()
    }

    /// True when no connection is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn remove(&self, slot: &Rc<Slot>) {
        self.open.borrow_mut().retain(|s| !Rc::ptr_eq(s, slot));
    }

    /// Closes the connection of `slot` and frees its place at once.
    fn evict(&self, slot: &Rc<Slot>, why: Closed) {
        slot.close(why);
        self.remove(slot);
    }

    /// The open connection idle the longest among those `pick` allows.
    fn idlest(&self, now: Instant, pick: impl Fn(&Slot) -> bool) -> Option<Rc<Slot>> {
        let ws_idle = Duration::from_secs(self.limits.ws_idle_secs);
        self.open
            .borrow()
            .iter()
            .filter(|s| pick(s))
            .filter_map(|s| s.idle_since(ws_idle, now).map(|t| (t, s)))
            .min_by_key(|(t, _)| *t)
            .map(|(_, s)| s.clone())
    }

    /// Gives `ip` a slot, closing an idle connection to make room when needed, or says why not.
    pub fn admit(self: &Rc<Self>, ip: IpAddr, now: Instant) -> Result<SlotGuard, Refused> {
        let l = &self.limits;
        let from_ip = self.open.borrow().iter().filter(|s| s.ip == ip).count();
        if from_ip >= l.max_per_address && !is_owner_loopback(ip) {
            match self.idlest(now, |s| s.ip == ip) {
                Some(v) => self.evict(&v, Closed::Evicted),
                None => {
                    return Err(Refused(format!(
                        "your address holds {} connections already, the most one address may \
                         ({} in SystemVars.json); close one and try again",
                        l.max_per_address, self.names.per_address
                    )));
                }
            }
        }
        // Outsiders share what the loopback reserve leaves; loopback clients may use it all.
        // An outsider never closes a loopback connection that is within the reserve: the
        // owner's CLI, whose fresh connection waits for its head to be read while the node is
        // busy, counts as idle and used to go for an attacker's newcomer (who was then
        // refused anyway) — the owner saw a reset.
        let local = is_loopback(ip);
        let cap = l.max_connections - l.loopback_reserve;
        let outsiders = || {
            self.open
                .borrow()
                .iter()
                .filter(|s| !is_loopback(s.ip))
                .count()
        };
        while self.len() >= l.max_connections || (!local && outsiders() >= cap) {
            let loopback_over = self.len() - outsiders() > l.loopback_reserve;
            let victim = self.idlest(now, |s| !is_loopback(s.ip)).or_else(|| {
                self.idlest(now, |_| {
                    local || (self.len() >= l.max_connections && loopback_over)
                })
            });
            match victim {
                Some(v) => self.evict(&v, Closed::Evicted),
                None => {
                    let n = self.names;
                    return Err(Refused(format!(
                        "all {cap} connections open to outside clients are busy \
                         ({}, {} in SystemVars.json); try again soon",
                        n.max, n.reserve
                    )));
                }
            }
        }
        let slot = Rc::new(Slot {
            ip,
            activity: Cell::new(Activity::Fresh),
            since: Cell::new(now),
            last_io: Cell::new(now),
            closed: Cell::new(None),
            notify: Notify::new(),
        });
        self.open.borrow_mut().push(slot.clone());
        Ok(SlotGuard {
            slots: self.clone(),
            slot,
        })
    }

    /// How long an idle keep-alive connection is kept now: `HttpKeepAliveSecs` up to half
    /// full, then less in proportion to the room left, down to 1 s.
    pub fn keep_alive(&self) -> Duration {
        let max = self.limits.max_connections.max(1);
        let used = self.len().min(max);
        let full = Duration::from_secs(self.limits.keep_alive_secs);
        if used * 2 <= max {
            return full;
        }
        let left = (max - used) as u32;
        (full * left / (max - max / 2) as u32).max(Duration::from_secs(1))
    }

    /// Closes the connections past their time; called every second or so. Returns how many.
    pub fn sweep(&self, now: Instant) -> usize {
        let head = Duration::from_secs(self.limits.header_timeout_secs);
        let keep = self.keep_alive();
        let late: Vec<(Rc<Slot>, Closed)> = self
            .open
            .borrow()
            .iter()
            .filter_map(|s| {
                let age = now.saturating_duration_since(s.since.get());
                match s.activity.get() {
                    Activity::Fresh | Activity::Head if age >= head => {
                        Some((s.clone(), Closed::HeaderTimeout))
                    }
                    Activity::Idle if age >= keep => Some((s.clone(), Closed::KeepAlive)),
                    _ => None,
                }
            })
            .collect();
        for (s, why) in &late {
            self.evict(s, *why);
        }
        late.len()
    }
}

/// The node's own loopback address, `127.0.0.1` or `::1` (IPv4-mapped included).
pub fn is_owner_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4 == std::net::Ipv4Addr::LOCALHOST,
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped() == Some(std::net::Ipv4Addr::LOCALHOST)
        }
    }
}

/// Loopback, IPv4-mapped loopback included.
pub fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v| v.is_loopback()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: usize, per: usize, reserve: usize) -> ConnLimits {
        ConnLimits {
            max_connections: max,
            max_per_address: per,
            loopback_reserve: reserve,
            ..ConnLimits::default()
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn one_address_is_capped_and_its_idlest_makes_room() {
        let slots = Slots::new(limits(8, 2, 1), Names::HTTP);
        let t = Instant::now();
        let a = slots.admit(ip("192.0.2.1"), t).unwrap();
        let b = slots.admit(ip("192.0.2.1"), t).unwrap();
        a.slot.set(Activity::Busy, t);
        b.slot.set(Activity::Busy, t);
        assert!(
            slots
                .admit(ip("192.0.2.1"), t)
                .unwrap_err()
                .0
                .contains("HttpMaxPerAddress")
        );
        b.slot.set(Activity::Idle, t);
        let _c = slots.admit(ip("192.0.2.1"), t).unwrap();
        assert_eq!(b.slot.is_closed(), Some(Closed::Evicted));
        assert_eq!(a.slot.is_closed(), None);
        assert_eq!(slots.len(), 2);
        drop(b);
        assert_eq!(slots.len(), 2);
    }

    #[test]
    fn a_full_port_closes_the_idlest_and_keeps_loopback_slots() {
        let slots = Slots::new(limits(4, 4, 1), Names::HTTP);
        let t = Instant::now();
        let held: Vec<_> = (0..3)
            .map(|i| {
                let g = slots.admit(ip(&format!("192.0.2.{i}")), t).unwrap();
                g.slot.set(Activity::Busy, t);
                g
            })
            .collect();
        // The fourth slot is loopback's: strangers get 503, the owner gets in.
        assert!(
            slots
                .admit(ip("198.51.100.1"), t)
                .unwrap_err()
                .0
                .contains("busy")
        );
        let owner = slots.admit(ip("127.0.0.1"), t).unwrap();
        owner.slot.set(Activity::Busy, t);
        // An idle one goes for a newcomer; the idlest first.
        held[2].slot.set(Activity::Idle, t);
        held[1].slot.set(Activity::Idle, t);
        held[1].slot.touch(t + Duration::from_secs(1));
        let _n = slots
            .admit(ip("198.51.100.1"), t + Duration::from_secs(2))
            .unwrap();
        assert_eq!(held[2].slot.is_closed(), Some(Closed::Evicted));
        assert_eq!(held[1].slot.is_closed(), None);
    }

    /// The owner's fresh connection (its head not read yet) counts as idle; an outsider
    /// must not close it for a newcomer while loopback holds no more than its reserve.
    #[test]
    fn outsiders_never_close_the_owners_connections_within_the_reserve() {
        let slots = Slots::new(limits(4, 4, 2), Names::HTTP);
        let t = Instant::now();
        let busy: Vec<_> = (0..2)
            .map(|i| {
                let g = slots.admit(ip(&format!("192.0.2.{i}")), t).unwrap();
                g.slot.set(Activity::Busy, t);
                g
            })
            .collect();
        let owner: Vec<_> = (0..2)
            .map(|_| slots.admit(ip("127.0.0.1"), t).unwrap())
            .collect();
        let later = t + Duration::from_secs(3);
        assert!(slots.admit(ip("198.51.100.1"), later).is_err());
        assert!(owner.iter().all(|g| g.slot.is_closed().is_none()));
        // Another loopback client may take the place of the owner's idlest.
        let _extra = slots.admit(ip("127.0.0.1"), later).unwrap();
        let closed = owner.iter().filter(|g| g.slot.is_closed().is_some());
        assert_eq!(closed.count(), 1);
        assert!(busy.iter().all(|g| g.slot.is_closed().is_none()));

        // Beyond the reserve, an idle loopback connection may go for an outsider.
        let slots = Slots::new(limits(4, 4, 2), Names::HTTP);
        let outsider = slots.admit(ip("192.0.2.1"), t).unwrap();
        outsider.slot.set(Activity::Busy, t);
        let owner: Vec<_> = (0..3)
            .map(|_| slots.admit(ip("127.0.0.1"), t).unwrap())
            .collect();
        assert!(slots.admit(ip("198.51.100.1"), later).is_ok());
        let closed = owner.iter().filter(|g| g.slot.is_closed().is_some());
        assert_eq!(closed.count(), 1);
    }

    #[test]
    fn silent_websockets_go_first_only_after_ws_idle() {
        let mut l = limits(2, 2, 0);
        l.ws_idle_secs = 10;
        let slots = Slots::new(l, Names::HTTP);
        let t = Instant::now();
        let a = slots.admit(ip("192.0.2.1"), t).unwrap();
        let b = slots.admit(ip("192.0.2.2"), t).unwrap();
        a.slot.set(Activity::Through, t);
        b.slot.set(Activity::Through, t);
        assert!(
            slots
                .admit(ip("192.0.2.3"), t + Duration::from_secs(5))
                .is_err()
        );
        b.slot.touch(t + Duration::from_secs(5));
        let _c = slots
            .admit(ip("192.0.2.3"), t + Duration::from_secs(11))
            .unwrap();
        assert_eq!(a.slot.is_closed(), Some(Closed::Evicted));
        assert_eq!(b.slot.is_closed(), None);
    }

    #[test]
    fn slow_heads_and_idle_keep_alives_are_swept() {
        let mut l = limits(4, 4, 0);
        l.header_timeout_secs = 5;
        l.keep_alive_secs = 30;
        let slots = Slots::new(l, Names::HTTP);
        let t = Instant::now();
        let slow = slots.admit(ip("192.0.2.1"), t).unwrap();
        let idle = slots.admit(ip("192.0.2.2"), t).unwrap();
        idle.slot.set(Activity::Idle, t);
        assert_eq!(slots.sweep(t + Duration::from_secs(4)), 0);
        assert_eq!(slots.sweep(t + Duration::from_secs(5)), 1);
        assert_eq!(slow.slot.is_closed(), Some(Closed::HeaderTimeout));
        // Half full: the whole keep-alive. Fuller: shorter.
        assert_eq!(slots.keep_alive(), Duration::from_secs(30));
        let _x = slots.admit(ip("192.0.2.3"), t).unwrap();
        let _y = slots.admit(ip("192.0.2.4"), t).unwrap();
        assert_eq!(slots.keep_alive(), Duration::from_secs(15));
        assert_eq!(slots.sweep(t + Duration::from_secs(16)), 3);
        assert_eq!(idle.slot.is_closed(), Some(Closed::KeepAlive));
    }
}
