//! Sessions: what `Login` hands out and every later call presents as its first argument.
//!
//! Sans-io: every method takes `now` (unix seconds). A session has an idle timeout that each
//! use extends, and a hard end: a user session never outlives the pass it came from. The
//! table is bounded, and a share of it is the owner's alone (docs/security.md, "Quotas"):
//! - the owner always gets a session: when the table is full, the least recently used guest,
//!   visitor or (last) user session makes room;
//! - everyone else shares `capacity - owner_reserve` slots; when those are full, expired
//!   sessions go first, then the least recently used guest or visitor session (both cost
//!   nothing to make again), and only then is a new login refused;
//! - one user (a uid) holds at most `per_user` sessions (`QuotaSessions`): a further login
//!   ends that user's least recently used session, so a client that never logs out keeps
//!   working and cannot fill the table.

use std::collections::HashMap;
use std::rc::Rc;

use super::error::ApiError;
use crate::pki::encoding::base64url_encode;

/// What a session may do. Ordered: each level includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rights {
    /// `Login()` without a pass: read public things only.
    Guest,
    /// A valid pass signed by a key this node has not admitted: a guest that is known by its
    /// ID, so rights granted to that ID on a Mimei hold, but that may not use the node's
    /// shared resources (store blocks, make Mimeis, deploy, ...). docs/security.md.
    Visitor,
    /// A user of this node: an admitted key (`lpki addkey`), an account registered here, or
    /// a key granted a service by `RequestService`.
    User,
    /// A valid pass signed by the node's own key: everything.
    Owner,
}

impl Rights {
    /// The name shown to clients.
    pub fn as_str(self) -> &'static str {
        match self {
            Rights::Guest => "guest",
            Rights::Visitor => "visitor",
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
    owner_reserve: usize,
    per_user: usize,
}

/// The share of the table only the owner may use: 1/16 of it, at least one slot.
fn owner_reserve(capacity: usize) -> usize {
    (capacity / 16).max(1).min(capacity.saturating_sub(1))
}

impl SessionTable {
    /// A table holding at most `capacity` sessions.
    pub fn new(capacity: usize) -> SessionTable {
        let capacity = capacity.max(1);
        SessionTable {
            sessions: HashMap::new(),
            capacity,
            owner_reserve: owner_reserve(capacity),
            per_user: capacity,
        }
    }

    /// The table with at most `per_user` sessions per user ID (`QuotaSessions`; 0 = none).
    pub fn with_per_user(mut self, per_user: usize) -> SessionTable {
        self.per_user = per_user;
        self
    }

    /// The least recently used session among those `pick` accepts.
    fn lru(&self, pick: impl Fn(&Session) -> bool) -> Option<String> {
        self.sessions
            .values()
            .filter(|s| pick(s))
            .min_by_key(|s| s.last_used)
            .map(|s| s.sid.clone())
    }

    /// Makes room for a session of `uid` with `rights`, or says which limit refuses it.
    fn make_room(&mut self, uid: &str, rights: Rights, now: u64) -> Result<(), ApiError> {
        if rights >= Rights::User && rights < Rights::Owner && !uid.is_empty() {
            if self.per_user == 0 {
                return Err(ApiError::Quota(crate::accounts::quota::QuotaError::new(
                    crate::accounts::quota::Quota::Sessions,
                    0,
                    uid,
                )));
            }
            let mine = self.sessions.values().filter(|s| s.uid == uid).count();
            if mine >= self.per_user
                && let Some(sid) = self.lru(|s| s.uid == uid)
            {
                self.sessions.remove(&sid);
            }
        }
        let others = |t: &SessionTable| {
            t.sessions
                .values()
                .filter(|s| s.rights < Rights::Owner)
                .count()
        };
        let (full, shared) = (self.capacity, self.capacity - self.owner_reserve);
        if rights == Rights::Owner {
            if self.sessions.len() >= full {
                self.sweep(now);
            }
            if self.sessions.len() >= full {
                let victim = self
                    .lru(|s| s.rights < Rights::User)
                    .or_else(|| self.lru(|s| s.rights < Rights::Owner));
                match victim {
                    Some(sid) => {
                        self.sessions.remove(&sid);
                    }
                    None => {
                        return Err(ApiError::Busy(format!(
                            "the node holds its maximum of {full} sessions, all the owner's; \
                             log some out"
                        )));
                    }
                }
            }
            return Ok(());
        }
        if others(self) >= shared {
            self.sweep(now);
        }
        if others(self) >= shared {
            match self.lru(|s| s.rights < Rights::User) {
                Some(sid) => {
                    self.sessions.remove(&sid);
                }
                None => {
                    return Err(ApiError::Busy(format!(
                        "the node holds its maximum of {shared} sessions of users (another \
                         {} are kept for its owner); try again later",
                        self.owner_reserve
                    )));
                }
            }
        }
        Ok(())
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
        self.make_room(uid, rights, now)?;
        let mut raw = [0u8; 18];
        getrandom::getrandom(&mut raw)
            .map_err(|e| ApiError::Internal(format!("no randomness for a session id: {e}")))?;
        let sid = base64url_encode(&raw);
        let hard_end = hard_end.min(now.saturating_add(MAX_LIFE_SECS));
        let idle = if rights <= Rights::Visitor {
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
        let idle = if s.rights <= Rights::Visitor {
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

    /// The rights of the live session `sid` (`""`: a guest's), without extending its idle
    /// time; `None` when it is unknown or expired (the rate limits count such a caller as a
    /// guest).
    pub fn rights_of(&self, sid: &str, now: u64) -> Option<Rights> {
        if sid.is_empty() {
            return Some(Rights::Guest);
        }
        self.sessions
            .get(sid)
            .filter(|s| now < s.expires)
            .map(|s| s.rights)
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

    /// Gives every visitor or user session of `uid` the rights `rights` (after `lpki addkey` or
    /// `delkey`); the owner's sessions are left as they are. Returns how many changed.
    pub fn set_rights_of(&mut self, uid: &str, rights: Rights) -> usize {
        let mut n = 0;
        for s in self.sessions.values_mut() {
            if s.uid == uid && matches!(s.rights, Rights::Visitor | Rights::User) {
                s.rights = rights;
                n += 1;
            }
        }
        n
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
        // 3 slots: 2 shared, 1 kept for the owner.
        let mut t = SessionTable::new(3);
        let g = t.open("", Rights::Guest, u64::MAX, 0).unwrap();
        let _u = t.open("u", Rights::User, u64::MAX, 1).unwrap();
        let _u2 = t.open("v", Rights::User, u64::MAX, 2).unwrap();
        assert!(t.touch(&g.sid, 3).is_err(), "guest evicted");
        assert!(matches!(
            t.open("w", Rights::User, u64::MAX, 3),
            Err(ApiError::Busy(_))
        ));
    }

    #[test]
    fn the_owner_always_gets_a_session() {
        let mut t = SessionTable::new(32);
        for i in 0..30 {
            let _ = t.open(&format!("u{i}"), Rights::User, u64::MAX, i);
        }
        assert_eq!(t.len(), 30, "users fill the shared share only");
        // The owner's logins take the reserve, then the users' slots.
        for i in 0..30 {
            let o = t.open("owner", Rights::Owner, u64::MAX, 100 + i);
            assert!(o.is_ok(), "owner login {i}: {o:?}");
        }
    }

    #[test]
    fn visitors_flooding_do_not_lock_out_users() {
        let mut t = SessionTable::new(16);
        let u = t.open("user", Rights::User, u64::MAX, 0).unwrap();
        for i in 0..100 {
            t.open(&format!("v{i}"), Rights::Visitor, u64::MAX, 1 + i)
                .unwrap();
        }
        assert!(
            t.touch(&u.sid, 200).is_ok(),
            "a user's session is never evicted for a visitor"
        );
        assert!(t.open("user2", Rights::User, u64::MAX, 201).is_ok());
    }

    #[test]
    fn one_user_holds_at_most_per_user_sessions() {
        let mut t = SessionTable::new(64).with_per_user(3);
        let first = t.open("u", Rights::User, u64::MAX, 0).unwrap();
        for i in 1..10 {
            t.open("u", Rights::User, u64::MAX, i).unwrap();
        }
        assert_eq!(t.len(), 3);
        assert!(t.touch(&first.sid, 20).is_err(), "the oldest made room");
    }
}
