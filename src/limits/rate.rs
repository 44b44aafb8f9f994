//! Token buckets per client address (issue #15, item 2): how often one address may call, or
//! fail a login, before it is told to wait.
//!
//! A [`Rate`] is `tokens` per `period` with bursts of `burst`; a call costs a [`Cost`] (a
//! whole token for a call, less for a file GET). Each bucket is kept as the one instant at
//! which it will be full again (the "theoretical arrival time" of GCRA): taking a cost moves
//! that instant forward by the time the cost takes to earn, and is refused when it would go
//! further than a full burst ahead of now. So there is no rounding drift however fast the
//! calls come, and an entry is one `Instant`.
//!
//! A [`Table`] holds one bucket per address, keyed by [`key`]: an IPv4 address, or the /64
//! of an IPv6 one (one subscriber's whole prefix, so a client cannot get a fresh bucket by
//! moving inside it). The table is bounded ([`Table::new`]); when a new address finds it
//! full, buckets that are full again are dropped first (they hold nothing: a fresh bucket
//! is full), then the one nearest to full.
//!
//! Sans-io: every method takes the time from the caller, so tests drive it with an
//! injected clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Thousandths of a token: what one call costs.
pub const TOKEN: u32 = 1000;

/// What one request takes from its bucket, in thousandths of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost(pub u32);

impl Cost {
    /// An API call, a Lever call, an `/entry`, a RESP command.
    pub const CALL: Cost = Cost(TOKEN);
    /// A file GET (`/ipfs/`, `/mm/`, `/tpt/`, `/mf/`): a web app loads dozens at once.
    pub const FILE: Cost = Cost(TOKEN / 4);
    /// `n` calls (a batch), at least one.
    pub fn calls(n: usize) -> Cost {
        Cost(TOKEN.saturating_mul(u32::try_from(n.max(1)).unwrap_or(u32::MAX)))
    }
}

/// `tokens` every `period`, in bursts of up to `burst` tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Tokens earned each period (at least 1).
    pub tokens: u64,
    /// The period.
    pub period: Duration,
    /// Most tokens a full bucket holds (at least 1).
    pub burst: u64,
}

impl Rate {
    /// `n` a second, bursts of `burst`.
    pub fn per_sec(n: u64, burst: u64) -> Rate {
        Rate {
            tokens: n,
            period: Duration::from_secs(1),
            burst,
        }
    }

    /// `n` a minute, bursts of `n`.
    pub fn per_min(n: u64) -> Rate {
        Rate {
            tokens: n,
            period: Duration::from_secs(60),
            burst: n,
        }
    }

    /// How long `cost` takes to earn.
    fn earn(&self, cost: u64) -> Duration {
        let per = u128::from(self.tokens.max(1)) * u128::from(TOKEN);
        let ns = self.period.as_nanos().saturating_mul(u128::from(cost)) / per;
        Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    /// How long a whole burst takes to earn: how far ahead of now a bucket may run.
    fn window(&self) -> Duration {
        self.earn(self.burst.max(1) * u64::from(TOKEN))
    }
}

/// One address's bucket: the instant it is full again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    full_at: Instant,
}

impl Bucket {
    /// A full bucket.
    pub fn new(now: Instant) -> Bucket {
        Bucket { full_at: now }
    }

    /// Whether the bucket is full at `now` (it then holds nothing worth keeping).
    pub fn is_full(&self, now: Instant) -> bool {
        self.full_at <= now
    }

    /// Where taking `cost` would put the bucket, or how long to wait before it may. A cost
    /// above a whole burst is taken as a whole burst, so it passes when the bucket is full.
    fn after(&self, rate: &Rate, cost: Cost, now: Instant) -> Result<Instant, Duration> {
        let window = rate.window();
        let step = rate.earn(u64::from(cost.0)).min(window);
        let next = self.full_at.max(now) + step;
        let ahead = next.saturating_duration_since(now);
        if ahead > window {
            Err(ahead - window)
        } else {
            Ok(next)
        }
    }

    /// Takes `cost`, or says how long to wait.
    pub fn take(&mut self, rate: &Rate, cost: Cost, now: Instant) -> Result<(), Duration> {
        self.full_at = self.after(rate, cost, now)?;
        Ok(())
    }

    /// Whether `cost` could be taken now (nothing is taken), or how long to wait.
    pub fn check(&self, rate: &Rate, cost: Cost, now: Instant) -> Result<(), Duration> {
        self.after(rate, cost, now).map(|_| ())
    }

    /// Takes `cost` even past the limit (a failure already happened and must count), so the
    /// wait grows with every failure; never further ahead than twice the window.
    pub fn charge(&mut self, rate: &Rate, cost: Cost, now: Instant) {
        let window = rate.window();
        let step = rate.earn(u64::from(cost.0)).min(window);
        self.full_at = (self.full_at.max(now) + step).min(now + window * 2);
    }
}

/// The key of an address: IPv4 as it is (IPv4-mapped IPv6 too), IPv6 by its /64.
pub fn key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

/// Buckets per address, at most `cap` of them.
#[derive(Debug)]
pub struct Table {
    cap: usize,
    buckets: HashMap<IpAddr, Bucket>,
}

impl Table {
    /// An empty table holding at most `cap` addresses (at least 1).
    pub fn new(cap: usize) -> Table {
        Table {
            cap: cap.max(1),
            buckets: HashMap::new(),
        }
    }

    /// Addresses held.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// True when no address is held.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// The bucket of `ip`, made room for when the table is full.
    fn bucket(&mut self, ip: IpAddr, now: Instant) -> &mut Bucket {
        let k = key(ip);
        if !self.buckets.contains_key(&k) && self.buckets.len() >= self.cap {
            self.buckets.retain(|_, b| !b.is_full(now));
            if self.buckets.len() >= self.cap
                && let Some(nearest) = self
                    .buckets
                    .iter()
                    .min_by_key(|(_, b)| b.full_at)
                    .map(|(k, _)| *k)
            {
                self.buckets.remove(&nearest);
            }
        }
        self.buckets.entry(k).or_insert_with(|| Bucket::new(now))
    }

    /// Takes `cost` from the bucket of `ip`, or says how long to wait.
    pub fn take(
        &mut self,
        ip: IpAddr,
        rate: &Rate,
        cost: Cost,
        now: Instant,
    ) -> Result<(), Duration> {
        self.bucket(ip, now).take(rate, cost, now)
    }

    /// Whether `ip` could take `cost` now, taking nothing.
    pub fn check(&self, ip: IpAddr, rate: &Rate, cost: Cost, now: Instant) -> Result<(), Duration> {
        match self.buckets.get(&key(ip)) {
            Some(b) => b.check(rate, cost, now),
            None => Ok(()),
        }
    }

    /// Takes `cost` from `ip` even past the limit ([`Bucket::charge`]).
    pub fn charge(&mut self, ip: IpAddr, rate: &Rate, cost: Cost, now: Instant) {
        self.bucket(ip, now).charge(rate, cost, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let r = Rate::per_sec(10, 5);
        let t = Instant::now();
        let mut b = Bucket::new(t);
        for _ in 0..5 {
            b.take(&r, Cost::CALL, t).unwrap();
        }
        let wait = b.take(&r, Cost::CALL, t).unwrap_err();
        assert_eq!(wait, Duration::from_millis(100));
        // One token every 100 ms.
        let t1 = t + Duration::from_millis(100);
        b.take(&r, Cost::CALL, t1).unwrap();
        assert!(b.take(&r, Cost::CALL, t1).is_err());
        // Refused calls take nothing: after a second the bucket is full again.
        assert!(b.is_full(t1 + Duration::from_millis(500)));
        let t2 = t1 + Duration::from_secs(1);
        for _ in 0..5 {
            b.take(&r, Cost::CALL, t2).unwrap();
        }
        assert!(b.check(&r, Cost::CALL, t2).is_err());
    }

    #[test]
    fn fast_small_costs_do_not_drift() {
        // 1000 file GETs a quarter token each, one every 25 µs: 250 tokens over 25 ms,
        // with 100 a second earned; a bucket of 1000 passes them all and is not full after.
        let r = Rate::per_sec(100, 1000);
        let t = Instant::now();
        let mut b = Bucket::new(t);
        for i in 0..1000u32 {
            b.take(&r, Cost::FILE, t + Duration::from_micros(25) * i)
                .unwrap();
        }
        let end = t + Duration::from_millis(25);
        // 250 tokens taken, 2.5 earned: full again 2.475 s after the end.
        assert!(!b.is_full(end + Duration::from_millis(2470)));
        assert!(b.is_full(end + Duration::from_millis(2480)));
    }

    #[test]
    fn a_batch_larger_than_the_burst_passes_a_full_bucket() {
        let r = Rate::per_sec(1, 4);
        let t = Instant::now();
        let mut b = Bucket::new(t);
        b.take(&r, Cost::calls(10), t).unwrap();
        assert_eq!(
            b.take(&r, Cost::CALL, t).unwrap_err(),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn charged_failures_lengthen_the_wait_up_to_twice_the_window() {
        let r = Rate::per_min(3);
        let t = Instant::now();
        let mut b = Bucket::new(t);
        for _ in 0..3 {
            b.check(&r, Cost::CALL, t).unwrap();
            b.charge(&r, Cost::CALL, t);
        }
        assert_eq!(
            b.check(&r, Cost::CALL, t).unwrap_err(),
            Duration::from_secs(20)
        );
        for _ in 0..100 {
            b.charge(&r, Cost::CALL, t);
        }
        assert_eq!(
            b.check(&r, Cost::CALL, t).unwrap_err(),
            Duration::from_secs(80)
        );
    }

    #[test]
    fn addresses_are_separate_and_ipv6_counts_by_its_64() {
        let r = Rate::per_sec(1, 1);
        let t = Instant::now();
        let mut tb = Table::new(16);
        tb.take(ip("192.0.2.1"), &r, Cost::CALL, t).unwrap();
        assert!(tb.take(ip("192.0.2.1"), &r, Cost::CALL, t).is_err());
        assert!(tb.take(ip("::ffff:192.0.2.1"), &r, Cost::CALL, t).is_err());
        tb.take(ip("192.0.2.2"), &r, Cost::CALL, t).unwrap();
        tb.take(ip("2001:db8::1"), &r, Cost::CALL, t).unwrap();
        assert!(tb.take(ip("2001:db8::ffff:2"), &r, Cost::CALL, t).is_err());
        tb.take(ip("2001:db8:0:1::1"), &r, Cost::CALL, t).unwrap();
        assert_eq!(tb.len(), 4);
    }

    #[test]
    fn a_full_table_forgets_full_buckets_first_then_the_nearest_to_full() {
        let r = Rate::per_sec(1, 2);
        let t = Instant::now();
        let mut tb = Table::new(3);
        // a owes 2 s, b owes 1 s, c owes nothing after a second.
        tb.take(ip("192.0.2.1"), &r, Cost::calls(2), t).unwrap();
        tb.take(ip("192.0.2.2"), &r, Cost::CALL, t).unwrap();
        tb.take(ip("192.0.2.3"), &r, Cost::CALL, t - Duration::from_secs(2))
            .unwrap();
        tb.take(ip("192.0.2.4"), &r, Cost::calls(2), t).unwrap();
        assert_eq!(tb.len(), 3);
        assert!(tb.check(ip("192.0.2.1"), &r, Cost::CALL, t).is_err());
        assert!(tb.check(ip("192.0.2.2"), &r, Cost::calls(2), t).is_err());
        // Every bucket owes now: the nearest to full (b) goes; a keeps its debt.
        tb.take(ip("192.0.2.5"), &r, Cost::CALL, t).unwrap();
        assert_eq!(tb.len(), 3);
        assert!(tb.check(ip("192.0.2.2"), &r, Cost::calls(2), t).is_ok());
        assert!(tb.check(ip("192.0.2.1"), &r, Cost::CALL, t).is_err());
    }

    #[test]
    fn a_flood_of_addresses_keeps_the_table_bounded() {
        let r = Rate::per_sec(1, 1);
        let t = Instant::now();
        let mut tb = Table::new(1024);
        for i in 0..5000u32 {
            let a = IpAddr::V4((0x0a00_0000 + i).into());
            tb.take(a, &r, Cost::CALL, t).unwrap();
        }
        assert_eq!(tb.len(), 1024);
    }
}
