//! `CLIENT ID|SETNAME|GETNAME|INFO|LIST|UNBLOCK|REPLY|NO-EVICT|KILL|HELP`.
//!
//! A client that is not the node owner sees only itself in `CLIENT LIST` and may unblock
//! only the blocked clients of the same user; the owner sees and unblocks every client.

use std::time::Instant;

use super::blocking;
use super::hello::check_name;
use super::server::Conn;
use crate::db::{DbError, Reply, engine};

fn unknown(sub: &[u8]) -> DbError {
    DbError::Other(format!(
        "unknown subcommand '{}'. Try CLIENT HELP.",
        String::from_utf8_lossy(&sub[..sub.len().min(128)])
    ))
}

impl Conn {
    /// `CLIENT ...`.
    pub(super) fn client_cmd(&mut self, a: &[&[u8]]) -> Result<Reply, DbError> {
        let Some(sub) = a.get(1).map(|s| s.to_ascii_lowercase()) else {
            return Err(DbError::Arity("client".into()));
        };
        let arity = |n: usize| {
            if a.len() == n {
                Ok(())
            } else {
                Err(DbError::Arity(format!(
                    "client|{}",
                    String::from_utf8_lossy(&sub)
                )))
            }
        };
        let now = Instant::now();
        let node = &self.state.resp;
        match sub.as_slice() {
            b"id" => {
                arity(2)?;
                Ok(Reply::Int(self.client.id as i64))
            }
            b"getname" => {
                arity(2)?;
                let n = self.client.name.borrow();
                Ok(if n.is_empty() {
                    Reply::Nil
                } else {
                    Reply::Bulk(n.clone())
                })
            }
            b"setname" => {
                arity(3)?;
                check_name(a[2])?;
                *self.client.name.borrow_mut() = a[2].to_vec();
                Ok(Reply::OK)
            }
            b"info" => {
                arity(2)?;
                let blocked = node.blocked.borrow().is_blocked(self.client.id);
                Ok(Reply::text(format!("{}\n", self.client.line(blocked, now))))
            }
            b"list" => {
                // CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id ...]
                let mut ids: Option<Vec<u64>> = None;
                let mut normal = true;
                let mut j = 2;
                while j < a.len() {
                    if engine::is(a[j], "type") && j + 1 < a.len() {
                        let t = a[j + 1].to_ascii_lowercase();
                        match t.as_slice() {
                            b"normal" => normal = true,
                            b"master" | b"replica" | b"slave" | b"pubsub" => normal = false,
                            _ => {
                                return Err(DbError::Other(format!(
                                    "Unknown client type '{}'",
                                    String::from_utf8_lossy(a[j + 1])
                                )));
                            }
                        }
                        j += 2;
                    } else if engine::is(a[j], "id") && j + 1 < a.len() {
                        let mut v = Vec::new();
                        j += 1;
                        while j < a.len() {
                            match crate::db::num::parse_int(a[j]) {
                                Some(n) if n > 0 => v.push(n as u64),
                                _ => return Err(DbError::Other("Invalid client ID".into())),
                            }
                            j += 1;
                        }
                        ids = Some(v);
                    } else {
                        return Err(DbError::Syntax);
                    }
                }
                let mut text = String::new();
                if normal {
                    let owner = self.is_owner();
                    let reg = node.blocked.borrow();
                    for c in node.clients.borrow().values() {
                        if !owner && c.id != self.client.id {
                            continue;
                        }
                        if ids.as_ref().is_some_and(|v| !v.contains(&c.id)) {
                            continue;
                        }
                        text.push_str(&c.line(reg.is_blocked(c.id), now));
                        text.push('\n');
                    }
                }
                Ok(Reply::text(text))
            }
            b"unblock" => {
                if a.len() != 3 && a.len() != 4 {
                    return Err(DbError::Arity("client|unblock".into()));
                }
                let id = engine::int_arg(a[2])?;
                let error = match a.get(3) {
                    None => false,
                    Some(o) if engine::is(o, "timeout") => false,
                    Some(o) if engine::is(o, "error") => true,
                    Some(_) => {
                        return Err(DbError::Other(
                            "CLIENT UNBLOCK reason should be TIMEOUT or ERROR".into(),
                        ));
                    }
                };
                let done = id > 0
                    && blocking::unblock(
                        &self.state,
                        id as u64,
                        error,
                        self.user.as_ref(),
                        self.is_owner(),
                    );
                Ok(Reply::Int(i64::from(done)))
            }
            b"reply" => {
                arity(3)?;
                if engine::is(a[2], "on") {
                    self.reply_off = false;
                    self.skip = 0;
                } else if engine::is(a[2], "off") {
                    self.reply_off = true;
                } else if engine::is(a[2], "skip") {
                    if !self.reply_off {
                        self.skip = 2;
                    }
                } else {
                    return Err(DbError::Syntax);
                }
                Ok(Reply::OK)
            }
            b"no-evict" => {
                arity(3)?;
                if engine::is(a[2], "on") || engine::is(a[2], "off") {
                    Ok(Reply::OK)
                } else {
                    Err(DbError::Syntax)
                }
            }
            b"help" => Ok(Reply::Array(
                [
                    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                    "GETNAME, SETNAME <name>, ID, INFO, LIST [TYPE <type>] [ID <id> ...],",
                    "UNBLOCK <id> [TIMEOUT|ERROR], REPLY ON|OFF|SKIP, NO-EVICT ON|OFF, HELP.",
                    "A client that is not the node owner sees and unblocks only its own.",
                ]
                .into_iter()
                .map(Reply::Status)
                .collect(),
            )),
            b"kill" | b"pause" | b"unpause" | b"tracking" | b"caching" | b"getredir"
            | b"trackinginfo" => Err(DbError::Other(format!(
                "CLIENT {} is not supported by leither",
                String::from_utf8_lossy(&sub).to_uppercase()
            ))),
            _ => Err(unknown(a[1])),
        }
    }
}
