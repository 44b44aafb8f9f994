//! Lever services: Lua apps deployed as services and scheduled the way Lever OS schedules
//! containers (docs/lever.md).
//!
//! A service is the code of one version of an app Mimei ([`code`]) under a name in an
//! environment; an instance is a Lua state running it ([`instance`]). [`Lever`] holds the
//! services of the node, routes calls to instances ([`service`] has the scheduling rules),
//! keeps resources sticky, streams ([`stream`]), and once a second ([`Lever::tick`]) rolls
//! the load statistics, reaps idle instances, keeps `minInstances` warm, closes idle resources
//! and fires cron triggers. Deployments survive restarts ([`persist`]); each service's own
//! settings, its env (secrets) and its database, are the node's ([`settings`]), never the
//! app's, and go with the service when it is removed.
//!
//! Every front door comes here: the HTTP routes (`POST /<service>/<method>`), the API table
//! (`LeverDeploy`, `LeverLs`, ...) and Lua (`lever.invoke`, `lever.stream`).

pub mod code;
pub mod error;
pub mod instance;
pub mod load;
pub mod logs;
pub mod lua_api;
pub mod manifest;
pub mod persist;
#[cfg(feature = "net")]
pub mod remote;
pub mod route;
pub mod service;
pub mod settings;
pub mod stream;
pub mod target;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

pub use error::LeverError;
pub use target::Target;

use self::code::AppCode;
use self::instance::Instance;
use self::service::Service;
use self::settings::{Settings, Vars};
use self::stream::{DEPTH, LuaStream, StreamEnds};
use crate::api::{NodeState, Rights, Session, Value};
use crate::lua::meter::CallCtx;
use crate::mimei::MimeiId;
use crate::mimei::store::MimeiStoreError;

/// Idle time after which an instance beyond what the load needs is stopped (default; the
/// SystemVars key `LeverIdleSecs` overrides it).
pub const DEFAULT_IDLE_SECS: u64 = 300;
/// Wall-clock limit of a streaming call (or its `timeoutMs`, if longer).
pub const STREAM_LIMIT_MS: u64 = 3_600_000;
/// Most services on a node.
pub const MAX_SERVICES: usize = 256;

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The caller's session id (a guest session for anonymous callers).
    pub sid: String,
    /// The environment of the calling service, for calls from inside one.
    pub env: Option<String>,
}

/// Who changes a service: a user ID, and whether it is the node's owner.
struct Who {
    uid: String,
    owner: bool,
}

impl Who {
    fn of(s: &Session) -> Who {
        Who {
            uid: s.uid.clone(),
            owner: s.rights == Rights::Owner,
        }
    }
}

/// A call between [`Lever::begin`] and [`Lever::finish`].
struct Begun {
    state: Rc<NodeState>,
    key: (String, String),
    inst: Rc<Instance>,
    ctx: Rc<CallCtx>,
    start: Instant,
}

/// The node's Lever: every service and its instances.
pub struct Lever {
    services: RefCell<HashMap<(String, String), Service>>,
    state: RefCell<Weak<NodeState>>,
    guest: RefCell<Option<String>>,
    owner: RefCell<Option<String>>,
    incarnations: Cell<u64>,
    epoch: Instant,
    ticks: Cell<u64>,
    /// Calls across nodes (remote.rs).
    #[cfg(feature = "net")]
    remote: remote::Remote,
}

impl Default for Lever {
    fn default() -> Self {
        Lever::new()
    }
}

fn now_unix() -> u64 {
    crate::clock::unix_now()
}

impl Lever {
    /// No services yet.
    pub fn new() -> Lever {
        Lever {
            services: RefCell::new(HashMap::new()),
            state: RefCell::new(Weak::new()),
            guest: RefCell::new(None),
            owner: RefCell::new(None),
            incarnations: Cell::new(0),
            epoch: Instant::now(),
            ticks: Cell::new(0),
            #[cfg(feature = "net")]
            remote: remote::Remote::default(),
        }
    }

    fn ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64 + 1
    }

    fn next_incarnation(&self) -> u64 {
        self.incarnations.set(self.incarnations.get() + 1);
        self.incarnations.get()
    }

    /// Connects Lever to its node and brings back the services deployed before a restart,
    /// each with its settings; settings of services that did not come back are deleted (a
    /// later deploy of that name is a new service).
    pub fn attach(&self, state: &Rc<NodeState>) {
        *self.state.borrow_mut() = Rc::downgrade(state);
        for (env, name, deployer, history) in persist::load(&state.home) {
            let Some(last) = history.last().cloned() else {
                continue;
            };
            match AppCode::load(state, &last.mid, last.version) {
                Ok(code) => {
                    let settings = settings::restored(state, &env, &name, &code);
                    let incarnation = self.next_incarnation();
                    let mut svc = Service::new(
                        &env,
                        Rc::new(code),
                        &deployer,
                        last.at,
                        settings,
                        incarnation,
                    );
                    svc.history = history;
                    svc.log("service restored at node start");
                    self.services.borrow_mut().insert((env, name), svc);
                }
                Err(e) => crate::log_error!(
                    "Lever service {name} in {env} could not be restored: {e}; redeploy it"
                ),
            }
        }
        let keep: Vec<(String, String)> = self.services.borrow().keys().cloned().collect();
        match settings::retain(&state.store, &keep) {
            Ok(detached) => {
                for db in detached {
                    crate::log_warn!(
                        "Lever: the database {db} of a service that was not restored is \
                         detached (the owner may still open it)"
                    );
                }
            }
            Err(e) => crate::log_error!("Lever: {e}"),
        }
    }

    /// Bytes the running instances have reserved of [`Lever::budget`].
    pub fn reserved(&self) -> usize {
        self.services.borrow().values().map(Service::reserved).sum()
    }

    /// The node, as attached at start (scripts bind the API with it: crate::scripts).
    pub fn node_weak(&self) -> Weak<NodeState> {
        self.state.borrow().clone()
    }

    fn node(&self) -> Result<Rc<NodeState>, LeverError> {
        self.state
            .borrow()
            .upgrade()
            .ok_or_else(|| LeverError::Busy("the node is stopping".into()))
    }

    fn save(&self, state: &NodeState) {
        let services = self.services.borrow();
        let list: Vec<_> = services.values().collect();
        if let Err(e) = persist::save(&state.home, &list) {
            crate::log_error!("saving the Lever services failed: {e}");
        }
    }

    /// The memory the node lets instances reserve: `LeverMemoryMB` (at most `MaxMemoryMB`),
    /// else three eighths of `MaxMemoryMB`; the rest is for connections and caches
    /// ([`crate::budget::split`]).
    pub fn budget(state: &NodeState) -> usize {
        crate::budget::split(&state.vars.borrow()).0
    }

    fn idle(state: &NodeState) -> Duration {
        let vars = state.vars.borrow();
        Duration::from_secs(other_u64(&vars.other, "LeverIdleSecs").unwrap_or(DEFAULT_IDLE_SECS))
    }

    /// A guest session for anonymous callers (API bindings need one). Touched on every call,
    /// so the session table never evicts it as its least recently used guest.
    pub fn guest_sid(&self, state: &NodeState) -> Result<String, LeverError> {
        self.session(state, &self.guest, "", Rights::Guest)
    }

    /// The session a call from outside runs with: the one it names (`Authorization: Bearer`,
    /// `?sid=`), checked and kept alive, else the shared guest session.
    pub fn caller_sid(&self, state: &NodeState, sid: Option<String>) -> Result<String, LeverError> {
        match sid {
            Some(sid) => {
                crate::ops::session::touch(state, &sid)
                    .map_err(|e| LeverError::Session(e.to_string()))?;
                Ok(sid)
            }
            None => self.guest_sid(state),
        }
    }

    fn owner_sid(&self, state: &NodeState) -> Result<String, LeverError> {
        let id = state.key.id().to_string();
        self.session(state, &self.owner, &id, Rights::Owner)
    }

    fn session(
        &self,
        state: &NodeState,
        slot: &RefCell<Option<String>>,
        uid: &str,
        rights: Rights,
    ) -> Result<String, LeverError> {
        let now = now_unix();
        if let Some(s) = slot.borrow().clone()
            && state.sessions.borrow_mut().touch(&s, now).is_ok()
        {
            return Ok(s);
        }
        let s = state
            .sessions
            .borrow_mut()
            .open(uid, rights, u64::MAX, now)
            .map_err(|e| LeverError::Busy(e.to_string()))?;
        *slot.borrow_mut() = Some(s.sid.clone());
        Ok(s.sid)
    }

    fn may_change(who: &Who, svc: &Service) -> Result<(), LeverError> {
        if who.owner || who.uid == svc.deployer {
            Ok(())
        } else {
            Err(LeverError::Conflict(format!(
                "service \"{}\" in {} was deployed by {}; only they or the node's owner may change it",
                svc.name,
                svc.env,
                if svc.deployer.is_empty() {
                    "the node"
                } else {
                    &svc.deployer
                }
            )))
        }
    }

    /// Deploys version `version` (0 = latest) of app `mid` into `env`: validates lever.json,
    /// compiles the code by starting one instance, and makes it the service's current version.
    /// `vars` (given apart from the app, so they are never in it) replace the service's env;
    /// without them, an `env` in the app's lever.json does; without either, a redeploy keeps
    /// the service's env.
    pub fn deploy(
        &self,
        state: &NodeState,
        session: &Session,
        env: &str,
        mid: &MimeiId,
        version: u64,
        vars: Option<Vars>,
    ) -> Result<Value, LeverError> {
        if !target::env_ok(env) {
            return Err(LeverError::BadRequest(format!(
                "\"{}\" is not an environment name (a dotted name such as dev.lever)",
                crate::api::truncate(env, 64)
            )));
        }
        let user = crate::ops::session::uid(session).ok().flatten();
        crate::ops::mimei::authorize(state, user.as_ref(), mid, crate::mimei::Right::WRITE)
            .map_err(|e| match e {
                // The rights refusal (a header read never fails as Model).
                MimeiStoreError::Model(e) => {
                    LeverError::Conflict(format!("deploying app {mid}: {e}"))
                }
                e => LeverError::App(e.to_string()),
            })?;
        let who = Who::of(session);
        self.may_deploy_into(state, &who, user.as_ref(), env)?;
        let code = Rc::new(AppCode::load(state, mid, version)?);
        let vars = vars.or_else(|| code.manifest.env.clone());
        self.install(state, &who, env, code, true, vars)
    }

    /// An environment belongs to whoever deployed in it: a user deploys only into an
    /// environment that is empty or holds only their own services, and an app's own
    /// environment (`<appid>.app`, where `/entry` runs it) only if they may write that app.
    /// The owner may deploy anywhere.
    fn may_deploy_into(
        &self,
        state: &NodeState,
        who: &Who,
        user: Option<&crate::pki::LeitherId>,
        env: &str,
    ) -> Result<(), LeverError> {
        if who.owner {
            return Ok(());
        }
        if let Some(app) = env.strip_suffix(".app") {
            let refused = || {
                LeverError::Conflict(format!(
                    "{env} is the environment of app {app}, where /entry runs it; only who may \
                     write that app deploys there: deploy into an environment of your own"
                ))
            };
            let app: MimeiId = app.parse().map_err(|_| refused())?;
            crate::ops::mimei::authorize(state, user, &app, crate::mimei::Right::WRITE)
                .map_err(|_| refused())?;
        }
        for svc in self.services.borrow().values().filter(|s| s.env == env) {
            Self::may_change(who, svc).map_err(|_| {
                LeverError::Conflict(format!(
                    "environment {env} holds services deployed by someone else; deploy into an \
                     environment of your own"
                ))
            })?;
        }
        Ok(())
    }

    /// Makes `code` the current version of its service in `env` (a new service, fresh
    /// settings and all, when there is none of that name). `vars` replace the service's env;
    /// `None` keeps it.
    fn install(
        &self,
        state: &NodeState,
        session: &Who,
        env: &str,
        code: Rc<AppCode>,
        record: bool,
        vars: Option<Vars>,
    ) -> Result<Value, LeverError> {
        let name = code.manifest.name.clone();
        let key = (env.to_string(), name.clone());
        let weak = self.state.borrow().clone();
        let mut services = self.services.borrow_mut();
        if !services.contains_key(&key) && services.len() >= MAX_SERVICES {
            return Err(LeverError::Busy(format!(
                "this node runs its maximum of {MAX_SERVICES} services; remove one with `lever rm`"
            )));
        }
        if !services.contains_key(&key) && !session.owner {
            use crate::accounts::quota::{Quota, QuotaError};
            let limit = state.vars.borrow().quotas.limit(Quota::Services);
            let mine = services
                .values()
                .filter(|s| s.deployer == session.uid)
                .count() as u64;
            if mine >= limit {
                return Err(LeverError::Busy(
                    QuotaError::new(Quota::Services, limit, &session.uid).to_string(),
                ));
            }
        }
        let now = now_unix();
        let budget = Self::budget(state);
        let reserved: usize = services.values().map(Service::reserved).sum();
        // The instance that checked the code stays only if the budget has room for it.
        let keep = |svc: &mut Service, inst: Rc<Instance>| {
            if reserved + inst.ram > budget {
                svc.instances.retain(|i| !Rc::ptr_eq(i, &inst));
                svc.log(&format!(
                    "the code loads; no instance kept running: the Lever budget ({} MiB) is full",
                    budget >> 20
                ));
            }
        };
        let out;
        let settings;
        match services.get_mut(&key) {
            Some(svc) => {
                Self::may_change(session, svc)?;
                // Start one instance of the new code first: a version that cannot load is
                // refused and the running one stays.
                let old = (svc.code.clone(), svc.generation, svc.vars.clone());
                svc.switch(code.clone(), now, record);
                if let Some(v) = vars {
                    svc.set_vars(v);
                }
                match svc.start_instance(weak) {
                    Ok(inst) => keep(svc, inst),
                    Err(e) => {
                        svc.code = old.0;
                        svc.generation = old.1;
                        svc.vars = old.2;
                        if record {
                            svc.history.pop();
                        }
                        return Err(e);
                    }
                }
                svc.log(&format!(
                    "version {} of app {} deployed; calls in flight finish on the old version",
                    code.version, code.mid
                ));
                out = summary(svc, true);
                settings = svc.settings();
            }
            None => {
                // A new service: nothing of an earlier one of this name (removed, or not
                // restored) is taken over, neither its env nor its database.
                let fresh = Settings {
                    vars: vars.unwrap_or_default(),
                    db: None,
                };
                let incarnation = self.next_incarnation();
                let mut svc =
                    Service::new(env, code.clone(), &session.uid, now, fresh, incarnation);
                let inst = svc.start_instance(weak)?;
                keep(&mut svc, inst);
                svc.log(&format!(
                    "version {} of app {} deployed",
                    code.version, code.mid
                ));
                out = summary(&svc, true);
                settings = svc.settings();
                services.insert(key.clone(), svc);
            }
        }
        drop(services);
        self.save(state);
        let mut warnings = code.capped.clone();
        if code.manifest.env.as_ref().is_some_and(|v| !v.is_empty()) {
            warnings.push(format!(
                "lever.json of app {} version {} holds env values, which whoever may read the \
                 app can read (/tpt/, /ipfs/, nodes that sync it): upload it without env \
                 (`leither lever deploy` keeps env on the node) and change those secrets",
                code.mid, code.version
            ));
        }
        if let Err(e) = settings::save(&state.store, env, &name, &settings) {
            crate::log_error!("Lever: {name} in {env}: {e}");
            warnings.push(format!(
                "the service's env could not be kept for a restart ({e}); deploy again"
            ));
        }
        let mut out = out;
        if !warnings.is_empty() {
            if let Some(svc) = self.services.borrow().get(&key) {
                for w in &warnings {
                    svc.log(&format!("warning: {w}"));
                }
            }
            for w in &warnings {
                crate::log_warn!("Lever: {name} in {env}: {w}");
            }
            if let Value::Map(fields) = &mut out {
                let list = warnings.iter().map(|w| Value::Str(w.clone())).collect();
                fields.push(("warnings".to_string(), Value::List(list)));
            }
        }
        crate::log_info!(
            "Lever: {name} in {env} now runs version {} of app {}",
            code.version,
            code.mid
        );
        Ok(out)
    }

    /// Makes an earlier deployment current again (`version` 0 = the one before the current).
    pub fn rollback(
        &self,
        state: &NodeState,
        session: &Session,
        env: &str,
        name: &str,
        version: u64,
    ) -> Result<Value, LeverError> {
        let (mid, target) =
            {
                let services = self.services.borrow();
                let svc = services
                    .get(&(env.to_string(), name.to_string()))
                    .ok_or_else(|| no_service(env, name))?;
                Self::may_change(&Who::of(session), svc)?;
                let cur = svc.code.version;
                let pick = if version == 0 {
                    svc.history.iter().rev().find(|d| d.version != cur)
                } else {
                    svc.history.iter().rev().find(|d| d.version == version)
                };
                let d = pick.ok_or_else(|| {
                let known: Vec<String> =
                    svc.history.iter().map(|d| d.version.to_string()).collect();
                LeverError::BadRequest(format!(
                    "service \"{name}\" has no earlier version {}to roll back to (deployed: {})",
                    if version == 0 { String::new() } else { format!("{version} ") },
                    known.join(", ")
                ))
            })?;
                (d.mid, d.version)
            };
        let code = Rc::new(AppCode::load(state, &mid, target)?);
        // The env is the service's, not the version's: a rollback keeps it.
        let out = self.install(state, &Who::of(session), env, code, true, None)?;
        if let Some(svc) = self
            .services
            .borrow()
            .get(&(env.to_string(), name.to_string()))
        {
            svc.log(&format!("rolled back to version {target}"));
        }
        Ok(out)
    }

    /// Removes a service with its settings; calls in flight finish.
    pub fn remove(
        &self,
        state: &NodeState,
        session: &Session,
        env: &str,
        name: &str,
    ) -> Result<(), LeverError> {
        {
            let services = self.services.borrow();
            let svc = services
                .get(&(env.to_string(), name.to_string()))
                .ok_or_else(|| no_service(env, name))?;
            Self::may_change(&Who::of(session), svc)?;
        }
        // The service is out even if its settings could not be deleted: saved so.
        let dropped = self.drop_service(state, env, name);
        self.save(state);
        dropped
    }

    /// Takes a service out with everything the node kept for it: its settings are deleted
    /// (its env with them) and every handle on its database is closed, so neither reaches a
    /// later service of the same environment and name. The database itself stays in the
    /// store, detached: the node's, so only the owner may open it (docs/lever.md).
    fn drop_service(&self, state: &NodeState, env: &str, name: &str) -> Result<(), LeverError> {
        let key = (env.to_string(), name.to_string());
        let Some(svc) = self.services.borrow_mut().remove(&key) else {
            return Ok(());
        };
        let closed = svc
            .db
            .map(|db| crate::ops::db::close_handles(state, &db))
            .unwrap_or(0);
        let gone = settings::remove(&state.store, env, name);
        match svc.db {
            Some(db) => crate::log_info!(
                "Lever: {name} removed from {env}; its database {db} is detached ({closed} \
                 handles closed; the owner may still open it)"
            ),
            None => crate::log_info!("Lever: {name} removed from {env}"),
        }
        gone
    }

    /// The services (of `env`, or all), as `lever ls` shows them to `viewer`: the names of a
    /// service's env variables and its database only to whoever deployed it and the owner.
    pub fn list(&self, env: Option<&str>, viewer: Option<&Session>) -> Value {
        let services = self.services.borrow();
        let mut rows: Vec<&Service> = services
            .values()
            .filter(|s| env.is_none_or(|e| e == s.env))
            .collect();
        rows.sort_by(|a, b| (&a.env, &a.name).cmp(&(&b.env, &b.name)));
        let viewer = viewer.map(Who::of);
        Value::List(
            rows.into_iter()
                .map(|s| {
                    let theirs = viewer
                        .as_ref()
                        .is_some_and(|w| w.owner || (!w.uid.is_empty() && w.uid == s.deployer));
                    summary(s, theirs)
                })
                .collect(),
        )
    }

    /// Log lines of a service from `since` on: `{lines, next}`.
    pub fn logs(&self, env: &str, name: &str, since: u64) -> Result<Value, LeverError> {
        let services = self.services.borrow();
        let svc = services
            .get(&(env.to_string(), name.to_string()))
            .ok_or_else(|| no_service(env, name))?;
        let (lines, next) = svc.logs.borrow().since(since);
        Ok(Value::map([
            (
                "lines",
                Value::List(lines.into_iter().map(Value::Str).collect()),
            ),
            ("next", Value::Int(next as i64)),
        ]))
    }

    fn env_of(t: &Target, caller: &Caller) -> String {
        t.env
            .clone()
            .or_else(|| caller.env.clone())
            .unwrap_or_else(|| target::DEFAULT_ENV.to_string())
    }

    /// Picks an instance for a call without a resource; starts one when all are saturated
    /// and the budget allows.
    fn pick(&self, state: &NodeState, key: &(String, String)) -> Result<Rc<Instance>, LeverError> {
        let budget = Self::budget(state);
        let weak = self.state.borrow().clone();
        let mut services = self.services.borrow_mut();
        // Scripts' heaps share Lever's memory (crate::scripts).
        let reserved: usize =
            services.values().map(Service::reserved).sum::<usize>() + state.scripts.reserved();
        let svc = services
            .get_mut(key)
            .ok_or_else(|| no_service(&key.0, &key.1))?;
        let (best, saturated) = svc.least_loaded();
        let ram = svc.code.manifest.ram_bytes();
        if saturated && reserved + ram <= budget {
            return svc.start_instance(weak);
        }
        best.ok_or_else(|| {
            LeverError::Busy(format!(
                "the node's Lever memory budget ({} MiB, LeverMemoryMB) is taken by running \
                 instances; try again, or lower ram in lever.json",
                budget >> 20
            ))
        })
    }

    /// Finds the service and checks that `caller` may call it; its time and instruction limits.
    fn check(
        &self,
        key: &(String, String),
        t: &Target,
        caller: &Caller,
    ) -> Result<(u64, u64), LeverError> {
        let services = self.services.borrow();
        let svc = services
            .get(key)
            .ok_or_else(|| no_service(&key.0, &key.1))?;
        let m = &svc.code.manifest;
        if m.private && caller.env.as_deref() != Some(key.0.as_str()) {
            return Err(LeverError::Private {
                service: t.service.clone(),
                env: key.0.clone(),
            });
        }
        Ok((m.timeout_ms, m.max_instructions))
    }

    /// The instance for a call, with its resource held when there is one.
    async fn acquire(
        &self,
        state: &NodeState,
        key: &(String, String),
        t: &Target,
        caller: &Caller,
    ) -> Result<Rc<Instance>, LeverError> {
        let Some(r) = &t.resource else {
            let inst = self.pick(state, key)?;
            inst.inflight.set(inst.inflight.get() + 1);
            return Ok(inst);
        };
        loop {
            let wait;
            let (old, new) = {
                let mut services = self.services.borrow_mut();
                let svc = services
                    .get_mut(key)
                    .ok_or_else(|| no_service(&key.0, &key.1))?;
                let generation = svc.generation;
                let slot = svc.resources.entry(r.clone()).or_default();
                let fresh = slot
                    .instance
                    .clone()
                    .filter(|i| i.generation == generation && !i.dead.get());
                if !slot.busy
                    && let Some(inst) = fresh
                {
                    slot.inflight += 1;
                    slot.last_used = Some(Instant::now());
                    inst.inflight.set(inst.inflight.get() + 1);
                    return Ok(inst);
                }
                if slot.busy || slot.inflight > 0 {
                    // Moving, or calls still running on the old instance: wait for them.
                    wait = slot.notify.clone();
                    (None, None)
                } else {
                    slot.busy = true;
                    wait = slot.notify.clone();
                    let old = slot.instance.take();
                    drop(services);
                    match self.pick(state, key) {
                        Ok(new) => (old, Some(new)),
                        Err(e) => {
                            self.end_move(key, r, None);
                            return Err(e);
                        }
                    }
                }
            };
            match new {
                None => {
                    let n = wait.notified();
                    n.await;
                }
                Some(new) => {
                    // Close on the old instance before opening on the new one: never open in two.
                    if let Some(old) = old
                        && !old.dead.get()
                        && old.has_method("CloseResource")
                    {
                        self.lifecycle(&old, key, "CloseResource", r, caller).await;
                    }
                    if new.has_method("NewResource") {
                        self.lifecycle(&new, key, "NewResource", r, caller).await;
                    }
                    self.end_move(key, r, Some(new));
                }
            }
        }
    }

    fn end_move(&self, key: &(String, String), r: &str, inst: Option<Rc<Instance>>) {
        if let Some(svc) = self.services.borrow_mut().get_mut(key)
            && let Some(slot) = svc.resources.get_mut(r)
        {
            slot.instance = inst;
            slot.busy = false;
            slot.notify.notify_waiters();
        }
    }

    /// Calls `NewResource`/`CloseResource` on an instance; failures are logged, not fatal.
    async fn lifecycle(
        &self,
        inst: &Rc<Instance>,
        key: &(String, String),
        method: &str,
        r: &str,
        caller: &Caller,
    ) {
        let m = &inst.code().manifest;
        let ctx = Rc::new(CallCtx::new(
            caller.sid.clone(),
            key.0.clone(),
            key.1.clone(),
            Some(r.to_string()),
            m.timeout_ms,
            m.max_instructions,
        ));
        inst.inflight.set(inst.inflight.get() + 1);
        let res = inst
            .call(method, &[Value::Str(r.to_string())], ctx, None)
            .await;
        inst.inflight.set(inst.inflight.get() - 1);
        let line = match res {
            Ok(_) => format!("{method}({r}) on instance {}", inst.id),
            Err(e) => format!("{method}({r}) on instance {} failed: {e}", inst.id),
        };
        if let Some(svc) = self.services.borrow().get(key) {
            svc.log(&line);
        }
    }

    fn release(
        &self,
        key: &(String, String),
        t: &Target,
        inst: &Rc<Instance>,
        start: Instant,
        failed: bool,
        stream: bool,
    ) {
        inst.inflight.set(inst.inflight.get().saturating_sub(1));
        inst.calls.set(inst.calls.get() + 1);
        inst.last_used.set(Instant::now());
        let mut services = self.services.borrow_mut();
        let Some(svc) = services.get_mut(key) else {
            return;
        };
        if stream {
            svc.load.inflight = svc.load.inflight.saturating_sub(1);
        } else {
            svc.load.end(start.elapsed().as_secs_f64() * 1000.0, failed);
        }
        if let Some(r) = &t.resource
            && let Some(slot) = svc.resources.get_mut(r)
        {
            slot.inflight = slot.inflight.saturating_sub(1);
            slot.last_used = Some(Instant::now());
            if slot.inflight == 0 {
                slot.notify.notify_waiters();
            }
        }
    }

    /// The common start of a call and a stream: the service checked, an instance acquired
    /// (with its resource), the load counted, the call's context made.
    async fn begin(&self, t: &Target, caller: &Caller, stream: bool) -> Result<Begun, LeverError> {
        let state = self.node()?;
        let env = Self::env_of(t, caller);
        let key = (env.clone(), t.service.clone());
        let (timeout_ms, max_instructions) = self.check(&key, t, caller)?;
        let inst = self.acquire(&state, &key, t, caller).await?;
        if let Some(svc) = self.services.borrow_mut().get_mut(&key) {
            if stream {
                svc.load.inflight += 1;
            } else {
                svc.load.start(self.ms());
            }
        }
        let timeout_ms = if stream {
            timeout_ms.max(STREAM_LIMIT_MS)
        } else {
            timeout_ms
        };
        let ctx = Rc::new(CallCtx::new(
            caller.sid.clone(),
            env,
            t.service.clone(),
            t.resource.clone(),
            timeout_ms,
            max_instructions,
        ));
        Ok(Begun {
            state,
            key,
            inst,
            ctx,
            start: Instant::now(),
        })
    }

    /// The common end: counters and resource released, a failure written to the log.
    fn finish(&self, b: &Begun, t: &Target, r: &Result<Value, LeverError>, stream: bool) {
        self.release(&b.key, t, &b.inst, b.start, r.is_err(), stream);
        if let Err(e) = r
            && let Some(svc) = self.services.borrow().get(&b.key)
        {
            svc.log(&format!("{} failed: {e}", t.method));
        }
    }

    /// Calls `t` with `args` as `caller`: here, or on another node that runs the service
    /// when this one does not or is full (route.rs, remote.rs).
    pub async fn invoke(
        &self,
        t: &Target,
        args: &[Value],
        caller: &Caller,
    ) -> Result<Value, LeverError> {
        #[cfg(feature = "net")]
        if !target::is_stream(&t.method)
            && let Some(r) = self.route_call(t, args, caller).await
        {
            return r;
        }
        self.invoke_here(t, args, caller).await
    }

    /// Calls `t` on this node, never forwarded.
    pub async fn invoke_here(
        &self,
        t: &Target,
        args: &[Value],
        caller: &Caller,
    ) -> Result<Value, LeverError> {
        if target::is_stream(&t.method) {
            return Err(LeverError::BadRequest(format!(
                "{} streams: call it with `lever stream`, a WebSocket or an NDJSON POST",
                t.method
            )));
        }
        let b = self.begin(t, caller, false).await?;
        let args = target::handler_args(t, args);
        let r = b.inst.call(&t.method, &args, b.ctx.clone(), None).await;
        self.finish(&b, t, &r, false);
        r
    }

    /// Starts a streaming call, here or on another node (as [`Lever::invoke`]).
    pub async fn stream(
        &self,
        t: &Target,
        args: Vec<Value>,
        caller: &Caller,
    ) -> Result<StreamEnds, LeverError> {
        #[cfg(feature = "net")]
        if target::is_stream(&t.method)
            && let Some(r) = self.route_stream(t, &args, caller).await
        {
            return r;
        }
        self.stream_here(t, args, caller).await
    }

    /// Starts a streaming call on this node, never forwarded; the handler runs as its own task.
    pub async fn stream_here(
        &self,
        t: &Target,
        args: Vec<Value>,
        caller: &Caller,
    ) -> Result<StreamEnds, LeverError> {
        if !target::is_stream(&t.method) {
            return Err(LeverError::BadRequest(format!(
                "{} does not stream (streaming methods end in Chan or _chan); call it with `lever invoke`",
                t.method
            )));
        }
        let b = self.begin(t, caller, true).await?;
        if !b.inst.has_method(&t.method) {
            self.release(&b.key, t, &b.inst, b.start, true, true);
            return Err(LeverError::NoMethod {
                service: t.service.clone(),
                method: t.method.clone(),
            });
        }
        let args = target::handler_args(t, &args);
        let (in_tx, in_rx) = tokio::sync::mpsc::channel(DEPTH);
        let (out_tx, out_rx) = tokio::sync::mpsc::channel(DEPTH);
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let t = t.clone();
        tokio::task::spawn_local(async move {
            let in_rx = Rc::new(RefCell::new(Some(in_rx)));
            let out = Rc::new(RefCell::new(Some(out_tx.clone())));
            let s = b
                .inst
                .make_stream(LuaStream::handler(in_rx.clone(), out.clone()));
            let r = match s {
                Ok(s) => b.inst.call(&t.method, &args, b.ctx.clone(), Some(s)).await,
                Err(e) => Err(e),
            };
            // A non-nil return value is the last message.
            if let Ok(v) = &r
                && *v != Value::Null
            {
                let _ = out_tx.send(v.clone()).await;
            }
            // Close both directions now, whatever Lua still holds.
            out.borrow_mut().take();
            in_rx.borrow_mut().take();
            drop(out_tx);
            b.state.lever.finish(&b, &t, &r, true);
            let _ = done_tx.send(r);
        });
        Ok(StreamEnds {
            tx: in_tx,
            rx: out_rx,
            done: done_rx,
        })
    }

    /// `/entry?aid=&entry=`: calls method `entry` of app `aid` with `arg`. The app runs as a
    /// service in its own environment `<aid>.app`, deployed by the node from the app's
    /// released version (else its latest) on first use and again when that version changes.
    pub async fn entry(
        &self,
        aid: &MimeiId,
        entry: &str,
        arg: Value,
        caller: &Caller,
    ) -> Result<Value, LeverError> {
        let state = self.node()?;
        // A session that is gone reads as a guest here: the app's own rights decide.
        let user = crate::ops::session::user(&state, &caller.sid)
            .ok()
            .flatten();
        crate::ops::mimei::authorize(&state, user.as_ref(), aid, crate::mimei::Right::READ)
            .map_err(|e| match e {
                MimeiStoreError::Model(e) => LeverError::Private {
                    service: format!("{aid} ({e})"),
                    env: "its app".into(),
                },
                e => LeverError::App(e.to_string()),
            })?;
        let version = crate::ops::mimei::release_else_last(&state, aid)
            .map_err(|e| LeverError::App(e.to_string()))?;
        let env = format!("{aid}.app");
        let running = self
            .services
            .borrow()
            .values()
            .find(|s| s.env == env)
            .map(|s| (s.name.clone(), s.code.version));
        let name = match running {
            Some((name, v)) if v == version => name,
            _ => {
                let code = Rc::new(AppCode::load(&state, aid, version)?);
                let name = code.manifest.name.clone();
                if let Some((old, _)) = running
                    && old != name
                {
                    self.drop_service(&state, &env, &old)?;
                }
                let node = Who {
                    uid: String::new(),
                    owner: true,
                };
                let vars = code.manifest.env.clone();
                self.install(&state, &node, &env, code, true, vars)?;
                name
            }
        };
        // A private app (`"private": true` in its lever.json) answers /entry only to callers
        // who may write it (its author, the node's owner): a visitor's browser is outside.
        let private = self
            .services
            .borrow()
            .get(&(env.clone(), name.clone()))
            .is_some_and(|s| s.code.manifest.private);
        if private {
            let owner = crate::ops::session::touch(&state, &caller.sid)
                .is_ok_and(|s| s.rights == crate::api::Rights::Owner);
            let writer = crate::ops::mimei::authorize(
                &state,
                user.as_ref(),
                aid,
                crate::mimei::Right::WRITE,
            )
            .is_ok();
            if !owner && !writer {
                return Err(LeverError::Private {
                    service: name,
                    env: format!("{env} (log in as the app's author or the node's owner)"),
                });
            }
        }
        if let Some(e) = target::internal_method(entry) {
            return Err(e);
        }
        let t = Target {
            env: Some(env.clone()),
            service: name,
            resource: None,
            method: entry.to_string(),
        };
        // The app's own environment: its private services answer.
        let inside = Caller {
            sid: caller.sid.clone(),
            env: Some(env),
        };
        self.invoke(&t, &[arg], &inside).await
    }

    /// The mmsid of a service's own database, opened by the node: the database is made on
    /// the service's first use ({{auto}}, a fresh ID) and recorded in its settings. Asked by
    /// the code of service `incarnation`; a removed service's code gets no database.
    pub async fn service_db(
        &self,
        env: &str,
        service: &str,
        incarnation: u64,
        fresh: bool,
    ) -> Result<String, LeverError> {
        let key = (env.to_string(), service.to_string());
        let (app, db) = {
            let services = self.services.borrow();
            let svc = services
                .get(&key)
                .filter(|s| s.incarnation == incarnation)
                .ok_or_else(|| no_service(env, service))?;
            if !fresh && let Some(h) = &svc.db_handle {
                return Ok(h.clone());
            }
            (svc.code.mid.to_string(), svc.db)
        };
        let state = self.node()?;
        let sid = self.owner_sid(&state)?;
        let fail =
            |e: crate::api::ApiError| LeverError::App(format!("the service's database: {e}"));
        let mid = match db {
            Some(mid) => Value::Str(mid.to_string()),
            None => crate::api::call(
                &state,
                "MMCreate",
                vec![
                    Value::Str(sid.clone()),
                    Value::Str(app),
                    Value::Str("lever-db".into()),
                    Value::Str(crate::mimei::id::AUTO_MARK.into()),
                    Value::Str("db".into()),
                ],
            )
            .await
            .map_err(fail)?,
        };
        let made: MimeiId = mid
            .as_str()
            .and_then(|m| m.parse().ok())
            .ok_or_else(|| LeverError::App("MMCreate answered no Mimei ID".into()))?;
        let mmsid = crate::api::call(
            &state,
            "MMOpen",
            vec![Value::Str(sid), mid, Value::Str("cur".into())],
        )
        .await
        .map_err(fail)?;
        let mmsid = mmsid.as_str().unwrap_or_default().to_string();
        // The service may have gone while the database was opened: then close it again.
        let mut services = self.services.borrow_mut();
        let Some(svc) = services
            .get_mut(&key)
            .filter(|s| s.incarnation == incarnation)
        else {
            drop(services);
            crate::ops::db::close_handles(&state, &made);
            return Err(no_service(env, service));
        };
        match svc.db {
            None => {
                svc.db = Some(made);
                settings::save(&state.store, env, service, &svc.settings())?;
            }
            Some(db) if db != made => {
                // Another call made the database meanwhile: this one's stays unused.
                drop(services);
                state.mm_handles.borrow_mut().close_mimei(&made);
                return Err(LeverError::Busy(
                    "the service's database was being made by another call; try again".into(),
                ));
            }
            Some(_) => {}
        }
        svc.db_handle = Some(mmsid.clone());
        Ok(mmsid)
    }

    /// Once a second: load statistics, reaping, `minInstances`, idle resources, cron.
    pub async fn tick(&self) {
        let Ok(state) = self.node() else { return };
        self.ticks.set(self.ticks.get() + 1);
        #[cfg(feature = "net")]
        self.provide_services(&state);
        let now = Instant::now();
        let now_ms = self.ms();
        let idle = Self::idle(&state);
        let mut closes = Vec::new();
        let mut crons = Vec::new();
        let mut warm = Vec::new();
        {
            let mut services = self.services.borrow_mut();
            for (key, svc) in services.iter_mut() {
                svc.load.roll(now_ms);
                let generation = svc.generation;
                // Resources idle too long, or left on an old or dead instance: close them.
                for (r, slot) in svc.resources.iter_mut() {
                    let Some(inst) = &slot.instance else { continue };
                    let stale = inst.generation != generation || inst.dead.get();
                    let idle_long = slot
                        .last_used
                        .is_some_and(|t| now.duration_since(t) >= idle);
                    if !slot.busy && slot.inflight == 0 && (stale || idle_long) {
                        slot.busy = true;
                        closes.push((key.clone(), r.clone(), inst.clone()));
                    }
                }
                svc.reap(now, idle);
                if (svc.current().count() as u32) < svc.code.manifest.min_instances {
                    warm.push(key.clone());
                }
                let cron = &svc.code.manifest.cron;
                if svc.cron_due.len() != cron.len() {
                    svc.cron_due = cron.iter().map(|c| now_ms + c.every_ms).collect();
                }
                for (i, c) in cron.iter().enumerate() {
                    if now_ms >= svc.cron_due[i] {
                        svc.cron_due[i] = now_ms + c.every_ms;
                        crons.push((key.clone(), c.method.clone(), c.args.clone()));
                    }
                }
            }
        }
        for key in warm {
            let _ = self.pick(&state, &key).map(|i| {
                // Picked only to start it; nothing runs.
                drop(i);
            });
        }
        let Ok(sid) = self.guest_sid(&state) else {
            return;
        };
        let caller = |env: &str| Caller {
            sid: sid.clone(),
            env: Some(env.to_string()),
        };
        for (key, r, inst) in closes {
            if !inst.dead.get() && inst.has_method("CloseResource") {
                self.lifecycle(&inst, &key, "CloseResource", &r, &caller(&key.0))
                    .await;
            }
            if let Some(svc) = self.services.borrow_mut().get_mut(&key)
                && let Some(slot) = svc.resources.get(&r)
            {
                slot.notify.notify_waiters();
                if slot.inflight == 0 {
                    svc.resources.remove(&r);
                }
            }
        }
        for (key, method, args) in crons {
            let c = caller(&key.0);
            let t = Target {
                env: Some(key.0.clone()),
                service: key.1.clone(),
                resource: None,
                method,
            };
            let weak = Rc::downgrade(&state);
            tokio::task::spawn_local(async move {
                let Some(state) = weak.upgrade() else { return };
                let _ = state.lever.invoke(&t, &args, &c).await;
            });
        }
    }

    /// Numbers for the footprint and tests: (instances, reserved bytes, used bytes).
    pub fn usage(&self) -> (usize, usize, usize) {
        let services = self.services.borrow();
        let mut n = 0;
        let mut reserved = 0;
        let mut used = 0;
        for s in services.values() {
            for i in &s.instances {
                n += 1;
                reserved += i.ram;
                used += i.used_memory();
            }
        }
        (n, reserved, used)
    }
}

/// Runs [`Lever::tick`] every second until the node stops.
pub async fn run_ticks(state: Rc<NodeState>) {
    let weak = Rc::downgrade(&state);
    drop(state);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(state) = weak.upgrade() else { return };
        state.lever.tick().await;
    }
}

fn no_service(env: &str, name: &str) -> LeverError {
    LeverError::NoService {
        env: env.to_string(),
        service: name.to_string(),
    }
}

fn other_u64(other: &[(String, Value)], key: &str) -> Option<u64> {
    other
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.as_i64())
        .and_then(|n| u64::try_from(n).ok())
}

/// One service as `lever ls` and `LeverDeploy` show it; `theirs` (the deployer or the owner
/// asks) adds the names of its env variables, never their values, and its database.
fn summary(s: &Service, theirs: bool) -> Value {
    let m = &s.code.manifest;
    let current = s.current().count();
    let mut v = Value::map([
        ("env", Value::Str(s.env.clone())),
        ("name", Value::Str(s.name.clone())),
        ("description", Value::Str(m.description.clone())),
        ("mid", Value::Str(s.code.mid.to_string())),
        ("version", Value::Int(s.code.version as i64)),
        ("private", Value::Bool(m.private)),
        ("instances", Value::Int(current as i64)),
        ("draining", Value::Int((s.instances.len() - current) as i64)),
        ("inflight", Value::Int(i64::from(s.load.inflight))),
        ("calls", Value::Int(s.load.calls as i64)),
        ("errors", Value::Int(s.load.errors as i64)),
        ("rate", Value::Float((s.load.rate * 10.0).round() / 10.0)),
        (
            "latencyMs",
            Value::Float((s.load.latency_ms * 100.0).round() / 100.0),
        ),
        ("resources", Value::Int(s.resources.len() as i64)),
        ("startUs", Value::Int(s.last_start_us as i64)),
        (
            "memory",
            Value::Int(s.instances.iter().map(|i| i.used_memory() as i64).sum()),
        ),
        (
            "versions",
            Value::List(
                s.history
                    .iter()
                    .map(|d| Value::Int(d.version as i64))
                    .collect(),
            ),
        ),
    ]);
    if theirs && let Value::Map(fields) = &mut v {
        let names = s.vars.names().map(|n| Value::Str(n.to_string())).collect();
        fields.push(("envNames".to_string(), Value::List(names)));
        let db = s.db.map(|d| d.to_string()).unwrap_or_default();
        fields.push(("db".to_string(), Value::Str(db)));
    }
    v
}
