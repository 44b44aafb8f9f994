//! Per-call limits: an instruction budget and a wall-clock deadline, enforced by one count
//! hook on the Lua state, and the context of the call that is running.
//!
//! Many calls share an instance (one Lua state, one coroutine per call) and interleave at
//! their yields, so the state cannot hold "the" call. Instead [`Metered`] wraps each call's
//! future and, while it is polled, puts the call's [`CallCtx`] in the instance's [`Running`]
//! slot; the hook and the API bindings read it from there. Polls nest (a service calling
//! itself), so the slot is saved and restored around each poll.
//!
//! The hook runs every [`HOOK_EVERY`] instructions. Once a call is over its budget or past
//! its deadline, the hook raises an error in it on every tick, and the sandbox's `pcall`,
//! `xpcall` and `coroutine.resume` re-raise it (they ask [`CallCtx::hit`]), so Lua code cannot
//! swallow a limit and loop on. [`Metered`] also ends the call at its next poll.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use mlua::{HookTriggers, Lua, VmState};

/// Instructions between two runs of the hook.
pub const HOOK_EVERY: u32 = 1000;

/// Which limit stopped a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The instruction budget (the budget).
    Instructions(u64),
    /// The wall-clock timeout (ms).
    Time(u64),
}

impl Limit {
    /// The message the caller sees.
    pub fn message(self) -> String {
        match self {
            Limit::Instructions(n) => format!(
                "the call ran more than {n} Lua instructions (maxInstructions in lever.json) and was stopped"
            ),
            Limit::Time(ms) => format!(
                "the call took longer than {ms} ms (timeoutMs in lever.json) and was stopped"
            ),
        }
    }
}

/// What a running call carries: who called, where, and its limits.
#[derive(Debug)]
pub struct CallCtx {
    /// The caller's session id (API functions that need a session get it).
    pub sid: String,
    /// The environment the call runs in.
    pub env: String,
    /// The service called.
    pub service: String,
    /// The resource the call sticks to.
    pub resource: Option<String>,
    /// When the call must end.
    pub deadline: Instant,
    /// The timeout, for messages.
    pub timeout_ms: u64,
    /// The instruction budget, for messages.
    pub max_instructions: u64,
    left: Cell<i64>,
    hit: Cell<Option<Limit>>,
}

impl CallCtx {
    /// A context with the given limits, starting now.
    pub fn new(
        sid: String,
        env: String,
        service: String,
        resource: Option<String>,
        timeout_ms: u64,
        max_instructions: u64,
    ) -> CallCtx {
        CallCtx {
            sid,
            env,
            service,
            resource,
            deadline: Instant::now() + Duration::from_millis(timeout_ms),
            timeout_ms,
            max_instructions,
            left: Cell::new(max_instructions.min(i64::MAX as u64) as i64),
            hit: Cell::new(None),
        }
    }

    /// The limit this call has hit, if any.
    pub fn hit(&self) -> Option<Limit> {
        self.hit.get()
    }

    /// Marks the call as timed out (the deadline passed while it waited).
    pub fn time_out(&self) {
        if self.hit.get().is_none() {
            self.hit.set(Some(Limit::Time(self.timeout_ms)));
        }
    }

    /// One hook tick: charges the budget and checks the deadline.
    fn tick(&self) -> Option<Limit> {
        self.charge(u64::from(HOOK_EVERY))
    }

    /// Charges `n` units of work done outside the Lua VM (pattern-matching steps, see
    /// [`super::strlib`]) to the instruction budget, and checks the deadline: the limit hit,
    /// if any.
    pub fn charge(&self, n: u64) -> Option<Limit> {
        if self.hit.get().is_none() {
            let left = self
                .left
                .get()
                .saturating_sub(n.min(i64::MAX as u64) as i64);
            self.left.set(left);
            if left < 0 {
                self.hit
                    .set(Some(Limit::Instructions(self.max_instructions)));
            } else if Instant::now() >= self.deadline {
                self.hit.set(Some(Limit::Time(self.timeout_ms)));
            }
        }
        self.hit.get()
    }
}

/// The slot holding the context of the call being polled on an instance.
pub type Running = Rc<RefCell<Option<Rc<CallCtx>>>>;

/// The context of the call running on `running` now.
pub fn current(running: &Running) -> Option<Rc<CallCtx>> {
    running.borrow().clone()
}

/// Installs the count hook on `lua`. Threads created afterwards inherit it.
pub fn install_hook(lua: &Lua, running: Running) -> mlua::Result<()> {
    lua.set_global_hook(
        HookTriggers::new().every_nth_instruction(HOOK_EVERY),
        move |_lua, _debug| {
            let ctx = running.borrow().clone();
            match ctx.and_then(|c| c.tick()) {
                Some(limit) => Err(mlua::Error::runtime(limit.message())),
                None => Ok(VmState::Continue),
            }
        },
    )
}

/// Runs `f` with `ctx` as the running call (for synchronous Lua calls such as loading).
pub fn with_ctx<T>(running: &Running, ctx: &Rc<CallCtx>, f: impl FnOnce() -> T) -> T {
    let prev = running.replace(Some(ctx.clone()));
    let out = f();
    *running.borrow_mut() = prev;
    out
}

/// A call's future, run with its context in the running slot and stopped at its limits.
pub struct Metered<F> {
    inner: Pin<Box<F>>,
    ctx: Rc<CallCtx>,
    running: Running,
}

impl<F> Metered<F> {
    /// Wraps `inner`.
    pub fn new(inner: F, ctx: Rc<CallCtx>, running: Running) -> Metered<F> {
        Metered {
            inner: Box::pin(inner),
            ctx,
            running,
        }
    }
}

impl<T, F: Future<Output = mlua::Result<T>>> Future for Metered<F> {
    type Output = Result<T, MeteredError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(l) = this.ctx.hit() {
            return Poll::Ready(Err(MeteredError::Limit(l)));
        }
        let prev = this.running.replace(Some(this.ctx.clone()));
        let r = this.inner.as_mut().poll(cx);
        *this.running.borrow_mut() = prev;
        if let Some(l) = this.ctx.hit() {
            return Poll::Ready(Err(MeteredError::Limit(l)));
        }
        match r {
            Poll::Ready(Ok(v)) => Poll::Ready(Ok(v)),
            Poll::Ready(Err(e)) => Poll::Ready(Err(MeteredError::Lua(e))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// How a metered call failed.
#[derive(Debug)]
pub enum MeteredError {
    /// A limit stopped it.
    Limit(Limit),
    /// Lua raised an error (including out of memory).
    Lua(mlua::Error),
}
