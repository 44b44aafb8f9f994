//! The RESP2 listener: redis-cli, redis-benchmark and every Redis client library reach a
//! Mimei database through it (docs/db.md, "RESP").
//!
//! Off unless `RespPort` is set; bound to `RespAddr` (loopback by default). A connection
//! starts on the node owner's default database Mimei (mark `leither-resp-default`, made on
//! first use). Who it acts as: a client on the node's own loopback address (`127.0.0.1`,
//! `::1`) is the node owner until it sends `AUTH <pass>` (a PPT pass, as for `Login`), which
//! makes it that pass's user; a client from any other address (the rest of 127/8 included,
//! as for HTTP's slots) must `AUTH` before anything but `PING`/`QUIT`. `SELECT <mid> [ver]`
//! switches to another database Mimei (`cur`, or a read-only version: a number, `last`,
//! `release`); `SELECT n` (0 to 15) to the owner's numbered database n, 0 being the default
//! ([`ops::db::numbered_db`]). Rights are the Mimei's: read for read
//! commands, write on `cur` for writes, re-read at least every second.
//!
//! Each read from the socket may hold many commands (pipelining): all are run, in order, and
//! their replies go out in one write; in full durability mode the database is flushed before
//! that write. `MULTI`/`EXEC`/`DISCARD`/`WATCH`/`UNWATCH` behave as Redis's. Malformed RESP
//! gets Redis's `-ERR Protocol error: ...` and the connection is closed; others go on.
//!
//! What a stranger may take (docs/security.md, "Connections and memory"): the port's slots
//! are HTTP's rules ([`crate::limits::slots`]) with `RespMaxConnections` slots and idle
//! connections kept `RespIdleSecs` (less as the port fills); one address holds at most
//! `HttpMaxPerAddress`, `HttpLoopbackReserve` slots are loopback's, a command must go on
//! arriving (`HttpHeaderTimeoutSecs` from its last byte), and when the port is full the
//! idlest connection goes for a newcomer. Each connection reserves its buffers from the
//! memory budget ([`CONN_MEMORY`] when it opens, more as a command or its replies grow);
//! without room it gets `-ERR` and is closed. Every command of a client that is not the
//! owner (by address or `AUTH`) is paid from its address's rate bucket
//! ([`crate::ops::rate`]; a user's pass pays the user's rate).

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use super::proto::{self, Limits, Parser};
use crate::api::{NodeState, Rights as Class};
use crate::budget::Grant;
use crate::db::cur::Durability;
use crate::db::{DbError, Reply, engine};
use crate::limits::rate::Cost;
use crate::limits::slots::{self, Activity, SlotGuard, Slots};
use crate::mimei::store::Mimeis;
use crate::mimei::{MimeiId, MimeiType, Rights, VersionName};
use crate::ops;
pub use crate::ops::db::{DEFAULT_MARK, default_db};
use crate::pki::LeitherId;
use crate::{log_info, log_warn};

/// Replies held before they are written out while commands of one read remain.
const MAX_OUT: usize = 256 << 10;
/// Most commands a `MULTI` may queue.
pub const MAX_QUEUED: usize = 10_000;
/// How long a connection trusts the rights it read.
const RIGHTS_TTL: Duration = Duration::from_secs(1);
/// The read chunk, and the starting size of the input and reply buffers.
const CHUNK: usize = 16 << 10;
/// What a connection reserves from the memory budget when it opens: its read chunk, input
/// and reply buffers, the task.
pub const CONN_MEMORY: usize = 3 * CHUNK + 4096;
/// How long a reply may take to be written (a client that stops reading is closed).
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often slow and idle connections are looked for.
const SWEEP_EVERY: Duration = Duration::from_millis(500);

/// Binds the RESP port if `RespPort` is set.
pub fn bind(state: &NodeState) -> Result<Option<TcpListener>, String> {
    let (port, addr) = {
        let v = state.vars.borrow();
        (v.resp_port, v.resp_addr.clone())
    };
    if port == 0 {
        return Ok(None);
    }
    let text = format!("{addr}:{port}");
    let sa: SocketAddr = text
        .parse()
        .map_err(|e| format!("RespAddr/RespPort {text} is not an address: {e}"))?;
    let l = std::net::TcpListener::bind(sa).map_err(|e| {
        format!("cannot listen for RESP on {text}: {e}; change RespPort in SystemVars.json")
    })?;
    crate::limits::deepen_backlog(&l);
    l.set_nonblocking(true)
        .map_err(|e| format!("RESP listener: {e}"))?;
    let l = TcpListener::from_std(l).map_err(|e| format!("RESP listener: {e}"))?;
    log_info!("RESP (redis-cli) listening on {text}");
    Ok(Some(l))
}

/// Tells a refused client why, best effort, without waiting; the socket is then dropped.
fn refuse(s: &TcpStream, why: &str) {
    let mut line = Vec::new();
    proto::write_error(&mut line, &format!("ERR {why}"));
    let _ = s.try_write(&line);
}

/// Accepts connections until `stop` turns true, then waits for them to end.
pub async fn serve(l: TcpListener, state: Rc<NodeState>, mut stop: watch::Receiver<bool>) {
    let limits = state.vars.borrow().conn.resp();
    let slots = Slots::new(limits, slots::Names::RESP);
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tasks = Vec::new();
    loop {
        let (s, peer) = tokio::select! {
            _ = stop.changed() => break,
            _ = sweep.tick() => {
                let n = slots.sweep(Instant::now());
                if n > 0 {
                    crate::log_debug!("RESP: closed {n} slow or idle connection(s)");
                }
                continue;
            }
            r = l.accept() => match r {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: wait a little instead of spinning.
                    log_warn!("RESP accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let now = Instant::now();
        let slot = match slots.admit(peer.ip(), now) {
            Ok(g) => g,
            Err(slots::Refused(why)) => {
                refuse(&s, &why);
                crate::log_debug!("RESP connection from {peer} refused: {why}");
                continue;
            }
        };
        let grant = match state.budget.reserve(CONN_MEMORY, "a RESP connection") {
            Ok(g) => g,
            Err(e) => {
                refuse(&s, &e.to_string());
                continue;
            }
        };
        // A Redis client may keep a pooled connection idle before its first command.
        slot.slot.set(Activity::Idle, now);
        let _ = s.set_nodelay(true);
        let (st, stp) = (state.clone(), stop.clone());
        tasks.retain(|t: &tokio::task::JoinHandle<()>| !t.is_finished());
        tasks.push(tokio::task::spawn_local(async move {
            Conn::new(st, peer).run(s, stp, slot, grant).await;
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// A `WATCH`: the store sequence it began at, and the (Mimei, key) pairs watched.
type Watch = (u64, Vec<(MimeiId, Vec<u8>)>);

struct Conn {
    state: Rc<NodeState>,
    /// The client's address.
    peer: SocketAddr,
    /// Who the connection acts as; `None` before AUTH from a remote address.
    user: Option<LeitherId>,
    /// What the node makes of `user` for the rate limits (owner, user, visitor).
    class: Option<Class>,
    /// The database: Mimei and version (`None` = cur); `None` until first used.
    db: Option<(MimeiId, Option<u64>)>,
    rights: Option<(Instant, MimeiId, Rights)>,
    multi: Option<Vec<Vec<Vec<u8>>>>,
    multi_failed: bool,
    watch: Option<Watch>,
    wrote: bool,
    quit: bool,
    /// The time of the batch being run: read once per read from the socket.
    now_ms: u64,
    tick: Instant,
}

impl Conn {
    fn new(state: Rc<NodeState>, peer: SocketAddr) -> Conn {
        let owner = slots::is_owner_loopback(peer.ip());
        let user = owner.then(|| state.key.id());
        Conn {
            state,
            peer,
            user,
            class: owner.then_some(Class::Owner),
            db: None,
            rights: None,
            multi: None,
            multi_failed: false,
            watch: None,
            wrote: false,
            quit: false,
            now_ms: crate::clock::unix_ms(),
            tick: Instant::now(),
        }
    }

    /// Pays for one command from the client's rate bucket; the error line when refused.
    fn pay(&mut self) -> Result<(), String> {
        ops::rate::charge(&self.state, Some(self.peer.ip()), self.class, Cost::CALL).map_err(|l| {
            if self.multi.is_some() {
                self.multi_failed = true;
            }
            format!("ERR {l}")
        })
    }

    async fn run(
        mut self,
        mut s: TcpStream,
        mut stop: watch::Receiver<bool>,
        guard: SlotGuard,
        mut grant: Grant,
    ) {
        let slot = guard.slot.clone();
        let mut buf: Vec<u8> = Vec::with_capacity(CHUNK);
        let mut out: Vec<u8> = Vec::with_capacity(CHUNK);
        let mut parser = Parser::new(Limits::DEFAULT);
        let mut chunk = vec![0u8; CHUNK];
        // Set when replies were sent before every buffered command ran: run the rest before
        // reading more.
        let mut backlog = false;
        loop {
            if !backlog {
                let n = tokio::select! {
                    _ = stop.changed() => break,
                    _ = slot.closed() => break,
                    r = s.read(&mut chunk) => match r {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    },
                };
                let now = Instant::now();
                slot.touch(now);
                // The input buffer grows only within the memory budget: doubling up to 1 MiB,
                // then a MiB at a time, so a large value needs little more than its size.
                let want = if buf.len() + n > buf.capacity() {
                    let step = buf.capacity().clamp(CHUNK, 1 << 20);
                    (buf.capacity() + step).max(buf.len() + n)
                } else {
                    buf.capacity()
                };
                let need = chunk.len() + want + out.capacity();
                if let Err(e) = grant.resize(need.max(CONN_MEMORY)) {
                    out.clear();
                    write_error(&mut out, &format!("ERR {e}"));
                    let _ = tokio::time::timeout(WRITE_TIMEOUT, s.write_all(&out)).await;
                    break;
                }
                buf.reserve_exact(want - buf.len());
                buf.extend_from_slice(&chunk[..n]);
                slot.set(Activity::Busy, now);
            }
            backlog = false;
            self.now_ms = crate::clock::unix_ms();
            self.tick = Instant::now();
            let mut used = 0;
            let mut fatal = false;
            loop {
                match parser.parse(&buf[used..]) {
                    Ok(None) => break,
                    Ok(Some((cmd, len))) => {
                        used += len;
                        let args: Vec<&[u8]> = cmd.args.iter().map(|a| a.as_ref()).collect();
                        if !args.is_empty() {
                            match self.pay() {
                                Ok(()) => self.command(&args, &mut out),
                                Err(line) => write_error(&mut out, &line),
                            }
                        }
                        if self.quit {
                            break;
                        }
                        if out.len() >= MAX_OUT {
                            // Bounded memory per connection: send these replies first.
                            backlog = true;
                            break;
                        }
                    }
                    Err(e) => {
                        e.write_reply(&mut out);
                        fatal = true;
                        break;
                    }
                }
            }
            buf.drain(..used);
            if self.wrote {
                self.wrote = false;
                let mut db = self.state.db.borrow_mut();
                let full = db.durability == Durability::Full;
                if (full || db.full())
                    && let Err(e) = db.flush(&self.state.store)
                {
                    log_warn!("RESP: writing the database failed: {e}");
                    if full {
                        // The replies promised durability they do not have: send an error
                        // instead and close, so the client cannot take them as done.
                        out.clear();
                        write_error(
                            &mut out,
                            &format!("ERR the write did not reach the disk: {e}"),
                        );
                        fatal = true;
                    }
                }
            }
            // The replies are held already; past the budget, the connection goes after them.
            let held = chunk.len() + buf.capacity() + out.capacity();
            if let Err(e) = grant.resize(held.max(CONN_MEMORY)) {
                write_error(&mut out, &format!("ERR {e}"));
                fatal = true;
            }
            if !out.is_empty() {
                // A client that does not read its replies does not hold its slot for ever.
                match tokio::time::timeout(WRITE_TIMEOUT, s.write_all(&out)).await {
                    Ok(Ok(())) => {}
                    _ => break,
                }
                slot.touch(Instant::now());
                out.clear();
            }
            if fatal || self.quit {
                break;
            }
            if buf.capacity() > (1 << 20) && buf.len() < (64 << 10) {
                buf.shrink_to(64 << 10);
            }
            if out.capacity() > (1 << 20) {
                out.shrink_to(CHUNK);
            }
            let _ = grant.resize((chunk.len() + buf.capacity() + out.capacity()).max(CONN_MEMORY));
            // Between commands the connection is idle; inside one (a partial command in the
            // buffer), the command's clock counts from its last byte.
            let now = Instant::now();
            if backlog {
                continue;
            }
            if buf.is_empty() {
                slot.set(Activity::Idle, now);
            } else {
                slot.set(Activity::Head, now);
                slot.restart(now);
            }
        }
        if self.watch.take().is_some() {
            self.state.db.borrow_mut().unwatch();
        }
        drop(guard);
    }

    fn command(&mut self, args: &[&[u8]], out: &mut Vec<u8>) {
        // The name lower-cased once; names longer than any connection command are left
        // to the engine.
        let mut buf = [0u8; 16];
        let name: &[u8] = match buf.get_mut(..args[0].len()) {
            Some(b) => {
                for (d, c) in b.iter_mut().zip(args[0]) {
                    *d = c.to_ascii_lowercase();
                }
                b
            }
            None => b"",
        };
        if self.user.is_none() && !matches!(name, b"auth" | b"ping" | b"quit" | b"hello") {
            write_error(out, "NOAUTH Authentication required.");
            return;
        }
        if self.multi.is_some()
            && !matches!(name, b"exec" | b"discard" | b"multi" | b"watch" | b"quit")
        {
            self.queue(args, out);
            return;
        }
        let r = match name {
            b"ping" => match args.len() {
                1 => Ok(Reply::Status("PONG")),
                2 => Ok(Reply::Bulk(args[1].to_vec())),
                _ => Err(DbError::Arity("ping".into())),
            },
            b"echo" if args.len() == 2 => Ok(Reply::Bulk(args[1].to_vec())),
            b"echo" => Err(DbError::Arity("echo".into())),
            b"quit" => {
                self.quit = true;
                Ok(Reply::OK)
            }
            b"auth" => self.auth(args),
            b"select" => self.select(args),
            b"multi" if self.multi.is_some() => {
                Err(DbError::Other("MULTI calls can not be nested".into()))
            }
            b"multi" => {
                self.multi = Some(Vec::new());
                self.multi_failed = false;
                Ok(Reply::OK)
            }
            b"exec" => {
                self.exec(out);
                return;
            }
            b"discard" => {
                if self.multi.take().is_some() {
                    self.unwatch();
                    Ok(Reply::OK)
                } else {
                    Err(DbError::Other("DISCARD without MULTI".into()))
                }
            }
            b"watch" => self.watch_keys(args),
            b"unwatch" => {
                self.unwatch();
                Ok(Reply::OK)
            }
            b"command" => Ok(match args.get(1) {
                Some(a) if a.eq_ignore_ascii_case(b"count") => {
                    Reply::Int(engine::COMMANDS.len() as i64)
                }
                _ => Reply::Array(Vec::new()),
            }),
            b"config" => Ok(config(args)),
            b"client" => Ok(match args.get(1) {
                Some(a) if a.eq_ignore_ascii_case(b"id") => Reply::Int(1),
                Some(a) if a.eq_ignore_ascii_case(b"getname") => Reply::Nil,
                _ => Reply::OK,
            }),
            b"info" => Ok(Reply::text(format!(
                "# Server\r\nredis_version:7.0.0\r\nleither_version:{}\r\nredis_mode:standalone\r\n",
                crate::api::fns_node::VERSION
            ))),
            b"flushall" => self.run_db(&[b"flushdb"]),
            _ => self.run_db(args),
        };
        write_result(out, r);
    }

    fn queue(&mut self, args: &[&[u8]], out: &mut Vec<u8>) {
        let known = engine::lookup(args[0]);
        let err = match known {
            None if !is_conn_cmd(args[0]) => Some(engine::unknown(args)),
            Some(c) => engine::check_arity(c, args).err(),
            None => None,
        };
        match err {
            Some(e) => {
                self.multi_failed = true;
                write_error(out, &e.to_string());
            }
            None if self.multi.as_ref().is_some_and(|q| q.len() >= MAX_QUEUED) => {
                self.multi_failed = true;
                write_error(
                    out,
                    &format!("ERR MULTI holds {MAX_QUEUED} commands already; EXEC or DISCARD"),
                );
            }
            None => {
                if let Some(q) = self.multi.as_mut() {
                    q.push(args.iter().map(|a| a.to_vec()).collect());
                }
                proto::write_simple(out, "QUEUED");
            }
        }
    }

    fn exec(&mut self, out: &mut Vec<u8>) {
        let Some(queue) = self.multi.take() else {
            write_error(out, "ERR EXEC without MULTI");
            return;
        };
        if self.multi_failed {
            self.unwatch();
            write_error(
                out,
                "EXECABORT Transaction discarded because of previous errors.",
            );
            return;
        }
        let changed = self.watch.as_ref().is_some_and(|(seq, keys)| {
            let db = self.state.db.borrow();
            keys.iter().any(|(mid, k)| db.changed_since(mid, k, *seq))
        });
        self.unwatch();
        if changed {
            proto::write_null_array(out);
            return;
        }
        proto::write_array_header(out, queue.len());
        for args in queue {
            let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            self.command(&refs, out);
        }
    }

    fn unwatch(&mut self) {
        if self.watch.take().is_some() {
            self.state.db.borrow_mut().unwatch();
        }
    }

    fn watch_keys(&mut self, args: &[&[u8]]) -> Result<Reply, DbError> {
        if args.len() < 2 {
            return Err(DbError::Arity("watch".into()));
        }
        if self.multi.is_some() {
            return Err(DbError::Other("WATCH inside MULTI is not allowed".into()));
        }
        let (mid, _) = self.target()?;
        if self.watch.is_none() {
            let seq = self.state.db.borrow_mut().watch();
            self.watch = Some((seq, Vec::new()));
        }
        if let Some((_, keys)) = self.watch.as_mut() {
            keys.extend(args[1..].iter().map(|k| (mid, k.to_vec())));
        }
        Ok(Reply::OK)
    }

    fn auth(&mut self, args: &[&[u8]]) -> Result<Reply, DbError> {
        let pass = match args.len() {
            2 => args[1],
            3 => args[2],
            _ => return Err(DbError::Arity("auth".into())),
        };
        let wrong = || {
            DbError::Unknown("WRONGPASS invalid username-password pair or user is disabled.".into())
        };
        let text = std::str::from_utf8(pass).map_err(|_| wrong())?;
        let p = crate::pki::Pass::parse(text).map_err(|_| wrong())?;
        p.verify(crate::clock::unix_now()).map_err(|_| wrong())?;
        let id = p.signer_id();
        self.class = Some(if *p.public_key() == self.state.key.public_key() {
            Class::Owner
        } else if crate::accounts::admitted::is_member(&self.state.store, &id.to_string())
            .unwrap_or(false)
        {
            Class::User
        } else {
            Class::Visitor
        });
        self.user = Some(id);
        self.rights = None;
        Ok(Reply::OK)
    }

    fn select(&mut self, args: &[&[u8]]) -> Result<Reply, DbError> {
        if args.len() < 2 || args.len() > 3 {
            return Err(DbError::Arity("select".into()));
        }
        if args[1] == b"0" && args.len() == 2 {
            self.db = None;
            self.rights = None;
            return Ok(Reply::OK);
        }
        // Redis's numbered databases: n is the owner's database Mimei number n. A Mimei ID
        // (27 characters) never reads as a number that fits an i64.
        if args.len() == 2
            && let Some(n) = crate::db::num::parse_int(args[1])
        {
            let mid = ops::db::numbered_db(&self.state, n).map_err(DbError::Other)?;
            self.db = Some((mid, None));
            self.rights = None;
            return Ok(Reply::OK);
        }
        let text = std::str::from_utf8(args[1])
            .map_err(|_| DbError::Other("DB index is out of range".into()))?;
        let mid: MimeiId = match text.parse() {
            Ok(m) => m,
            Err(_) => {
                return Err(DbError::Other(format!(
                    "DB index is out of range; SELECT takes a number from 0 to {} (the owner's numbered databases) or a database Mimei ID",
                    ops::db::DATABASES - 1
                )));
            }
        };
        let name = match args.get(2) {
            None => VersionName::Cur,
            Some(v) => std::str::from_utf8(v)
                .ok()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| {
                    DbError::Other("the version must be cur, last, release or a number".into())
                })?,
        };
        let m = Mimeis::new(&self.state.store);
        let header = m.header(&mid).map_err(|e| DbError::Other(e.to_string()))?;
        if header.fields().kind != MimeiType::Db {
            return Err(DbError::Other(format!(
                "Mimei {mid} is a file Mimei, not a database"
            )));
        }
        let need = ops::mimei::open_right(&header, self.user.as_ref(), name);
        if header.rights().check(self.user.as_ref(), need).is_err() {
            return Err(DbError::Other(format!(
                "no read or write right on Mimei {mid}"
            )));
        }
        let version = m
            .resolve(&mid, name)
            .map_err(|e| DbError::Other(e.to_string()))?;
        self.db = Some((mid, version));
        self.rights = None;
        Ok(Reply::OK)
    }

    /// The selected database, made/looked up on first use.
    fn target(&mut self) -> Result<(MimeiId, Option<u64>), DbError> {
        if let Some(t) = self.db {
            return Ok(t);
        }
        let mid = default_db(&self.state)
            .map_err(|e| DbError::Other(format!("cannot open the default database: {e}")))?;
        self.db = Some((mid, None));
        Ok((mid, None))
    }

    fn rights(&mut self, mid: MimeiId) -> Result<&Rights, DbError> {
        let tick = self.tick;
        let fresh = self
            .rights
            .as_ref()
            .is_some_and(|(t, m, _)| *m == mid && tick.saturating_duration_since(*t) < RIGHTS_TTL);
        if !fresh {
            let h = Mimeis::new(&self.state.store)
                .header(&mid)
                .map_err(|e| DbError::Other(e.to_string()))?;
            self.rights = Some((Instant::now(), mid, h.rights().clone()));
        }
        match &self.rights {
            Some((_, _, r)) => Ok(r),
            None => Err(DbError::Other("rights unavailable".into())),
        }
    }

    fn run_db(&mut self, args: &[&[u8]]) -> Result<Reply, DbError> {
        let (mid, version) = self.target()?;
        let cmd = engine::lookup(args[0]).ok_or_else(|| engine::unknown(args))?;
        let user = self.user;
        let rights = self.rights(mid)?;
        if ops::db::may_run(rights, user.as_ref(), cmd.write, version).is_err() {
            return Err(DbError::Other(format!(
                "NOPERM this user has no {} right on Mimei {mid}",
                if cmd.write { "write" } else { "read" }
            ))
            .noperm());
        }
        let now = self.now_ms;
        match version {
            Some(n) => crate::db::version::exec_at(
                &self.state.store,
                &mid,
                n,
                now,
                args,
                crate::db::typed::Values::Plain,
            ),
            None => {
                let mut db = self.state.db.borrow_mut();
                let r = engine::exec(&mut db.view(&self.state.store, &mid), now, args);
                if cmd.write {
                    self.wrote = true;
                }
                r
            }
        }
    }
}

trait NoPerm {
    fn noperm(self) -> DbError;
}

impl NoPerm for DbError {
    /// Redis's ACL refusals start with `NOPERM`, not `ERR`.
    fn noperm(self) -> DbError {
        match self {
            DbError::Other(m) => DbError::Unknown(m),
            e => e,
        }
    }
}

fn is_conn_cmd(name: &[u8]) -> bool {
    [
        "ping", "echo", "select", "auth", "command", "config", "client", "info", "flushall",
        "unwatch",
    ]
    .iter()
    .any(|n| name.eq_ignore_ascii_case(n.as_bytes()))
}

fn config(args: &[&[u8]]) -> Reply {
    let get = args.get(1).is_some_and(|a| a.eq_ignore_ascii_case(b"get"));
    if !get || args.len() < 3 {
        return Reply::Error("ERR CONFIG on leither answers only CONFIG GET".into());
    }
    let mut out = Vec::new();
    for p in &args[2..] {
        for (k, v) in [("save", ""), ("appendonly", "no"), ("databases", "16")] {
            if crate::db::glob::matches(&p.to_ascii_lowercase(), k.as_bytes()) {
                out.push(Reply::text(k));
                out.push(Reply::text(v));
            }
        }
    }
    Reply::Array(out)
}

fn write_error(out: &mut Vec<u8>, msg: &str) {
    proto::write_error(out, msg);
}

fn write_result(out: &mut Vec<u8>, r: Result<Reply, DbError>) {
    match r {
        Ok(r) => encode(&r, out, false),
        Err(e) => write_error(out, &e.to_string()),
    }
}

/// Appends `r` in RESP2 (`resp3` false) or RESP3 (after `HELLO 3`).
pub fn encode(r: &Reply, out: &mut Vec<u8>, resp3: bool) {
    match r {
        Reply::Status(s) => proto::write_simple(out, s),
        Reply::Int(i) => proto::write_int(out, *i),
        Reply::Bulk(b) => proto::write_bulk(out, b),
        Reply::Nil | Reply::NilArray if resp3 => out.extend_from_slice(b"_\r\n"),
        Reply::Nil => proto::write_null_bulk(out),
        Reply::NilArray => proto::write_null_array(out),
        Reply::Array(a) => {
            proto::write_array_header(out, a.len());
            for x in a {
                encode(x, out, resp3);
            }
        }
        Reply::Error(e) => write_error(out, e),
        Reply::Double(d) if resp3 => {
            out.push(b',');
            crate::db::num::write_double(out, *d);
            out.extend_from_slice(b"\r\n");
        }
        Reply::Double(d) => proto::write_double(out, *d),
        Reply::Map(a) if resp3 => {
            out.push(b'%');
            out.extend_from_slice(format!("{}\r\n", a.len() / 2).as_bytes());
            for x in a {
                encode(x, out, resp3);
            }
        }
        Reply::Set(a) if resp3 => {
            out.push(b'~');
            out.extend_from_slice(format!("{}\r\n", a.len()).as_bytes());
            for x in a {
                encode(x, out, resp3);
            }
        }
        Reply::Pairs(a) if resp3 => {
            proto::write_array_header(out, a.len() / 2);
            for pair in a.chunks(2) {
                proto::write_array_header(out, pair.len());
                for x in pair {
                    encode(x, out, resp3);
                }
            }
        }
        Reply::Map(a) | Reply::Set(a) | Reply::Pairs(a) => {
            proto::write_array_header(out, a.len());
            for x in a {
                encode(x, out, resp3);
            }
        }
    }
}
