//! The node's own functions: `GetVar`, `VerifyPPT`, `Echo` (logins are in fns_auth.rs).

use std::future::ready;

use super::{ApiError, ApiFuture, Call, Value};
use crate::clock::unix_now;
use crate::pki::Pass;
use crate::pki::encoding::base64url_encode;

/// The version string shown by `GetVar(sid, "ver")` and `leither version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `GetVar(sid, name)`: node facts by name.
pub fn get_var(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        #[cfg(feature = "files")]
        if let Some(r) = c
            .args
            .get(1)
            .and_then(Value::as_str)
            .and_then(|n| super::fns_mimei::get_var(&c, n))
        {
            return r;
        }
        c.arity(2, 2)?;
        let name = c.str_arg(1, "name")?;
        let st = c.state;
        Ok(match name {
            "ver" => Value::from(VERSION),
            "hostid" => Value::Str(st.key.id().to_string()),
            "peerid" => Value::Str(st.key.peer_id()),
            "hostpk" => Value::Str(base64url_encode(&st.key.public_key())),
            "userid" => Value::Str(
                c.session
                    .as_ref()
                    .map(|s| s.uid.clone())
                    .unwrap_or_default(),
            ),
            "nodeinfo" => node_info(&c),
            #[cfg(feature = "net")]
            "netstats" => super::fns_net::stats(&c),
            other => {
                return Err(ApiError::NotFound(format!(
                    "GetVar: no variable \"{}\"; known: ver, hostid, peerid, hostpk, userid, nodeinfo, netstats, mminfo, mmversions",
                    super::truncate(other, 64)
                )));
            }
        })
    })()))
}

fn node_info(c: &Call<'_>) -> Value {
    let st = c.state;
    let vars = st.vars.borrow();
    let now = unix_now();
    Value::map([
        ("id", Value::Str(st.key.id().to_string())),
        ("peerid", Value::Str(st.key.peer_id())),
        ("ver", Value::from(VERSION)),
        ("arch", Value::from(std::env::consts::ARCH)),
        ("os", Value::from(std::env::consts::OS)),
        ("started", Value::Int(st.started as i64)),
        ("uptime", Value::Int(now.saturating_sub(st.started) as i64)),
        (
            "port",
            Value::Int(st.listen.get().map(|a| a.port()).unwrap_or(0) as i64),
        ),
        ("maxMemoryMB", Value::Int(i64::from(vars.max_memory_mb))),
        ("storeBytes", Value::Int(st.store.file_size() as i64)),
        ("sessions", Value::Int(st.sessions.borrow().len() as i64)),
        ("calls", Value::Int(st.calls.get() as i64)),
    ])
}

/// `VerifyPPT(ppt)`: checks a pass and returns what it states, or the reason it is refused.
pub fn verify_ppt(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 1)?;
        let pass = Pass::parse(c.str_arg(0, "ppt")?)?;
        pass.verify(unix_now())?;
        Ok(pass_value(&pass))
    })()))
}

/// A pass as a map, for `VerifyPPT` and `lpki show`.
pub fn pass_value(pass: &Pass) -> Value {
    Value::map([
        ("signer", Value::Str(pass.signer_id().to_string())),
        ("pk", Value::Str(base64url_encode(pass.public_key()))),
        (
            "data",
            Value::Map(
                pass.data()
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::Str(v.clone())))
                    .collect(),
            ),
        ),
        ("sign", Value::Int(pass.sign_time() as i64)),
        ("end", Value::Int(pass.end_time() as i64)),
    ])
}

/// `Echo(value)`: returns its argument; for health checks and codec tests.
pub fn echo(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 1)?;
        Ok(c.args[0].clone())
    })()))
}
