//! Blocking pops on the one thread: `BLPOP BRPOP BRPOPLPUSH BLMOVE BLMPOP BZPOPMIN BZPOPMAX
//! BZMPOP`.
//!
//! A command that finds nothing to pop registers a waiter in the node's [`Registry`] and its
//! connection task awaits (the thread goes on serving everyone else). A waiter is served by
//! running the non-blocking form (`LPOP`, `RPOP`, `LMOVE`, `LMPOP`, `ZPOPMIN`, `ZPOPMAX`,
//! `ZMPOP`) through [`engine::exec`] on the key that changed, in Redis's order: per key, the
//! client that blocked first is served first.
//!
//! Which keys changed: while anyone waits, the registry holds a `WATCH` on the store
//! ([`crate::db::cur::CurStore::watch`]), so every write through any door (RESP, the API's
//! functions, Lua, `Commit`) marks the Redis key it touched. The RESP door runs
//! [`serve`] after each command (after `EXEC` as a whole, as Redis), so a client that pushes
//! sees the waiter served before its next command; the listener also runs it every
//! [`POLL`], which is how writes through the other doors reach waiters.
//!
//! Bounds: at most [`MAX_BLOCKED`] waiters per node, [`MAX_KEYS`] keys among them, and the
//! bytes of their keys are reserved from the memory budget; past them the command answers an
//! error at once. A waiter leaves on its timeout, on `CLIENT UNBLOCK`, and when its connection
//! goes (a guard removes it).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::rc::Rc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::budget::Grant;
use crate::db::cmd_stream::StreamWait;
use crate::db::kv::Kv;
use crate::db::{DbError, Reply, engine, num};
use crate::mimei::MimeiId;
use crate::mimei::store::Mimeis;
use crate::node::NodeState;
use crate::pki::LeitherId;

/// Most clients blocked at once on one node.
pub const MAX_BLOCKED: usize = 128;
/// Of them, most that are not the node owner: half the RESP port's connections
/// (`RespMaxConnections`), so strangers' waits never take every slot.
pub fn max_blocked_others(state: &NodeState) -> usize {
    (state.vars.borrow().conn.resp().max_connections / 2).clamp(1, MAX_BLOCKED)
}
/// Most keys the blocked clients of one node wait on, together.
pub const MAX_KEYS: usize = 4096;
/// How often the listener looks for writes made through other doors.
pub const POLL: Duration = Duration::from_millis(100);

/// Which non-blocking command serves a blocking one.
#[derive(Clone, Debug, PartialEq)]
enum Pop {
    /// `LPOP`/`RPOP key`: answers `[key, value]`.
    List { left: bool },
    /// `LMOVE src dst from to`: answers the value.
    Move {
        dst: Vec<u8>,
        from: &'static str,
        to: &'static str,
    },
    /// `LMPOP 1 key LEFT|RIGHT COUNT n`: answers `[key, [values]]`.
    ListMany { left: bool, count: i64 },
    /// `ZPOPMIN`/`ZPOPMAX key`: answers `[key, member, score]`.
    Zset { min: bool },
    /// `ZMPOP 1 key MIN|MAX COUNT n`: answers `[key, [[member, score]...]]`.
    ZsetMany { min: bool, count: i64 },
    /// `XREAD`/`XREADGROUP ... BLOCK`: served by re-running it ([`StreamWait::serve`]).
    Stream(Box<StreamWait>),
}

/// A parsed blocking command.
#[derive(Clone, Debug, PartialEq)]
pub struct Blocking {
    /// The keys it waits on, in the order given (duplicates dropped).
    pub keys: Vec<Vec<u8>>,
    /// Milliseconds to wait; 0 = for ever.
    pub timeout_ms: u64,
    pop: Pop,
}

/// Whether `name` (lower case) is one of the blocking commands.
pub fn is_blocking(name: &[u8]) -> bool {
    matches!(
        name,
        b"blpop"
            | b"brpop"
            | b"brpoplpush"
            | b"blmove"
            | b"blmpop"
            | b"bzpopmin"
            | b"bzpopmax"
            | b"bzmpop"
    )
}

/// Redis's blocking timeout: float seconds, 0 for ever.
fn timeout(a: &[u8]) -> Result<u64, DbError> {
    let f = num::parse_float(a)
        .filter(|f| !f.is_nan())
        .ok_or_else(|| DbError::Other("timeout is not a float or out of range".into()))?;
    let ms = f * 1000.0;
    if ms < 0.0 && ms.trunc() < 0.0 {
        return Err(DbError::Other("timeout is negative".into()));
    }
    if !ms.is_finite() || ms >= i64::MAX as f64 / 2.0 {
        return Err(DbError::Other("timeout is out of range".into()));
    }
    Ok(ms.trunc().max(0.0) as u64)
}

fn side(a: &[u8], l: &'static str, r: &'static str) -> Result<&'static str, DbError> {
    if a.eq_ignore_ascii_case(l.as_bytes()) {
        Ok(l)
    } else if a.eq_ignore_ascii_case(r.as_bytes()) {
        Ok(r)
    } else {
        Err(DbError::Syntax)
    }
}

fn dedup(keys: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(keys.len());
    for k in keys {
        if !out.iter().any(|o| o == k) {
            out.push(k.to_vec());
        }
    }
    out
}

/// `timeout numkeys key... WHERE [COUNT n]` of BLMPOP and BZMPOP: keys, where, count.
fn mpop_args(
    a: &[&[u8]],
    l: &'static str,
    r: &'static str,
) -> Result<(Vec<Vec<u8>>, bool, i64), DbError> {
    // Redis answers its own message for a number that is not one and for one below 1.
    let range = |v: &[u8], msg: &str| -> Result<i64, DbError> {
        num::parse_int(v)
            .filter(|n| *n >= 1)
            .ok_or_else(|| DbError::Other(msg.into()))
    };
    let numkeys = range(a[2], "numkeys should be greater than 0")?;
    let where_at = usize::try_from(numkeys)
        .ok()
        .and_then(|n| n.checked_add(3))
        .filter(|&w| w < a.len())
        .ok_or(DbError::Syntax)?;
    let first = side(a[where_at], l, r)? == l;
    let mut count = -1;
    let mut j = where_at + 1;
    while j < a.len() {
        if count == -1 && a[j].eq_ignore_ascii_case(b"count") && j + 1 < a.len() {
            count = range(a[j + 1], "count should be greater than 0")?;
            j += 2;
        } else {
            return Err(DbError::Syntax);
        }
    }
    Ok((dedup(&a[3..where_at]), first, count.max(1)))
}

impl Blocking {
    /// A blocking `XREAD`/`XREADGROUP` that found nothing (`StreamWait::of`).
    pub fn stream(w: StreamWait) -> Blocking {
        Blocking {
            keys: w.keys.clone(),
            timeout_ms: w.timeout_ms,
            pop: Pop::Stream(Box::new(w)),
        }
    }

    /// Parses `args` (name first, `name` lower case), checking arity, options and timeout
    /// as Redis 7.0 does and in its order.
    pub fn parse(name: &[u8], a: &[&[u8]]) -> Result<Blocking, DbError> {
        let arity = |n: usize, exact: bool| {
            if (exact && a.len() != n) || a.len() < n {
                return Err(DbError::Arity(String::from_utf8_lossy(name).into_owned()));
            }
            Ok(())
        };
        let last = |a: &[&[u8]]| timeout(a[a.len() - 1]);
        let (keys, timeout_ms, pop) = match name {
            b"blpop" | b"brpop" | b"bzpopmin" | b"bzpopmax" => {
                arity(3, false)?;
                let keys = dedup(&a[1..a.len() - 1]);
                let t = last(a)?;
                let pop = match name {
                    b"blpop" => Pop::List { left: true },
                    b"brpop" => Pop::List { left: false },
                    b"bzpopmin" => Pop::Zset { min: true },
                    _ => Pop::Zset { min: false },
                };
                (keys, t, pop)
            }
            b"brpoplpush" => {
                arity(4, true)?;
                let t = last(a)?;
                let pop = Pop::Move {
                    dst: a[2].to_vec(),
                    from: "RIGHT",
                    to: "LEFT",
                };
                (vec![a[1].to_vec()], t, pop)
            }
            b"blmove" => {
                arity(6, true)?;
                let from = side(a[3], "LEFT", "RIGHT")?;
                let to = side(a[4], "LEFT", "RIGHT")?;
                let t = last(a)?;
                let pop = Pop::Move {
                    dst: a[2].to_vec(),
                    from,
                    to,
                };
                (vec![a[1].to_vec()], t, pop)
            }
            b"blmpop" | b"bzmpop" => {
                arity(5, false)?;
                let t = timeout(a[1])?;
                let list = name == b"blmpop";
                let (l, r) = if list {
                    ("LEFT", "RIGHT")
                } else {
                    ("MIN", "MAX")
                };
                let (keys, first, count) = mpop_args(a, l, r)?;
                let pop = if list {
                    Pop::ListMany { left: first, count }
                } else {
                    Pop::ZsetMany { min: first, count }
                };
                (keys, t, pop)
            }
            _ => return Err(engine::unknown(a)),
        };
        Ok(Blocking {
            keys,
            timeout_ms,
            pop,
        })
    }

    /// Whether serving it writes (all but `XREAD`, which needs only read).
    pub fn writes(&self) -> bool {
        match &self.pop {
            Pop::Stream(w) => w.args.first().is_some_and(|n| engine::is(n, "xreadgroup")),
            _ => true,
        }
    }

    /// The engine command that serves this one (`lpop`, `lmove`, ...).
    pub fn serving_command(&self) -> &'static str {
        match self.pop {
            Pop::List { left: true } => "lpop",
            Pop::List { left: false } => "rpop",
            Pop::Move { .. } => "lmove",
            Pop::ListMany { .. } => "lmpop",
            Pop::Zset { min: true } => "zpopmin",
            Pop::Zset { min: false } => "zpopmax",
            Pop::ZsetMany { .. } => "zmpop",
            Pop::Stream(_) => "xread",
        }
    }

    /// What it answers when nothing came: a null (array for all but the moves).
    pub fn nil(&self) -> Reply {
        match self.pop {
            Pop::Move { .. } => Reply::Nil,
            _ => Reply::NilArray,
        }
    }

    /// Whether the command writes a key other than the one it waits on (`BLMOVE`'s
    /// destination), which then needs write too.
    pub fn dst(&self) -> Option<&[u8]> {
        match &self.pop {
            Pop::Move { dst, .. } => Some(dst),
            _ => None,
        }
    }

    /// Runs the non-blocking form on `key`: `Ok(None)` when there was nothing to pop.
    pub fn try_key(
        &self,
        kv: &mut dyn Kv,
        now_ms: u64,
        key: &[u8],
    ) -> Result<Option<Reply>, DbError> {
        if let Pop::Stream(w) = &self.pop {
            return w.serve(kv, now_ms);
        }
        let name = self.serving_command().as_bytes();
        let count;
        let args: Vec<&[u8]> = match &self.pop {
            Pop::List { .. } | Pop::Zset { .. } => vec![name, key],
            Pop::Move { dst, from, to } => vec![name, key, dst, from.as_bytes(), to.as_bytes()],
            Pop::ListMany { left, count: n } => {
                count = n.to_string();
                let w: &[u8] = if *left { b"LEFT" } else { b"RIGHT" };
                vec![name, b"1", key, w, b"COUNT", count.as_bytes()]
            }
            Pop::ZsetMany { min, count: n } => {
                count = n.to_string();
                let w: &[u8] = if *min { b"MIN" } else { b"MAX" };
                vec![name, b"1", key, w, b"COUNT", count.as_bytes()]
            }
            Pop::Stream(_) => return Ok(None),
        };
        let r = engine::exec(kv, now_ms, &args)?;
        Ok(match (&self.pop, r) {
            (_, Reply::Nil | Reply::NilArray) => None,
            (Pop::List { .. }, Reply::Bulk(v)) => Some(Reply::Array(vec![
                Reply::Bulk(key.to_vec()),
                Reply::Bulk(v),
            ])),
            (Pop::Zset { .. }, r) => {
                let items = flat(r);
                if items.is_empty() {
                    None
                } else {
                    let mut out = vec![Reply::Bulk(key.to_vec())];
                    out.extend(items.into_iter().enumerate().map(|(i, x)| match x {
                        Reply::Bulk(b) if i == 1 => match num::parse_float(&b) {
                            Some(d) => Reply::Double(d),
                            None => Reply::Bulk(b),
                        },
                        x => x,
                    }));
                    Some(Reply::Array(out))
                }
            }
            (_, r) => Some(r),
        })
    }
}

/// The items of a reply, pairs flattened (`ZPOPMIN`'s member, score).
fn flat(r: Reply) -> Vec<Reply> {
    let mut out = Vec::new();
    for x in r.into_items().unwrap_or_default() {
        match x {
            Reply::Array(a) | Reply::Pairs(a) => out.extend(a),
            x => out.push(x),
        }
    }
    out
}

/// What a waiter gets: the reply, or an error (rights, `CLIENT UNBLOCK ... ERROR`).
pub type Outcome = Result<Reply, DbError>;

struct Waiter {
    client: u64,
    user: Option<LeitherId>,
    owner: bool,
    mid: MimeiId,
    cmd: Rc<Blocking>,
    tx: oneshot::Sender<Outcome>,
    _grant: Grant,
}

/// The waiters of one node.
#[derive(Default)]
pub struct Registry {
    next: u64,
    /// Waiter id (in blocking order) to waiter.
    waiters: BTreeMap<u64, Waiter>,
    /// (database, key) to the waiters on it, first blocked first.
    by_key: HashMap<(MimeiId, Vec<u8>), VecDeque<u64>>,
    /// The store's sequence when changes were last looked for.
    seq: u64,
    /// Whether the registry holds a watch on the store.
    watching: bool,
}

impl Registry {
    /// How many clients wait.
    pub fn len(&self) -> usize {
        self.waiters.len()
    }

    /// Whether nobody waits.
    pub fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }

    /// Whether client `client` waits.
    pub fn is_blocked(&self, client: u64) -> bool {
        self.waiters.values().any(|w| w.client == client)
    }

    fn remove(&mut self, id: u64) -> Option<Waiter> {
        let w = self.waiters.remove(&id)?;
        for k in &w.cmd.keys {
            let slot = (w.mid, k.clone());
            if let Some(q) = self.by_key.get_mut(&slot) {
                q.retain(|&x| x != id);
                if q.is_empty() {
                    self.by_key.remove(&slot);
                }
            }
        }
        Some(w)
    }
}

/// A client's place in the registry; leaving it (drop) takes the client out.
pub struct Ticket {
    id: u64,
    /// Where the reply comes.
    pub rx: oneshot::Receiver<Outcome>,
}

/// Registers client `client` (acting as `user`) as waiting on `cmd`'s keys of `mid`.
pub fn block(
    state: &NodeState,
    client: u64,
    user: Option<LeitherId>,
    owner: bool,
    mid: MimeiId,
    cmd: Blocking,
) -> Result<Ticket, DbError> {
    let bytes: usize = cmd.keys.iter().map(|k| k.len() + 64).sum::<usize>() + 256;
    let reg_cell = &state.resp.blocked;
    {
        let reg = reg_cell.borrow();
        if reg.waiters.len() >= MAX_BLOCKED {
            return Err(DbError::Other(format!(
                "too many clients are blocked on this node ({MAX_BLOCKED}); try again later"
            )));
        }
        let others = max_blocked_others(state);
        if !owner && reg.waiters.values().filter(|w| !w.owner).count() >= others {
            return Err(DbError::Other(format!(
                "too many clients other than the node owner are blocked on this node ({others}, half of RespMaxConnections); try again later"
            )));
        }
        if reg.by_key.len() + cmd.keys.len() > MAX_KEYS {
            return Err(DbError::Other(format!(
                "blocked clients wait on at most {MAX_KEYS} keys together on this node; try again later"
            )));
        }
    }
    let grant = state
        .budget
        .reserve(bytes, "a blocked client")
        .map_err(|e| DbError::Other(e.to_string()))?;
    let (tx, rx) = oneshot::channel();
    let start_watch = !reg_cell.borrow().watching;
    let seq = if start_watch {
        Some(state.db.borrow_mut().watch())
    } else {
        None
    };
    let mut reg = reg_cell.borrow_mut();
    if let Some(s) = seq {
        reg.watching = true;
        reg.seq = s;
    }
    reg.next += 1;
    let id = reg.next;
    for k in &cmd.keys {
        reg.by_key
            .entry((mid, k.clone()))
            .or_default()
            .push_back(id);
    }
    reg.waiters.insert(
        id,
        Waiter {
            client,
            user,
            owner,
            mid,
            cmd: Rc::new(cmd),
            tx,
            _grant: grant,
        },
    );
    Ok(Ticket { id, rx })
}

/// Takes the ticket's client out of the registry (timeout, disconnect, served elsewhere).
pub fn leave(state: &NodeState, t: &Ticket) {
    let stop = {
        let mut reg = state.resp.blocked.borrow_mut();
        reg.remove(t.id);
        let stop = reg.waiters.is_empty() && reg.watching;
        if stop {
            reg.watching = false;
        }
        stop
    };
    if stop {
        state.db.borrow_mut().unwatch();
    }
}

/// `CLIENT UNBLOCK client [TIMEOUT|ERROR]` by a client acting as `by` (`owner`: any
/// client): whether one was unblocked.
pub fn unblock(
    state: &NodeState,
    client: u64,
    error: bool,
    by: Option<&LeitherId>,
    owner: bool,
) -> bool {
    let mut reg = state.resp.blocked.borrow_mut();
    let Some(id) = reg
        .waiters
        .iter()
        .find(|(_, w)| w.client == client && (owner || (!w.owner && w.user.as_ref() == by)))
        .map(|(id, _)| *id)
    else {
        return false;
    };
    if let Some(w) = reg.remove(id) {
        let out = if error {
            Err(DbError::Unknown(
                "UNBLOCKED client unblocked via CLIENT UNBLOCK".into(),
            ))
        } else {
            Ok(w.cmd.nil())
        };
        let _ = w.tx.send(out);
    }
    true
}

/// The store's current write sequence: one more for every Redis key a command wrote.
/// (Taking and giving back a watch leaves the change records as they were: empty when
/// nobody watches, kept while someone does.)
pub fn store_seq(state: &NodeState) -> u64 {
    let mut db = state.db.borrow_mut();
    let s = db.watch();
    db.unwatch();
    s
}

/// Serves the waiters whose keys changed since the last look, first blocked first, until
/// nothing more changes (a served `BLMOVE` may feed another waiter). Cheap when nobody
/// waits or nothing was written.
pub fn serve(state: &NodeState, now_ms: u64) {
    let cell = &state.resp.blocked;
    if !cell.borrow().watching {
        return;
    }
    // Each round serves at least one waiter or ends; a waiter is served once.
    for _ in 0..=MAX_BLOCKED {
        let now_seq = store_seq(state);
        let ready: Vec<(MimeiId, Vec<u8>)> = {
            let mut reg = cell.borrow_mut();
            if reg.waiters.is_empty() || reg.seq == now_seq {
                return;
            }
            let since = reg.seq;
            reg.seq = now_seq;
            let db = state.db.borrow();
            // Served in the order the keys were written (by their last write).
            let mut ready: Vec<(u64, (MimeiId, Vec<u8>))> = reg
                .by_key
                .keys()
                .filter(|(mid, k)| db.changed_since(mid, k, since))
                .map(|slot| (changed_at(&db, slot, since, now_seq), slot.clone()))
                .collect();
            ready.sort_by_key(|(at, _)| *at);
            ready.into_iter().map(|(_, s)| s).collect()
        };
        if ready.is_empty() {
            return;
        }
        let mut served = false;
        for slot in ready {
            served |= serve_key(state, now_ms, &slot);
        }
        if !served {
            return;
        }
    }
}

/// The sequence of the last write of `slot`, known to be in `since+1 ..= now`: found by
/// halving with [`CurStore::changed_since`] (a few lookups).
///
/// [`CurStore::changed_since`]: crate::db::cur::CurStore::changed_since
fn changed_at(
    db: &crate::db::cur::CurStore,
    slot: &(MimeiId, Vec<u8>),
    since: u64,
    now: u64,
) -> u64 {
    let (mut lo, mut hi) = (since, now.max(since + 1));
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if db.changed_since(&slot.0, &slot.1, mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

/// Serves the waiters on one key while it has something for them; whether any was.
fn serve_key(state: &NodeState, now_ms: u64, slot: &(MimeiId, Vec<u8>)) -> bool {
    let (mid, key) = slot;
    let mut served = false;
    for _ in 0..MAX_BLOCKED {
        let (id, cmd, user, owner) = {
            let reg = state.resp.blocked.borrow();
            let Some(&id) = reg.by_key.get(slot).and_then(|q| q.front()) else {
                break;
            };
            let Some(w) = reg.waiters.get(&id) else { break };
            (id, w.cmd.clone(), w.user, w.owner)
        };
        let allowed = owner
            || Mimeis::new(&state.store).header(mid).is_ok_and(|h| {
                crate::ops::db::may_run(h.rights(), user.as_ref(), cmd.writes(), None).is_ok()
            });
        let r = if allowed {
            let mut db = state.db.borrow_mut();
            cmd.try_key(&mut db.view(&state.store, mid), now_ms, key)
        } else {
            Err(DbError::Unknown(format!(
                "NOPERM this user has no {} right on Mimei {mid}",
                if cmd.writes() { "write" } else { "read" }
            )))
        };
        let out = match r {
            Ok(None) => break,
            Ok(Some(reply)) => Ok(reply),
            // A key of another type is not served (Redis leaves the client blocked), but a
            // move whose destination is of another type fails to its client.
            Err(DbError::WrongType) if cmd.dst().is_none() => break,
            Err(DbError::WrongType) if !is_list(state, now_ms, mid, key) => break,
            Err(e) => Err(e),
        };
        let w = state.resp.blocked.borrow_mut().remove(id);
        if let Some(w) = w {
            let _ = w.tx.send(out);
            served = true;
        }
    }
    served
}

fn is_list(state: &NodeState, now_ms: u64, mid: &MimeiId, key: &[u8]) -> bool {
    let mut db = state.db.borrow_mut();
    matches!(
        engine::exec(&mut db.view(&state.store, mid), now_ms, &[b"type", key]),
        Ok(Reply::Status("list"))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Blocking, String> {
        let a: Vec<&[u8]> = s.split(' ').map(str::as_bytes).collect();
        Blocking::parse(&a[0].to_ascii_lowercase(), &a).map_err(|e| e.to_string())
    }

    #[test]
    fn parses_as_redis() {
        let b = parse("BLPOP a b a 1.5").unwrap();
        assert_eq!(b.keys, vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(b.timeout_ms, 1500);
        assert_eq!(b.nil(), Reply::NilArray);
        assert_eq!(parse("brpoplpush s d 0").unwrap().nil(), Reply::Nil);
        assert_eq!(parse("blpop a -1").unwrap_err(), "ERR timeout is negative");
        assert_eq!(
            parse("blpop a x").unwrap_err(),
            "ERR timeout is not a float or out of range"
        );
        assert_eq!(
            parse("blpop a 1e300").unwrap_err(),
            "ERR timeout is out of range"
        );
        assert_eq!(
            parse("blpop a").unwrap_err(),
            "ERR wrong number of arguments for 'blpop' command"
        );
        assert_eq!(
            parse("blmove s d up LEFT 0").unwrap_err(),
            "ERR syntax error"
        );
        let m = parse("blmpop 0 2 a b right COUNT 3").unwrap();
        assert_eq!(m.keys.len(), 2);
        assert_eq!(m.serving_command(), "lmpop");
        assert_eq!(
            parse("blmpop 0 0 a left").unwrap_err(),
            "ERR numkeys should be greater than 0"
        );
        assert_eq!(parse("blmpop 0 3 a left").unwrap_err(), "ERR syntax error");
        assert_eq!(
            parse("bzmpop 0 1 a min count 0").unwrap_err(),
            "ERR count should be greater than 0"
        );
        assert_eq!(
            parse("bzmpop 0 1 a min count x").unwrap_err(),
            "ERR count should be greater than 0"
        );
        assert_eq!(
            parse("bzmpop 0 a k min").unwrap_err(),
            "ERR numkeys should be greater than 0"
        );
        assert_eq!(parse("bzmpop 0 1 a left").unwrap_err(), "ERR syntax error");
        assert_eq!(parse("bzpopmax z 0").unwrap().serving_command(), "zpopmax");
        assert_eq!(parse("blpop a 0.0001").unwrap().timeout_ms, 0);
    }

    #[test]
    fn try_key_pops_or_says_nothing() {
        let mut kv = crate::db::kv::MemKv::default();
        let b = parse("blpop l 0").unwrap();
        assert_eq!(b.try_key(&mut kv, 1, b"l").unwrap(), None);
        engine::exec(&mut kv, 1, &[b"rpush", b"l", b"x", b"y"]).unwrap();
        assert_eq!(
            b.try_key(&mut kv, 1, b"l").unwrap(),
            Some(Reply::Array(vec![Reply::text("l"), Reply::text("x")]))
        );
        engine::exec(&mut kv, 1, &[b"set", b"s", b"v"]).unwrap();
        assert!(matches!(
            b.try_key(&mut kv, 1, b"s"),
            Err(DbError::WrongType)
        ));
    }
}
