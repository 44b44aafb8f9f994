//! Who pays which rate bucket, once, below every door (issue #15, item 2; docs/security.md
//! "Calls and logins per address").
//!
//! - Calls: a guest or visitor pays `RateCallsPerSec` / `RateBurst` per address, a user's
//!   session `RateUserCallsPerSec` / `RateUserBurst` (a bucket of its own, so guests behind
//!   the same address cannot starve a user); the owner's sessions and the node's own
//!   loopback address (`127.0.0.1`, `::1`: the owner's CLI) pay nothing, nor do calls made
//!   inside the node (no client address: the CLI in-process, Lua calling the API table,
//!   whose Lever call was paid at its door).
//! - Passwords: `Login(name, pass)` and `Register` hash a password (PBKDF2, ~10 ms of the
//!   node's one thread on x86, ~40 ms on MIPS). Before hashing, the caller's address must
//!   have a failed login left (`LoginFailuresPerMin`) and the node a hash left this second
//!   (`LoginHashesPerSec`, all addresses together); a failed login, and every `Register`,
//!   then costs the address one. A success gives nothing back, so an attacker holding one
//!   account cannot reset the count between guesses; the count empties with time only. The
//!   owner's loopback is exempt from both, so the owner is never locked out.
//!
//! - Invitation codes: a wrong code given to `AddNode` costs the address a failed login,
//!   and an address out of failures is refused before its code is looked at (no hash is
//!   taken: checking a code costs one signature check).
//!
//! A refusal is a [`Limited`]: the rule, the limit, the settings that raise it and when to
//! try again; the doors answer it with `429` and `Retry-After` (RESP: `-ERR`).

use std::cell::RefCell;
use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::api::{NodeState, Rights};
use crate::limits::RateLimits;
use crate::limits::rate::{Bucket, Cost, Table};
use crate::limits::slots::is_owner_loopback;

/// Most addresses each table remembers (the buckets nearest to full are forgotten first).
pub const MAX_ADDRESSES: usize = 1024;

/// A rate rule, as a refusal names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// Calls of one guest or visitor address (`RateCallsPerSec`, `RateBurst`).
    Calls,
    /// Calls of one address with a user's session (`RateUserCallsPerSec`, `RateUserBurst`).
    UserCalls,
    /// Failed logins and `Register` attempts of one address (`LoginFailuresPerMin`).
    LoginFailures,
    /// Password hashes of the whole node (`LoginHashesPerSec`).
    LoginHashes,
}

impl Rule {
    /// The rule's name.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Calls => "calls per address",
            Rule::UserCalls => "user calls per address",
            Rule::LoginFailures => "failed logins per address",
            Rule::LoginHashes => "password hashes per second",
        }
    }

    /// The settings that raise it.
    pub fn settings(self) -> &'static str {
        match self {
            Rule::Calls => "RateCallsPerSec, RateBurst",
            Rule::UserCalls => "RateUserCallsPerSec, RateUserBurst",
            Rule::LoginFailures => "LoginFailuresPerMin",
            Rule::LoginHashes => "LoginHashesPerSec",
        }
    }

    fn limit(self, l: &RateLimits) -> String {
        match self {
            Rule::Calls => format!(
                "too many calls from your address: {} a second, {} at once",
                l.calls_per_sec, l.burst
            ),
            Rule::UserCalls => format!(
                "too many calls from your address: {} a second, {} at once, for users",
                l.user_calls_per_sec, l.user_burst
            ),
            Rule::LoginFailures => format!(
                "too many failed logins (or wrong invitation codes) from your address: {} a minute",
                l.login_failures_per_min
            ),
            Rule::LoginHashes => format!(
                "the node checks {} passwords a second and is at that now",
                l.login_hashes_per_sec
            ),
        }
    }
}

/// A call refused by a rate rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limited {
    /// The rule.
    pub rule: Rule,
    /// What the rule allows, in words.
    pub limit: String,
    /// How long to wait before a call would pass.
    pub wait: Duration,
}

impl Limited {
    fn new(rule: Rule, l: &RateLimits, wait: Duration) -> Limited {
        Limited {
            rule,
            limit: rule.limit(l),
            wait,
        }
    }

    /// Whole seconds to wait (at least 1): the `Retry-After` header.
    pub fn retry_after(&self) -> u64 {
        self.wait.as_millis().div_ceil(1000).max(1) as u64
    }
}

impl fmt::Display for Limited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (rule \"{}\", set by {} in SystemVars.json); retry after {} s",
            self.limit,
            self.rule.name(),
            self.rule.settings(),
            self.retry_after()
        )
    }
}

impl std::error::Error for Limited {}

/// Which bucket a caller pays from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payer {
    /// The owner, the node's loopback, a call inside the node.
    Exempt,
    /// A user's session.
    User,
    /// A guest or visitor (or a session that is unknown or expired).
    Guest,
}

/// Who pays for a call from `ip` (`None`: made inside the node) with `rights`.
pub fn payer(ip: Option<IpAddr>, rights: Option<Rights>) -> Payer {
    match (ip, rights) {
        (None, _) | (_, Some(Rights::Owner)) => Payer::Exempt,
        (Some(ip), _) if is_owner_loopback(ip) => Payer::Exempt,
        (_, Some(Rights::User)) => Payer::User,
        _ => Payer::Guest,
    }
}

/// The node's buckets (held in [`NodeState`]).
#[derive(Debug)]
pub struct Limiter {
    guests: Table,
    users: Table,
    failures: Table,
    hashes: Bucket,
}

impl Limiter {
    /// Empty tables, a full hash bucket.
    pub fn new(now: Instant) -> Limiter {
        Limiter {
            guests: Table::new(MAX_ADDRESSES),
            users: Table::new(MAX_ADDRESSES),
            failures: Table::new(MAX_ADDRESSES),
            hashes: Bucket::new(now),
        }
    }

    /// Charges a call of `cost` from `ip` to `payer` (sans-io core of [`charge`]).
    pub fn charge(
        &mut self,
        l: &RateLimits,
        ip: IpAddr,
        payer: Payer,
        cost: Cost,
        now: Instant,
    ) -> Result<(), Limited> {
        let (table, rate, rule) = match payer {
            Payer::Exempt => return Ok(()),
            Payer::User => (&mut self.users, l.user(), Rule::UserCalls),
            Payer::Guest => (&mut self.guests, l.guest(), Rule::Calls),
        };
        table
            .take(ip, &rate, cost, now)
            .map_err(|wait| Limited::new(rule, l, wait))
    }

    /// May `ip` have a password hashed now? Takes one of the node's hashes if so.
    pub fn before_hash(&mut self, l: &RateLimits, ip: IpAddr, now: Instant) -> Result<(), Limited> {
        self.failures
            .check(ip, &l.login_failures(), Cost::CALL, now)
            .map_err(|wait| Limited::new(Rule::LoginFailures, l, wait))?;
        self.hashes
            .take(&l.hashes(), Cost::CALL, now)
            .map_err(|wait| Limited::new(Rule::LoginHashes, l, wait))
    }

    /// May `ip` try a secret that is checked without a password hash (an invitation code of
    /// `AddNode`)? Only its failures count: no hash is taken from the node's bucket.
    pub fn before_guess(
        &mut self,
        l: &RateLimits,
        ip: IpAddr,
        now: Instant,
    ) -> Result<(), Limited> {
        self.failures
            .check(ip, &l.login_failures(), Cost::CALL, now)
            .map_err(|wait| Limited::new(Rule::LoginFailures, l, wait))
    }

    /// Counts a failed login (or a `Register`) of `ip`.
    pub fn failed(&mut self, l: &RateLimits, ip: IpAddr, now: Instant) {
        self.failures
            .charge(ip, &l.login_failures(), Cost::CALL, now);
    }
}

/// The caller's address when the call came over a connection (`None` inside the node).
pub fn caller_ip() -> Option<IpAddr> {
    crate::api::remote_addr().map(|a| a.ip())
}

fn with<T>(state: &NodeState, f: impl FnOnce(&mut Limiter, &RateLimits, Instant) -> T) -> T {
    let vars = state.vars.borrow();
    f(&mut state.rate.borrow_mut(), &vars.rate, Instant::now())
}

/// Charges a call of `cost` from `ip` by a caller with `rights` (`None`: no session).
pub fn charge(
    state: &NodeState,
    ip: Option<IpAddr>,
    rights: Option<Rights>,
    cost: Cost,
) -> Result<(), Limited> {
    let payer = payer(ip, rights);
    match ip {
        Some(ip) if payer != Payer::Exempt => {
            with(state, |lim, l, now| lim.charge(l, ip, payer, cost, now))
        }
        _ => Ok(()),
    }
}

/// Charges a call of `cost` from `ip` presenting the session `sid` (rights looked up without
/// extending the session; an unknown one pays as a guest).
pub fn charge_sid(
    state: &NodeState,
    ip: Option<IpAddr>,
    sid: Option<&str>,
    cost: Cost,
) -> Result<(), Limited> {
    let rights = sid.and_then(|s| {
        state
            .sessions
            .borrow()
            .rights_of(s, crate::clock::unix_now())
    });
    charge(state, ip, rights, cost)
}

/// Before a password is hashed for a caller at `ip`: refused when its address has failed
/// too often or the node hashes too many now. The owner's loopback and calls inside the
/// node are never refused.
pub fn before_hash(state: &NodeState, ip: Option<IpAddr>) -> Result<(), Limited> {
    match ip {
        Some(ip) if !is_owner_loopback(ip) => {
            with(state, |lim, l, now| lim.before_hash(l, ip, now))
        }
        _ => Ok(()),
    }
}

/// Before an invitation code (`AddNode`) is checked for a caller at `ip`: refused when its
/// address has failed too often (wrong codes count as failed logins). The owner's loopback
/// and calls inside the node are never refused.
pub fn before_guess(state: &NodeState, ip: Option<IpAddr>) -> Result<(), Limited> {
    match ip {
        Some(ip) if !is_owner_loopback(ip) => {
            with(state, |lim, l, now| lim.before_guess(l, ip, now))
        }
        _ => Ok(()),
    }
}

/// After a failed login (or any `Register`, or a wrong invitation code) of a caller at `ip`.
pub fn failed(state: &NodeState, ip: Option<IpAddr>) {
    if let Some(ip) = ip.filter(|ip| !is_owner_loopback(*ip)) {
        with(state, |lim, l, now| lim.failed(l, ip, now));
    }
}

/// A limiter for a node's state.
pub fn new_limiter() -> RefCell<Limiter> {
    RefCell::new(Limiter::new(Instant::now()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_owner_and_loopback_pay_nothing_users_have_their_own_bucket() {
        assert_eq!(payer(None, None), Payer::Exempt);
        assert_eq!(payer(Some(ip("127.0.0.1")), None), Payer::Exempt);
        assert_eq!(payer(Some(ip("::1")), Some(Rights::Guest)), Payer::Exempt);
        assert_eq!(payer(Some(ip("127.0.0.2")), None), Payer::Guest);
        assert_eq!(
            payer(Some(ip("192.0.2.1")), Some(Rights::Owner)),
            Payer::Exempt
        );
        assert_eq!(
            payer(Some(ip("192.0.2.1")), Some(Rights::User)),
            Payer::User
        );
        assert_eq!(
            payer(Some(ip("192.0.2.1")), Some(Rights::Visitor)),
            Payer::Guest
        );

        let l = RateLimits {
            calls_per_sec: 1,
            burst: 2,
            ..RateLimits::default()
        };
        let t = Instant::now();
        let mut lim = Limiter::new(t);
        let a = ip("192.0.2.1");
        for _ in 0..2 {
            lim.charge(&l, a, Payer::Guest, Cost::CALL, t).unwrap();
        }
        let e = lim.charge(&l, a, Payer::Guest, Cost::CALL, t).unwrap_err();
        assert_eq!((e.rule, e.retry_after()), (Rule::Calls, 1));
        let text = e.to_string();
        assert!(text.contains("RateCallsPerSec"), "{text}");
        assert!(text.contains("retry after 1 s"), "{text}");
        // A user's session at the same address is served from its own bucket.
        lim.charge(&l, a, Payer::User, Cost::CALL, t).unwrap();
        lim.charge(&l, a, Payer::Exempt, Cost::CALL, t).unwrap();
    }

    #[test]
    fn failed_logins_stop_hashing_for_that_address_only() {
        let l = RateLimits {
            login_failures_per_min: 3,
            login_hashes_per_sec: 100,
            ..RateLimits::default()
        };
        let t = Instant::now();
        let mut lim = Limiter::new(t);
        let a = ip("192.0.2.1");
        for _ in 0..3 {
            lim.before_hash(&l, a, t).unwrap();
            lim.failed(&l, a, t);
        }
        let e = lim.before_hash(&l, a, t).unwrap_err();
        assert_eq!(e.rule, Rule::LoginFailures);
        assert_eq!(e.retry_after(), 20);
        assert!(e.to_string().contains("LoginFailuresPerMin"), "{e}");
        lim.before_hash(&l, ip("192.0.2.2"), t).unwrap();
        // Time heals: one failure is earned back every 20 s.
        lim.before_hash(&l, a, t + Duration::from_secs(20)).unwrap();
    }

    #[test]
    fn the_node_hashes_at_most_its_rate_for_all_addresses() {
        let l = RateLimits {
            login_hashes_per_sec: 2,
            ..RateLimits::default()
        };
        let t = Instant::now();
        let mut lim = Limiter::new(t);
        lim.before_hash(&l, ip("192.0.2.1"), t).unwrap();
        lim.before_hash(&l, ip("192.0.2.2"), t).unwrap();
        let e = lim.before_hash(&l, ip("192.0.2.3"), t).unwrap_err();
        assert_eq!(e.rule, Rule::LoginHashes);
        assert!(e.to_string().contains("LoginHashesPerSec"), "{e}");
        lim.before_hash(&l, ip("192.0.2.3"), t + Duration::from_millis(500))
            .unwrap();
    }
}
