//! Leither's script contract on the node's Lua runtime (docs/scripts.md).
//!
//! A script is a Lua chunk run once, in a fresh sandbox ([`crate::lua::sandbox`]), with a
//! global `request` (the caller's session id `sid` and the parameters) and `require` of
//! Leither's modules (`auth`, `var`, `mimei`, ...; [`crate::lua::leither_modules`]), whose
//! functions are the API table's with their Leither names and arguments. What the chunk
//! returns is the answer. Every API call a script makes goes through the one dispatcher
//! with the session the script names, so a script never does more than that session may.
//!
//! Where scripts come from: `RunScript` and `lpki runscript` ([`engine`]), scripts
//! registered with `RegisterScript` and run by ID ([`store`]), background tasks
//! ([`tasks`]), `_Install.lua` at start ([`install`]) and the owner's
//! `service/RequestService/<name>.lua` deciding `RequestService` ([`service`]), and an
//! app's entry run by `RunMApp` or `/entry` ([`mapp`]; docs/apps.md) with Leither's backend
//! API ([`backend`]: the app's identity and keys [`app`], its data Mimeis [`app_data`], its
//! sessions with values [`sessions`]).
//!
//! [`Scripts`] is the node's part of this: the running count (a bound on scripts at once),
//! the background tasks and the apps' backend sessions.

pub mod app;
pub mod app_data;
pub mod backend;
pub mod engine;
pub mod install;
pub mod mapp;
pub mod service;
pub mod sessions;
pub mod store;
pub mod tasks;

use std::cell::{Cell, RefCell};

use crate::api::{ApiError, NodeState};

/// Most scripts running at once on a node (each has its own Lua state).
pub const MAX_RUNNING: usize = 8;
/// Most of those run for guests and visitors (sessions that are not users of the node).
pub const MAX_RUNNING_STRANGERS: usize = 2;
/// Largest script text, in bytes (RunScript, RegisterScript, files).
pub const MAX_SCRIPT_BYTES: usize = 64 * 1024;

/// The node's scripts: how many run, and the background tasks.
#[derive(Default)]
pub struct Scripts {
    running: Cell<usize>,
    strangers: Cell<usize>,
    reserved: Cell<usize>,
    /// The background tasks ([`tasks`]).
    pub tasks: RefCell<tasks::TaskTable>,
    /// Apps' backend sessions with values ([`sessions`]).
    pub sessions: RefCell<sessions::SessionTable>,
    /// How many data Mimeis each app has here ([`app_data`]), counted at first need.
    pub data_counts: RefCell<std::collections::HashMap<String, usize>>,
}

/// A place among the running scripts, given back when dropped.
pub struct Slot<'a> {
    scripts: &'a Scripts,
    stranger: bool,
    ram: usize,
}

impl Scripts {
    /// Takes a place for a script whose heap may grow to `ram` bytes, or says why not: the
    /// node runs as many scripts as it may, or Lever's memory share (`LeverMemoryMB`, shared
    /// with the services' instances) has no room for one more heap.
    pub fn slot(
        &self,
        state: &NodeState,
        stranger: bool,
        ram: usize,
    ) -> Result<Slot<'_>, ApiError> {
        if self.running.get() >= MAX_RUNNING {
            return Err(ApiError::Busy(format!(
                "{MAX_RUNNING} scripts are running on this node, the most it runs at once; try again shortly"
            )));
        }
        if stranger && self.strangers.get() >= MAX_RUNNING_STRANGERS {
            return Err(ApiError::Busy(format!(
                "{MAX_RUNNING_STRANGERS} scripts of guests and visitors are running, the most at once; \
                 try again shortly, or log in as a user of this node"
            )));
        }
        let budget = crate::lever::Lever::budget(state);
        let used = state.lever.reserved() + self.reserved.get();
        if used + ram > budget {
            return Err(ApiError::Busy(format!(
                "the node's Lua memory ({} MiB, LeverMemoryMB) is taken by services and scripts; \
                 a script needs {} MiB; try again shortly",
                budget >> 20,
                ram >> 20
            )));
        }
        self.running.set(self.running.get() + 1);
        self.reserved.set(self.reserved.get() + ram);
        if stranger {
            self.strangers.set(self.strangers.get() + 1);
        }
        Ok(Slot {
            scripts: self,
            stranger,
            ram,
        })
    }

    /// Bytes the running scripts' heaps may take (reserved of Lever's share).
    pub fn reserved(&self) -> usize {
        self.reserved.get()
    }

    /// Scripts running now.
    pub fn running(&self) -> usize {
        self.running.get()
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.scripts
            .running
            .set(self.scripts.running.get().saturating_sub(1));
        self.scripts
            .reserved
            .set(self.scripts.reserved.get().saturating_sub(self.ram));
        if self.stranger {
            self.scripts
                .strangers
                .set(self.scripts.strangers.get().saturating_sub(1));
        }
    }
}

/// The limits a script runs with. A script has no lever.json: its time and instructions are
/// the node's caps for Lua (SystemVars.json's `LuaMaxTimeoutMs`, `LuaMaxInstructions`), and
/// its heap is a service's default `ram` (2 MiB), at most `LuaMaxRamMB`, reserved of Lever's
/// memory share while it runs.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Wall-clock timeout, ms.
    pub timeout_ms: u64,
    /// Instruction budget.
    pub max_instructions: u64,
    /// Memory cap, bytes.
    pub ram: usize,
}

impl Limits {
    /// The node's limits.
    pub fn of(state: &NodeState) -> Limits {
        let v = state.vars.borrow();
        let ram_mb = crate::lever::manifest::Manifest::default()
            .ram_mb
            .min(v.lua_max_ram_mb);
        Limits {
            timeout_ms: v.lua_max_timeout_ms,
            max_instructions: v.lua_max_instructions,
            ram: (ram_mb as usize) << 20,
        }
    }
}
