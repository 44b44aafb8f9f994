//! Background tasks: `TaskRunInBackground(sid, setting)` runs a registered script later
//! and/or again and again, as the user who set it (LTask.md's `TaskSetting`), and `TaskList`
//! / `TaskCancel` (ours) show and end them.
//!
//! A task is a local task of the node's one thread that sleeps until its next run, runs the
//! script like any other ([`super::engine`]: metered, in 1 ms slices, one running place), and
//! sleeps again. Each run opens a session for the setter (the owner's rights if the setter is
//! the owner, a user's while the setter is still a user of the node, else a visitor's) with
//! the caller's address of the setting call, so a task never does more than its setter could
//! from where they set it; the session is closed after the run.
//!
//! Bounds: [`MAX_PER_USER`] tasks per user (the owner is exempt), [`MAX_TASKS`] per node, a
//! period of at least [`MIN_PERIOD_SECS`]. A task with the same name as one of the user's
//! replaces it. Tasks live in memory: a restart ends them (set them again, e.g. from
//! `_Install.lua`). A task that runs once leaves the list after its run; its result goes to
//! the node's log.

use std::net::SocketAddr;
use std::rc::Weak;
use std::time::Duration;

use crate::api::{ApiError, NodeState, Rights, Value};

/// Most tasks of one user (the owner is not counted).
pub const MAX_PER_USER: usize = 8;
/// Most tasks of the node.
pub const MAX_TASKS: usize = 64;
/// Shortest period, in seconds.
pub const MIN_PERIOD_SECS: i64 = 10;
/// Latest start, in seconds from now.
pub const MAX_DELAY_SECS: i64 = 366 * 86_400;
/// Longest result text a task keeps of its last run.
const MAX_LAST: usize = 300;

/// One task, as set.
#[derive(Debug, Clone)]
pub struct Setting {
    /// `Name` (default: the script ID); unique per user.
    pub name: String,
    /// `ScriptID`.
    pub script_id: String,
    /// `Start`: 0 now, else unix seconds.
    pub start: i64,
    /// `Period` in seconds; 0 runs once; -1 monthly (30 days), -2 yearly (365 days).
    pub period: i64,
    /// `Param`: the script's `request` besides `sid`.
    pub param: Vec<(String, Value)>,
    /// `Status`: 0 runs, 1 paused.
    pub status: u8,
}

struct Task {
    user: String,
    setting: Setting,
    serial: u64,
    next: u64,
    runs: u64,
    last: String,
    handle: Option<tokio::task::JoinHandle<()>>,
}

/// The node's tasks.
#[derive(Default)]
pub struct TaskTable {
    tasks: Vec<Task>,
    serial: u64,
}

impl TaskTable {
    /// The tasks `user` may see (`all`: the owner sees every one), as values.
    pub fn list(&self, user: &str, all: bool) -> Value {
        Value::List(
            self.tasks
                .iter()
                .filter(|t| all || t.user == user)
                .map(|t| {
                    Value::map([
                        ("Name", Value::from(t.setting.name.as_str())),
                        ("ScriptID", Value::from(t.setting.script_id.as_str())),
                        ("Start", Value::Int(t.setting.start)),
                        ("Period", Value::Int(t.setting.period)),
                        ("Param", Value::Map(t.setting.param.clone())),
                        ("Status", Value::Int(i64::from(t.setting.status))),
                        ("user", Value::from(t.user.as_str())),
                        ("next", Value::Int(t.next as i64)),
                        ("runs", Value::Int(t.runs as i64)),
                        ("last", Value::from(t.last.as_str())),
                    ])
                })
                .collect(),
        )
    }

    /// Ends `user`'s task `name` (`any`: the owner ends anyone's). Answers whether one ended.
    pub fn cancel(&mut self, user: &str, name: &str, any: bool) -> bool {
        let before = self.tasks.len();
        self.tasks.retain(|t| {
            let hit = t.setting.name == name && (any || t.user == user);
            if hit && let Some(h) = &t.handle {
                h.abort();
            }
            !hit
        });
        self.tasks.len() != before
    }

    fn alive(&self, serial: u64) -> Option<&Task> {
        self.tasks.iter().find(|t| t.serial == serial)
    }
}

/// Checks a setting's times: the first run's unix time.
pub fn first_run(s: &Setting, now: u64) -> Result<u64, String> {
    match s.period {
        -2..=0 => {}
        p if p < 0 => {
            return Err(format!(
                "Period {p}: only -1 (monthly) and -2 (yearly) of Leither's special periods are known here"
            ));
        }
        p if p < MIN_PERIOD_SECS => {
            return Err(format!(
                "Period {p} s: a task runs at most every {MIN_PERIOD_SECS} s"
            ));
        }
        _ => {}
    }
    if s.status > 1 {
        return Err(format!("Status {}: 0 (run) or 1 (paused)", s.status));
    }
    match s.start {
        0 => Ok(now),
        t if t < 0 => Err(format!(
            "Start {t}: event triggers (negative starts) are not defined by Leither yet"
        )),
        t if t > now as i64 + MAX_DELAY_SECS => Err(format!("Start {t}: at most a year ahead")),
        t => Ok((t as u64).max(now)),
    }
}

fn period_secs(p: i64) -> u64 {
    match p {
        -1 => 30 * 86_400,
        -2 => 365 * 86_400,
        p => p.max(0) as u64,
    }
}

/// Sets `user`'s task (`owner`: the setter is the node's owner). `remote`: the caller's
/// address, which every run carries.
pub fn set(
    state: &NodeState,
    user: &str,
    owner: bool,
    setting: Setting,
    remote: Option<SocketAddr>,
) -> Result<(), ApiError> {
    let now = crate::clock::unix_now();
    let next = first_run(&setting, now).map_err(|m| ApiError::BadArguments {
        function: "TaskRunInBackground",
        message: m,
    })?;
    let mut table = state.scripts.tasks.borrow_mut();
    let replacing = table
        .tasks
        .iter()
        .any(|t| t.user == user && t.setting.name == setting.name);
    if !replacing {
        if table.tasks.len() >= MAX_TASKS {
            return Err(ApiError::Busy(format!(
                "this node runs {MAX_TASKS} background tasks, the most it runs; cancel one (TaskCancel)"
            )));
        }
        let mine = table.tasks.iter().filter(|t| t.user == user).count();
        if !owner && mine >= MAX_PER_USER {
            return Err(ApiError::Busy(format!(
                "you have {mine} background tasks, the most a user may have ({MAX_PER_USER}); cancel one (TaskCancel)"
            )));
        }
    }
    table.cancel(user, &setting.name, false);
    table.serial += 1;
    let serial = table.serial;
    let paused = setting.status == 1;
    let handle = if paused {
        None
    } else {
        Some(tokio::task::spawn_local(drive(
            state.lever.node_weak(),
            serial,
            remote,
        )))
    };
    table.tasks.push(Task {
        user: user.to_string(),
        setting,
        serial,
        next,
        runs: 0,
        last: String::new(),
        handle,
    });
    Ok(())
}

/// The rights a run of `user`'s task has now.
fn rights_now(state: &NodeState, user: &str) -> Rights {
    if user == state.key.id().to_string() {
        return Rights::Owner;
    }
    match crate::accounts::admitted::is_member(&state.store, user) {
        Ok(true) => Rights::User,
        _ => Rights::Visitor,
    }
}

async fn drive(node: Weak<NodeState>, serial: u64, remote: Option<SocketAddr>) {
    loop {
        let wait = {
            let Some(state) = node.upgrade() else { return };
            let tasks = state.scripts.tasks.borrow();
            let Some(t) = tasks.alive(serial) else { return };
            t.next.saturating_sub(crate::clock::unix_now())
        };
        if wait > 0 {
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }
        let Some(state) = node.upgrade() else { return };
        let (user, setting) = {
            let tasks = state.scripts.tasks.borrow();
            let Some(t) = tasks.alive(serial) else { return };
            (t.user.clone(), t.setting.clone())
        };
        let out = crate::api::REMOTE
            .scope(remote, run_once(&state, &user, &setting))
            .await;
        let text = match &out {
            Ok(v) => {
                let mut s = String::new();
                crate::api::json::encode(v, &mut s);
                crate::api::truncate(&s, MAX_LAST)
            }
            Err(e) => crate::api::truncate(&format!("error: {e}"), MAX_LAST),
        };
        crate::log_info!("task {} of {user}: {text}", setting.name);
        let mut tasks = state.scripts.tasks.borrow_mut();
        let now = crate::clock::unix_now();
        let Some(t) = tasks.tasks.iter_mut().find(|t| t.serial == serial) else {
            return;
        };
        t.runs += 1;
        t.last = text;
        if setting.period == 0 {
            tasks.tasks.retain(|t| t.serial != serial);
            return;
        }
        t.next = now + period_secs(setting.period);
    }
}

async fn run_once(state: &NodeState, user: &str, s: &Setting) -> Result<Value, ApiError> {
    let Some((meta, source)) = super::store::get(&state.store, &s.script_id)? else {
        return Err(ApiError::NotFound(format!(
            "script {} is no longer registered",
            s.script_id
        )));
    };
    let rights = rights_now(state, user);
    if meta.author != user && rights != Rights::Owner {
        return Err(ApiError::NotFound(format!(
            "script {} is not {user}'s",
            s.script_id
        )));
    }
    let now = crate::clock::unix_now();
    let limits = super::Limits::of(state);
    let session =
        state
            .sessions
            .borrow_mut()
            .open(user, rights, now + limits.timeout_ms / 1000 + 60, now)?;
    let request = crate::api::fns_script::request_of(s.param.clone(), &session.sid);
    let name = format!("task {}", s.name);
    let out = super::engine::run(
        state,
        super::engine::Job {
            backend: None,
            name: &name,
            source: &source,
            request,
            stranger: rights < Rights::User,
        },
    )
    .await;
    state.sessions.borrow_mut().close(&session.sid);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(start: i64, period: i64, status: u8) -> Setting {
        Setting {
            name: "t".into(),
            script_id: "s".into(),
            start,
            period,
            param: Vec::new(),
            status,
        }
    }

    #[test]
    fn settings_are_checked() {
        let now = 1_000_000;
        assert_eq!(first_run(&setting(0, 0, 0), now), Ok(now));
        assert_eq!(
            first_run(&setting(now as i64 + 50, 60, 0), now),
            Ok(now + 50)
        );
        assert_eq!(
            first_run(&setting(5, 10, 1), now),
            Ok(now),
            "a past start is now"
        );
        assert!(
            first_run(&setting(0, 9, 0), now)
                .unwrap_err()
                .contains("10 s")
        );
        assert!(first_run(&setting(0, -3, 0), now).is_err());
        assert!(
            first_run(&setting(-1, 0, 0), now)
                .unwrap_err()
                .contains("event")
        );
        assert!(first_run(&setting(now as i64 + MAX_DELAY_SECS + 1, 0, 0), now).is_err());
        assert!(first_run(&setting(0, 0, 2), now).is_err());
        assert_eq!(period_secs(-1), 30 * 86_400);
        assert_eq!(period_secs(-2), 365 * 86_400);
        assert_eq!(period_secs(60), 60);
    }
}
