//! A deployed service: its versions, its instances, its sticky resources, its load and log,
//! and the scheduling decisions made on them (which instance takes a call, when to start
//! another, which to reap). Sans-io apart from starting Lua states.
//!
//! - **Versions.** Each deploy or rollback makes a new generation with its code; new calls go
//!   to instances of the current generation only, calls in flight finish on the old ones, and
//!   old instances are reaped once idle. No call fails during the switch.
//! - **Load balancing.** A call takes the current instance with the fewest calls in flight;
//!   when even that one has `maxInstanceLoad` or more, another is started if the node's Lever
//!   memory budget allows (else the least loaded one takes it anyway).
//! - **Resources.** A call naming a resource sticks to the instance holding it; see
//!   [`Slot`] and `Lever::acquire` for how a resource moves without ever being open in two
//!   instances at once.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::time::Instant;

use tokio::sync::Notify;

use super::LeverError;
use super::code::AppCode;
use super::instance::{Instance, ServiceInfo};
use super::load::Load;
use super::logs::LogRing;
use super::settings::{Settings, Vars};
use crate::api::NodeState;
use crate::mimei::MimeiId;

/// One deployment in a service's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployed {
    /// The app's Mimei.
    pub mid: MimeiId,
    /// The app version.
    pub version: u64,
    /// Unix seconds of the deploy.
    pub at: u64,
}

/// Where a resource lives.
#[derive(Default)]
pub struct Slot {
    /// The instance holding it (`NewResource` was called there).
    pub instance: Option<Rc<Instance>>,
    /// Calls on it in flight.
    pub inflight: u32,
    /// A move (close on the old instance, open on the new) is under way.
    pub busy: bool,
    /// Woken when `busy` clears or `inflight` drops to 0.
    pub notify: Rc<Notify>,
    /// When it was last used.
    pub last_used: Option<Instant>,
}

/// A service in an environment.
pub struct Service {
    /// Its environment.
    pub env: String,
    /// Its name.
    pub name: String,
    /// The user ID of whoever deployed it ("" = the node); only they or the owner change it.
    pub deployer: String,
    /// Deployments, oldest first.
    pub history: Vec<Deployed>,
    /// The code of the current deployment.
    pub code: Rc<AppCode>,
    /// Bumped by each deploy or rollback.
    pub generation: u64,
    /// Running instances (current and draining old ones).
    pub instances: Vec<Rc<Instance>>,
    /// Resources by name.
    pub resources: HashMap<String, Slot>,
    /// Load statistics.
    pub load: Load,
    /// The service's log.
    pub logs: Rc<RefCell<LogRing>>,
    /// Next cron firing per trigger (ms since the Lever clock's start).
    pub cron_due: Vec<u64>,
    /// Microseconds of the last instance start.
    pub last_start_us: u64,
    /// Its variables and secrets (`lever.env`), kept by the node ([`super::settings`]).
    pub vars: Rc<Vars>,
    /// Its database Mimei, once made.
    pub db: Option<MimeiId>,
    /// The node's open handle on that database (the node's owner session's).
    pub db_handle: Option<String>,
    /// Tells this service from an earlier one of the same environment and name: code of a
    /// removed service still running a call must not reach the next one's database.
    pub incarnation: u64,
    next_id: u64,
}

impl Service {
    /// A service running `code`, deployed by `deployer`, with the node's `settings` for it.
    pub fn new(
        env: &str,
        code: Rc<AppCode>,
        deployer: &str,
        at: u64,
        settings: Settings,
        incarnation: u64,
    ) -> Service {
        let logs = Rc::new(RefCell::new(LogRing::new()));
        logs.borrow_mut().set_secrets(settings.vars.values());
        Service {
            env: env.to_string(),
            name: code.manifest.name.clone(),
            deployer: deployer.to_string(),
            history: vec![Deployed {
                mid: code.mid,
                version: code.version,
                at,
            }],
            code,
            generation: 1,
            instances: Vec::new(),
            resources: HashMap::new(),
            load: Load::default(),
            logs,
            cron_due: Vec::new(),
            last_start_us: 0,
            vars: Rc::new(settings.vars),
            db: settings.db,
            db_handle: None,
            incarnation,
            next_id: 1,
        }
    }

    /// What the node keeps for it.
    pub fn settings(&self) -> Settings {
        Settings {
            vars: (*self.vars).clone(),
            db: self.db,
        }
    }

    /// Replaces its variables; instances started from now on get them. The log keeps masking
    /// the old values too, which instances still draining may print.
    pub fn set_vars(&mut self, vars: Vars) {
        let mut secrets = vars.values();
        secrets.extend(self.vars.values());
        self.logs.borrow_mut().set_secrets(secrets);
        self.vars = Rc::new(vars);
    }

    /// What instances know of the service.
    pub fn info(&self) -> ServiceInfo {
        ServiceInfo {
            env: self.env.clone(),
            name: self.name.clone(),
            logs: self.logs.clone(),
            vars: self.vars.clone(),
            incarnation: self.incarnation,
        }
    }

    /// Writes a line to the service's log.
    pub fn log(&self, line: &str) {
        self.logs.borrow_mut().push(line);
    }

    /// Switches to new code (deploy or rollback): a new generation.
    pub fn switch(&mut self, code: Rc<AppCode>, at: u64, record: bool) {
        if record {
            self.history.push(Deployed {
                mid: code.mid,
                version: code.version,
                at,
            });
        }
        self.name = code.manifest.name.clone();
        self.code = code;
        self.generation += 1;
        self.cron_due.clear();
    }

    /// Instances of the current generation that take calls.
    pub fn current(&self) -> impl Iterator<Item = &Rc<Instance>> {
        self.instances
            .iter()
            .filter(|i| i.generation == self.generation && !i.dead.get())
    }

    /// Starts an instance of the current code.
    pub fn start_instance(&mut self, state: Weak<NodeState>) -> Result<Rc<Instance>, LeverError> {
        let id = self.next_id;
        self.next_id += 1;
        let inst = Rc::new(Instance::start(
            id,
            self.generation,
            self.code.clone(),
            &self.info(),
            state,
        )?);
        self.last_start_us = inst.start_us;
        self.log(&format!(
            "instance {id} of version {} started in {} us",
            inst.version, inst.start_us
        ));
        self.instances.push(inst.clone());
        Ok(inst)
    }

    /// The current instance with the fewest calls in flight, unless all are at
    /// `maxInstanceLoad` (then `None` asks for a new one when the budget allows).
    pub fn least_loaded(&self) -> (Option<Rc<Instance>>, bool) {
        let best = self
            .current()
            .min_by_key(|i| (i.inflight.get(), i.id))
            .cloned();
        let saturated = match &best {
            Some(i) => f64::from(i.inflight.get()) >= self.code.manifest.max_instance_load,
            None => true,
        };
        (best, saturated)
    }

    /// Bytes of memory reserved by the instances.
    pub fn reserved(&self) -> usize {
        self.instances.iter().map(|i| i.ram).sum()
    }

    /// Removes dead instances and idle ones no longer needed: old generations once their calls
    /// are done and no resource is on them; current ones idle for `idle` when more are running
    /// than the load needs (never below `minInstances`). Returns how many went.
    pub fn reap(&mut self, now: Instant, idle: std::time::Duration) -> usize {
        let wanted = self.load.wanted_instances(
            self.code.manifest.max_instance_load,
            self.code.manifest.min_instances,
        );
        let held: Vec<u64> = self
            .resources
            .values()
            .filter_map(|s| s.instance.as_ref().map(|i| i.id))
            .collect();
        let mut current = self.current().count() as u32;
        let before = self.instances.len();
        let generation = self.generation;
        let mut gone = Vec::new();
        self.instances.retain(|i| {
            let busy = i.inflight.get() > 0 || held.contains(&i.id);
            let keep = if i.dead.get() || i.generation != generation {
                busy
            } else if !busy && current > wanted && now.duration_since(i.last_used.get()) >= idle {
                current -= 1;
                false
            } else {
                true
            };
            if !keep {
                gone.push((i.id, i.version));
            }
            keep
        });
        for (id, v) in gone {
            self.log(&format!(
                "instance {id} of version {v} stopped (idle or replaced)"
            ));
        }
        before - self.instances.len()
    }
}
