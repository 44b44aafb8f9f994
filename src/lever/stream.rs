//! Streams: the two ends of a call to a `...Chan` method.
//!
//! The handler gets a stream object as its first argument (`s:recv()` returns the next
//! message or `nil` at the end of input; `s:send(v)` sends one; `s:close()` ends its output)
//! and the caller holds [`StreamEnds`]. Channels are bounded ([`DEPTH`] messages each way), so
//! a slow reader slows the writer instead of filling memory. A Lua caller of
//! `lever.stream(url, ...)` gets the same object with the ends swapped.

use std::cell::RefCell;
use std::rc::Rc;

use mlua::{UserData, UserDataMethods};
use tokio::sync::{mpsc, oneshot};

use super::LeverError;
use crate::api::Value;
use crate::lua::convert::{from_lua, to_lua};

/// Messages buffered each way.
pub const DEPTH: usize = 64;

/// The caller's side of a streaming call.
pub struct StreamEnds {
    /// Messages to the handler (drop it to end the input).
    pub tx: mpsc::Sender<Value>,
    /// Messages from the handler; ends when the handler returns.
    pub rx: mpsc::Receiver<Value>,
    /// How the handler ended.
    pub done: oneshot::Receiver<Result<Value, LeverError>>,
}

/// One end of a channel, shared so the node can close it when the handler returns (the Lua
/// object holding it may live on until Lua collects it; the other side must not wait for that).
pub type Shared<T> = Rc<RefCell<Option<T>>>;

/// A stream as Lua code sees it.
pub struct LuaStream {
    rx: Shared<mpsc::Receiver<Value>>,
    tx: Shared<mpsc::Sender<Value>>,
    done: RefCell<Option<oneshot::Receiver<Result<Value, LeverError>>>>,
}

impl LuaStream {
    /// The handler's side; the node keeps clones of `rx` and `tx` to close them at its end.
    pub fn handler(
        rx: Shared<mpsc::Receiver<Value>>,
        tx: Shared<mpsc::Sender<Value>>,
    ) -> LuaStream {
        LuaStream {
            rx,
            tx,
            done: RefCell::new(None),
        }
    }

    /// A Lua caller's side (`lever.stream`).
    pub fn caller(ends: StreamEnds) -> LuaStream {
        LuaStream {
            rx: Rc::new(RefCell::new(Some(ends.rx))),
            tx: Rc::new(RefCell::new(Some(ends.tx))),
            done: RefCell::new(Some(ends.done)),
        }
    }
}

fn runtime(m: impl Into<String>) -> mlua::Error {
    mlua::Error::runtime(m.into())
}

impl UserData for LuaStream {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_async_method("recv", |lua, this, ()| async move {
            let taken = this.rx.borrow_mut().take();
            let Some(mut rx) = taken else {
                return Err(runtime(
                    "stream:recv: another recv on this stream is waiting",
                ));
            };
            let got = rx.recv().await;
            *this.rx.borrow_mut() = Some(rx);
            match got {
                Some(v) => match v {
                    Value::Null => Ok(mlua::Value::NULL),
                    v => to_lua(&lua, &v),
                },
                None => {
                    // The end: a Lua caller learns here whether the handler failed.
                    let done = this.done.borrow_mut().take();
                    if let Some(done) = done
                        && let Ok(Err(e)) = done.await
                    {
                        return Err(runtime(e.to_string()));
                    }
                    Ok(mlua::Value::Nil)
                }
            }
        });
        methods.add_async_method("send", |_, this, v: mlua::Value| async move {
            let v = from_lua(&v).map_err(|e| runtime(format!("stream:send: {e}")))?;
            let tx = this.tx.borrow().clone();
            let Some(tx) = tx else {
                return Err(runtime("stream:send: the stream was closed"));
            };
            tx.send(v)
                .await
                .map_err(|_| runtime("stream:send: the other end has gone"))
        });
        methods.add_method("close", |_, this, ()| {
            this.tx.borrow_mut().take();
            Ok(())
        });
    }
}
