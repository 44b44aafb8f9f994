//! Lever calls across nodes: forwarding a call (or a stream) to a provider of the service
//! over `/leither/lever/1.0.0` (`net::lever_wire`), and serving the calls other nodes
//! forward here. The choice of provider is [`route`](super::route)'s; this file does the I/O.
//!
//! Forwarding side: a node whose service is absent, or whose instances are all at
//! `maxInstanceLoad` with no budget for another (or, for a resource, whose owner is another
//! node), looks the service's providers up in the DHT (every node provides
//! [`route::provider_key`] for each service it runs, [`Lever::provide_services`]), signs a
//! [`Claim`] with its node key and sends the call. Nothing ran yet when the stream cannot
//! open or the provider says it has no such service: the next provider is tried (at most
//! [`ATTEMPTS`]). A provider that goes away during the call gives the caller a clear error
//! and leaves the choice for a while; one that answers garbage, for longer.
//!
//! Plain calls reuse streams: the forwarder keeps a few idle streams a provider
//! ([`POOL_PER_PEER`], [`POOL_TOTAL`] in all, each for less than the provider's
//! [`IDLE_SECS`]) and puts one back only after a clean answer; the provider answers the calls
//! of a stream in turn. An idle stream that closes before answering is retried once on a
//! fresh stream with the same signed request, whose nonce the provider takes once
//! (docs/lever.md, "Stream reuse"). A Lever stream has a libp2p stream of its own.
//!
//! Serving side ([`spawn_server`]): the claim must be signed by the connection's own peer
//! key (noise authenticated it), unexpired and not seen before. The caller then has the
//! rights this node gives: a forwarder this node does not admit (docs/security.md, "Nodes
//! that trust each other") gets its callers served as guests; an admitted one as the user
//! they are here (a member: user, else a visitor known by ID), never as the owner. A
//! forwarded call runs here, never forwarded again, and is never loopback or LAN.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::time::{Duration, Instant};

use futures::AsyncReadExt;
use libp2p::PeerId;
use tokio::sync::{mpsc, oneshot};

use super::route::{self, Choice, Local, Reported};
use super::stream::{DEPTH, StreamEnds};
use super::{Caller, Lever, LeverError, Target};
use crate::api::json::{JsonLimits, decode, encode};
use crate::api::{NodeState, Rights, Value};
use crate::net::lever_wire::{
    Claim, Frame, HEARTBEAT_SECS, Load, MAX_MESSAGE_LEN, MAX_VALUE_LEN, PROTOCOL, Request,
    SILENCE_SECS,
};
use crate::net::{Inbound, Net, read_frame, write_frame};

/// Providers tried for one call before giving up.
pub const ATTEMPTS: usize = 3;
/// How long a forwarded call may take, answer included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a forwarded request is valid after it is signed.
pub const VALID_SECS: u64 = 60;
/// Clock difference between nodes tolerated on expiry.
pub const SKEW_SECS: u64 = 30;
/// Most nonces remembered (each until its request expires).
pub const MAX_NONCES: usize = 16_384;
/// Bytes one forwarded stream may carry each way.
pub const MAX_STREAM_BYTES: u64 = 64 << 20;
/// Sessions kept for forwarded callers.
const MAX_CALLER_SESSIONS: usize = 256;
const HEARTBEAT: Duration = Duration::from_secs(HEARTBEAT_SECS);
const SILENCE: Duration = Duration::from_secs(SILENCE_SECS);
/// Refusals of a peer over its stream bound before it is banned.
const REFUSALS_TO_BAN: u32 = 256;
/// Seconds a served stream waits for its next call before the provider closes it.
pub const IDLE_SECS: u64 = 30;
const IDLE: Duration = Duration::from_secs(IDLE_SECS);
/// Calls one stream carries before the provider closes it (the forwarder opens another).
pub const MAX_CALLS_PER_STREAM: u32 = 100_000;
/// Idle streams the forwarding side keeps to one provider (as many as the calls a busy client
/// such as `wrk -c16` keeps in flight; the provider takes 64 streams a peer).
pub const POOL_PER_PEER: usize = 16;
/// Idle streams the forwarding side keeps in all.
pub const POOL_TOTAL: usize = 64;
/// How long an idle stream is kept: well before the provider's [`IDLE_SECS`] closes it.
const POOL_KEEP: Duration = Duration::from_secs(20);

const JSON: JsonLimits = JsonLimits {
    max_depth: 32,
    max_items: 1_000_000,
    max_bytes: MAX_VALUE_LEN,
};

/// Held while one provider lookup of a service runs; other calls wait on it.
type Lookup = Rc<tokio::sync::Mutex<()>>;

/// What Lever keeps for calls across nodes.
#[derive(Default)]
pub struct Remote {
    table: RefCell<Option<route::Table>>,
    lookups: RefCell<HashMap<(String, String), Lookup>>,
    nonces: RefCell<HashMap<[u8; 16], u64>>,
    /// Requests expiring at or before this were forgotten to make room: refused.
    nonce_floor: Cell<u64>,
    sessions: RefCell<HashMap<(String, bool), String>>,
    provided: RefCell<HashSet<(String, String)>>,
    /// Idle streams to providers, each with when it went idle (at most [`POOL_PER_PEER`] a
    /// peer, [`POOL_TOTAL`] in all).
    pool: RefCell<HashMap<PeerId, Vec<(libp2p::Stream, Instant)>>>,
    /// Streams opened to forward calls (and streams).
    opened: Cell<u64>,
    /// Forwarded calls sent on an idle stream taken from the pool.
    reused: Cell<u64>,
}

/// Counters of the forwarding side, for `GetVar netstats`.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamStats {
    /// Streams opened to forward calls (and streams).
    pub opened: u64,
    /// Forwarded calls sent on a stream reused from the pool.
    pub reused: u64,
    /// Idle streams in the pool now.
    pub idle: u64,
}

/// How a forwarding attempt ended.
enum Attempt<T> {
    Done(Result<T, LeverError>),
    /// Nothing ran there: try another provider.
    Next(String),
}

impl Remote {
    /// The forwarding side's stream counters.
    pub fn stream_stats(&self) -> StreamStats {
        StreamStats {
            opened: self.opened.get(),
            reused: self.reused.get(),
            idle: self.pool.borrow().values().map(Vec::len).sum::<usize>() as u64,
        }
    }

    /// An idle stream to `peer` young enough that the provider has not closed it; older
    /// ones are dropped.
    fn take_idle(&self, peer: &PeerId) -> Option<libp2p::Stream> {
        let mut pool = self.pool.borrow_mut();
        let list = pool.get_mut(peer)?;
        let now = Instant::now();
        list.retain(|(_, since)| now.duration_since(*since) < POOL_KEEP);
        let s = list.pop().map(|(s, _)| s);
        if list.is_empty() {
            pool.remove(peer);
        }
        if s.is_some() {
            self.reused.set(self.reused.get() + 1);
        }
        s
    }

    /// Keeps a stream whose answer was read in full for the next call to `peer`, if the
    /// pool has room (else it is dropped, which closes it).
    fn put_idle(&self, peer: PeerId, s: libp2p::Stream) {
        let mut pool = self.pool.borrow_mut();
        let now = Instant::now();
        let mut total: usize = pool.values().map(Vec::len).sum();
        if total >= POOL_TOTAL {
            for list in pool.values_mut() {
                list.retain(|(_, since)| now.duration_since(*since) < POOL_KEEP);
            }
            pool.retain(|_, l| !l.is_empty());
            total = pool.values().map(Vec::len).sum();
        }
        if total >= POOL_TOTAL {
            return;
        }
        let list = pool.entry(peer).or_default();
        if list.len() < POOL_PER_PEER {
            list.push((s, now));
        }
    }

    fn with_table<R>(&self, net: &Net, f: impl FnOnce(&mut route::Table) -> R) -> R {
        let mut t = self.table.borrow_mut();
        let table = t.get_or_insert_with(|| {
            let mut seed = [0u8; 8];
            let _ = getrandom::getrandom(&mut seed);
            route::Table::new(net.peer_id().to_bytes(), u64::from_le_bytes(seed))
        });
        f(table)
    }

    /// The providers of `(env, service)`: cached; else the last list known, however old,
    /// while a lookup runs in the background; with none known (or an empty one) and `wait`
    /// (this node cannot serve the call without them), looked up in the DHT now. A node
    /// running the service waits for the DHT only for the first call naming a resource,
    /// whose owner it must know. One lookup per service at a time.
    async fn providers(
        &self,
        state: &Rc<NodeState>,
        net: &Net,
        env: &str,
        service: &str,
        wait: bool,
        resource: bool,
    ) -> Vec<Vec<u8>> {
        let known = self.with_table(net, |t| t.known_providers(env, service, Instant::now()));
        match known {
            Some((list, true)) => return list,
            // A stale list that named providers serves while it is refreshed, even a node
            // without the service: waiting on a DHT query every 30 s would stall a call.
            Some((list, false)) if !wait || !list.is_empty() => {
                self.refresh_later(state, net, env, service);
                return list;
            }
            None if !wait && !resource => {
                self.refresh_later(state, net, env, service);
                return Vec::new();
            }
            _ => {}
        }
        self.lookup(net, env, service).await
    }

    fn refresh_later(&self, state: &Rc<NodeState>, net: &Net, env: &str, service: &str) {
        let key = (env.to_string(), service.to_string());
        if self
            .lookups
            .borrow()
            .get(&key)
            .is_some_and(|l| l.try_lock().is_err())
        {
            return;
        }
        let weak = Rc::downgrade(state);
        let net = net.clone();
        tokio::task::spawn_local(async move {
            if let Some(state) = weak.upgrade() {
                state.lever.remote.lookup(&net, &key.0, &key.1).await;
            }
        });
    }

    /// Looks the providers up in the DHT (or waits for the lookup already running).
    async fn lookup(&self, net: &Net, env: &str, service: &str) -> Vec<Vec<u8>> {
        let key = (env.to_string(), service.to_string());
        let lock = {
            let mut lookups = self.lookups.borrow_mut();
            if lookups.len() >= route::MAX_CACHED_SERVICES {
                lookups.retain(|_, l| Rc::strong_count(l) > 1);
            }
            lookups.entry(key).or_default().clone()
        };
        let _held = lock.lock().await;
        if let Some(l) = self.with_table(net, |t| t.providers(env, service, Instant::now())) {
            return l;
        }
        let found = net
            .providers(route::provider_key(env, service))
            .await
            .unwrap_or_default();
        let mut list: Vec<Vec<u8>> = found.into_iter().map(|(p, _)| p.to_bytes()).collect();
        if list.is_empty() {
            // A lookup that found nobody (on a busy node the DHT query may time out) does not
            // erase providers known before: one that stopped running the service says so
            // (`no_service`) and is forgotten then.
            let before = self.with_table(net, |t| t.known_providers(env, service, Instant::now()));
            if let Some((known, _)) = before {
                list = known;
            }
        }
        self.with_table(net, |t| {
            t.set_providers(env, service, list, Instant::now());
            t.providers(env, service, Instant::now())
                .unwrap_or_default()
        })
    }

    /// Takes a nonce once: refused when seen before its request expired. A full table
    /// forgets the half that expires first and from then on refuses every request expiring
    /// no later than those (a replay of a forgotten one among them), so a busy provider keeps
    /// serving fresh requests (each expires [`VALID_SECS`] after it is signed) however many
    /// come in a minute.
    fn take_nonce(&self, nonce: [u8; 16], expires: u64, now: u64) -> Result<(), String> {
        let mut n = self.nonces.borrow_mut();
        if n.contains_key(&nonce) || expires <= self.nonce_floor.get() {
            return Err("this request was already taken (a replay)".into());
        }
        if n.len() >= MAX_NONCES {
            n.retain(|_, e| e.saturating_add(SKEW_SECS) >= now);
        }
        if n.len() >= MAX_NONCES {
            let mut e: Vec<u64> = n.values().copied().collect();
            let mid = e.len() / 2;
            let (_, floor, _) = e.select_nth_unstable(mid);
            let floor = *floor;
            n.retain(|_, x| *x > floor);
            self.nonce_floor.set(floor.max(self.nonce_floor.get()));
            if expires <= floor {
                return Err("too many forwarded calls at once; try again shortly".into());
            }
        }
        n.insert(nonce, expires);
        Ok(())
    }
}

/// Checks a forwarded request's signature (by `signer`, the connection's peer), its expiry
/// and its bounds. Sans-io apart from the key check, so the attacks are unit-tested.
pub fn verify(req: &Request, signer: &PeerId, now: u64) -> Result<(), String> {
    let pk = crate::pki::parse_peer_id(&signer.to_string()).map_err(|_| {
        format!("the forwarding node {signer} has no ed25519 key to verify a call with")
    })?;
    if !crate::pki::verify(&pk, &req.signed_bytes(), &req.sig) {
        return Err(format!(
            "the forwarded call's signature does not verify against the key of {signer}, the \
             node that sent it"
        ));
    }
    if req.claim.expires.saturating_add(SKEW_SECS) < now {
        return Err("the forwarded call expired".into());
    }
    if req.claim.expires > now + VALID_SECS + SKEW_SECS {
        return Err(format!(
            "the forwarded call expires more than {VALID_SECS} s from now"
        ));
    }
    req.claim.check().map_err(|e| e.to_string())?;
    Ok(())
}

fn json_bytes(v: &Value) -> Vec<u8> {
    let mut s = String::new();
    encode(v, &mut s);
    s.into_bytes()
}

/// A provider's error as the caller's.
fn error_of(code: &str, message: String, t: &Target, env: &str) -> LeverError {
    match code {
        "lua_error" => LeverError::Lua(message),
        "limit" => LeverError::Limit(message),
        "busy" => LeverError::Busy(message),
        "bad_request" => LeverError::BadRequest(message),
        "session_expired" => LeverError::Session(message),
        "no_method" => LeverError::NoMethod {
            service: t.service.clone(),
            method: t.method.clone(),
        },
        "private" => LeverError::Private {
            service: t.service.clone(),
            env: env.to_string(),
        },
        "conflict" => LeverError::Conflict(message),
        "settings" => LeverError::Settings(message),
        _ => LeverError::App(message),
    }
}

fn went_away(peer: &PeerId, t: &Target, why: &str) -> LeverError {
    LeverError::Busy(format!(
        "node {peer}, which ran {}.{} for this node, went away during the call ({why}); the \
         next call goes to another provider",
        t.service, t.method
    ))
}

impl Lever {
    /// The counters of the streams this node forwards calls on (`GetVar netstats`).
    pub fn forward_stats(&self) -> StreamStats {
        self.remote.stream_stats()
    }

    fn local_state(&self, key: &(String, String)) -> Local {
        let Ok(state) = self.node() else {
            return Local::Absent;
        };
        let services = self.services.borrow();
        let Some(svc) = services.get(key) else {
            return Local::Absent;
        };
        let (_, saturated) = svc.least_loaded();
        if !saturated {
            return Local::Free;
        }
        let reserved: usize = services
            .values()
            .map(super::Service::reserved)
            .sum::<usize>()
            + state.scripts.reserved();
        if reserved + svc.code.manifest.ram_bytes() <= Self::budget(&state) {
            Local::Free
        } else {
            Local::Full
        }
    }

    fn load_of(&self, key: &(String, String)) -> Load {
        let inflight = self
            .services
            .borrow()
            .get(key)
            .map_or(0, |s| s.load.inflight);
        Load {
            inflight,
            full: self.local_state(key) == Local::Full,
        }
    }

    /// Where a call goes: `None` runs it here (as before routing existed), `Some(peer)`
    /// forwards it.
    async fn where_to(
        &self,
        net: &Net,
        key: &(String, String),
        t: &Target,
        tried: &[Vec<u8>],
    ) -> Option<Result<PeerId, LeverError>> {
        let local = self.local_state(key);
        if local == Local::Free && t.resource.is_none() {
            return None;
        }
        let Ok(state) = self.node() else {
            return None;
        };
        let wait = local == Local::Absent;
        let mut providers = self
            .remote
            .providers(&state, net, &key.0, &key.1, wait, t.resource.is_some())
            .await;
        providers.retain(|p| !tried.contains(p));
        if providers.is_empty() {
            return None;
        }
        let now = Instant::now();
        let choice = self.remote.with_table(net, |tb| {
            tb.choose(&providers, local, t.resource.as_deref(), now)
        });
        match choice {
            Choice::Here | Choice::Nowhere => None,
            Choice::To(p) => match PeerId::from_bytes(&p) {
                Ok(p) => Some(Ok(p)),
                Err(_) => None,
            },
        }
    }

    /// The dispatch hook of [`Lever::invoke`]: `None` runs the call here.
    pub(super) async fn route_call(
        &self,
        t: &Target,
        args: &[Value],
        caller: &Caller,
    ) -> Option<Result<Value, LeverError>> {
        let r = self.route(t, args, caller, false).await?;
        Some(r.map(|(v, _)| v))
    }

    /// The dispatch hook of [`Lever::stream`]: `None` runs the stream here.
    pub(super) async fn route_stream(
        &self,
        t: &Target,
        args: &[Value],
        caller: &Caller,
    ) -> Option<Result<StreamEnds, LeverError>> {
        let r = self.route(t, args, caller, true).await?;
        Some(r.and_then(|(_, s)| {
            s.ok_or_else(|| LeverError::App("the provider opened no stream".into()))
        }))
    }

    /// Both hooks: up to [`ATTEMPTS`] providers, each tried once, until one takes the call
    /// (or the stream); `None` runs it here.
    async fn route(
        &self,
        t: &Target,
        args: &[Value],
        caller: &Caller,
        stream: bool,
    ) -> Option<Result<(Value, Option<StreamEnds>), LeverError>> {
        let state = self.node().ok()?;
        let net = state.net()?.clone();
        let env = Self::env_of(t, caller);
        let key = (env.clone(), t.service.clone());
        let mut tried = Vec::new();
        let mut last = String::new();
        for _ in 0..ATTEMPTS {
            let peer = match self.where_to(&net, &key, t, &tried).await? {
                Ok(p) => p,
                Err(e) => return Some(Err(e)),
            };
            tried.push(peer.to_bytes());
            match self
                .forward(&state, &net, peer, &env, t, args, caller, stream)
                .await
            {
                Attempt::Done(r) => return Some(r),
                Attempt::Next(why) => last = why,
            }
        }
        let what = if stream { "stream" } else { "call" };
        Some(Err(LeverError::Busy(format!(
            "no provider of {} in {env} took the {what} ({last}); try again",
            t.service
        ))))
    }

    /// One attempt at `peer`: a call's value, or a stream's ends.
    #[allow(clippy::too_many_arguments)]
    async fn forward(
        &self,
        state: &Rc<NodeState>,
        net: &Net,
        peer: PeerId,
        env: &str,
        t: &Target,
        args: &[Value],
        caller: &Caller,
        stream: bool,
    ) -> Attempt<(Value, Option<StreamEnds>)> {
        let pb = peer.to_bytes();
        match self
            .remote
            .with_table(net, |tb| tb.begin(&pb, Instant::now()))
        {
            Ok(()) => {}
            Err(route::Refused::PeerBusy) => {
                return Attempt::Next(format!(
                    "{peer} has {} of our calls",
                    route::MAX_INFLIGHT_PER_PEER
                ));
            }
            Err(route::Refused::AllBusy) => {
                return Attempt::Done(Err(LeverError::Busy(format!(
                    "this node has {} calls forwarded to other nodes in flight; try again",
                    route::MAX_INFLIGHT_TOTAL
                ))));
            }
        }
        let r = self
            .forward_counted(state, net, peer, env, t, args, caller, stream)
            .await;
        // A stream's slot is given back when it ends (its pump does).
        let stream_open = matches!(&r, Attempt::Done(Ok((_, Some(_)))));
        if !stream_open {
            self.remote.with_table(net, |tb| tb.end(&pb));
        }
        r
    }

    #[allow(clippy::too_many_arguments)]
    async fn forward_counted(
        &self,
        state: &Rc<NodeState>,
        net: &Net,
        peer: PeerId,
        env: &str,
        t: &Target,
        args: &[Value],
        caller: &Caller,
        stream: bool,
    ) -> Attempt<(Value, Option<StreamEnds>)> {
        let pb = peer.to_bytes();
        let start = Instant::now();
        let uid = crate::ops::session::user(state, &caller.sid)
            .ok()
            .flatten()
            .map(|u| u.to_string())
            .unwrap_or_default();
        let mut nonce = [0u8; 16];
        if getrandom::getrandom(&mut nonce).is_err() {
            return Attempt::Done(Err(LeverError::Busy("no randomness for a nonce".into())));
        }
        let mut req = Request {
            stream,
            claim: Claim {
                caller: uid,
                caller_env: caller.env.clone(),
                env: env.to_string(),
                service: t.service.clone(),
                method: t.method.clone(),
                resource: t.resource.clone(),
                nonce,
                expires: crate::clock::unix_now() + VALID_SECS,
            },
            args: json_bytes(&Value::List(args.to_vec())),
            sig: [0; 64],
        };
        if req.args.len() > MAX_VALUE_LEN {
            return Attempt::Done(Err(LeverError::BadRequest(format!(
                "the arguments are over {MAX_VALUE_LEN} bytes"
            ))));
        }
        if let Err(e) = req.claim.check() {
            return Attempt::Done(Err(LeverError::BadRequest(e.to_string())));
        }
        req.sig = state.key.sign(&req.signed_bytes());
        let fail = |why: String| {
            self.remote
                .with_table(net, |tb| tb.failed(&pb, Instant::now()));
            Attempt::Next(why)
        };
        let wire = req.to_bytes();
        // A plain call goes on an idle stream to the provider when there is one (docs/lever.md,
        // "Stream reuse"); a stream always on its own.
        let idle = if stream {
            None
        } else if !net.is_connected(&peer) {
            // Its streams died with the connection.
            self.remote.pool.borrow_mut().remove(&peer);
            None
        } else {
            self.remote.take_idle(&peer)
        };
        let mut reused = idle.is_some();
        let mut retried = false;
        let mut s = match idle {
            Some(s) => s,
            None => match self.open_stream(net, peer).await {
                Ok(s) => s,
                Err(e) => return fail(e),
            },
        };
        let bytes = loop {
            let gone = |why: &str| {
                self.remote
                    .with_table(net, |tb| tb.failed(&pb, Instant::now()));
                Attempt::Done(Err(went_away(&peer, t, why)))
            };
            let sent =
                tokio::time::timeout(crate::net::STREAM_TIMEOUT, write_frame(&mut s, &wire)).await;
            let first = if matches!(sent, Ok(Ok(()))) {
                Some(tokio::time::timeout(CALL_TIMEOUT, read_frame(&mut s, MAX_MESSAGE_LEN)).await)
            } else {
                None
            };
            let why = match first {
                Some(Ok(Ok(Some(b)))) => break b,
                Some(Err(_)) => {
                    return gone(&format!("no answer within {} s", CALL_TIMEOUT.as_secs()));
                }
                None if !reused && !retried => {
                    return fail(format!("{peer} did not take the request"));
                }
                None => "it did not take the request".to_string(),
                Some(Ok(Ok(None))) => "the stream closed unanswered".to_string(),
                Some(Ok(Err(e))) => e.to_string(),
            };
            if !reused {
                return gone(&why);
            }
            // An idle stream that closed before any answer: the provider closed it as idle
            // (or went away). Once more on a fresh stream, with the same signed request: its
            // nonce makes the provider refuse it if the first one reached it after all.
            reused = false;
            retried = true;
            s = match self.open_stream(net, peer).await {
                Ok(s) => s,
                Err(e) => return gone(&format!("{why}; then {e}")),
            };
        };
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        let garbage = |why: String| {
            self.remote
                .with_table(net, |tb| tb.garbage(&pb, Instant::now()));
            crate::log_warn!("Lever: {peer} answered a forwarded call with garbage: {why}");
            Attempt::Done(Err(LeverError::App(format!(
                "node {peer} answered {}.{} with bytes that do not parse ({why}); it is left \
                 out of the choice for {} minutes",
                t.service,
                t.method,
                route::GARBAGE_FOR.as_secs() / 60
            ))))
        };
        let frame = match Frame::from_bytes(&bytes) {
            Ok(f) => f,
            Err(e) => return garbage(e.to_string()),
        };
        let report = |load: Load| {
            self.remote.with_table(net, |tb| {
                tb.answered(
                    &pb,
                    ms,
                    Reported {
                        inflight: load.inflight,
                        full: load.full,
                    },
                    Instant::now(),
                )
            })
        };
        match frame {
            Frame::Ok { load, value } if !stream => {
                if !report(load) {
                    return garbage(format!("a load of {} calls", load.inflight));
                }
                match decode(&value, &JSON) {
                    Ok(v) => {
                        self.remote.put_idle(peer, s);
                        Attempt::Done(Ok((v, None)))
                    }
                    Err(e) => garbage(e.to_string()),
                }
            }
            Frame::Started(load) if stream => {
                if !report(load) {
                    return garbage(format!("a load of {} calls", load.inflight));
                }
                let ends = pump_forwarded(state, net.clone(), peer, t.clone(), s);
                Attempt::Done(Ok((Value::Null, Some(ends))))
            }
            Frame::Err {
                load,
                code,
                message,
            } => {
                if !report(load) {
                    return garbage(format!("a load of {} calls", load.inflight));
                }
                // The provider closes a stream after a refusal; after any other error it
                // waits for the next call.
                if !stream && code != "forward_refused" {
                    self.remote.put_idle(peer, s);
                }
                match code.as_str() {
                    "no_service" => {
                        self.remote
                            .with_table(net, |tb| tb.forget(env, &t.service, &pb));
                        Attempt::Next(format!("{peer} no longer runs it"))
                    }
                    // After a retry, the first copy may have run there: no other provider.
                    "forward_refused" if retried => {
                        self.remote
                            .with_table(net, |tb| tb.failed(&pb, Instant::now()));
                        Attempt::Done(Err(went_away(
                            &peer,
                            t,
                            &format!("its idle stream closed, and then it refused: {message}"),
                        )))
                    }
                    "forward_refused" => fail(format!("{peer} refused: {message}")),
                    _ => Attempt::Done(Err(error_of(&code, message, t, env))),
                }
            }
            other => garbage(format!("a {other:?} frame out of place")),
        }
    }

    /// A new stream to `peer` (connecting first if needed).
    async fn open_stream(&self, net: &Net, peer: PeerId) -> Result<libp2p::Stream, String> {
        if !net.is_connected(&peer)
            && let Err(e) = net.connect_peer(peer).await
        {
            return Err(format!("{peer}: {e}"));
        }
        let s = net
            .open(peer, PROTOCOL)
            .await
            .map_err(|e| format!("{peer}: {e}"))?;
        self.remote.opened.set(self.remote.opened.get() + 1);
        Ok(s)
    }

    /// Provides the DHT key of every service running here, and stops providing those that
    /// went (once a second, from [`Lever::tick`]).
    pub(super) fn provide_services(&self, state: &NodeState) {
        let Some(net) = state.net() else { return };
        let now: HashSet<(String, String)> = self.services.borrow().keys().cloned().collect();
        let mut provided = self.remote.provided.borrow_mut();
        for k in provided.difference(&now) {
            let _ = net.unprovide(route::provider_key(&k.0, &k.1));
        }
        for k in now.difference(&provided) {
            let net = net.clone();
            let key = route::provider_key(&k.0, &k.1);
            tokio::task::spawn_local(async move {
                let _ = net.provide(key).await;
            });
        }
        *provided = now;
    }

    /// The caller a forwarded claim stands for here (module doc).
    fn forwarded_caller(
        &self,
        state: &NodeState,
        forwarder: &PeerId,
        claim: &Claim,
    ) -> Result<Caller, String> {
        let trusted = crate::net::leither_id_of(forwarder).is_some_and(|id| {
            crate::accounts::admitted::is_member(&state.store, &id.to_string()).unwrap_or(false)
        });
        if !trusted || claim.caller.is_empty() {
            let sid = self.guest_sid(state).map_err(|e| e.to_string())?;
            // Only an admitted forwarder is believed about the calling service's environment.
            let env = if trusted {
                claim.caller_env.clone()
            } else {
                None
            };
            return Ok(Caller { sid, env });
        }
        let uid: crate::pki::LeitherId = claim
            .caller
            .parse()
            .map_err(|_| format!("the caller \"{}\" is not a Leither ID", claim.caller))?;
        let uid = uid.to_string();
        let member = crate::accounts::admitted::is_member(&state.store, &uid).unwrap_or(false);
        let rights = if member {
            Rights::User
        } else {
            Rights::Visitor
        };
        let now = crate::clock::unix_now();
        let key = (uid.clone(), member);
        let cached = self.remote.sessions.borrow().get(&key).cloned();
        if let Some(sid) = cached
            && state.sessions.borrow_mut().touch(&sid, now).is_ok()
        {
            return Ok(Caller {
                sid,
                env: claim.caller_env.clone(),
            });
        }
        let s = state
            .sessions
            .borrow_mut()
            .open(&uid, rights, u64::MAX, now)
            .map_err(|e| e.to_string())?;
        let mut sessions = self.remote.sessions.borrow_mut();
        if sessions.len() >= MAX_CALLER_SESSIONS {
            sessions.clear();
        }
        sessions.insert(key, s.sid.clone());
        Ok(Caller {
            sid: s.sid,
            env: claim.caller_env.clone(),
        })
    }
}

/// The forwarding side of a stream: the caller's ends, pumped to and from `peer`.
fn pump_forwarded(
    state: &Rc<NodeState>,
    net: Net,
    peer: PeerId,
    t: Target,
    s: libp2p::Stream,
) -> StreamEnds {
    let (in_tx, mut in_rx) = mpsc::channel::<Value>(DEPTH);
    let (out_tx, out_rx) = mpsc::channel::<Value>(DEPTH);
    let (done_tx, done_rx) = oneshot::channel();
    let weak = Rc::downgrade(state);
    tokio::task::spawn_local(async move {
        let (mut rd, mut wr) = s.split();
        let pb = peer.to_bytes();
        let reader = async {
            let mut bytes = 0u64;
            loop {
                let b = match tokio::time::timeout(SILENCE, read_frame(&mut rd, MAX_MESSAGE_LEN))
                    .await
                {
                    Ok(Ok(Some(b))) => b,
                    Ok(Ok(None)) => return Err(went_away(&peer, &t, "the stream closed")),
                    Ok(Err(e)) => return Err(went_away(&peer, &t, &e.to_string())),
                    Err(_) => {
                        return Err(went_away(
                            &peer,
                            &t,
                            &format!("silent for {SILENCE_SECS} s"),
                        ));
                    }
                };
                bytes += b.len() as u64;
                if bytes > MAX_STREAM_BYTES {
                    return Err(LeverError::Limit(format!(
                        "the stream from {peer} carried over {MAX_STREAM_BYTES} bytes"
                    )));
                }
                match Frame::from_bytes(&b) {
                    Ok(Frame::Msg(v)) => match decode(&v, &JSON) {
                        Ok(v) => {
                            if out_tx.send(v).await.is_err() {
                                return Err(LeverError::BadRequest(
                                    "the caller closed the stream".into(),
                                ));
                            }
                        }
                        Err(e) => return Err(LeverError::App(format!("garbage from {peer}: {e}"))),
                    },
                    Ok(Frame::Ok { value, .. }) => {
                        return decode(&value, &JSON)
                            .map_err(|e| LeverError::App(format!("garbage from {peer}: {e}")));
                    }
                    Ok(Frame::Err { code, message, .. }) => {
                        return Err(error_of(&code, message, &t, t.env.as_deref().unwrap_or("")));
                    }
                    Ok(Frame::Alive) => {}
                    Ok(f) => {
                        return Err(LeverError::App(format!(
                            "garbage from {peer}: a {f:?} frame out of place"
                        )));
                    }
                    Err(e) => return Err(LeverError::App(format!("garbage from {peer}: {e}"))),
                }
            }
        };
        let writer = async {
            let mut bytes = 0u64;
            let mut input = true;
            loop {
                let frame = if !input {
                    tokio::time::sleep(HEARTBEAT).await;
                    Frame::Alive
                } else {
                    match tokio::time::timeout(HEARTBEAT, in_rx.recv()).await {
                        Ok(Some(v)) => Frame::Msg(json_bytes(&v)),
                        // Input done: the reader decides how the stream ends.
                        Ok(None) => {
                            input = false;
                            Frame::End
                        }
                        Err(_) => Frame::Alive,
                    }
                };
                let b = frame.to_bytes();
                bytes += b.len() as u64;
                if bytes > MAX_STREAM_BYTES {
                    return LeverError::Limit(format!(
                        "the stream to {peer} carried over {MAX_STREAM_BYTES} bytes"
                    ));
                }
                if let Err(e) = write_frame(&mut wr, &b).await {
                    return went_away(&peer, &t, &e.to_string());
                }
            }
        };
        let r = tokio::select! {
            r = reader => r,
            e = writer => Err(e),
        };
        if let Err(e) = &r {
            let gone = e.code() == "busy";
            let garbage = e.code() == "app" && e.to_string().starts_with("garbage");
            if let Some(state) = weak.upgrade() {
                state.lever.remote.with_table(&net, |tb| {
                    if garbage {
                        tb.garbage(&pb, Instant::now());
                    } else if gone {
                        tb.failed(&pb, Instant::now());
                    }
                });
            }
        }
        if let Some(state) = weak.upgrade() {
            state.lever.remote.with_table(&net, |tb| tb.end(&pb));
        }
        let _ = done_tx.send(r);
    });
    StreamEnds {
        tx: in_tx,
        rx: out_rx,
        done: done_rx,
    }
}

/// Serves the calls other nodes forward here (call once the network runs).
pub fn spawn_server(state: &Rc<NodeState>) {
    let Some(net) = state.net() else { return };
    let Some(mut incoming) = net.take_lever_inbound() else {
        return;
    };
    let weak = Rc::downgrade(state);
    tokio::task::spawn_local(async move {
        let mut refusals = crate::net::Refusals::default();
        while let Some(i) = incoming.recv().await {
            let Some(state) = weak.upgrade() else { return };
            match i {
                Inbound::Stream(b) => {
                    let (peer, stream, permit, _) = *b;
                    tokio::task::spawn_local(async move {
                        serve_one(&state, peer, stream).await;
                        drop(permit);
                    });
                }
                Inbound::OverPeerLimit(peer) => {
                    if refusals.refused(peer, REFUSALS_TO_BAN)
                        && let Some(net) = state.net()
                    {
                        net.ban(
                            peer,
                            "kept opening more forwarded Lever calls than its bound".into(),
                        );
                    }
                }
            }
        }
    });
}

/// Serves the calls a peer sends on one stream, in turn: each checked on its own (signature,
/// expiry, nonce, rights). A stream request ends the turn-taking; so does a refusal, a silence
/// of [`IDLE_SECS`] between calls, or [`MAX_CALLS_PER_STREAM`] calls.
async fn serve_one(state: &Rc<NodeState>, peer: PeerId, mut s: libp2p::Stream) {
    let lever = &state.lever;
    let refuse = |why: String| Frame::error(Load::default(), "forward_refused", &why);
    let mut served = 0u32;
    loop {
        let wait = if served == 0 {
            crate::net::STREAM_TIMEOUT
        } else {
            IDLE
        };
        let Ok(Ok(Some(body))) =
            tokio::time::timeout(wait, read_frame(&mut s, MAX_MESSAGE_LEN)).await
        else {
            let _ = futures::AsyncWriteExt::close(&mut s).await;
            return;
        };
        let req = match Request::from_bytes(&body) {
            Ok(r) => r,
            Err(e) => {
                crate::log_warn!("Lever: {peer} forwarded a call that does not parse: {e}");
                let _ = write_frame(&mut s, &refuse(e.to_string()).to_bytes()).await;
                let _ = futures::AsyncWriteExt::close(&mut s).await;
                return;
            }
        };
        let now = crate::clock::unix_now();
        let checked = verify(&req, &peer, now)
            .and_then(|()| {
                lever
                    .remote
                    .take_nonce(req.claim.nonce, req.claim.expires, now)
            })
            .and_then(|()| lever.forwarded_caller(state, &peer, &req.claim));
        let caller = match checked {
            Ok(c) => c,
            Err(why) => {
                crate::log_warn!("Lever: refused a call forwarded by {peer}: {why}");
                let _ = write_frame(&mut s, &refuse(why).to_bytes()).await;
                let _ = futures::AsyncWriteExt::close(&mut s).await;
                return;
            }
        };
        let c = &req.claim;
        let t = Target {
            env: Some(c.env.clone()),
            service: c.service.clone(),
            resource: c.resource.clone(),
            method: c.method.clone(),
        };
        let key = (c.env.clone(), c.service.clone());
        let f = match decode(&req.args, &JSON) {
            Ok(Value::List(args)) if req.stream => {
                serve_stream(state, key, &t, args, &caller, s).await;
                return;
            }
            Ok(Value::List(args)) => {
                let r = lever.invoke_here(&t, &args, &caller).await;
                let load = lever.load_of(&key);
                match r {
                    Ok(v) => Frame::Ok {
                        load,
                        value: json_bytes(&v),
                    },
                    Err(e) => Frame::error(load, e.code(), &e.to_string()),
                }
            }
            _ => Frame::error(
                lever.load_of(&key),
                "bad_request",
                "the forwarded arguments are not a JSON array",
            ),
        };
        if write_frame(&mut s, &f.to_bytes()).await.is_err() || req.stream {
            return;
        }
        served += 1;
        if served >= MAX_CALLS_PER_STREAM {
            let _ = futures::AsyncWriteExt::close(&mut s).await;
            return;
        }
    }
}

/// Serves a forwarded stream (the last request its libp2p stream carries).
async fn serve_stream(
    state: &Rc<NodeState>,
    key: (String, String),
    t: &Target,
    args: Vec<Value>,
    caller: &Caller,
    mut s: libp2p::Stream,
) {
    let lever = &state.lever;
    let ends = match lever.stream_here(t, args, caller).await {
        Ok(e) => e,
        Err(e) => {
            let f = Frame::error(lever.load_of(&key), e.code(), &e.to_string());
            let _ = write_frame(&mut s, &f.to_bytes()).await;
            return;
        }
    };
    if write_frame(&mut s, &Frame::Started(lever.load_of(&key)).to_bytes())
        .await
        .is_err()
    {
        return;
    }
    let StreamEnds { tx, mut rx, done } = ends;
    let (mut rd, mut wr) = s.split();
    let reader = async {
        let mut tx = Some(tx);
        let mut bytes = 0u64;
        loop {
            let Ok(Ok(Some(b))) =
                tokio::time::timeout(SILENCE, read_frame(&mut rd, MAX_MESSAGE_LEN)).await
            else {
                // The forwarder went away (or fell silent): the handler's output has nowhere
                // to go.
                return;
            };
            bytes += b.len() as u64;
            if bytes > MAX_STREAM_BYTES {
                return;
            }
            match Frame::from_bytes(&b) {
                Ok(Frame::Msg(v)) => {
                    let Ok(v) = decode(&v, &JSON) else { return };
                    if let Some(t) = &tx {
                        // A handler that stopped reading has closed its input: dropped.
                        let _ = t.send(v).await;
                    }
                }
                Ok(Frame::End) => tx = None,
                Ok(Frame::Alive) => {}
                _ => return,
            }
        }
    };
    let writer = async {
        let mut bytes = 0u64;
        loop {
            let b = match tokio::time::timeout(HEARTBEAT, rx.recv()).await {
                Ok(Some(v)) => Frame::Msg(json_bytes(&v)).to_bytes(),
                Ok(None) => break,
                Err(_) => Frame::Alive.to_bytes(),
            };
            bytes += b.len() as u64;
            if bytes > MAX_STREAM_BYTES || write_frame(&mut wr, &b).await.is_err() {
                return;
            }
        }
        let load = lever.load_of(&key);
        let last = match done.await {
            // The last value already went as a message (as a local stream sends it).
            Ok(Ok(_)) => Frame::Ok {
                load,
                value: b"null".to_vec(),
            },
            Ok(Err(e)) => Frame::error(load, e.code(), &e.to_string()),
            Err(_) => Frame::error(load, "app", "the stream's handler ended without a result"),
        };
        let _ = write_frame(&mut wr, &last.to_bytes()).await;
        let _ = futures::AsyncWriteExt::close(&mut wr).await;
    };
    tokio::select! {
        () = reader => {},
        () = writer => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(key: &crate::pki::NodeKey, expires: u64) -> Request {
        let mut r = Request {
            stream: false,
            claim: Claim {
                caller: String::new(),
                caller_env: None,
                env: "dev.lever".into(),
                service: "hello".into(),
                method: "SayHello".into(),
                resource: None,
                nonce: [1; 16],
                expires,
            },
            args: b"[]".to_vec(),
            sig: [0; 64],
        };
        r.sig = key.sign(&r.signed_bytes());
        r
    }

    fn peer_of(key: &crate::pki::NodeKey) -> PeerId {
        key.peer_id().parse().unwrap()
    }

    #[test]
    fn a_forged_forward_is_refused() {
        let a = crate::pki::NodeKey::generate().unwrap();
        let b = crate::pki::NodeKey::generate().unwrap();
        let now = 1_800_000_000;
        let r = signed(&a, now + 10);
        assert_eq!(verify(&r, &peer_of(&a), now), Ok(()));
        // Signed by a, sent by b: the key of the connection's peer decides.
        assert!(
            verify(&r, &peer_of(&b), now)
                .unwrap_err()
                .contains("does not verify")
        );
        // Unsigned.
        let mut u = r.clone();
        u.sig = [0; 64];
        assert!(verify(&u, &peer_of(&a), now).is_err());
        // A field changed after signing (the caller raised to someone else).
        let mut c = r.clone();
        c.claim.caller = "aM30KnES1E4OLT6DTBQpSoJmhdQ".into();
        assert!(verify(&c, &peer_of(&a), now).is_err());
    }

    #[test]
    fn an_expired_or_far_future_forward_is_refused() {
        let a = crate::pki::NodeKey::generate().unwrap();
        let now = 1_800_000_000;
        let old = signed(&a, now - SKEW_SECS - 1);
        assert!(
            verify(&old, &peer_of(&a), now)
                .unwrap_err()
                .contains("expired")
        );
        let far = signed(&a, now + VALID_SECS + SKEW_SECS + 1);
        assert!(verify(&far, &peer_of(&a), now).is_err());
    }

    #[test]
    fn a_replayed_forward_is_refused_and_the_nonce_table_is_bounded() {
        let r = Remote::default();
        let now = 1_800_000_000;
        assert!(r.take_nonce([1; 16], now + 60, now).is_ok());
        assert!(
            r.take_nonce([1; 16], now + 60, now)
                .unwrap_err()
                .contains("replay")
        );
        for i in 0..(MAX_NONCES as u32) {
            let mut n = [0u8; 16];
            n[..4].copy_from_slice(&i.to_be_bytes());
            n[4] = 9;
            let _ = r.take_nonce(n, now + 60, now);
        }
        assert!(r.nonces.borrow().len() <= MAX_NONCES);
        // A full table forgets the half expiring first; a request expiring no later than
        // those (a replay of one of them) is refused, a fresher one served.
        assert!(r.take_nonce([2; 16], now + 60, now).is_err());
        assert!(r.take_nonce([1; 16], now + 60, now).is_err());
        assert!(r.take_nonce([2; 16], now + 61, now).is_ok());
        assert!(r.take_nonce([2; 16], now + 61, now).is_err());
        assert!(r.nonces.borrow().len() <= MAX_NONCES);
        // Later, the expired ones make room.
        assert!(r.take_nonce([3; 16], now + 200, now + 200).is_ok());
    }
}
