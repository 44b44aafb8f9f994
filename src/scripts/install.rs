//! `_Install.lua`: a script in the node's home that the node runs at start, as the owner
//! (Leither's `onstart` hook, Install.md V0.16.59: "启动时执行角本_Install.lua").
//!
//! Leither says only that it runs at start. Here it runs once per content: the SHA-256 of
//! the text that last ran to the end is kept in the store (`script_state`,
//! `install.sha256`), and a start finding the same text does not run it again; a changed file
//! runs at the next start, and one that failed runs again. It runs after the doors are open,
//! in slices like any script, with the node's Lua limits; its result or error goes to the
//! node's log.

use std::rc::Rc;

use sha2::{Digest, Sha256};

use crate::api::{NodeState, Rights, Value};

/// The file, in the home.
pub const FILE: &str = "_Install.lua";
/// The `script_state` key of the hash of the last text that ran.
const KEY: &str = "install.sha256";

/// What happened at this start.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// No `_Install.lua`.
    Absent,
    /// The same text ran before.
    Unchanged,
    /// It ran and answered this.
    Ran(Value),
    /// It could not be read or failed (the message).
    Failed(String),
}

/// Runs `_Install.lua` if it is there and changed; logs what happened.
pub async fn run_at_start(state: Rc<NodeState>) -> Outcome {
    let out = run_if_changed(&state).await;
    match &out {
        Outcome::Absent => {}
        Outcome::Unchanged => {
            crate::log_info!("{FILE} is unchanged since it last ran: not run again")
        }
        Outcome::Ran(v) => {
            let mut s = String::new();
            crate::api::json::encode(v, &mut s);
            crate::log_info!("{FILE} ran as the owner: {}", crate::api::truncate(&s, 500));
        }
        Outcome::Failed(e) => {
            crate::log_error!("{FILE} failed: {e}; it runs again at the next start")
        }
    }
    out
}

async fn run_if_changed(state: &NodeState) -> Outcome {
    let path = state.home.join(FILE);
    let meta = match std::fs::metadata(&path) {
        Ok(m) if m.is_file() => m,
        _ => return Outcome::Absent,
    };
    if meta.len() > super::MAX_SCRIPT_BYTES as u64 {
        return Outcome::Failed(format!(
            "{} bytes, more than the {} a script may have",
            meta.len(),
            super::MAX_SCRIPT_BYTES
        ));
    }
    let source = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let hash = Sha256::digest(source.as_bytes()).to_vec();
    match super::store::state_get(&state.store, KEY) {
        Ok(Some(h)) if h == hash => return Outcome::Unchanged,
        Ok(_) => {}
        Err(e) => return Outcome::Failed(e.to_string()),
    }
    let now = crate::clock::unix_now();
    let limits = super::Limits::of(state);
    let owner = state.key.id().to_string();
    let session = match state.sessions.borrow_mut().open(
        &owner,
        Rights::Owner,
        now + limits.timeout_ms / 1000 + 60,
        now,
    ) {
        Ok(s) => s,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let out = super::engine::run(
        state,
        super::engine::Job {
            backend: None,
            name: FILE,
            source: &source,
            request: vec![("sid".into(), Value::Str(session.sid.clone()))],
            stranger: false,
        },
    )
    .await;
    state.sessions.borrow_mut().close(&session.sid);
    match out {
        Ok(v) => match super::store::state_set(&state.store, KEY, &hash) {
            Ok(()) => Outcome::Ran(v),
            Err(e) => Outcome::Failed(format!("it ran, but its hash was not kept: {e}")),
        },
        Err(e) => Outcome::Failed(e.to_string()),
    }
}
