//! What the RESP door keeps per node (in [`crate::node::NodeState`], never in a global:
//! several nodes may run in one process): the `CONFIG` settings, the blocked clients, the
//! connected clients (`CLIENT LIST`, `CLIENT ID`) and the counters `INFO` reports.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Instant;

use super::blocking::Registry;
use super::config::Config;
use crate::pki::LeitherId;

/// Most error codes `INFO errorstats` tracks (Redis's limit too).
pub const MAX_ERROR_CODES: usize = 128;

/// The RESP door's state of one node.
#[derive(Default)]
pub struct RespNode {
    /// `CONFIG GET/SET`.
    pub config: RefCell<Config>,
    /// The blocked clients.
    pub blocked: RefCell<Registry>,
    /// The connected clients by ID.
    pub clients: RefCell<BTreeMap<u64, Rc<Client>>>,
    /// The last client ID handed out.
    pub last_id: Cell<u64>,
    /// Connections accepted since start (`total_connections_received`).
    pub connections: Cell<u64>,
    /// Commands run since start (or `CONFIG RESETSTAT`).
    pub commands: Cell<u64>,
    /// Calls per command (`INFO commandstats`): (name, calls) by a slot per command the
    /// door knows (a few hundred), so counting is an index, not a hash.
    pub per_command: RefCell<Vec<(&'static str, u64, u64)>>,
    /// Error replies by their code (`INFO errorstats`; at most [`MAX_ERROR_CODES`] codes).
    pub errors: RefCell<BTreeMap<String, u64>>,
    /// Error replies in all (`total_error_replies`).
    pub error_replies: Cell<u64>,
    /// The store's write sequence at the last `SAVE` (`rdb_changes_since_last_save`).
    pub saved_seq: Cell<u64>,
}

/// One connected client, as `CLIENT LIST` shows it.
pub struct Client {
    /// Its ID (`CLIENT ID`).
    pub id: u64,
    /// Its address.
    pub addr: SocketAddr,
    /// When it connected.
    pub since: Instant,
    /// When its last command ran.
    pub last: Cell<Instant>,
    /// `CLIENT SETNAME`.
    pub name: RefCell<Vec<u8>>,
    /// The numbered database it selected (-1: a database Mimei by ID).
    pub db: Cell<i64>,
    /// The protocol (2 or 3).
    pub resp: Cell<u8>,
    /// Who it acts as.
    pub user: Cell<Option<LeitherId>>,
    /// Whether it acts as the node owner.
    pub owner: Cell<bool>,
    /// Commands queued by `MULTI` (-1: not in one).
    pub multi: Cell<i64>,
    /// The last command's name.
    pub cmd: Cell<&'static str>,
}

impl RespNode {
    /// Registers a new connection from `addr`.
    pub fn connect(&self, addr: SocketAddr, owner: bool, user: Option<LeitherId>) -> Rc<Client> {
        let id = self.last_id.get() + 1;
        self.last_id.set(id);
        self.connections.set(self.connections.get() + 1);
        let now = Instant::now();
        let c = Rc::new(Client {
            id,
            addr,
            since: now,
            last: Cell::new(now),
            name: RefCell::new(Vec::new()),
            db: Cell::new(0),
            resp: Cell::new(2),
            user: Cell::new(user),
            owner: Cell::new(owner),
            multi: Cell::new(-1),
            cmd: Cell::new("NULL"),
        });
        self.clients.borrow_mut().insert(id, c.clone());
        c
    }

    /// Forgets a connection that went.
    pub fn disconnect(&self, id: u64) {
        self.clients.borrow_mut().remove(&id);
    }

    /// Counts one call of command `name`, whose slot is `slot`.
    pub fn count(&self, slot: usize, name: &'static str) {
        self.commands.set(self.commands.get() + 1);
        let mut per = self.per_command.borrow_mut();
        if per.len() <= slot {
            per.resize(slot + 1, ("", 0, 0));
        }
        per[slot].0 = name;
        per[slot].1 += 1;
    }

    /// Counts an error reply `line` (`-CODE ...`) of the command in `slot`, if known.
    pub fn count_error(&self, line: &[u8], slot: Option<usize>) {
        self.error_replies.set(self.error_replies.get() + 1);
        if let Some(s) = slot
            && let Some(e) = self.per_command.borrow_mut().get_mut(s)
        {
            e.2 += 1;
        }
        let code: Vec<u8> = line
            .iter()
            .skip(1)
            .take_while(|c| !matches!(c, b' ' | b'\r' | b'\n'))
            .take(32)
            .copied()
            .collect();
        let code = String::from_utf8_lossy(&code).into_owned();
        let mut errors = self.errors.borrow_mut();
        if errors.len() < MAX_ERROR_CODES || errors.contains_key(&code) {
            *errors.entry(code).or_insert(0) += 1;
        }
    }

    /// `CONFIG RESETSTAT`.
    pub fn reset_stats(&self) {
        self.commands.set(0);
        self.connections.set(0);
        self.per_command.borrow_mut().clear();
        self.errors.borrow_mut().clear();
        self.error_replies.set(0);
    }
}

impl Client {
    /// Its `CLIENT LIST`/`CLIENT INFO` line (no newline), `blocked` when it waits.
    pub fn line(&self, blocked: bool, now: Instant) -> String {
        let mut flags = String::new();
        if blocked {
            flags.push('b');
        }
        if self.multi.get() >= 0 {
            flags.push('x');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        let name = String::from_utf8_lossy(&self.name.borrow()).into_owned();
        let user = match (self.owner.get(), self.user.get()) {
            (true, _) => "default".to_string(),
            (false, Some(u)) => u.to_string(),
            (false, None) => "none".to_string(),
        };
        format!(
            "id={} addr={} laddr=? fd=-1 name={name} age={} idle={} flags={flags} db={} sub=0 psub=0 ssub=0 multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user={user} redir=-1 resp={}",
            self.id,
            self.addr,
            now.saturating_duration_since(self.since).as_secs(),
            now.saturating_duration_since(self.last.get()).as_secs(),
            self.db.get(),
            self.multi.get(),
            self.cmd.get(),
            self.resp.get(),
        )
    }
}
