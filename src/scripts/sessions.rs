//! Leither's backend sessions (`CreateSession`, `SessionSet`, `SessionGet`, `SessionDelete`,
//! `ReleaseSession`): a cookie kept on the node's side, which an app's backend code fills with
//! values and finds again by its id in a later run (docs/apps.md).
//!
//! Sans-io: every method takes `now` (unix seconds). A session belongs to the app whose code
//! made it: only that app's code reads or changes it (another app's code is told there is no
//! such session of its own, so ids of others are not confirmed). It lives in memory and ends
//! an hour after its last use (Leither's rule), at `ReleaseSession`, or at a restart.
//!
//! Bounded: keys per session, bytes per value and per session, sessions per app, sessions on
//! the node. At a bound the call is refused with the bound's name; a full node first drops
//! sessions idle past their hour.

use std::collections::HashMap;

use crate::api::Value;

/// A session not used for this long is gone (Leither: one hour).
pub const IDLE_SECS: u64 = 3600;
/// Most keys one session holds.
pub const MAX_KEYS: usize = 64;
/// Longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 128;
/// Largest value, in bytes as counted by [`size_of`].
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Most bytes one session holds (keys and values).
pub const MAX_SESSION_BYTES: usize = 256 * 1024;
/// Most sessions one app holds at once.
pub const MAX_PER_APP: usize = 256;
/// Most sessions on the node.
pub const MAX_TOTAL: usize = 4096;
/// Most bytes one app's sessions hold together.
pub const MAX_APP_BYTES: usize = 4 << 20;
/// Most bytes all sessions on the node hold together.
pub const MAX_TOTAL_BYTES: usize = 16 << 20;

/// Why a session call was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError {
    /// No live session of that id made by this app.
    Unknown,
    /// A bound was reached; the text names it.
    Bound(String),
    /// The key or value cannot be kept; the text says why.
    Bad(String),
}

struct Entry {
    app: String,
    values: Vec<(String, Value)>,
    bytes: usize,
    last_used: u64,
}

/// The node's backend sessions.
#[derive(Default)]
pub struct SessionTable {
    sessions: HashMap<String, Entry>,
    /// The bytes of every session's keys and values.
    bytes: usize,
}

/// Bytes a value takes, near enough to bound memory: strings and bytes by length, 8 per scalar
/// and container, keys by length. Walks without recursion.
pub fn size_of(v: &Value) -> usize {
    let mut total = 0usize;
    let mut todo = vec![v];
    while let Some(v) = todo.pop() {
        total = total.saturating_add(8);
        match v {
            Value::Str(s) => total = total.saturating_add(s.len()),
            Value::Bytes(b) => total = total.saturating_add(b.len()),
            Value::List(l) => todo.extend(l.iter()),
            Value::Map(m) => {
                for (k, x) in m {
                    total = total.saturating_add(k.len());
                    todo.push(x);
                }
            }
            _ => {}
        }
    }
    total
}

impl SessionTable {
    /// Sessions on the node.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// No sessions.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    fn sweep(&mut self, now: u64) {
        self.sessions
            .retain(|_, e| now.saturating_sub(e.last_used) < IDLE_SECS);
        self.bytes = self.sessions.values().map(|e| e.bytes).sum();
    }

    fn app_bytes(&self, app: &str) -> usize {
        self.sessions
            .values()
            .filter(|e| e.app == app)
            .map(|e| e.bytes)
            .sum()
    }

    /// Bytes all sessions hold.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// `CreateSession` for `app`: a fresh id.
    pub fn create(&mut self, app: &str, now: u64) -> Result<String, SessionError> {
        if self.sessions.len() >= MAX_TOTAL {
            self.sweep(now);
        }
        if self.sessions.len() >= MAX_TOTAL {
            return Err(SessionError::Bound(format!(
                "the node holds {MAX_TOTAL} backend sessions, the most it keeps; release some \
                 (ReleaseSession) or wait for idle ones to end (an hour after their last use)"
            )));
        }
        let mine = self.sessions.values().filter(|e| e.app == app).count();
        if mine >= MAX_PER_APP {
            self.sweep(now);
            let mine = self.sessions.values().filter(|e| e.app == app).count();
            if mine >= MAX_PER_APP {
                return Err(SessionError::Bound(format!(
                    "this app holds {MAX_PER_APP} backend sessions, the most an app keeps; \
                     release some (ReleaseSession)"
                )));
            }
        }
        let mut raw = [0u8; 18];
        getrandom::getrandom(&mut raw)
            .map_err(|e| SessionError::Bad(format!("no randomness for a session id: {e}")))?;
        let sid = crate::pki::encoding::base64url_encode(&raw);
        self.sessions.insert(
            sid.clone(),
            Entry {
                app: app.to_string(),
                values: Vec::new(),
                bytes: 0,
                last_used: now,
            },
        );
        Ok(sid)
    }

    fn mine(&mut self, app: &str, sid: &str, now: u64) -> Result<&mut Entry, SessionError> {
        let live = match self.sessions.get(sid) {
            Some(e) if e.app == app => now.saturating_sub(e.last_used) < IDLE_SECS,
            _ => return Err(SessionError::Unknown),
        };
        if !live {
            self.remove(sid);
            return Err(SessionError::Unknown);
        }
        let e = self.sessions.get_mut(sid).ok_or(SessionError::Unknown)?;
        e.last_used = now;
        Ok(e)
    }

    /// `SessionSet`: keeps `value` under `key`.
    pub fn set(
        &mut self,
        app: &str,
        sid: &str,
        key: &str,
        value: Value,
        now: u64,
    ) -> Result<(), SessionError> {
        if key.is_empty() || key.len() > MAX_KEY_BYTES {
            return Err(SessionError::Bad(format!(
                "a session key is 1 to {MAX_KEY_BYTES} bytes"
            )));
        }
        let size = size_of(&value);
        if size > MAX_VALUE_BYTES {
            return Err(SessionError::Bound(format!(
                "the value takes {size} bytes; a session value takes at most {MAX_VALUE_BYTES}"
            )));
        }
        let e = self.mine(app, sid, now)?;
        let old = e.values.iter().position(|(k, _)| k == key);
        let freed = old.map_or(0, |i| e.values[i].0.len() + size_of(&e.values[i].1));
        let before = e.bytes;
        let bytes = (before + key.len() + size).saturating_sub(freed);
        let grows = bytes.saturating_sub(before);
        if grows > 0 && self.bytes + grows > MAX_TOTAL_BYTES {
            self.sweep(now);
            if self.bytes + grows > MAX_TOTAL_BYTES {
                return Err(SessionError::Bound(format!(
                    "the node's backend sessions hold {} bytes, the most they hold together \
                     ({MAX_TOTAL_BYTES}); delete keys or release sessions",
                    self.bytes
                )));
            }
        }
        if grows > 0 && self.app_bytes(app) + grows > MAX_APP_BYTES {
            return Err(SessionError::Bound(format!(
                "this app's backend sessions would hold more than {MAX_APP_BYTES} bytes, the \
                 most an app's hold together; delete keys or release sessions"
            )));
        }
        let e = self.mine(app, sid, now)?;
        if bytes > MAX_SESSION_BYTES {
            return Err(SessionError::Bound(format!(
                "the session would hold {bytes} bytes; a session holds at most \
                 {MAX_SESSION_BYTES} (delete keys with SessionDelete)"
            )));
        }
        match old {
            Some(i) => e.values[i].1 = value,
            None if e.values.len() >= MAX_KEYS => {
                return Err(SessionError::Bound(format!(
                    "the session holds {MAX_KEYS} keys, the most a session holds (delete keys \
                     with SessionDelete)"
                )));
            }
            None => e.values.push((key.to_string(), value)),
        }
        e.bytes = bytes;
        self.bytes = (self.bytes + bytes).saturating_sub(before);
        Ok(())
    }

    /// `SessionGet`: the value under `key`, `Null` when there is none.
    pub fn get(
        &mut self,
        app: &str,
        sid: &str,
        key: &str,
        now: u64,
    ) -> Result<Value, SessionError> {
        let e = self.mine(app, sid, now)?;
        Ok(e.values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Null))
    }

    /// `SessionDelete`: removes `key` (nothing when absent).
    pub fn delete(
        &mut self,
        app: &str,
        sid: &str,
        key: &str,
        now: u64,
    ) -> Result<(), SessionError> {
        let e = self.mine(app, sid, now)?;
        if let Some(i) = e.values.iter().position(|(k, _)| k == key) {
            let (k, v) = e.values.remove(i);
            let n = k.len() + size_of(&v);
            e.bytes = e.bytes.saturating_sub(n);
            self.bytes = self.bytes.saturating_sub(n);
        }
        Ok(())
    }

    /// `ReleaseSession`: ends the session.
    pub fn release(&mut self, app: &str, sid: &str, now: u64) -> Result<(), SessionError> {
        self.mine(app, sid, now)?;
        self.remove(sid);
        Ok(())
    }

    fn remove(&mut self, sid: &str) {
        if let Some(e) = self.sessions.remove(sid) {
            self.bytes = self.bytes.saturating_sub(e.bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_stay_with_their_app() {
        let mut t = SessionTable::default();
        let sid = t.create("A", 0).unwrap();
        let v = Value::map([("n", Value::Int(1)), ("l", Value::List(vec![Value::Null]))]);
        t.set("A", &sid, "k", v.clone(), 1).unwrap();
        assert_eq!(t.get("A", &sid, "k", 2).unwrap(), v);
        assert_eq!(t.get("A", &sid, "none", 2).unwrap(), Value::Null);
        assert_eq!(t.get("B", &sid, "k", 2), Err(SessionError::Unknown));
        assert_eq!(t.release("B", &sid, 2), Err(SessionError::Unknown));
        t.delete("A", &sid, "k", 3).unwrap();
        assert_eq!(t.get("A", &sid, "k", 3).unwrap(), Value::Null);
        t.release("A", &sid, 4).unwrap();
        assert_eq!(t.get("A", &sid, "k", 4), Err(SessionError::Unknown));
    }

    #[test]
    fn bounds_hold() {
        let mut t = SessionTable::default();
        let sid = t.create("A", 0).unwrap();
        for i in 0..MAX_KEYS {
            t.set("A", &sid, &format!("k{i}"), Value::Int(1), 0)
                .unwrap();
        }
        assert!(matches!(
            t.set("A", &sid, "one-more", Value::Int(1), 0),
            Err(SessionError::Bound(_))
        ));
        // Replacing a key is not a new key.
        t.set("A", &sid, "k0", Value::Int(2), 0).unwrap();
        let big = Value::Str("x".repeat(MAX_VALUE_BYTES));
        assert!(matches!(
            t.set("A", &sid, "k1", big, 0),
            Err(SessionError::Bound(_))
        ));
        for _ in 1..MAX_PER_APP {
            t.create("A", 0).unwrap();
        }
        assert!(matches!(t.create("A", 0), Err(SessionError::Bound(_))));
        // An hour later the idle ones are gone and make room.
        assert!(t.create("A", IDLE_SECS + 1).is_ok());
        assert_eq!(
            t.get("A", &sid, "k0", IDLE_SECS + 1),
            Err(SessionError::Unknown)
        );
    }

    #[test]
    fn bytes_are_bounded_per_app_and_per_node() {
        let mut t = SessionTable::default();
        let v = Value::Str("x".repeat(60_000));
        let mut stored = 0usize;
        let mut refused = None;
        'fill: for _ in 0..MAX_PER_APP {
            let sid = t.create("A", 0).unwrap();
            for k in 0..4 {
                match t.set("A", &sid, &format!("k{k}"), v.clone(), 0) {
                    Ok(()) => stored += 1,
                    Err(e) => {
                        refused = Some(e);
                        break 'fill;
                    }
                }
            }
        }
        assert!(matches!(refused, Some(SessionError::Bound(m)) if m.contains("an app's")));
        assert!(stored * 60_000 <= MAX_APP_BYTES && t.bytes() <= MAX_APP_BYTES);
        // Other apps fill the node up to its bound, not past it.
        let mut node_refused = false;
        for app in 0..8 {
            let app = format!("B{app}");
            for _ in 0..80 {
                let sid = t.create(&app, 0).unwrap();
                if t.set(&app, &sid, "k", v.clone(), 0).is_err() {
                    node_refused = true;
                    break;
                }
            }
        }
        assert!(node_refused && t.bytes() <= MAX_TOTAL_BYTES);
        // Releasing gives the bytes back.
        let before = t.bytes();
        let sid = t.create("C", 0).unwrap();
        t.set("C", &sid, "k", Value::Int(1), 0).unwrap_or(());
        t.release("C", &sid, 0).unwrap();
        assert_eq!(t.bytes(), before);
    }
}
