//! The DNN's functions in the API table: `DnnReport` (what home nodes send), `DnnStatus`
//! (what the dashboard shows) and `MiMeiSetDomain` (`mimei setdomain`, `lapp setdomain`).
//! See src/dnn/ and docs/dnn.md.

use super::fns_mimei::mid_arg;
use super::{ApiError, ApiFuture, Call, Value};
use crate::clock::unix_now;
use crate::dnn::report::{Kind, check_domain};
use crate::dnn::{DnnError, directory, reporter};
use crate::mimei::Right;

impl From<DnnError> for ApiError {
    fn from(e: DnnError) -> Self {
        ApiError::Dnn(e)
    }
}

fn s(v: impl ToString) -> Value {
    Value::Str(v.to_string())
}

/// `DnnReport(report)`: a node's signed address report (base64url text or bytes). Public:
/// the signature is the authentication. Returns {ok, node, seen, bound, refused}.
pub fn report(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(1, 1)?;
        let bytes = match &c.args[0] {
            Value::Bytes(b) => b.clone(),
            Value::Str(t) => {
                crate::pki::encoding::base64url_decode(t).map_err(|e| ApiError::BadArguments {
                    function: c.entry.name,
                    message: format!("argument 1 (report): not base64url: {e}"),
                })?
            }
            _ => {
                return Err(ApiError::BadArguments {
                    function: c.entry.name,
                    message: "argument 1 (report) must be bytes or base64url text".into(),
                });
            }
        };
        let from = super::remote_addr()
            .map(|a| crate::dnn::addr::canonical(a.ip()))
            .ok_or_else(|| {
                ApiError::Dnn(DnnError::BadInput(
                    "DnnReport comes over HTTP only (the DNN needs the sender's address)".into(),
                ))
            })?;
        let result = c.state.dnn.directory.borrow_mut().accept(
            &c.state.store,
            &bytes,
            from,
            crate::clock::unix_ms(),
        );
        let (r, accepted) = match result {
            Ok(x) => x,
            Err(e) => {
                crate::log_warn!("DNN: address report from {from} refused: {e}");
                return Err(e.into());
            }
        };
        crate::log_debug!(
            "DNN: report of node {} from {from}: {} addresses, {} Mimeis",
            r.node(),
            r.addrs.len(),
            r.mimeis.len()
        );
        Ok(Value::map([
            ("ok", Value::Bool(true)),
            ("node", s(r.node())),
            ("seen", s(from)),
            (
                "bound",
                Value::List(accepted.bound.into_iter().map(Value::Str).collect()),
            ),
            (
                "refused",
                Value::List(
                    accepted
                        .refused
                        .into_iter()
                        .map(|(d, why)| Value::map([("domain", s(d)), ("reason", s(why))]))
                        .collect(),
                ),
            ),
        ]))
    })
}

/// `DnnStatus(sid)`: {addrs, gateways, domains, reports}.
pub fn status(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(1, 1)?;
        let st = c.state;
        let addrs = reporter::local_offers(st);
        let gateways = {
            let configured = st.vars.borrow().gateway.clone();
            let known = st.dnn.gateways.borrow();
            configured
                .iter()
                .map(|url| {
                    let g = known.iter().find(|g| &g.url == url);
                    Value::map([
                        ("url", s(url)),
                        ("ok", Value::Bool(g.is_some_and(|g| g.ok))),
                        ("at", Value::Int(g.map_or(0, |g| g.at as i64))),
                        (
                            "error",
                            s(g.filter(|g| !g.ok).map_or("", |g| g.message.as_str())),
                        ),
                        (
                            "message",
                            s(g.map_or("not reported yet", |g| g.message.as_str())),
                        ),
                    ])
                })
                .collect()
        };
        let own = crate::dnn::own_binds(&st.store)?;
        let mut domains: Vec<Value> = own
            .iter()
            .map(|(d, k, m)| {
                Value::map([
                    ("domain", s(d)),
                    ("target", s(format!("/{}/{m}", k.prefix()))),
                    ("served", Value::Bool(false)),
                ])
            })
            .collect();
        for (d, b) in directory::domains(&st.store)? {
            domains.push(Value::map([
                ("domain", s(&d)),
                ("target", s(format!("/{}/{}", b.kind.prefix(), b.mid))),
                ("served", Value::Bool(true)),
                ("owner", s(b.owner)),
            ]));
        }
        let now = unix_now();
        let mut dir = st.dnn.directory.borrow_mut();
        let reports: Vec<Value> = dir
            .all(&st.store, now)
            .into_iter()
            .map(|k| {
                Value::map([
                    ("node", s(k.report.node())),
                    ("from", s(k.from)),
                    (
                        "addrs",
                        Value::List(k.report.addrs.iter().map(|o| s(o.url())).collect()),
                    ),
                    ("mimeis", Value::Int(k.report.mimeis.len() as i64)),
                    ("age", Value::Int(now.saturating_sub(k.at) as i64)),
                ])
            })
            .collect();
        Ok(Value::map([
            (
                "addrs",
                Value::List(addrs.iter().map(|o| s(o.url())).collect()),
            ),
            ("gateways", Value::List(gateways)),
            ("domains", Value::List(domains)),
            ("reports", Value::List(reports)),
        ]))
    })
}

/// `MiMeiSetDomain(sid, mid, domain, [kind])`: binds `domain` to the Mimei (kind "mm", the
/// default) or to it as an app ("tpt"); an empty domain removes the Mimei's bindings. Needs
/// write right on the Mimei. The binding is served here at once and reported to the DNNs in
/// `Gateway`. Returns {domain, target, gateways}.
pub fn set_domain(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(3, 4)?;
        let mid = mid_arg(&c, 1)?;
        let domain = c.str_arg(2, "domain")?.trim().to_ascii_lowercase();
        let kind = match c.args.get(3).and_then(|v| v.as_str()).unwrap_or("mm") {
            "mm" | "" => Kind::Mimei,
            "tpt" | "app" => Kind::App,
            other => {
                return Err(ApiError::BadArguments {
                    function: c.entry.name,
                    message: format!(
                        "argument 4 (kind) is \"{}\"; use mm (the Mimei) or tpt (an app)",
                        crate::api::truncate(other, 20)
                    ),
                });
            }
        };
        let session = c.session.as_ref().ok_or(ApiError::SessionExpired)?;
        let user = crate::ops::session::uid(session)?;
        let st = c.state;
        let header = crate::ops::mimei::authorize(st, user.as_ref(), &mid, Right::WRITE)?;
        // The node signs the reports, so the node key must hold the write right too.
        header.rights().check(Some(&st.key.id()), Right::WRITE)?;
        let before = crate::dnn::own_binds(&st.store)?;
        let owner = session.rights == crate::api::Rights::Owner;
        if !domain.is_empty() {
            // Names of the node itself (`localhost`, `*.localhost`) choose what its own
            // address shows (the dashboard): the owner's alone.
            if !owner && (domain == "localhost" || domain.ends_with(".localhost")) {
                return Err(ApiError::Forbidden {
                    function: c.entry.name,
                    need: "owner (localhost names choose what the node itself shows)",
                });
            }
            // A domain bound to another Mimei stays with whoever may write that Mimei.
            if let Some((_, _, held)) = before.iter().find(|(d, _, m)| *d == domain && *m != mid)
                && !owner
                && crate::ops::mimei::authorize(st, user.as_ref(), held, Right::WRITE).is_err()
            {
                return Err(ApiError::Dnn(DnnError::Refused(format!(
                    "{domain} is bound to Mimei {held}, which you may not write; its holder or \
                     the node's owner can move it"
                ))));
            }
        }
        if domain.is_empty() {
            for (d, _, m) in &before {
                if *m == mid {
                    crate::dnn::set_own_bind(&st.store, d, None)?;
                }
            }
        } else {
            check_domain(&domain).map_err(|m| ApiError::BadArguments {
                function: c.entry.name,
                message: format!("argument 3 (domain): {m}"),
            })?;
            if before.len() >= crate::dnn::report::MAX_DOMAINS
                && !before.iter().any(|(d, ..)| *d == domain)
            {
                return Err(ApiError::Dnn(DnnError::Full(format!(
                    "this node binds {} domains already; remove one first",
                    crate::dnn::report::MAX_DOMAINS
                ))));
            }
            crate::dnn::set_own_bind(&st.store, &domain, Some((kind, mid)))?;
        }
        // Served here too (this node may be a DNN itself), under the same ownership rule.
        let own = crate::dnn::own_binds(&st.store)?;
        let accepted = directory::bind(&st.store, &st.key.id(), &own, unix_now())?;
        if let Some((d, why)) = accepted.refused.iter().find(|(d, _)| *d == domain) {
            return Err(ApiError::Dnn(DnnError::Refused(format!(
                "{d} is taken here: {why}"
            ))));
        }
        st.dnn.wake.notify_one();
        let gateways = st.vars.borrow().gateway.clone();
        Ok(Value::map([
            ("domain", s(&domain)),
            (
                "target",
                s(if domain.is_empty() {
                    String::new()
                } else {
                    format!("/{}/{mid}", kind.prefix())
                }),
            ),
            (
                "gateways",
                Value::List(gateways.into_iter().map(Value::Str).collect()),
            ),
        ]))
    })
}
