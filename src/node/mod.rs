//! The node: assembles the services on one `current_thread` runtime and runs them until
//! SIGTERM or SIGINT, then stops gracefully (connections drain, the store closes).
//!
//! Order at start: lock the home, (fork for `run -d`), read settings and key, open the store,
//! bind the ports, start the swarm, write `leither.ports` and `leither.addr`, report ready. Any failure before "ready" is reported
//! to the user with what to do, and nothing is left half-started.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::rc::Rc;

use crate::daemon::{self, DaemonError, Detached, HomeLock, ReadyPipe};
use crate::home::{self, HomeError};
use crate::store::{Store, StoreError};
use crate::{log_error, log_info, log_warn};

pub mod state;

pub use state::{MAX_SESSIONS, NodeState};

/// Why the node could not run.
#[derive(Debug)]
#[non_exhaustive]
pub enum NodeError {
    /// The home (settings, key) is unusable.
    Home(HomeError),
    /// The store could not be opened.
    Store(StoreError),
    /// Lock, fork or signal trouble.
    Daemon(DaemonError),
    /// The port could not be bound.
    Bind {
        /// The address.
        addr: String,
        /// Why.
        error: std::io::Error,
    },
    /// The runtime could not start.
    Runtime(std::io::Error),
    /// The detached node reported a failure.
    Detached(String),
}

impl fmt::Display for NodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeError::Home(e) => e.fmt(f),
            NodeError::Store(e) => e.fmt(f),
            NodeError::Daemon(e) => e.fmt(f),
            NodeError::Bind { addr, error } if error.kind() == std::io::ErrorKind::AddrInUse => {
                write!(
                    f,
                    "port {addr} is already in use by another program; pick another with `leither init -p PORT`"
                )
            }
            NodeError::Bind { addr, error } => write!(f, "cannot listen on {addr}: {error}"),
            NodeError::Runtime(e) => write!(f, "cannot start the runtime: {e}"),
            NodeError::Detached(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for NodeError {}

impl From<DaemonError> for NodeError {
    fn from(e: DaemonError) -> Self {
        NodeError::Daemon(e)
    }
}

/// How long the start waits for the swarm to name its listen address (its socket is bound
/// already; the address comes with its first event, within milliseconds).
#[cfg(feature = "net")]
const SWARM_LISTEN_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// How `run` went, for the CLI to print.
pub enum RunOutcome {
    /// The foreground node stopped after a signal.
    Stopped,
    /// `run -d`: the detached node is up.
    Detached {
        /// Its pid.
        pid: i32,
        /// Where it listens.
        addr: String,
        /// What the node said at start that its user should read (e.g. why HTTPS is off).
        notes: Vec<String>,
    },
}

/// Runs a node on `home`; with `detach`, forks and returns once the child answers.
pub fn run(home: &Path, detach: bool) -> Result<RunOutcome, NodeError> {
    std::fs::create_dir_all(home).map_err(|error| {
        NodeError::Home(HomeError::Create {
            home: home.to_path_buf(),
            error,
        })
    })?;
    let lock = HomeLock::acquire(home)?;
    let ready = if detach {
        match daemon::detach()? {
            Detached::Parent { pid, report } => {
                // The child holds the lock now (the descriptor is shared); do not clean up.
                std::mem::forget(lock);
                if let Some(notes) = daemon::ok_notes(&report) {
                    let addr = daemon::running_addr(home).unwrap_or_default();
                    return Ok(RunOutcome::Detached { pid, addr, notes });
                }
                let msg = report
                    .strip_prefix("error: ")
                    .unwrap_or(&report)
                    .to_string();
                return Err(NodeError::Detached(msg));
            }
            Detached::Child(pipe) => {
                lock.write_pid()?;
                Some(pipe)
            }
        }
    } else {
        None
    };
    let result = start_and_serve(home, &lock, detach, ready);
    if let Err(e) = &result {
        log_error!("node stopped: {e}");
    }
    drop(lock);
    result.map(|()| RunOutcome::Stopped)
}

fn start_and_serve(
    home: &Path,
    lock: &HomeLock,
    detached: bool,
    mut ready: Option<ReadyPipe>,
) -> Result<(), NodeError> {
    let fail = |ready: &mut Option<ReadyPipe>, e: NodeError| {
        if let Some(p) = ready.take() {
            p.report(Err(&e.to_string()));
        }
        e
    };
    let h = match home::open(home) {
        Ok(h) => h,
        Err(e) => return Err(fail(&mut ready, NodeError::Home(e))),
    };
    let _ = crate::log::init(h.vars.log_level, Some(home), !detached);
    if h.new_key {
        log_info!("new home {}: node key made", home.display());
    }
    let cache = crate::budget::page_cache(&h.vars);
    let node_id = h.key.id().to_string();
    let store = match Store::open(home, cache, &node_id) {
        Ok(s) => s,
        Err(e) => return Err(fail(&mut ready, NodeError::Store(e))),
    };
    let addr_text = format!("{}:{}", h.vars.listen_addr, h.vars.service_port);
    let std_listener = match std::net::TcpListener::bind(&addr_text) {
        Ok(l) => l,
        Err(error) => {
            return Err(fail(
                &mut ready,
                NodeError::Bind {
                    addr: addr_text,
                    error,
                },
            ));
        }
    };
    crate::limits::deepen_backlog(&std_listener);
    let _ = std_listener.set_nonblocking(true);
    let local = std_listener.local_addr().ok();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
    {
        Ok(r) => r,
        Err(e) => return Err(fail(&mut ready, NodeError::Runtime(e))),
    };
    let state = Rc::new(NodeState::new(
        home.to_path_buf(),
        h.key,
        h.vars.clone(),
        store,
    ));
    state.listen.set(local);
    #[cfg(feature = "files")]
    match state.db.borrow_mut().recover(&state.store) {
        Ok(0) => {}
        Ok(n) => log_info!("replayed {n} database writes from the log of an unclean stop"),
        Err(e) => return Err(fail(&mut ready, NodeError::Store(e))),
    }
    // Before any door opens: a store from before the block index gets its Mimeis' blocks
    // tagged, so none of them is served by CID as public (docs/security.md, "Blocks by CID").
    match crate::mimei::content::build_index_once(&state.store) {
        Ok(None) => {}
        Ok(Some(b)) => log_info!(
            "block index built: {} Mimei(s), {} root(s), {} block(s) tagged ({} not stored yet),              {} root(s) too large, in {} ms",
            b.mimeis,
            b.roots,
            b.report.tagged,
            b.report.pending,
            b.too_large,
            b.millis
        ),
        Err(e) => log_warn!(
            "the block index could not be built ({e}); blocks of Mimeis stored before it are              served by CID as public until the next start"
        ),
    }
    #[cfg(feature = "lever")]
    state.lever.attach(&state);
    let local_set = tokio::task::LocalSet::new();
    let result = local_set.block_on(&runtime, async {
        let listener = tokio::net::TcpListener::from_std(std_listener)
            .map_err(|e| fail(&mut ready, NodeError::Runtime(e)))?;
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| fail(&mut ready, NodeError::Runtime(e)))?;
        let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
            .map_err(|e| fail(&mut ready, NodeError::Runtime(e)))?;
        // Notes for `run -d` to print (a foreground run shows them as log lines).
        let mut notes: Vec<String> = Vec::new();
        #[cfg(feature = "tls")]
        let https = match crate::http::tls::bind(&state) {
            Ok(h) => h,
            Err(e) => {
                let e = format!(
                    "HTTPS is off: {e}; plain HTTP only until the node is restarted with this fixed"
                );
                log_error!("{e}");
                notes.push(e);
                None
            }
        };
        #[cfg(feature = "tls")]
        if let Some((l, _)) = &https {
            state.https.set(l.local_addr().ok().map(|a| a.port()));
        }
        #[cfg(not(feature = "tls"))]
        if state.vars.borrow().https_port != 0 {
            let e = "HTTPS is off: this leither was built without TLS (feature tls)".to_string();
            log_warn!("{e}");
            notes.push(e);
        }
        // Every listener is bound before leither.ports and leither.addr are written: whoever
        // waits for leither.addr (scripts, tests) may use every port at once, and learns from
        // leither.ports the ones the system picked (port 0).
        let mut listeners: Vec<(&str, String)> = Vec::new();
        if let Some(a) = local {
            listeners.push(("http", loopback_for(a).to_string()));
        }
        #[cfg(feature = "tls")]
        if let Some(a) = https.as_ref().and_then(|(l, _)| l.local_addr().ok()) {
            listeners.push(("https", loopback_for(a).to_string()));
        }
        #[cfg(feature = "resp")]
        let resp = match crate::resp::server::bind(&state) {
            Ok(Some(l)) => {
                if let Ok(a) = l.local_addr() {
                    listeners.push(("resp", loopback_for(a).to_string()));
                }
                Some(tokio::task::spawn_local(crate::resp::server::serve(
                    l,
                    state.clone(),
                    stop_rx.clone(),
                )))
            }
            Ok(None) => None,
            Err(e) => {
                log_error!("{e}");
                None
            }
        };
        log_info!(
            "leither {} node {} listening on {}",
            crate::api::fns_node::VERSION,
            node_id,
            local.map(|a| a.to_string()).unwrap_or_default()
        );
        #[cfg(feature = "net")]
        match crate::net::start(&state) {
            Ok(net) => {
                if !net.wait_listening(SWARM_LISTEN_WAIT).await {
                    log_warn!(
                        "the swarm named no listen address within {} s",
                        SWARM_LISTEN_WAIT.as_secs()
                    );
                }
                for a in net.local_addrs() {
                    listeners.push(("swarm", a));
                }
                let _ = state.net.set(net);
                #[cfg(feature = "lever")]
                crate::lever::remote::spawn_server(&state);
                crate::api::fns_trust::dial_trusted(&state);
            }
            Err(e) => crate::net::report_start_failure(&e),
        }
        #[cfg(not(feature = "net"))]
        log_warn!("built without the network (feature net): running standalone");
        lock.write_ports(&listeners)
            .map_err(|e| fail(&mut ready, NodeError::Daemon(e)))?;
        if let Some(a) = local {
            lock.write_addr(loopback_for(a))
                .map_err(|e| fail(&mut ready, NodeError::Daemon(e)))?;
        }
        if let Some(p) = ready.take() {
            p.report_ok(&notes);
        }
        let server =
            tokio::task::spawn_local(crate::http::serve(listener, state.clone(), stop_rx.clone()));
        #[cfg(feature = "tls")]
        let https_server = https.map(|(l, certs)| {
            tokio::task::spawn_local(crate::http::tls::serve(
                l,
                state.clone(),
                stop_rx.clone(),
                certs,
            ))
        });
        let sweeper = tokio::task::spawn_local(sweep_sessions(state.clone()));
        // Leither's onstart hook: the home's _Install.lua, as the owner, once per change.
        #[cfg(feature = "lever")]
        tokio::task::spawn_local(crate::scripts::install::run_at_start(state.clone()));
        #[cfg(feature = "lever")]
        let lever_ticks = tokio::task::spawn_local(crate::lever::run_ticks(state.clone()));
        #[cfg(feature = "files")]
        let committer = tokio::task::spawn_local(group_commit(state.clone()));
        #[cfg(feature = "files")]
        let reporter = crate::dnn::reporter::spawn(&state);
        tokio::select! {
            _ = term.recv() => log_info!("SIGTERM: stopping"),
            _ = int.recv() => log_info!("SIGINT: stopping"),
        }
        let _ = stop_tx.send(true);
        // The router's mappings by PCP/NAT-PMP are deleted (docs/network.md, "Behind a NAT").
        #[cfg(feature = "net")]
        if let Some(n) = state.net.get() {
            n.release_mappings(std::time::Duration::from_secs(2)).await;
        }
        let _ = server.await;
        #[cfg(feature = "tls")]
        if let Some(h) = https_server {
            let _ = h.await;
        }
        #[cfg(feature = "resp")]
        if let Some(r) = resp {
            let _ = r.await;
        }
        sweeper.abort();
        #[cfg(feature = "lever")]
        lever_ticks.abort();
        #[cfg(feature = "files")]
        {
            if let Some(r) = reporter {
                r.abort();
            }
            committer.abort();
            checkpoint_db(&state);
        }
        Ok::<(), NodeError>(())
    });
    drop(local_set);
    drop(runtime);
    // The last reference: the store closes here, after every connection has finished.
    match Rc::try_unwrap(state) {
        Ok(s) => drop(s),
        Err(_) => log_warn!("state still referenced at stop"),
    }
    log_info!("stopped");
    result
}

/// The address clients on this machine use: a wildcard bind is reached on loopback.
fn loopback_for(a: SocketAddr) -> SocketAddr {
    if a.ip().is_unspecified() {
        let ip = if a.is_ipv4() {
            std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
        } else {
            std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
        };
        SocketAddr::new(ip, a.port())
    } else {
        a
    }
}

#[cfg(feature = "files")]
/// Writes every database write into redb at shutdown (docs/db.md: durability).
fn checkpoint_db(state: &NodeState) {
    if let Err(e) = state.db.borrow_mut().checkpoint(&state.store) {
        log_error!("writing the databases to disk at stop failed (the log keeps them): {e}");
    }
}

#[cfg(feature = "files")]
/// The group commit: every [`crate::db::cur::GROUP_COMMIT_MS`] ms, timed-out transactions
/// and expired keys go and the memtable is flushed.
async fn group_commit(state: Rc<NodeState>) {
    let ms = crate::db::cur::GROUP_COMMIT_MS;
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(ms));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let mut db = state.db.borrow_mut();
        // Transactions past their timeout go now, not at their handle's next call: an
        // open one keeps the node's change tracking on.
        db.expire_txns(crate::clock::unix_ms());
        if let Err(e) = db.sweep_expired(&state.store, crate::clock::unix_ms(), 1000) {
            log_warn!("removing expired database keys: {e}");
        }
        db.release_reader();
        if let Err(e) = db.tick(&state.store) {
            log_error!("writing the databases to disk failed (kept in memory, retrying): {e}");
        }
    }
}

async fn sweep_sessions(state: Rc<NodeState>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        tick.tick().await;
        state.sessions.borrow_mut().sweep(crate::clock::unix_now());
    }
}

/// The home a CLI command talks to and the URL of its node.
pub fn local_url(home: &Path) -> Option<String> {
    daemon::running_addr(home).map(|a| format!("http://{a}"))
}
