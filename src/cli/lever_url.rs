//! Lever's URLs and arguments: `lever://ENV/SERVICE[/RESOURCE]/METHOD` to the HTTP path and
//! query of a call, JSON arguments to the JSON array Lever takes, and `stream`'s input lines to
//! messages. Pure functions; `lever` uses them.
//!
//! ENV holds a dot (`dev.lever`, `prod.example.com`); when the first segment has no dot it is
//! the service and the environment is the one the command acts on (`-E`, `$LEVEROS_ENV`, else
//! [`DEFAULT_ENV`]). Lever's relative form `/SERVICE[/RESOURCE]/METHOD` is read the same way.
//! Segments go percent-encoded into the path, so a resource may hold any character but `/`.

use super::CliError;
use crate::api::{Value, json};

/// The environment when none is named.
pub const DEFAULT_ENV: &str = "dev.lever";

/// A parsed `lever://` URL.
#[derive(Debug, PartialEq, Eq)]
pub struct LeverUrl {
    /// The environment (`dev.lever` when the URL names none).
    pub env: String,
    /// The service.
    pub service: String,
    /// The resource, for sticky routing.
    pub resource: Option<String>,
    /// The method.
    pub method: String,
}

impl LeverUrl {
    /// Parses `lever://ENV/SERVICE[/RESOURCE]/METHOD` or `/SERVICE[/RESOURCE]/METHOD`;
    /// `env` is the environment of a URL that names none (see the module doc).
    pub fn parse(url: &str, env: &str) -> Result<LeverUrl, CliError> {
        let usage = |why: &str| {
            CliError::Usage(format!(
                "{why} in \"{}\": write lever://ENV/SERVICE[/RESOURCE]/METHOD, e.g. \
                 lever://dev.lever/hello/sayHello",
                crate::api::truncate(url, 200)
            ))
        };
        let (rest, relative) = match url.strip_prefix("lever://") {
            Some(r) => (r, false),
            None => (
                url.strip_prefix('/')
                    .ok_or_else(|| usage("no lever:// scheme"))?,
                true,
            ),
        };
        let mut segs: Vec<&str> = rest.split('/').collect();
        if segs.iter().any(|s| s.is_empty()) {
            return Err(usage("an empty segment"));
        }
        let env = if !relative && segs.first().is_some_and(|s| s.contains('.')) {
            segs.remove(0).to_string()
        } else {
            env.to_string()
        };
        let (service, resource, method) = match segs[..] {
            [s, m] => (s, None, m),
            [s, r, m] => (s, Some(r.to_string()), m),
            [] | [_] => return Err(usage("no method")),
            _ => return Err(usage("too many segments")),
        };
        Ok(LeverUrl {
            env,
            service: service.to_string(),
            resource,
            method: method.to_string(),
        })
    }

    /// The HTTP path of a call, without the query: `/SERVICE[/RESOURCE]/METHOD`, each segment
    /// percent-encoded.
    pub fn path(&self) -> String {
        let enc = crate::http::gateway::percent_encode;
        let mut p = format!("/{}", enc(&self.service));
        if let Some(r) = &self.resource {
            p.push('/');
            p.push_str(&enc(r));
        }
        p.push('/');
        p.push_str(&enc(&self.method));
        p
    }

    /// The path and query of an `invoke`: `/SERVICE[/RESOURCE]/METHOD?forceenv=ENV`.
    pub fn invoke_target(&self) -> String {
        format!(
            "{}?forceenv={}",
            self.path(),
            crate::http::gateway::percent_encode(&self.env)
        )
    }

    /// The path and query of a `stream`: the invoke target and `&args=` (the JSON array).
    pub fn stream_target(&self, args: &str) -> String {
        format!(
            "{}&args={}",
            self.invoke_target(),
            crate::http::gateway::percent_encode(args)
        )
    }
}

/// The JSON arguments of `invoke` and `stream`, as one JSON array.
pub fn json_args(args: &[String]) -> Result<String, CliError> {
    let mut values = Vec::with_capacity(args.len());
    for (i, a) in args.iter().enumerate() {
        let v = json::decode(a.as_bytes(), &json::JsonLimits::default()).map_err(|e| {
            CliError::Usage(format!(
                "argument {} ({}) is not JSON ({e}); each argument is one JSON value, so \
                 quote strings as JSON, e.g. '\"world\"'",
                i + 1,
                crate::api::truncate(a, 60)
            ))
        })?;
        values.push(v);
    }
    let mut out = String::new();
    json::encode(&Value::List(values), &mut out);
    Ok(out)
}

/// The text message for one line of `stream`'s input: the line when it is JSON, else the line
/// as a JSON string.
pub fn line_message(line: &str) -> String {
    if json::decode(line.as_bytes(), &json::JsonLimits::default()).is_ok() {
        return line.to_string();
    }
    let mut out = String::new();
    json::encode(&Value::Str(line.to_string()), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(u: &str) -> LeverUrl {
        LeverUrl::parse(u, DEFAULT_ENV).unwrap()
    }

    #[test]
    fn urls() {
        let u = url("lever://dev.lever/hello/sayHello");
        assert_eq!(
            u,
            LeverUrl {
                env: "dev.lever".into(),
                service: "hello".into(),
                resource: None,
                method: "sayHello".into()
            }
        );
        assert_eq!(u.invoke_target(), "/hello/sayHello?forceenv=dev.lever");
        let u = url("lever://prod.example.com/chat/room%201/send");
        assert_eq!(u.env, "prod.example.com");
        assert_eq!(u.resource.as_deref(), Some("room%201"));
        assert_eq!(u.path(), "/chat/room%25201/send");
        // No dot in the first segment: it is the service, in dev.lever.
        let u = url("lever://hello/sayHello");
        assert_eq!((u.env.as_str(), u.service.as_str()), ("dev.lever", "hello"));
        // Lever's relative form, and the environment the command acts on.
        let u = LeverUrl::parse("/hello/sayHello", "prod.lever").unwrap();
        assert_eq!(
            (u.env.as_str(), u.service.as_str()),
            ("prod.lever", "hello")
        );
        let u = LeverUrl::parse("lever://hello/sayHello", "x.y").unwrap();
        assert_eq!(u.env, "x.y");
        let u = url("lever://hello/res/m");
        assert_eq!(u.resource.as_deref(), Some("res"));
        assert_eq!(
            u.stream_target("[\"a b\",1]"),
            "/hello/res/m?forceenv=dev.lever&args=%5B%22a%20b%22%2C1%5D"
        );
        for bad in [
            "http://x/y",
            "lever://",
            "lever://dev.lever/hello",
            "lever://hello",
            "lever://dev.lever//m",
            "lever://a/b/c/d",
            "lever://dev.lever/a/b/c/d",
            "lever://hello/m/",
        ] {
            let e = LeverUrl::parse(bad, DEFAULT_ENV).unwrap_err();
            assert!(matches!(e, CliError::Usage(_)), "{bad}");
            assert!(e.to_string().contains("lever://ENV/SERVICE"), "{bad}: {e}");
        }
    }

    #[test]
    fn arguments_are_json() {
        let a = |v: &[&str]| json_args(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(a(&[]).unwrap(), "[]");
        assert_eq!(
            a(&["\"world\"", "3", "{\"k\":[true,null]}"]).unwrap(),
            "[\"world\",3,{\"k\":[true,null]}]"
        );
        let e = a(&["1", "world"]).unwrap_err();
        assert!(matches!(e, CliError::Usage(_)));
        let e = e.to_string();
        assert!(
            e.contains("argument 2 (world)") && e.contains("'\"world\"'"),
            "{e}"
        );
        assert_eq!(line_message("{\"a\":1}"), "{\"a\":1}");
        assert_eq!(line_message("hello \"you\""), "\"hello \\\"you\\\"\"");
        assert_eq!(line_message(""), "\"\"");
    }
}
