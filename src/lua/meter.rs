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
//!
//! **Time slices.** The node has one thread: a call that computes for its whole budget (a
//! hundred million instructions, a second or more) would hold every door that long. So Lua
//! code runs at most [`SLICE`] at a time. The sandbox runs a call's function in a coroutine
//! of its own and resumes every coroutine through `coroutine.resume` (or `wrap`) of its own
//! (`super::sandbox`), which names the coroutine it resumes ([`CallCtx::enter`]). Once a
//! slice is over, the hook yields that coroutine, when Lua may yield there (not inside a C
//! function such as `table.sort`'s comparator), and says so ([`CallCtx::take_sliced`]); each
//! resumer passes the pause up to the call's own coroutine, which awaits
//! `tokio::task::yield_now` (the I/O driver and every ready task run) and resumes the code
//! where it stopped. The code sees nothing of this: budget, deadline and results are those of
//! an unsliced run.
//!
//! Only a coroutine resumed by Lua's own `coroutine.resume` is yielded from the hook: mlua's
//! `AsyncThread` truncates the stack of the thread it drives after each poll, which is sound
//! for a yield from a C function (`coroutine.yield`, an async binding) but would cut the live
//! registers of a Lua function stopped by a hook (mlua issue #723); Lua's `resume` keeps them.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use mlua::{HookTriggers, Lua, VmState};

/// Instructions between two runs of the hook.
pub const HOOK_EVERY: u32 = 1000;

/// Longest Lua code runs before the rest of the node runs (see the module doc).
pub const SLICE: Duration = Duration::from_millis(1);

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
    /// When the current poll of the call began: its slice.
    slice_start: Cell<Instant>,
    /// The coroutines being resumed by the sandbox, innermost last (their `lua_State`s).
    resumed: RefCell<Vec<usize>>,
    /// The coroutines the hook yielded at the end of a slice whose resumer has not asked
    /// yet (several when the hook stops a resumer before it asked: see `take_sliced`).
    sliced: RefCell<Vec<usize>>,
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
            slice_start: Cell::new(Instant::now()),
            resumed: RefCell::new(Vec::new()),
            sliced: RefCell::new(Vec::new()),
        }
    }

    /// The sandbox resumes `co`: the hook may yield it at the end of a slice.
    pub fn enter(&self, co: &mlua::Thread) {
        self.resumed.borrow_mut().push(co.to_pointer() as usize);
    }

    /// The resume of [`CallCtx::enter`] returned.
    pub fn leave(&self) {
        self.resumed.borrow_mut().pop();
    }

    /// Whether `co`, which just yielded nothing, was stopped by the hook at the end of a
    /// slice (then it must be resumed with nothing) rather than by `coroutine.yield()`; clears
    /// the mark. Marks are per coroutine: the hook may stop the resumer itself before it asks
    /// (its slice is over too), and the resumer's own resumer asks first.
    pub fn take_sliced(&self, co: &mlua::Thread) -> bool {
        let co = co.to_pointer() as usize;
        let mut s = self.sliced.borrow_mut();
        match s.iter().position(|&p| p == co) {
            Some(i) => {
                s.swap_remove(i);
                true
            }
            None => false,
        }
    }

    /// May the running coroutine pause now? Yes once the slice is over, if that coroutine is
    /// the one the sandbox resumes and Lua may yield there. The hook asks, and so do the
    /// metered string functions between two steps of a long match (`super::strlib`).
    pub fn can_pause(&self, lua: &Lua) -> bool {
        if self.slice_start.get().elapsed() < SLICE {
            return false;
        }
        let Some(&top) = self.resumed.borrow().last() else {
            return false;
        };
        let current = lua.current_thread().to_pointer();
        // SAFETY: `to_pointer` of a thread is its `lua_State` (lua_topointer returns the
        // collectable object, and a thread's object is its state); this one is running, so
        // it is alive. lua_isyieldable only reads it: the same test mlua makes before it
        // yields from a hook.
        current as usize == top
            && unsafe { mlua::ffi::lua_isyieldable(current as *mut mlua::ffi::lua_State) } != 0
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
        move |lua, _debug| {
            let Some(ctx) = running.borrow().clone() else {
                return Ok(VmState::Continue);
            };
            if let Some(limit) = ctx.tick() {
                return Err(mlua::Error::runtime(limit.message()));
            }
            if ctx.can_pause(lua) {
                if let Some(&co) = ctx.resumed.borrow().last() {
                    ctx.sliced.borrow_mut().push(co);
                }
                return Ok(VmState::Yield);
            }
            Ok(VmState::Continue)
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
        this.ctx.slice_start.set(Instant::now());
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
