//! Where a call goes: `lever://ENV/SERVICE[/RESOURCE]/METHOD` and Lever's HTTP form
//! `POST /SERVICE[/RESOURCE]/METHOD?forceenv=ENV` (or `Host: ENV`). Sans-io.
//!
//! The environment is the first segment of a `lever://` URL when it holds a dot (Lever's
//! environments are DNS-like names such as `dev.lever`); otherwise the URL is relative and
//! the caller's environment is used (`lever://SERVICE/METHOD` from a service, or the default
//! environment [`DEFAULT_ENV`] from outside). A resource is everything between the service and
//! the method, percent-decoded, so it may hold `/`.
//!
//! A method whose name starts with `_` is the service's own (Lever exported only what a
//! service chose to): every door that parses a target here refuses it.

use super::LeverError;
use super::manifest::service_name_ok;

/// The environment of calls that name none.
pub const DEFAULT_ENV: &str = "dev.lever";
/// Longest resource name.
pub const MAX_RESOURCE: usize = 512;

/// One call's destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The environment, when the URL names one.
    pub env: Option<String>,
    /// The service.
    pub service: String,
    /// The resource the call sticks to, if any.
    pub resource: Option<String>,
    /// The method.
    pub method: String,
}

/// True for an environment name: a dotted name of `a-z 0-9 - _`, 3-128 bytes.
pub fn env_ok(env: &str) -> bool {
    env.len() >= 3
        && env.len() <= 128
        && env.contains('.')
        && !env.starts_with('.')
        && !env.ends_with('.')
        && env
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// True for a method name: a Lua identifier.
pub fn method_ok(m: &str) -> bool {
    !m.is_empty()
        && m.len() <= 128
        && !m.as_bytes()[0].is_ascii_digit()
        && m.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// The refusal of a method kept inside its service (a name starting with `_`), or `None`.
pub fn internal_method(method: &str) -> Option<LeverError> {
    method.starts_with('_').then(|| {
        LeverError::BadRequest(format!(
            "method \"{}\" starts with \"_\": such methods are the service's own and are never \
             called from outside it; rename it without the \"_\" to expose it",
            crate::api::truncate(method, 64)
        ))
    })
}

/// The arguments a handler gets: Lever's convention puts the resource first when the call
/// names one (`function M.join(room, name)` for `/chat/room1/join`), before the caller's.
pub fn handler_args(t: &Target, args: &[crate::api::Value]) -> Vec<crate::api::Value> {
    let mut all = Vec::with_capacity(args.len() + 1);
    if let Some(r) = &t.resource {
        all.push(crate::api::Value::Str(r.clone()));
    }
    all.extend_from_slice(args);
    all
}

/// True when a method streams (Lever: names ending in `Chan` or `_chan`, and `chan`).
pub fn is_stream(method: &str) -> bool {
    method.ends_with("Chan") || method.ends_with("_chan") || method == "chan"
}

/// Percent-decodes a path segment; `None` when it is malformed.
pub fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = b.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(h).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn bad(msg: String) -> LeverError {
    LeverError::BadRequest(msg)
}

impl Target {
    /// From the segments after the environment: `SERVICE[/RESOURCE...]/METHOD`.
    fn from_segments(
        env: Option<String>,
        segs: &[&str],
        whole: &str,
    ) -> Result<Target, LeverError> {
        if segs.len() < 2 || segs.iter().any(|s| s.is_empty()) {
            return Err(bad(format!(
                "\"{}\" is not a Lever call: use SERVICE[/RESOURCE]/METHOD",
                crate::api::truncate(whole, 128)
            )));
        }
        let service = segs[0];
        if !service_name_ok(service) {
            return Err(bad(format!(
                "\"{}\" is not a service name",
                crate::api::truncate(service, 64)
            )));
        }
        let method = segs[segs.len() - 1];
        if !method_ok(method) {
            return Err(bad(format!(
                "\"{}\" is not a method name (a Lua identifier)",
                crate::api::truncate(method, 64)
            )));
        }
        if let Some(e) = internal_method(method) {
            return Err(e);
        }
        let resource = if segs.len() > 2 {
            let raw = segs[1..segs.len() - 1].join("/");
            let r = percent_decode(&raw)
                .ok_or_else(|| bad("the resource is not valid percent-encoded UTF-8".into()))?;
            if r.is_empty() || r.len() > MAX_RESOURCE || r.chars().any(char::is_control) {
                return Err(bad(format!(
                    "the resource must be 1-{MAX_RESOURCE} bytes without control characters"
                )));
            }
            Some(r)
        } else {
            None
        };
        Ok(Target {
            env,
            service: service.to_string(),
            resource,
            method: method.to_string(),
        })
    }

    /// Parses `lever://ENV/SERVICE[/RESOURCE]/METHOD`, `lever://SERVICE[/RESOURCE]/METHOD` or
    /// `/SERVICE[/RESOURCE]/METHOD`.
    pub fn parse_url(url: &str) -> Result<Target, LeverError> {
        let rest = url
            .strip_prefix("lever://")
            .or_else(|| url.strip_prefix('/'))
            .ok_or_else(|| {
                bad(format!(
                    "\"{}\" is not a Lever URL: use lever://ENV/SERVICE[/RESOURCE]/METHOD",
                    crate::api::truncate(url, 128)
                ))
            })?;
        let segs: Vec<&str> = rest.split('/').collect();
        if url.starts_with("lever://") && segs.len() == 2 && env_ok(segs[0]) {
            return Err(bad(format!(
                "\"{}\" names environment {} but no SERVICE/METHOD after it",
                crate::api::truncate(url, 128),
                segs[0]
            )));
        }
        if segs.len() >= 3 && env_ok(segs[0]) {
            Target::from_segments(Some(segs[0].to_string()), &segs[1..], url)
        } else {
            Target::from_segments(None, &segs, url)
        }
    }

    /// Parses an HTTP path `/SERVICE[/RESOURCE]/METHOD` (no query).
    pub fn parse_path(path: &str) -> Result<Target, LeverError> {
        let rest = path.strip_prefix('/').unwrap_or(path);
        let segs: Vec<&str> = rest.split('/').collect();
        Target::from_segments(None, &segs, path)
    }
}

/// The environment of an HTTP call: `forceenv` from the query, else the `Host` header when
/// it is a name (not an address or `localhost`), else [`DEFAULT_ENV`].
pub fn http_env(forceenv: Option<&str>, host: Option<&str>) -> Result<String, LeverError> {
    if let Some(e) = forceenv {
        if !env_ok(e) {
            return Err(bad(format!(
                "forceenv \"{}\" is not an environment name (e.g. dev.lever)",
                crate::api::truncate(e, 64)
            )));
        }
        return Ok(e.to_string());
    }
    if let Some(h) = host {
        let name = match h.rsplit_once(':') {
            Some((n, port)) if port.bytes().all(|c| c.is_ascii_digit()) => n,
            _ => h,
        };
        let name = name.to_ascii_lowercase();
        let is_ip = name.starts_with('[') || name.parse::<std::net::IpAddr>().is_ok();
        if !is_ip && name != "localhost" && env_ok(&name) {
            return Ok(name);
        }
    }
    Ok(DEFAULT_ENV.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lever_urls() {
        let t = Target::parse_url("lever://dev.lever/helloService/SayHello").unwrap();
        assert_eq!(t.env.as_deref(), Some("dev.lever"));
        assert_eq!(t.service, "helloService");
        assert_eq!(t.resource, None);
        assert_eq!(t.method, "SayHello");
        let t = Target::parse_url("lever://dev.lever/chat/room%2F1/x/join").unwrap();
        assert_eq!(t.resource.as_deref(), Some("room/1/x"));
        let t = Target::parse_url("lever://hello/SayHello").unwrap();
        assert_eq!((t.env, t.service.as_str()), (None, "hello"));
        let t = Target::parse_url("/hello/r1/SayHello").unwrap();
        assert_eq!(t.resource.as_deref(), Some("r1"));
        for bad in [
            "http://x/y/z",
            "lever://dev.lever/onlyservice",
            "lever://a//b",
            "lever://dev.lever/s/1abc",
            "lever://s/r%zz/m",
            "lever://s/m-x",
            "lever://dev.lever/s/_private",
            "",
        ] {
            assert!(Target::parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn underscore_methods_are_refused() {
        let e = Target::parse_path("/svc/_private").unwrap_err();
        assert!(e.to_string().contains("starts with \"_\""), "{e}");
        assert_eq!(e.http_status(), 400);
        assert!(Target::parse_path("/svc/res/_x").is_err());
        assert!(Target::parse_path("/svc/ok_").is_ok());
    }

    #[test]
    fn http_envs() {
        assert_eq!(http_env(Some("prod.lever"), None).unwrap(), "prod.lever");
        assert!(http_env(Some("x"), None).is_err());
        assert_eq!(http_env(None, Some("dev.lever:4800")).unwrap(), "dev.lever");
        assert_eq!(http_env(None, Some("127.0.0.1:4800")).unwrap(), DEFAULT_ENV);
        assert_eq!(http_env(None, Some("localhost")).unwrap(), DEFAULT_ENV);
        assert_eq!(http_env(None, Some("[::1]:80")).unwrap(), DEFAULT_ENV);
        assert_eq!(http_env(None, None).unwrap(), DEFAULT_ENV);
    }

    #[test]
    fn streams() {
        assert!(is_stream("chatChan"));
        assert!(is_stream("chat_chan"));
        assert!(is_stream("chan"));
        assert!(!is_stream("channel"));
    }
}
