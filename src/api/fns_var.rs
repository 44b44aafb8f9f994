//! Node variables and actions, Leither's `VarAct` set: `GetVar`, `GetVarByContext`,
//! `GetGobVar` and `Act`.
//!
//! `GetVar(sid, name, args...)` answers a variable by name (Leither's names from
//! `lapi/vars.go` and its release notes, plus ours); the list and shapes are in docs/api.md.
//! `GetGobVar` is the same value as a Go `encoding/gob` stream ([`super::gob`]), for the Go
//! client's `GetVarObj`. Who may read what: every name is public to any session except
//! `systemvars` and `ppt` (owner only), `userinfo`/`userid` (the caller's own) and the
//! Mimei names (read right on the Mimei).
//!
//! `ppt` is also what `GET /getvar?name=ppt&arg0=HOURS` answers to a loopback caller (the Go
//! client's `GetLocalPassport`): see [`local_pass`] and src/http/getvar.rs.

use super::gob::{self, GobType};
use super::{ApiError, ApiFuture, Call, Rights, Value, sysstat};
use crate::api::fns_node::VERSION;
use crate::clock::unix_now;
use crate::pki::Pass;
use crate::pki::encoding::base64url_encode;

/// Most extra arguments `GetVar` and `Act` take after the name.
const MAX_ARGS: usize = 8;

/// The longest pass `ppt` signs, in hours (30 days): a pass is a bearer credential, so a
/// leaked one should not outlive a month.
pub const MAX_PASS_HOURS: u64 = 30 * 24;

/// The names `GetVar` knows, for the error that lists them.
const NAMES: &str = "ver, hostid, peerid, hostpk, userid, userinfo, nodeinfo, nodeinfos, ips, \
                     cpu, disk, virtualmemory, systemvars, ppt, netstats, mminfo, mmversions, \
                     mmsid2mid, mmprovsips";

/// `GetVar(sid, name, args...)`: a node variable by name.
pub fn get_var(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(2, 2 + MAX_ARGS)?;
        let name = c.str_arg(1, "name")?.to_ascii_lowercase();
        var(&c, &name).await
    })
}

/// `GetGobVar(sid, name, args...)`: `GetVar`'s value as a Go gob stream.
pub fn get_gob_var(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(2, 2 + MAX_ARGS)?;
        let name = c.str_arg(1, "name")?.to_ascii_lowercase();
        let v = var(&c, &name).await?;
        Ok(Value::Bytes(gob_bytes(&name, &v)?))
    })
}

/// The gob stream of variable `name`: the Go types Leither's clients declare where they are
/// known (`cpu` is `[]float64`, `disk` gopsutil's `UsageStat`, `virtualmemory` its
/// `VirtualMemoryStat`), else the type [`gob::infer`] picks.
pub fn gob_bytes(name: &str, v: &Value) -> Result<Vec<u8>, ApiError> {
    let ty = match name {
        "cpu" => GobType::Slice(Box::new(GobType::Float)),
        "disk" => sysstat::disk_type(),
        "virtualmemory" => sysstat::memory_type(),
        _ => gob::infer(v).map_err(|e| ApiError::Internal(format!("GetGobVar {name}: {e}")))?,
    };
    gob::encode(&ty, v).map_err(|e| ApiError::Internal(format!("GetGobVar {name}: {e}")))
}

/// `GetVarByContext(sid, name, mapOpt)`: `GetVar` with its arguments from a map: `arg0`,
/// `arg1`, ... in order, or, when there is no `arg0`, the one of `mid`, `mmsid`, `hours`
/// that is present (the names the variables take).
pub fn get_var_by_context(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(2, 3)?;
        let name = c.str_arg(1, "name")?.to_ascii_lowercase();
        let opts = match c.args.get(2) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Map(m)) => m.clone(),
            Some(v) => {
                return Err(ApiError::BadArguments {
                    function: c.entry.name,
                    message: format!("argument 3 (mapOpt) must be a map, got {}", v.kind()),
                });
            }
        };
        let get = |k: &str| {
            opts.iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
        };
        let mut args = vec![c.args[0].clone(), Value::Str(name.clone())];
        for i in 0..MAX_ARGS {
            match get(&format!("arg{i}")) {
                Some(v) => args.push(v),
                None => break,
            }
        }
        if args.len() == 2
            && let Some(v) = ["mid", "mmsid", "hours"].iter().find_map(|k| get(k))
        {
            args.push(v);
        }
        let inner = Call {
            state: c.state,
            session: c.session.clone(),
            args,
            entry: c.entry,
        };
        var(&inner, &name).await
    })
}

/// `Act(sid, name, args...)`: an action. `warn` writes the arguments to the node's log as a
/// warning (a user session; 512 bytes at most); `supporttunnel` answers whether this node
/// opens tunnels for others (`TunnelServer`). Other actions of Leither are refused.
pub fn act(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(2, 2 + MAX_ARGS)?;
        let name = c.str_arg(1, "name")?.to_ascii_lowercase();
        match name.as_str() {
            "warn" => {
                let s = c.session.as_ref().ok_or(ApiError::SessionExpired)?;
                super::need_member(s, c.entry.name)?;
                let mut text = String::new();
                for i in 2..c.args.len() {
                    text.push_str(c.str_arg(i, "message")?);
                    text.push(' ');
                }
                crate::log_warn!(
                    "Act warn from {}: {}",
                    if s.uid.is_empty() { "?" } else { &s.uid },
                    super::truncate(text.trim_end(), 512).escape_debug()
                );
                Ok(Value::Bool(true))
            }
            "supporttunnel" => Ok(Value::Bool(supports_tunnel(&c))),
            other => Err(ApiError::NotSupported(format!(
                "Act \"{}\" is not supported on this node: it knows warn and supporttunnel \
                 (tunnels and Leither's other actions have no counterpart here)",
                super::truncate(other, 64)
            ))),
        }
    })
}

/// Whether this node carries tunnels for others (`TunnelServer`, docs/network.md).
fn supports_tunnel(c: &Call<'_>) -> bool {
    #[cfg(feature = "net")]
    {
        crate::net::nat_config::NatSettings::of(&c.state.vars.borrow()).tunnel_server
    }
    #[cfg(not(feature = "net"))]
    {
        let _ = c;
        false
    }
}

fn is_owner(c: &Call<'_>) -> bool {
    c.session
        .as_ref()
        .is_some_and(|s| s.rights == Rights::Owner)
}

fn owner_only(c: &Call<'_>) -> Result<(), ApiError> {
    if is_owner(c) {
        return Ok(());
    }
    Err(ApiError::Forbidden {
        function: c.entry.name,
        need: Rights::Owner.as_str(),
    })
}

async fn var(c: &Call<'_>, name: &str) -> Result<Value, ApiError> {
    #[cfg(feature = "files")]
    if let Some(r) = super::fns_mimei::get_var(c, name) {
        return r;
    }
    #[cfg(feature = "net")]
    if name == "mmprovsips" {
        return super::fns_net::prov_ips(c).await;
    }
    let st = c.state;
    let session = c.session.as_ref();
    let no_args = || c.arity(2, 2);
    Ok(match name {
        "ver" => Value::from(VERSION),
        "hostid" => Value::Str(st.key.id().to_string()),
        "peerid" => Value::Str(st.key.peer_id()),
        "hostpk" => Value::Str(base64url_encode(&st.key.public_key())),
        "userid" => Value::Str(session.map(|s| s.uid.clone()).unwrap_or_default()),
        "userinfo" => match session {
            Some(s) => Value::map([
                ("uid", Value::Str(s.uid.clone())),
                ("rights", Value::from(s.rights.as_str())),
                ("expires", Value::Int(s.expires.min(i64::MAX as u64) as i64)),
            ]),
            None => Value::Null,
        },
        "nodeinfo" => node_info(c),
        "nodeinfos" => {
            #[allow(unused_mut)]
            let mut list = vec![node_info(c)];
            #[cfg(feature = "net")]
            list.extend(super::fns_net::peer_infos(c));
            Value::List(list)
        }
        "ips" => Value::List(ips(c).into_iter().map(Value::Str).collect()),
        "cpu" => {
            no_args()?;
            sysstat::cpu(&st.cpu_sample)
        }
        "disk" => {
            no_args()?;
            sysstat::disk(&st.home)
        }
        "virtualmemory" => {
            no_args()?;
            sysstat::memory()
        }
        "systemvars" => {
            owner_only(c)?;
            without_secrets(st.vars.borrow().to_value())
        }
        "ppt" => {
            owner_only(c)?;
            c.arity(2, 3)?;
            Value::Str(local_pass(st, c.opt_str_arg(2, "hours")?.unwrap_or(""))?)
        }
        #[cfg(feature = "net")]
        "netstats" => super::fns_net::stats(c),
        other => {
            return Err(ApiError::NotFound(format!(
                "GetVar: no variable \"{}\"; known: {NAMES}",
                super::truncate(other, 64)
            )));
        }
    })
}

/// The owner's pass, signed by the node key, valid for `hours` (empty: 24; 1 to
/// [`MAX_PASS_HOURS`]), in the text form `Login` takes.
pub fn local_pass(st: &super::NodeState, hours: &str) -> Result<String, ApiError> {
    let hours: u64 = match hours.trim() {
        "" => 24,
        h => h.parse().map_err(|_| ApiError::BadArguments {
            function: "GetVar",
            message: format!(
                "ppt takes the hours the pass is valid (1 to {MAX_PASS_HOURS}), got {:?}",
                super::truncate(h, 32)
            ),
        })?,
    };
    if hours == 0 || hours > MAX_PASS_HOURS {
        return Err(ApiError::BadArguments {
            function: "GetVar",
            message: format!("ppt: {hours} hours is outside 1 to {MAX_PASS_HOURS} (30 days)"),
        });
    }
    let pass = Pass::sign(&st.key, Vec::new(), unix_now(), hours * 3600)?;
    Ok(pass.to_text())
}

/// Settings with anything that looks like a secret taken out: SystemVars.json holds no
/// secret of ours (the node key is in hostkey.cfg), but keys we do not know are kept as they
/// were written, and one of them may be a password someone put there.
fn without_secrets(v: Value) -> Value {
    let secret = |k: &str| {
        let k = k.to_ascii_lowercase();
        ["pass", "secret", "token", "credential", "private"]
            .iter()
            .any(|w| k.contains(w))
            || (k.contains("key") && k != "tlskey")
    };
    match v {
        Value::Map(m) => Value::Map(m.into_iter().filter(|(k, _)| !secret(k)).collect()),
        other => other,
    }
}

/// The IP addresses this node is reached at: its swarm listen addresses (interfaces, when it
/// listens on all of them) and the HTTP port's address when it is bound to one.
fn ips(c: &Call<'_>) -> Vec<String> {
    #[allow(unused_mut)]
    let mut out: Vec<String> = Vec::new();
    #[cfg(feature = "net")]
    out.extend(super::fns_net::local_ips(c));
    if let Some(a) = c.state.listen.get()
        && !a.ip().is_unspecified()
    {
        out.push(a.ip().to_string());
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|ip| seen.insert(ip.clone()));
    out
}

/// `nodeinfo`: this node's facts.
pub fn node_info(c: &Call<'_>) -> Value {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_taken_out_of_systemvars() {
        let v = Value::Map(vec![
            ("ServicePort".into(), Value::Int(4800)),
            ("TlsKey".into(), Value::from("key.pem")),
            ("SmtpPassword".into(), Value::from("hunter2")),
            ("ApiKey".into(), Value::from("x")),
        ]);
        let out = without_secrets(v);
        assert!(out.get("ServicePort").is_some());
        assert!(out.get("TlsKey").is_some());
        assert!(out.get("SmtpPassword").is_none());
        assert!(out.get("ApiKey").is_none());
    }

    #[test]
    fn gob_of_ver_is_a_plain_go_string() {
        let b = gob_bytes("ver", &Value::from("0.1.0")).unwrap();
        assert_eq!(b, [8, 0x0c, 0, 5, b'0', b'.', b'1', b'.', b'0']);
        let cpu = gob_bytes("cpu", &Value::List(vec![Value::Float(17.0)])).unwrap();
        assert!(cpu.ends_with(&[0xfe, 0x31, 0x40]));
    }
}
