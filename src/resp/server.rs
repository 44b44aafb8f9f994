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

use super::node::Client;
use super::proto::{self, Limits, Parser};
use super::{blocking, hello, info, movekey, object, swapdb};
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
    // Writes through the other doors (API, Lua) reach blocked clients this often.
    let mut poll = tokio::time::interval(blocking::POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tasks = Vec::new();
    loop {
        let (s, peer) = tokio::select! {
            _ = stop.changed() => break,
            _ = poll.tick() => {
                blocking::serve(&state, crate::clock::unix_ms());
                continue;
            }
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

/// The keys a connection `WATCH`es (it holds one watch on the store while there are any):
/// (Mimei, key, the store sequence when that key was watched, its expiry). A key live at
/// `WATCH` whose expiry has come by `EXEC` counts as changed, as in Redis 7.0.
type Watch = Vec<(MimeiId, Vec<u8>, u64, Option<u64>)>;

/// A blocked command's wait: its place in the registry, its deadline, its nil reply.
pub(super) struct Wait {
    ticket: blocking::Ticket,
    deadline: Option<tokio::time::Instant>,
    nil: Reply,
}

pub(super) struct Conn {
    pub(super) state: Rc<NodeState>,
    /// The client's address.
    peer: SocketAddr,
    /// Who the connection acts as; `None` before AUTH from a remote address.
    pub(super) user: Option<LeitherId>,
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
    /// This connection as `CLIENT LIST` shows it.
    pub(super) client: Rc<Client>,
    /// RESP3 replies (after `HELLO 3`).
    pub(super) resp3: bool,
    /// Running the commands of an `EXEC` (blocking commands do not block there).
    in_exec: bool,
    /// Set by a blocking command that found nothing: the connection waits.
    wait: Option<Wait>,
    /// `CLIENT REPLY OFF`.
    pub(super) reply_off: bool,
    /// `CLIENT REPLY SKIP`: replies to drop (this command's and the next one's).
    pub(super) skip: u8,
    /// The `INFO commandstats` slot of the command being run (for its failures).
    last_slot: Option<usize>,
}

impl Conn {
    fn new(state: Rc<NodeState>, peer: SocketAddr) -> Conn {
        let owner = slots::is_owner_loopback(peer.ip());
        let user = owner.then(|| state.key.id());
        let client = state.resp.connect(peer, owner, user);
        Conn {
            client,
            resp3: false,
            in_exec: false,
            wait: None,
            reply_off: false,
            skip: 0,
            last_slot: None,
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
            if let Some(w) = self.wait.take() {
                // Blocked: nothing more of this client runs until it is served, times out,
                // or goes. Its socket is watched only to notice it closing.
                slot.set(Activity::Idle, Instant::now());
                let r = self.await_wait(w, &mut s, &mut stop, &slot).await;
                let Some(r) = r else { break };
                write_result(&mut out, r, self.resp3);
                if out.first() == Some(&b'-') {
                    self.state.resp.count_error(&out, self.last_slot);
                }
                if tokio::time::timeout(WRITE_TIMEOUT, s.write_all(&out))
                    .await
                    .map_or(true, |r| r.is_err())
                {
                    break;
                }
                out.clear();
                slot.touch(Instant::now());
                slot.set(Activity::Busy, Instant::now());
                backlog = true;
                continue;
            }
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
                            let mark = out.len();
                            match self.pay() {
                                Ok(()) => self.command(&args, &mut out),
                                Err(line) => write_error(&mut out, &line),
                            }
                            // An error reply counts for INFO errorstats (a blocked command's
                            // when it is answered).
                            if out.get(mark) == Some(&b'-') {
                                self.state.resp.count_error(&out[mark..], self.last_slot);
                            }
                            if self.reply_off || self.skip > 0 {
                                out.truncate(mark);
                                self.skip = self.skip.saturating_sub(1);
                            }
                            // Writes may have fed blocked clients: serve them before the
                            // next command, as Redis does.
                            blocking::serve(&self.state, self.now_ms);
                        }
                        if self.quit {
                            break;
                        }
                        if self.wait.is_some() {
                            // Send what came before; then wait (top of the loop).
                            backlog = true;
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
        self.state.resp.disconnect(self.client.id);
        drop(guard);
    }

    /// Waits for a blocked command's outcome: `None` when the connection is to close.
    async fn await_wait(
        &mut self,
        w: Wait,
        s: &mut TcpStream,
        stop: &mut watch::Receiver<bool>,
        slot: &Rc<slots::Slot>,
    ) -> Option<Result<Reply, DbError>> {
        let Wait {
            mut ticket,
            deadline,
            nil,
        } = w;
        let mut peek = true;
        let mut probe = [0u8; 1];
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(sleep);
        let out = loop {
            tokio::select! {
                biased;
                r = &mut ticket.rx => break Some(r.unwrap_or(Ok(nil.clone()))),
                _ = stop.changed() => break None,
                _ = slot.closed() => break None,
                _ = &mut sleep => break Some(Ok(nil.clone())),
                r = s.peek(&mut probe), if peek => match r {
                    Ok(0) | Err(_) => break None,
                    // Pipelined commands wait in the socket until this one is done.
                    Ok(_) => peek = false,
                },
            }
        };
        blocking::leave(&self.state, &ticket);
        out
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
        self.client.last.set(self.tick);
        if self.multi.is_some() && matches!(name, b"save" | b"shutdown") {
            self.multi_failed = true;
            write_error(out, "ERR Command not allowed inside a transaction");
            return;
        }
        if self.multi.is_some()
            && !matches!(
                name,
                b"exec" | b"discard" | b"multi" | b"watch" | b"quit" | b"reset"
            )
        {
            self.queue(args, out);
            return;
        }
        let found = engine::lookup(args[0]);
        self.last_slot = None;
        if let Some((slot, n)) = stat_slot(found, name) {
            self.client.cmd.set(n);
            self.state.resp.count(slot, n);
            self.last_slot = Some(slot);
        }
        // The engine's commands go straight to it (COPY ... DB is the door's, below); an
        // XREAD or XREADGROUP with BLOCK that found nothing waits (outside EXEC).
        if let Some(c) = found.filter(|c| c.name != "copy") {
            let r = match self.run_cmd(Some(c), args) {
                Ok(Reply::NilArray)
                    if matches!(c.name, "xread" | "xreadgroup") && !self.in_exec =>
                {
                    match self.block_stream(args) {
                        Ok(true) => return,
                        Ok(false) => Ok(Reply::NilArray),
                        Err(e) => Err(e),
                    }
                }
                r => r,
            };
            write_result(out, r, self.resp3);
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
                self.client.multi.set(0);
                Ok(Reply::OK)
            }
            b"exec" => {
                self.exec(out);
                return;
            }
            b"discard" => {
                self.client.multi.set(-1);
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
            b"command" => command_cmd(args),
            b"config" => self.config(args),
            b"client" => self.client_cmd(args),
            b"hello" => self.hello(args),
            b"info" => self.info(args),
            b"object" => self.object(args),
            b"memory" => self.memory(args),
            b"time" if args.len() == 1 => {
                let us = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_micros())
                    .unwrap_or(0);
                Ok(Reply::Array(vec![
                    Reply::text((us / 1_000_000).to_string()),
                    Reply::text((us % 1_000_000).to_string()),
                ]))
            }
            b"time" => Err(DbError::Arity("time".into())),
            b"function" | b"script" => scripting(name, args),
            b"eval" | b"evalsha" | b"eval_ro" | b"evalsha_ro" | b"fcall" | b"fcall_ro" => {
                Err(DbError::Other(format!(
                    "{} is not supported: a Mimei database runs no Redis scripts (Leither's Lua apps run on the node, docs/lua.md)",
                    String::from_utf8_lossy(name).to_uppercase()
                )))
            }
            b"swapdb" => self.swapdb(args),
            b"flushall" => self.flushall(args),
            b"move" => self.move_key(args),
            // COPY with DB is the door's (two databases); without, the engine's when it has it.
            b"copy"
                if engine::lookup(b"copy").is_none()
                    || args.iter().skip(3).any(|a| engine::is(a, "db")) =>
            {
                self.copy_key(args)
            }
            b"reset" if args.len() == 1 => Ok(self.reset()),
            b"reset" => Err(DbError::Arity("reset".into())),
            b"save" if args.len() == 1 => {
                // What SAVE promises, durably on disk: the log of every acknowledged write.
                let seq = blocking::store_seq(&self.state);
                let mut db = self.state.db.borrow_mut();
                db.flush(&self.state.store)
                    .map(|()| {
                        self.state.resp.saved_seq.set(seq);
                        Reply::OK
                    })
                    .map_err(|e| {
                        DbError::Other(format!("the database did not reach the disk: {e}"))
                    })
            }
            b"save" => Err(DbError::Arity("save".into())),
            b"shutdown" => Err(DbError::Other(
                "SHUTDOWN is not taken over RESP: stop the node with `leither stop`".into(),
            )),
            n if blocking::is_blocking(n) => {
                self.blocking(n, args, out);
                return;
            }
            _ => self.run_cmd(found, args),
        };
        write_result(out, r, self.resp3);
    }

    fn queue(&mut self, args: &[&[u8]], out: &mut Vec<u8>) {
        let known = engine::lookup(args[0]);
        let lower = args[0].to_ascii_lowercase();
        let err = match known {
            None if blocking::is_blocking(&lower) => blocking_arity(&lower, args).err(),
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
                    self.client.multi.set(q.len() as i64);
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
        self.client.multi.set(-1);
        if self.multi_failed {
            self.unwatch();
            write_error(
                out,
                "EXECABORT Transaction discarded because of previous errors.",
            );
            return;
        }
        let now = crate::clock::unix_ms();
        let changed = self.watch.as_ref().is_some_and(|keys| {
            let db = self.state.db.borrow();
            keys.iter().any(|(mid, k, seq, exp)| {
                db.changed_since(mid, k, *seq) || exp.is_some_and(|at| at <= now)
            })
        });
        self.unwatch();
        if changed {
            encode(&Reply::NilArray, out, self.resp3);
            return;
        }
        proto::write_array_header(out, queue.len());
        self.in_exec = true;
        for args in queue {
            let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            self.command(&refs, out);
        }
        self.in_exec = false;
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
        // The sequence now: keys watched by this command count changes from here on.
        let seq = {
            let mut db = self.state.db.borrow_mut();
            let seq = db.watch();
            if self.watch.is_some() {
                db.unwatch();
            }
            seq
        };
        if self.watch.is_none() {
            self.watch = Some(Vec::new());
        }
        // Each key's expiry while it is live: its coming counts as a change at EXEC.
        let mut watched = Vec::with_capacity(args.len() - 1);
        for k in &args[1..] {
            let exp = match self.run_db(&[b"pttl", k]) {
                Ok(Reply::Int(ms)) if ms >= 0 => Some(self.now_ms.saturating_add(ms as u64)),
                _ => None,
            };
            watched.push((mid, k.to_vec(), seq, exp));
        }
        if let Some(keys) = self.watch.as_mut() {
            keys.extend(watched);
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
        self.client.user.set(self.user);
        self.client.owner.set(self.is_owner());
        Ok(Reply::OK)
    }

    fn select(&mut self, args: &[&[u8]]) -> Result<Reply, DbError> {
        if args.len() < 2 || args.len() > 3 {
            return Err(DbError::Arity("select".into()));
        }
        if args[1] == b"0" && args.len() == 2 {
            self.db = None;
            self.rights = None;
            self.client.db.set(0);
            return Ok(Reply::OK);
        }
        // Redis's numbered databases: n is the owner's database Mimei number n. A Mimei ID
        // (27 characters) never reads as a number that fits an i64.
        if args.len() == 2
            && let Some(n) = crate::db::num::parse_int(args[1])
        {
            let mid =
                ops::db::numbered_db(&self.state, n, self.is_owner()).map_err(DbError::Other)?;
            self.db = Some((mid, None));
            self.rights = None;
            self.client.db.set(n);
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
        self.client.db.set(-1);
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

    /// The selected database, if the connection may read it (`write` false) or write it.
    fn may(&mut self, write: bool) -> Result<(MimeiId, Option<u64>), DbError> {
        let (mid, version) = self.target()?;
        let user = self.user;
        let rights = self.rights(mid)?;
        if ops::db::may_run(rights, user.as_ref(), write, version).is_err() {
            return Err(DbError::Other(format!(
                "NOPERM this user has no {} right on Mimei {mid}",
                if write { "write" } else { "read" }
            ))
            .noperm());
        }
        Ok((mid, version))
    }

    fn run_db(&mut self, args: &[&[u8]]) -> Result<Reply, DbError> {
        self.run_cmd(engine::lookup(args[0]), args)
    }

    /// [`Conn::run_db`] with the command already looked up.
    fn run_cmd(
        &mut self,
        cmd: Option<&'static engine::Command>,
        args: &[&[u8]],
    ) -> Result<Reply, DbError> {
        let cmd = cmd.ok_or_else(|| engine::unknown(args))?;
        let (mid, version) = self.may(cmd.write)?;
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
                let tune = db.tune;
                let r = engine::exec_tuned(
                    &mut db.view(&self.state.store, &mid),
                    now,
                    args,
                    crate::db::typed::Values::Plain,
                    tune,
                );
                if cmd.write {
                    self.wrote = true;
                }
                r
            }
        }
    }
}

/// The connection commands that reach the door's per-node state (`resp::node`).
impl Conn {
    /// `RESET`: the connection as it was when it opened (no MULTI, no WATCH, RESP2,
    /// database 0, no name, the identity its address gives).
    fn reset(&mut self) -> Reply {
        self.multi = None;
        self.multi_failed = false;
        self.client.multi.set(-1);
        self.unwatch();
        self.reply_off = false;
        self.skip = 0;
        self.resp3 = false;
        self.client.resp.set(2);
        self.db = None;
        self.rights = None;
        self.client.db.set(0);
        self.client.name.borrow_mut().clear();
        let owner = slots::is_owner_loopback(self.peer.ip());
        self.user = owner.then(|| self.state.key.id());
        self.class = owner.then_some(Class::Owner);
        self.client.user.set(self.user);
        self.client.owner.set(owner);
        Reply::Status("RESET")
    }

    /// Whether the connection acts as the node owner.
    pub(super) fn is_owner(&self) -> bool {
        self.class == Some(Class::Owner)
    }

    fn config(&mut self, args: &[&[u8]]) -> Result<Reply, DbError> {
        let Some(sub) = args.get(1).map(|s| s.to_ascii_lowercase()) else {
            return Err(DbError::Arity("config".into()));
        };
        let cfg = &self.state.resp.config;
        match sub.as_slice() {
            b"get" if args.len() >= 3 => Ok(cfg.borrow().get(&args[2..])),
            b"get" => Err(DbError::Arity("config|get".into())),
            b"set" | b"resetstat" | b"rewrite" if !self.is_owner() => {
                Err(DbError::Unknown(format!(
                    "NOPERM this user has no permissions to run the 'config|{}' command",
                    String::from_utf8_lossy(&sub)
                )))
            }
            b"set" => {
                let r = cfg.borrow_mut().set(&args[2..]);
                let mut db = self.state.db.borrow_mut();
                db.tune = cfg.borrow().tune(db.tune);
                r
            }
            b"resetstat" if args.len() == 2 => {
                self.state.resp.reset_stats();
                Ok(Reply::OK)
            }
            b"rewrite" if args.len() == 2 => Err(DbError::Other(
                "The server is running without a config file".into(),
            )),
            b"resetstat" | b"rewrite" => Err(DbError::Arity(format!(
                "config|{}",
                String::from_utf8_lossy(&sub)
            ))),
            _ => Err(DbError::Other(format!(
                "unknown subcommand '{}'. Try CONFIG HELP.",
                String::from_utf8_lossy(&args[1][..args[1].len().min(128)])
            ))),
        }
    }

    fn hello(&mut self, args: &[&[u8]]) -> Result<Reply, DbError> {
        let h = hello::parse(args)?;
        if let Some((user, pass)) = h.auth {
            self.auth(&[b"auth", user, pass])?;
        }
        if self.user.is_none() {
            return Err(DbError::Unknown("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time".into()));
        }
        if let Some(name) = h.setname {
            hello::check_name(name)?;
            *self.client.name.borrow_mut() = name.to_vec();
        }
        if let Some(p) = h.proto {
            self.resp3 = p == 3;
            self.client.resp.set(p);
        }
        Ok(hello::reply(self.client.resp.get(), self.client.id))
    }

    fn info(&mut self, args: &[&[u8]]) -> Result<Reply, DbError> {
        let want = info::sections(&args[1..]);
        let state = self.state.clone();
        let mut keyspace = || {
            let n = self.client.db.get();
            let keys = match self.run_db(&[b"dbsize"]) {
                Ok(Reply::Int(k)) => k.max(0) as u64,
                _ => return Vec::new(),
            };
            if keys == 0 {
                return Vec::new();
            }
            let mut expires = 0;
            if let Ok((mid, None)) = self.target() {
                let mut db = state.db.borrow_mut();
                let mut v = db.view(&state.store, &mid);
                let from = [crate::db::keys::EXPIRY];
                let _ = crate::db::kv::Kv::scan(
                    &mut v,
                    &from,
                    &[crate::db::keys::EXPIRY + 1],
                    false,
                    &mut |_, _| {
                        expires += 1;
                        true
                    },
                );
            }
            vec![(n.max(0), keys, expires)]
        };
        let text = info::render(&state, &want, &mut keyspace);
        // RESP3 answers INFO as a verbatim string; a bulk reads the same to clients.
        Ok(Reply::text(text))
    }

    fn object(&mut self, args: &[&[u8]]) -> Result<Reply, DbError> {
        if args.len() < 2 {
            return Err(DbError::Arity("object".into()));
        }
        let (mid, version) = self.may(false)?;
        if version.is_some() {
            return Err(DbError::Other(
                "OBJECT reads cur only; SELECT the database's cur".into(),
            ));
        }
        let t = self.state.resp.config.borrow().thresholds();
        let mut db = self.state.db.borrow_mut();
        let tune = db.tune;
        let mut view = db.view(&self.state.store, &mid);
        let mut ctx = engine::Ctx {
            kv: &mut view,
            now: self.now_ms,
            values: crate::db::typed::Values::Plain,
            tune,
        };
        object::object(&mut ctx, args, t)
    }

    /// The owner's numbered database `n` (an `int` argument, as Redis reads it), when the
    /// connection may write it.
    fn writable_numbered(&mut self, n: &[u8]) -> Result<MimeiId, DbError> {
        let n = engine::int_arg(n)?;
        if i32::try_from(n).is_err() {
            return Err(DbError::NotInteger);
        }
        let mid = ops::db::numbered_db(&self.state, n, self.is_owner()).map_err(DbError::Other)?;
        let h = Mimeis::new(&self.state.store)
            .header(&mid)
            .map_err(|e| DbError::Other(e.to_string()))?;
        if ops::db::may_run(h.rights(), self.user.as_ref(), true, None).is_err() {
            return Err(DbError::Unknown(format!(
                "NOPERM this user has no write right on Mimei {mid}"
            )));
        }
        Ok(mid)
    }

    /// `SWAPDB a b` (the owner only): the two numbered databases trade contents.
    fn swapdb(&mut self, a: &[&[u8]]) -> Result<Reply, DbError> {
        if a.len() != 3 {
            return Err(DbError::Arity("swapdb".into()));
        }
        let index = |v: &[u8], which: &str| {
            engine::int_arg(v)
                .ok()
                .filter(|n| i32::try_from(*n).is_ok())
                .ok_or_else(|| DbError::Other(format!("invalid {which} DB index")))
        };
        let (x, y) = (index(a[1], "first")?, index(a[2], "second")?);
        if !self.is_owner() {
            return Err(DbError::Unknown(
                "NOPERM this user has no permissions to run the 'swapdb' command".into(),
            ));
        }
        let range = 0..ops::db::DATABASES;
        if !range.contains(&x) || !range.contains(&y) {
            return Err(DbError::Other("DB index is out of range".into()));
        }
        if x == y {
            return Ok(Reply::OK);
        }
        let ma = ops::db::numbered_db(&self.state, x, self.is_owner()).map_err(DbError::Other)?;
        let mb = ops::db::numbered_db(&self.state, y, self.is_owner()).map_err(DbError::Other)?;
        let state = self.state.clone();
        let mut db = state.db.borrow_mut();
        let mut budget = swapdb::MAX_BYTES;
        let ca = swapdb::take(&mut db.view(&state.store, &ma), &mut budget)?;
        let cb = swapdb::take(&mut db.view(&state.store, &mb), &mut budget)?;
        swapdb::replace(&mut db.view(&state.store, &ma), &ca, &cb)?;
        swapdb::replace(&mut db.view(&state.store, &mb), &cb, &ca)?;
        self.wrote = true;
        Ok(Reply::OK)
    }

    /// `MOVE key db`.
    fn move_key(&mut self, a: &[&[u8]]) -> Result<Reply, DbError> {
        if a.len() != 3 {
            return Err(DbError::Arity("move".into()));
        }
        let dst = self.writable_numbered(a[2])?;
        let (src, version) = self.may(true)?;
        if version.is_some() {
            return Err(DbError::ReadOnly(format!(
                "this version of Mimei {src} is read-only; open cur to write"
            )));
        }
        if src == dst {
            return Err(DbError::Other(
                "source and destination objects are the same".into(),
            ));
        }
        self.carry(src, dst, a[1], a[1], false, true)
    }

    /// `COPY source destination [DB n] [REPLACE]`.
    fn copy_key(&mut self, a: &[&[u8]]) -> Result<Reply, DbError> {
        if a.len() < 3 {
            return Err(DbError::Arity("copy".into()));
        }
        let (mut replace, mut db) = (false, None);
        let mut j = 3;
        while j < a.len() {
            if engine::is(a[j], "replace") {
                replace = true;
                j += 1;
            } else if engine::is(a[j], "db") && j + 1 < a.len() {
                db = Some(a[j + 1]);
                j += 2;
            } else {
                return Err(DbError::Syntax);
            }
        }
        let (src, _) = self.may(false)?;
        let dst = match db {
            Some(n) => self.writable_numbered(n)?,
            None => self.may(true)?.0,
        };
        if src == dst && a[1] == a[2] {
            return Err(DbError::Other(
                "source and destination objects are the same".into(),
            ));
        }
        self.carry(src, dst, a[1], a[2], replace, false)
    }

    /// Carries `key` of `src` to `to` of `dst` (`replace`: over an existing one; `take`:
    /// removing it from `src`, as MOVE). Answers 1, or 0 when there was nothing to carry or
    /// `to` exists.
    fn carry(
        &mut self,
        src: MimeiId,
        dst: MimeiId,
        key: &[u8],
        to: &[u8],
        replace: bool,
        take: bool,
    ) -> Result<Reply, DbError> {
        let now = self.now_ms;
        let state = self.state.clone();
        let mut db = state.db.borrow_mut();
        let Some(c) = movekey::read(&mut db.view(&state.store, &src), now, key)? else {
            return Ok(Reply::Int(0));
        };
        {
            let mut dv = db.view(&state.store, &dst);
            if movekey::exists(&mut dv, now, to)? {
                if !replace {
                    return Ok(Reply::Int(0));
                }
                movekey::remove(&mut dv, now, to)?;
            }
            movekey::write(&mut dv, now, to, &c)?;
        }
        if take {
            movekey::remove(&mut db.view(&state.store, &src), now, key)?;
        }
        self.wrote = true;
        Ok(Reply::Int(1))
    }

    /// `MEMORY USAGE key [SAMPLES n]`; `MEMORY DOCTOR|STATS|MALLOC-STATS|PURGE` are not here.
    fn memory(&mut self, args: &[&[u8]]) -> Result<Reply, DbError> {
        let Some(sub) = args.get(1).map(|s| s.to_ascii_lowercase()) else {
            return Err(DbError::Arity("memory".into()));
        };
        if sub != b"usage" {
            return Err(DbError::Other(format!(
                "unknown subcommand '{}'. Try MEMORY HELP.",
                String::from_utf8_lossy(&args[1][..args[1].len().min(128)])
            )));
        }
        let (mid, version) = self.may(false)?;
        if version.is_some() {
            return Err(DbError::Other(
                "MEMORY USAGE reads cur only; SELECT the database's cur".into(),
            ));
        }
        let mut db = self.state.db.borrow_mut();
        let tune = db.tune;
        let mut view = db.view(&self.state.store, &mid);
        let mut ctx = engine::Ctx {
            kv: &mut view,
            now: self.now_ms,
            values: crate::db::typed::Values::Plain,
            tune,
        };
        object::memory_usage(&mut ctx, args)
    }

    /// `FLUSHALL [ASYNC|SYNC]`: the owner's numbered databases 0-15 (and the selected one);
    /// for anyone else, the selected database only.
    fn flushall(&mut self, args: &[&[u8]]) -> Result<Reply, DbError> {
        if args.len() > 2
            || args
                .get(1)
                .is_some_and(|o| !engine::is(o, "async") && !engine::is(o, "sync"))
        {
            return Err(DbError::Syntax);
        }
        if self.is_owner() {
            let (db, rights) = (self.db, self.rights.take());
            for n in 0..ops::db::DATABASES {
                let mid = ops::db::numbered_db(&self.state, n, self.is_owner())
                    .map_err(DbError::Other)?;
                self.db = Some((mid, None));
                self.rights = None;
                self.run_db(&[b"flushdb"])?;
            }
            self.db = db;
            self.rights = rights;
        }
        if self.target()?.1.is_none() {
            self.run_db(&[b"flushdb"])?;
        }
        Ok(Reply::OK)
    }

    /// A blocking pop: served at once if it can be (always inside `EXEC`, where it answers
    /// nil rather than wait), else the connection waits ([`Conn::await_wait`]).
    fn blocking(&mut self, name: &[u8], args: &[&[u8]], out: &mut Vec<u8>) {
        let r = self.try_blocking(name, args);
        match r {
            Ok(None) => {}
            Ok(Some(reply)) => write_result(out, Ok(reply), self.resp3),
            Err(e) => write_result(out, Err(e), self.resp3),
        }
    }

    /// Parks an `XREAD`/`XREADGROUP ... BLOCK` that found nothing; false when it does not
    /// block (no `BLOCK`, or an `XREADGROUP` history read).
    fn block_stream(&mut self, args: &[&[u8]]) -> Result<bool, DbError> {
        let (mid, version) = self.may(false)?;
        if version.is_some() {
            return Ok(false);
        }
        let plan = {
            let mut db = self.state.db.borrow_mut();
            crate::db::cmd_stream::StreamWait::of(
                &mut db.view(&self.state.store, &mid),
                self.now_ms,
                args,
            )?
        };
        let Some(plan) = plan else {
            return Ok(false);
        };
        self.park(mid, blocking::Blocking::stream(plan))?;
        Ok(true)
    }

    /// Registers the connection as waiting on `b` (a command that found nothing).
    fn park(&mut self, mid: MimeiId, b: blocking::Blocking) -> Result<(), DbError> {
        // A deadline past what the clock can hold is no deadline.
        let deadline = (b.timeout_ms > 0)
            .then(|| tokio::time::Instant::now().checked_add(Duration::from_millis(b.timeout_ms)))
            .flatten();
        let nil = b.nil();
        let ticket = blocking::block(
            &self.state,
            self.client.id,
            self.user,
            self.is_owner(),
            mid,
            b,
        )?;
        self.wait = Some(Wait {
            ticket,
            deadline,
            nil,
        });
        Ok(())
    }

    fn try_blocking(&mut self, name: &[u8], args: &[&[u8]]) -> Result<Option<Reply>, DbError> {
        let b = blocking::Blocking::parse(name, args)?;
        let serving = b.serving_command();
        if engine::lookup(serving.as_bytes()).is_none() {
            return Err(DbError::Other(format!(
                "{} needs {}, which this build does not have yet",
                String::from_utf8_lossy(name).to_uppercase(),
                serving.to_uppercase()
            )));
        }
        let (mid, version) = self.may(true)?;
        if version.is_some() {
            return Err(DbError::ReadOnly(format!(
                "this version of Mimei {mid} is read-only; open cur to write"
            )));
        }
        for k in &b.keys {
            let r = {
                let mut db = self.state.db.borrow_mut();
                b.try_key(&mut db.view(&self.state.store, &mid), self.now_ms, k)
            };
            if let Some(reply) = r? {
                self.wrote = true;
                return Ok(Some(reply));
            }
        }
        if self.in_exec {
            return Ok(Some(b.nil()));
        }
        self.park(mid, b)?;
        Ok(None)
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

/// The connection commands (run here, not by the engine), as `INFO commandstats` names them.
const CONN_COMMANDS: &[&str] = &[
    "ping",
    "echo",
    "select",
    "auth",
    "command",
    "config",
    "client",
    "info",
    "flushall",
    "unwatch",
    "hello",
    "object",
    "time",
    "function",
    "script",
    "swapdb",
    "eval",
    "evalsha",
    "blpop",
    "brpop",
    "brpoplpush",
    "blmove",
    "blmpop",
    "bzpopmin",
    "bzpopmax",
    "bzmpop",
    "multi",
    "exec",
    "discard",
    "watch",
    "quit",
    "reset",
    "save",
    "shutdown",
    "move",
    "copy",
    "memory",
];

/// The `INFO commandstats` slot and name of a command: an engine command's place in
/// [`engine::COMMANDS`], or a connection command's after them.
fn stat_slot(
    found: Option<&'static engine::Command>,
    lower: &[u8],
) -> Option<(usize, &'static str)> {
    if let Some(c) = found {
        let at = (std::ptr::from_ref(c) as usize).wrapping_sub(engine::COMMANDS.as_ptr() as usize)
            / std::mem::size_of::<engine::Command>().max(1);
        return (at < engine::COMMANDS.len()).then_some((at, c.name));
    }
    CONN_COMMANDS
        .iter()
        .position(|n| n.as_bytes() == lower)
        .map(|i| (engine::COMMANDS.len() + i, CONN_COMMANDS[i]))
}

fn is_conn_cmd(name: &[u8]) -> bool {
    CONN_COMMANDS
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n.as_bytes()))
}

/// The arity check of a blocking command when `MULTI` queues it (Redis's arities).
fn blocking_arity(lower: &[u8], args: &[&[u8]]) -> Result<(), DbError> {
    let min = match lower {
        b"brpoplpush" => 4,
        b"blmove" => 6,
        b"blmpop" | b"bzmpop" => 5,
        _ => 3,
    };
    let exact = matches!(lower, b"brpoplpush" | b"blmove");
    if (exact && args.len() != min) || args.len() < min {
        return Err(DbError::Arity(String::from_utf8_lossy(lower).into_owned()));
    }
    Ok(())
}

/// `COMMAND`, `COMMAND COUNT`, `COMMAND DOCS`, `COMMAND INFO`, as far as clients need.
fn command_cmd(args: &[&[u8]]) -> Result<Reply, DbError> {
    let Some(sub) = args.get(1) else {
        return Ok(Reply::Array(Vec::new()));
    };
    let sub = sub.to_ascii_lowercase();
    match sub.as_slice() {
        b"count" if args.len() == 2 => {
            let conn = CONN_COMMANDS
                .iter()
                .filter(|n| engine::lookup(n.as_bytes()).is_none())
                .count();
            Ok(Reply::Int((engine::COMMANDS.len() + conn) as i64))
        }
        b"docs" => Ok(Reply::Map(Vec::new())),
        b"info" => Ok(Reply::Array(
            args[2..]
                .iter()
                .map(|n| match engine::lookup(n) {
                    Some(c) => Reply::Array(vec![
                        Reply::text(c.name),
                        Reply::Int(i64::from(c.arity)),
                        Reply::Set(vec![Reply::Status(if c.write {
                            "write"
                        } else {
                            "readonly"
                        })]),
                        Reply::Int(1),
                        Reply::Int(1),
                        Reply::Int(1),
                        Reply::Set(Vec::new()),
                        Reply::Set(Vec::new()),
                        Reply::Array(Vec::new()),
                        Reply::Array(Vec::new()),
                    ]),
                    None => Reply::NilArray,
                })
                .collect(),
        )),
        b"count" => Err(DbError::Arity("command|count".into())),
        _ => Err(DbError::Other(format!(
            "unknown subcommand '{}'. Try COMMAND HELP.",
            String::from_utf8_lossy(&args[1][..args[1].len().min(128)])
        ))),
    }
}

/// `FUNCTION` and `SCRIPT`: there are no functions or scripts to flush or list, so those
/// succeed; loading or running one is refused.
fn scripting(name: &[u8], args: &[&[u8]]) -> Result<Reply, DbError> {
    let upper = String::from_utf8_lossy(name).to_uppercase();
    let Some(sub) = args.get(1).map(|s| s.to_ascii_lowercase()) else {
        return Err(DbError::Arity(String::from_utf8_lossy(name).into_owned()));
    };
    let flush_opt = args.len() == 2
        || (args.len() == 3 && (engine::is(args[2], "async") || engine::is(args[2], "sync")));
    match (name, sub.as_slice()) {
        (_, b"flush") if flush_opt => Ok(Reply::OK),
        (_, b"flush") => Err(DbError::Syntax),
        (b"function", b"list") => Ok(Reply::Array(Vec::new())),
        (b"script", b"exists") => Ok(Reply::Array(
            args[2..].iter().map(|_| Reply::Int(0)).collect(),
        )),
        _ => Err(DbError::Other(format!(
            "{upper} {} is not supported: a Mimei database runs no Redis scripts or functions",
            String::from_utf8_lossy(&sub).to_uppercase()
        ))),
    }
}

fn write_error(out: &mut Vec<u8>, msg: &str) {
    proto::write_error(out, msg);
}

fn write_result(out: &mut Vec<u8>, r: Result<Reply, DbError>, resp3: bool) {
    match r {
        Ok(r) => encode(&r, out, resp3),
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
