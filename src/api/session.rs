//! Sessions: what `Login` hands out and every later call presents as its first argument.
//!
//! Sans-io: every method takes `now` (unix seconds). A session has an idle timeout that each
//! use extends, and a hard end: a user session never outlives the pass it came from. The
//! table is bounded; when it is full, expired sessions go first, then the least recently used
//! guest session, and only then is a new login refused.

use std::collections::HashMap;
use std::rc::Rc;

use super::error::ApiError;
use crate::pki::encoding::base64url_encode;

/// What a session may do. Ordered: each level includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rights {
    /// `Login()` without a pass: read public things only.
    Guest,
    /// A valid pass signed by some key: that user's rights.
    User,
    /// A valid pass signed by the node's own key: everything.
    Owner,
}

impl Rights {
    /// The name shown to clients.
    pub fn as_str(self) -> &'static str {
        match self {
            Rights::Guest => "guest",
            Rights::User => "user",
            Rights::Owner => "owner",
        }
    }
}

/// One logged-in session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The session id handed to the client.
    pub sid: String,
    /// The user's 27-character ID ("" for a guest).
    pub uid: String,
    /// What the session may do.
    pub rights: Rights,
    /// Unix seconds after which the session is gone unless used again.
    pub expires: u64,
    /// Unix seconds after which the session is gone, used or not.
    pub hard_end: u64,
    last_used: u64,
    /// The user's own key, for an account logged in by name (src/accounts/): `SignPPT` signs
    /// with it. Held in memory only, and gone with the session.
    key: Option<Rc<crate::pki::NodeKey>>,
}

impl Session {
    /// The session behind Leither's empty session id `""`: a guest that never expires.
    pub fn guest() -> Session {
        Session {
            sid: String::new(),
            uid: String::new(),
            rights: Rights::Guest,
            expires: u64::MAX,
            hard_end: u64::MAX,
            last_used: 0,
            key: None,
        }
    }
}

/// Idle timeout of a guest session.
pub const GUEST_IDLE_SECS: u64 = 3600;
/// Idle timeout of a user or owner session.
pub const USER_IDLE_SECS: u64 = 4 * 3600;
/// Longest life of any session.
pub const MAX_LIFE_SECS: u64 = 7 * 24 * 3600;

/// All sessions of the node.
#[derive(Debug)]
pub struct SessionTable {
    sessions: HashMap<String, Session>,
    capacity: usize,
}

impl SessionTable {
    /// A table holding at most `capacity` sessions.
    pub fn new(capacity: usize) -> SessionTable {
        SessionTable {
            sessions: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// Number of live entries (some may have expired and not yet been swept).
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// True when no session is held.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Opens a session for `uid` with `rights`, ending at the latest at `hard_end`.
    pub fn open(
        &mut self,
        uid: &str,
        rights: Rights,
        hard_end: u64,
        now: u64,
    ) -> Result<Session, ApiError> {
        if self.sessions.len() >= self.capacity {
            self.sweep(now);
        }
        if self.sessions.len() >= self.capacity {
            let victim = self
                .sessions
                .values()
                .filter(|s| s.rights == Rights::Guest)
                .min_by_key(|s| s.last_used)
                .map(|s| s.sid.clone());
            match victim {
                Some(sid) => {
                    self.sessions.remove(&sid);
                }
                None => {
                    return Err(ApiError::Busy(format!(
                        "the node holds its maximum of {} sessions; try again later",
                        self.capacity
                    )));
                }
            }
        }
        let mut raw = [0u8; 18];
        getrandom::getrandom(&mut raw)
            .map_err(|e| ApiError::Internal(format!("no randomness for a session id: {e}")))?;
        let sid = base64url_encode(&raw);
        let hard_end = hard_end.min(now.saturating_add(MAX_LIFE_SECS));
        let idle = if rights == Rights::Guest {
            GUEST_IDLE_SECS
        } else {
            USER_IDLE_SECS
        };
        let s = Session {
            sid: sid.clone(),
            uid: uid.to_string(),
            rights,
            expires: now.saturating_add(idle).min(hard_end),
            hard_end,
            last_used: now,
            key: None,
        };
        self.sessions.insert(sid, s.clone());
        Ok(s)
    }

    /// Looks a session up and extends its idle timeout. An expired one is removed. The empty
    /// id `""` is Leither's guest: always valid, no user, guest rights.
    pub fn touch(&mut self, sid: &str, now: u64) -> Result<Session, ApiError> {
        if sid.is_empty() {
            return Ok(Session::guest());
        }
        let Some(s) = self.sessions.get_mut(sid) else {
            return Err(ApiError::SessionExpired);
        };
        if now >= s.expires {
            self.sessions.remove(sid);
            return Err(ApiError::SessionExpired);
        }
        let idle = if s.rights == Rights::Guest {
            GUEST_IDLE_SECS
        } else {
            USER_IDLE_SECS
        };
        s.last_used = now;
        s.expires = now.saturating_add(idle).min(s.hard_end);
        Ok(s.clone())
    }

    /// Gives a session its user's key (an account logged in by name).
    pub fn attach_key(&mut self, sid: &str, key: Rc<crate::pki::NodeKey>) {
        if let Some(s) = self.sessions.get_mut(sid) {
            s.key = Some(key);
        }
    }

    /// The user's key held by a session, if it has one.
    pub fn key_of(&self, sid: &str) -> Option<Rc<crate::pki::NodeKey>> {
        self.sessions.get(sid).and_then(|s| s.key.clone())
    }

    /// Whether `sid` is a live session, without extending its idle time (for sweeps of what
    /// sessions hold).
    pub fn is_live(&self, sid: &str, now: u64) -> bool {
        sid.is_empty() || self.sessions.get(sid).is_some_and(|s| now < s.expires)
    }

    /// Ends a session. Returns whether it existed.
    pub fn close(&mut self, sid: &str) -> bool {
        self.sessions.remove(sid).is_some()
    }

    /// Drops every expired session.
    pub fn sweep(&mut self, now: u64) {
        self.sessions.retain(|_, s| now < s.expires);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_empty_session_is_a_guest() {
        let mut t = SessionTable::new(1);
        let g = t.touch("", 5).unwrap();
        assert_eq!(
            (g.sid.as_str(), g.uid.as_str(), g.rights),
            ("", "", Rights::Guest)
        );
        assert!(t.is_empty(), "the guest takes no slot");
    }

    #[test]
    fn open_touch_close() {
        let mut t = SessionTable::new(4);
        let s = t.open("", Rights::Guest, u64::MAX, 1000).unwrap();
        assert!(s.sid.len() >= 22);
        assert_eq!(t.touch(&s.sid, 1001).unwrap().rights, Rights::Guest);
        assert!(t.close(&s.sid));
        assert!(matches!(
            t.touch(&s.sid, 1002),
            Err(ApiError::SessionExpired)
        ));
    }

    #[test]
    fn idle_sessions_expire_and_use_extends() {
        let mut t = SessionTable::new(4);
        let s = t.open("", Rights::Guest, u64::MAX, 0).unwrap();
        assert!(t.touch(&s.sid, GUEST_IDLE_SECS - 1).is_ok());
        assert!(t.touch(&s.sid, 2 * GUEST_IDLE_SECS - 2).is_ok());
        assert!(t.touch(&s.sid, 4 * GUEST_IDLE_SECS).is_err());
    }

    #[test]
    fn user_session_ends_with_its_pass() {
        let mut t = SessionTable::new(4);
        let s = t.open("u", Rights::User, 100, 0).unwrap();
        assert_eq!(s.expires, 100);
        assert!(t.touch(&s.sid, 99).is_ok());
        assert!(t.touch(&s.sid, 100).is_err());
    }

    #[test]
    fn full_table_evicts_guests_then_refuses() {
        let mut t = SessionTable::new(2);
        let g = t.open("", Rights::Guest, u64::MAX, 0).unwrap();
        let _u = t.open("u", Rights::User, u64::MAX, 1).unwrap();
        let _u2 = t.open("v", Rights::User, u64::MAX, 2).unwrap();
        assert!(t.touch(&g.sid, 3).is_err(), "guest evicted");
        assert!(matches!(
            t.open("w", Rights::User, u64::MAX, 3),
            Err(ApiError::Busy(_))
        ));
    }
}
