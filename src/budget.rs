//! The node's memory budget: one account that per-connection buffers, request bodies,
//! stream queues, WebSocket buffers and the fixed tables draw from, so that `MaxMemoryMB` is a
//! bound and not a hope (issue #15, docs/security.md "Connections and memory").
//!
//! Work reserves before it allocates ([`Budget::reserve`] gives a [`Grant`]) and the grant
//! gives its bytes back when dropped. Over the budget, the reservation fails with a
//! [`BudgetError`] that names the setting to raise; the door answers `503` with it. Lua heaps
//! are not drawn from here: their caps are reserved by Lever against its own share
//! ([`crate::lever::Lever::budget`]), and [`split`] carves both shares from `MaxMemoryMB`.
//!
//! Single-threaded like the rest of the node: `Cell`s, no locks.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;

use crate::config::SystemVars;

const MIB: usize = 1 << 20;
/// What the process needs before any work: code, runtime, libp2p, redb (a release build at
/// rest; a debug build needs about 27 MiB).
pub const BASELINE_MB: usize = 8;
/// The least the connection budget is given, whatever `MaxMemoryMB` says.
pub const MIN_BUFFERS_MB: usize = 4;

/// The shares of `MaxMemoryMB`: (Lua instances, connections and streams), in bytes.
///
/// Lua gets `LeverMemoryMB` when set (at most `MaxMemoryMB`), else three eighths; the page
/// cache an eighth; the process itself [`BASELINE_MB`]; connections and streams what is left, at least
/// [`MIN_BUFFERS_MB`].
pub fn split(vars: &SystemVars) -> (usize, usize) {
    let max = vars.max_memory_mb as usize * MIB;
    let lever = vars
        .other
        .iter()
        .find(|(k, _)| k == "LeverMemoryMB")
        .and_then(|(_, v)| v.as_i64())
        .and_then(|m| usize::try_from(m).ok())
        .map(|m| (m * MIB).min(max))
        .unwrap_or(max / 8 * 3);
    let cache = cache_share(vars);
    let buffers = max
        .saturating_sub(lever)
        .saturating_sub(cache)
        .saturating_sub(BASELINE_MB * MIB)
        .max(MIN_BUFFERS_MB * MIB);
    (lever, buffers)
}

/// The caches' share of `MaxMemoryMB`: an eighth, 1-64 MiB. It holds redb's page cache
/// ([`page_cache`]) and the allocator's freed large blocks (at most [`crate::alloc::MAX_CACHED`]).
pub fn cache_share(vars: &SystemVars) -> usize {
    (vars.max_memory_mb as usize * MIB / 8).clamp(MIB, 64 * MIB)
}

/// redb's page cache: the caches' share less what the allocator may keep, at least 1 MiB.
pub fn page_cache(vars: &SystemVars) -> usize {
    cache_share(vars)
        .saturating_sub(crate::alloc::MAX_CACHED)
        .max(MIB)
}

/// A reservation refused: the budget is full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetError {
    /// What asked (e.g. "a request body").
    pub what: &'static str,
    /// Bytes asked for.
    pub asked: usize,
    /// Bytes in use when it asked.
    pub used: usize,
    /// The budget.
    pub limit: usize,
}

impl fmt::Display for BudgetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the node's memory budget for connections and streams is full ({} of {} KiB in use, \
             {} KiB more asked for {}); try again soon, or raise MaxMemoryMB in SystemVars.json",
            self.used / 1024,
            self.limit / 1024,
            self.asked.div_ceil(1024),
            self.what
        )
    }
}

impl std::error::Error for BudgetError {}

/// The account: a limit and what is reserved against it.
#[derive(Debug)]
pub struct Budget {
    limit: Cell<usize>,
    used: Cell<usize>,
    peak: Cell<usize>,
}

impl Budget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Rc<Budget> {
        Rc::new(Budget {
            limit: Cell::new(limit),
            used: Cell::new(0),
            peak: Cell::new(0),
        })
    }

    /// The limit in bytes.
    pub fn limit(&self) -> usize {
        self.limit.get()
    }

    /// Bytes reserved now.
    pub fn used(&self) -> usize {
        self.used.get()
    }

    /// The most bytes ever reserved at once.
    pub fn peak(&self) -> usize {
        self.peak.get()
    }

    /// Reserves `bytes` for `what`, or says why not.
    pub fn reserve(
        self: &Rc<Self>,
        bytes: usize,
        what: &'static str,
    ) -> Result<Grant, BudgetError> {
        let mut g = Grant {
            budget: self.clone(),
            bytes: 0,
            what,
        };
        g.grow(bytes)?;
        Ok(g)
    }

    fn take(&self, bytes: usize, what: &'static str) -> Result<(), BudgetError> {
        let used = self.used.get();
        if used.saturating_add(bytes) > self.limit.get() {
            return Err(BudgetError {
                what,
                asked: bytes,
                used,
                limit: self.limit.get(),
            });
        }
        self.used.set(used + bytes);
        self.peak.set(self.peak.get().max(used + bytes));
        Ok(())
    }

    fn give(&self, bytes: usize) {
        self.used.set(self.used.get().saturating_sub(bytes));
    }
}

/// Bytes reserved from a [`Budget`]; given back on drop.
#[derive(Debug)]
pub struct Grant {
    budget: Rc<Budget>,
    bytes: usize,
    what: &'static str,
}

impl Grant {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Reserves `more` bytes on top (nothing changes when refused).
    pub fn grow(&mut self, more: usize) -> Result<(), BudgetError> {
        self.budget.take(more, self.what)?;
        self.bytes += more;
        Ok(())
    }

    /// Holds exactly `bytes`: grows (may be refused) or gives back the difference.
    pub fn resize(&mut self, bytes: usize) -> Result<(), BudgetError> {
        if bytes > self.bytes {
            self.grow(bytes - self.bytes)
        } else {
            self.budget.give(self.bytes - bytes);
            self.bytes = bytes;
            Ok(())
        }
    }
}

impl Drop for Grant {
    fn drop(&mut self) {
        self.budget.give(self.bytes);
    }
}

/// Roughly the heap a decoded value holds (the enum itself included), to count messages in
/// queues: an estimate from above for strings and lists, never zero.
pub fn value_bytes(v: &crate::api::Value) -> usize {
    use crate::api::Value;
    const NODE: usize = std::mem::size_of::<Value>();
    match v {
        Value::Str(s) => NODE + s.capacity(),
        Value::Bytes(b) => NODE + b.capacity(),
        Value::List(l) => NODE + l.iter().map(value_bytes).sum::<usize>(),
        Value::Map(m) => {
            NODE + m
                .iter()
                .map(|(k, v)| std::mem::size_of::<String>() + k.capacity() + value_bytes(v))
                .sum::<usize>()
        }
        _ => NODE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_are_given_back_on_drop_and_refused_over_the_limit() {
        let b = Budget::new(100);
        let g = b.reserve(60, "a").unwrap();
        let e = b.reserve(50, "a body").unwrap_err();
        assert_eq!((e.asked, e.used, e.limit), (50, 60, 100));
        assert!(e.to_string().contains("MaxMemoryMB"), "{e}");
        assert!(e.to_string().contains("a body"), "{e}");
        drop(g);
        assert_eq!(b.used(), 0);
        let mut g = b.reserve(10, "a").unwrap();
        g.resize(90).unwrap();
        assert!(g.resize(101).is_err());
        assert_eq!(b.used(), 90);
        g.resize(5).unwrap();
        assert_eq!(b.used(), 5);
        assert_eq!(b.peak(), 90);
    }

    #[test]
    fn shares_fit_in_max_memory() {
        let mut v = SystemVars {
            max_memory_mb: 64,
            ..SystemVars::default()
        };
        let (lua, buffers) = split(&v);
        assert_eq!(lua, 24 * MIB);
        assert_eq!(buffers, (64 - 24 - 8 - BASELINE_MB) * MIB);
        // The caches' eighth: redb's page cache and the allocator's freed blocks together.
        assert_eq!(page_cache(&v) + crate::alloc::MAX_CACHED, cache_share(&v));
        assert_eq!(cache_share(&v), 8 * MIB);
        v.max_memory_mb = 8;
        assert_eq!(split(&v).1, MIN_BUFFERS_MB * MIB);
        assert_eq!(page_cache(&v), MIB, "never below 1 MiB");
        v.other
            .push(("LeverMemoryMB".into(), crate::api::Value::Int(1000)));
        assert_eq!(split(&v).0, 8 * MIB);
    }
}
