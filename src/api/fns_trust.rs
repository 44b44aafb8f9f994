//! Nodes that trust each other (Leither's node management, api/Net.md section 2): `Invite`,
//! `Accept`, `AddNode`, `NLogin`, `NGetGift`, and ours to manage them: `ListInvites`,
//! `DelInvite`, `ListNodes`. docs/security.md, "Nodes that trust each other".
//!
//! The owner of node A calls `Invite`: A signs an invitation ([`Invitation`]) naming itself
//! and where it is reached, and remembers it as outstanding. The owner of node B pastes it
//! into `Accept`: B checks it, calls `AddNode(B's ID, B's addresses, code)` on A over A's
//! JSON API, and when A admits B, B admits A. Each node's key then logs in to the other as a
//! user (`Login(ppt)` or `NLogin(ppt)`). `AddNode` is open to anyone: the code is the
//! capability, checked against A's own key and table, and a wrong one costs the caller's
//! address a failed login (`LoginFailuresPerMin`).

use std::future::ready;

use super::{ApiError, ApiFuture, Call, Value, remote};
use crate::accounts::admitted::{AdmittedUsers, is_member};
use crate::accounts::invite::{
    Invitation, InviteError, MAX_COUNT, MAX_HOURS, NONCE_LEN, valid_addr,
};
use crate::accounts::invites::{Invites, MAX_NODE_ADDRS, Outstanding};
use crate::clock::unix_now;
use crate::ops::rate;
use crate::pki::LeitherId;

/// Hours an invitation lasts when `validity` is 0.
pub const DEFAULT_HOURS: u64 = 24;
/// Longest `addrs` argument of `AddNode`, in bytes.
pub const MAX_ADDRS_ARG: usize = 4096;
/// How long `Accept` keeps trying the inviting node's addresses (each call is bounded by
/// [`remote::TIMEOUT`] too).
pub const ACCEPT_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);
/// Most HTTP URLs, and most multiaddrs, this node puts in an invitation or sends to `AddNode`.
const OWN_ADDRS_EACH: usize = 6;

fn bad(c: &Call<'_>, message: String) -> ApiError {
    ApiError::BadArguments {
        function: c.entry.name,
        message,
    }
}

/// A non-negative integer argument (an integer, or a string of digits); `None` if absent.
fn uint_arg(c: &Call<'_>, i: usize, what: &str) -> Result<Option<u64>, ApiError> {
    match c.args.get(i) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Str(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::Str(s)) => s.trim().parse::<u64>().map(Some).map_err(|_| {
            bad(
                c,
                format!("argument {} ({what}) must be a whole number", i + 1),
            )
        }),
        Some(v) => match v.as_i64() {
            Some(n) if n >= 0 => Ok(Some(n as u64)),
            _ => Err(bad(
                c,
                format!(
                    "argument {} ({what}) must be a whole number of 0 or more, got {}",
                    i + 1,
                    v.kind()
                ),
            )),
        },
    }
}

/// Where this node is reached: HTTP URLs (public ones first, loopback last) and libp2p
/// multiaddrs with `/p2p/<PeerId>`, at most [`OWN_ADDRS_EACH`] of each.
pub fn own_addresses(state: &super::NodeState) -> Vec<String> {
    let mut urls: Vec<(u8, String)> = Vec::new();
    #[cfg(feature = "files")]
    for o in crate::dnn::reporter::local_offers(state) {
        use crate::dnn::addr::{Host, Scope, scope};
        let rank = match &o.host {
            Host::Name(_) => 0,
            Host::Ip(ip) => match scope(*ip) {
                Scope::Global => 0,
                Scope::Loopback => 2,
                _ => 1,
            },
        };
        urls.push((rank, o.url()));
    }
    #[cfg(not(feature = "files"))]
    if let Some(l) = state.listen.get().filter(|l| !l.ip().is_unspecified()) {
        urls.push((1, format!("http://{l}")));
    }
    urls.sort_by_key(|(rank, _)| *rank);
    let out = urls
        .into_iter()
        .map(|(_, u)| u)
        .filter(|u| valid_addr(u))
        .take(OWN_ADDRS_EACH);
    #[cfg(feature = "net")]
    let out = out.chain(
        state
            .net()
            .map(|net| net.local_addrs())
            .unwrap_or_default()
            .into_iter()
            .filter(|a| valid_addr(a))
            .take(OWN_ADDRS_EACH),
    );
    out.collect()
}

/// Whether `addr` is a multiaddr ending in `/p2p/<PeerId>` of the key whose ID is `id`.
pub fn multiaddr_of(addr: &str, id: &LeitherId) -> bool {
    let Some((_, peer)) = addr.rsplit_once("/p2p/") else {
        return false;
    };
    addr.starts_with('/')
        && crate::pki::parse_peer_id(peer).is_ok_and(|pk| LeitherId::from_public_key(&pk) == *id)
}

/// The addresses worth keeping for node `id`: HTTP URLs, and multiaddrs that name its key
/// (so the network dials `id` and no one else).
fn keep_addrs(addrs: &[String], id: &LeitherId) -> Vec<String> {
    addrs
        .iter()
        .filter(|a| a.starts_with("http://") || a.starts_with("https://") || multiaddr_of(a, id))
        .cloned()
        .collect()
}

/// Dials node `id` at its multiaddrs in the background (the first that connects wins), so
/// the swarm knows it (the network layer has no table of trusted peers; [`dial_trusted`]
/// dials them again when the node starts).
#[cfg(feature = "net")]
fn dial(state: &super::NodeState, id: &LeitherId, addrs: &[String]) {
    let Some(net) = state.net() else {
        return;
    };
    let targets: Vec<String> = addrs
        .iter()
        .filter(|a| multiaddr_of(a, id))
        .take(4)
        .cloned()
        .collect();
    if targets.is_empty() {
        return;
    }
    let net = net.clone();
    let id = id.to_string();
    tokio::task::spawn_local(async move {
        for a in targets {
            match net.connect(&a).await {
                Ok(_) => {
                    crate::log_info!("connected to trusted node {id} at {a}");
                    return;
                }
                Err(e) => crate::log_info!("trusted node {id}: {a}: {e}"),
            }
        }
    });
}

#[cfg(not(feature = "net"))]
fn dial(_: &super::NodeState, _: &LeitherId, _: &[String]) {}

/// Most trusted nodes dialled when the node starts.
pub const DIAL_AT_START: usize = 256;

/// Dials the trusted nodes that are still admitted, once, when the node starts (the node
/// calls this when its swarm listens): one task, one node after another, at most
/// [`DIAL_AT_START`] nodes and 4 addresses each, so a restarted node finds its peers again
/// without a burst of connections.
#[cfg(feature = "net")]
pub fn dial_trusted(state: &super::NodeState) {
    let Some(net) = state.net() else {
        return;
    };
    let nodes = Invites::new(&state.store).nodes().unwrap_or_default();
    let mut targets: Vec<(String, Vec<String>)> = Vec::new();
    for n in nodes {
        if targets.len() >= DIAL_AT_START {
            break;
        }
        let Ok(id) = n.id.parse::<LeitherId>() else {
            continue;
        };
        if !is_member(&state.store, &n.id).unwrap_or(false) {
            continue;
        }
        let addrs: Vec<String> = n
            .addrs
            .into_iter()
            .filter(|a| multiaddr_of(a, &id))
            .take(4)
            .collect();
        if !addrs.is_empty() {
            targets.push((n.id, addrs));
        }
    }
    if targets.is_empty() {
        return;
    }
    let net = net.clone();
    tokio::task::spawn_local(async move {
        for (id, addrs) in targets {
            for a in addrs {
                if net.connect(&a).await.is_ok() {
                    crate::log_info!("connected to trusted node {id} at {a}");
                    break;
                }
            }
        }
    });
}

/// The first 8 characters of a nonce: what admissions and the log name an invitation by.
fn short(nonce: &str) -> &str {
    nonce.get(..8).unwrap_or(nonce)
}

/// `Invite(sid, validity, credit, friendCount)` (owner): signs an invitation valid
/// `validity` hours (1 to 720; 0: 24) for `friendCount` nodes (1 to 1000; 0: 1) granting
/// `credit`, remembers it, and returns its text.
pub fn invite(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 4)?;
        let hours = match uint_arg(&c, 1, "validity")? {
            None | Some(0) => DEFAULT_HOURS,
            Some(h) if h <= MAX_HOURS => h,
            Some(h) => {
                return Err(bad(
                    &c,
                    format!("validity is 1 to {MAX_HOURS} hours (0: {DEFAULT_HOURS}), not {h}"),
                ));
            }
        };
        let credit = uint_arg(&c, 2, "credit")?.unwrap_or(0);
        let count = match uint_arg(&c, 3, "friendCount")? {
            None | Some(0) => 1,
            Some(n) if n <= u64::from(MAX_COUNT) => n as u16,
            Some(_) => {
                return Err(bad(
                    &c,
                    format!(
                        "friendCount is how many nodes may use the invitation: 1 to {MAX_COUNT}"
                    ),
                ));
            }
        };
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::getrandom(&mut nonce)
            .map_err(|e| ApiError::Internal(format!("no randomness for a nonce: {e}")))?;
        let now = unix_now();
        let inv = Invitation::sign(
            &c.state.key,
            now,
            now + hours * 3600,
            credit,
            count,
            nonce,
            &own_addresses(c.state),
        )?;
        Invites::new(&c.state.store).issue(&Outstanding::of(&inv), now)?;
        crate::log_info!(
            "invitation {} made: {count} node(s), {hours} h, credit {credit}",
            short(&inv.nonce_text())
        );
        Ok(Value::Str(inv.to_text()))
    })()))
}

/// `AddNode(id, addrs, invCode)` (anyone: the code is the capability): admits the node `id`
/// when `invCode` is an outstanding invitation of this node, and keeps its `addrs`
/// (comma- or space-separated, or a list). A refusal changes nothing and costs the caller's
/// address a failed login.
pub fn add_node(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        let ip = rate::caller_ip();
        rate::before_guess(c.state, ip)?;
        let r = add_node_now(&c, unix_now());
        if let Err(e) = &r {
            let wrong = match e {
                ApiError::Invite(e) => e.is_wrong_code(),
                ApiError::BadArguments { .. } => true,
                _ => false,
            };
            if wrong {
                rate::failed(c.state, ip);
            }
        }
        r
    })()))
}

fn add_node_now(c: &Call<'_>, now: u64) -> Result<Value, ApiError> {
    c.arity(3, 3)?;
    let id_text = c.str_arg(0, "id")?;
    if id_text.len() > 64 {
        return Err(bad(
            c,
            format!(
                "id is {} bytes; a node ID is {} characters",
                id_text.len(),
                LeitherId::TEXT_LEN
            ),
        ));
    }
    let id: LeitherId = id_text.trim().parse().map_err(|e| {
        bad(
            c,
            format!("{:?} is not a node ID: {e}", super::truncate(id_text, 40)),
        )
    })?;
    let addrs = addrs_arg(c)?;
    let code = c.str_arg(2, "invCode")?;
    let inv = Invitation::parse(code)?;
    if inv.public_key != c.state.key.public_key() {
        // A code signed by another key: say whose, but only once its signature holds.
        inv.verify(now)?;
        return Err(InviteError::NotOurs {
            signer: inv.inviter().to_string(),
        }
        .into());
    }
    inv.verify(now)?;
    let row = Invites::new(&c.state.store).check(&inv, now)?;
    if c.state.key.owns(&id) {
        return Err(InviteError::Own.into());
    }
    let how = format!("invite:{} credit={}", short(&row.nonce), row.credit);
    let added = super::fns_auth::admit(c, &id, &how)?;
    let invites = Invites::new(&c.state.store);
    let kept = invites.set_node_addrs(&id.to_string(), &keep_addrs(&addrs, &id), now)?;
    if added {
        let left = invites.use_one(&row.nonce)?;
        crate::log_info!(
            "node {id} admitted by invitation {} ({left} use(s) left), {} address(es)",
            short(&row.nonce),
            kept.len()
        );
    }
    dial(c.state, &id, &kept);
    Ok(Value::Null)
}

/// `AddNode`'s `addrs`: a string of addresses separated by commas or white space, or a list
/// of strings; bounded in length, count and form.
fn addrs_arg(c: &Call<'_>) -> Result<Vec<String>, ApiError> {
    let list: Vec<String> = match c.args.get(1) {
        Some(Value::Str(s)) => {
            if s.len() > MAX_ADDRS_ARG {
                return Err(bad(
                    c,
                    format!(
                        "addrs is {} bytes, over the limit of {MAX_ADDRS_ARG}",
                        s.len()
                    ),
                ));
            }
            s.split(|ch: char| ch == ',' || ch.is_whitespace())
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect()
        }
        Some(Value::List(l)) => {
            if l.len() > MAX_NODE_ADDRS {
                return Err(bad(
                    c,
                    format!("{} addresses, more than {MAX_NODE_ADDRS}", l.len()),
                ));
            }
            l.iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad(c, format!("an address is {}, not a string", v.kind())))
                })
                .collect::<Result<_, _>>()?
        }
        Some(Value::Null) | None => Vec::new(),
        Some(v) => {
            return Err(bad(
                c,
                format!(
                    "addrs must be a string or a list of strings, got {}",
                    v.kind()
                ),
            ));
        }
    };
    if list.len() > MAX_NODE_ADDRS {
        return Err(bad(
            c,
            format!("{} addresses, more than {MAX_NODE_ADDRS}", list.len()),
        ));
    }
    if let Some(a) = list.iter().find(|a| !valid_addr(a)) {
        return Err(bad(
            c,
            format!(
                "the address {:?} is not one: 1 to {} bytes of printable ASCII",
                super::truncate(a, 40),
                crate::accounts::invite::MAX_ADDR_LEN
            ),
        ));
    }
    Ok(list)
}

/// `Accept(sid, inviteInfo)` (owner): checks the invitation, asks the inviting node to admit
/// this one (`AddNode` over its JSON API, at the first of its HTTP addresses that answers as
/// that node), then admits the inviting node here.
pub fn accept(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move { accept_now(&c).await })
}

async fn accept_now(c: &Call<'_>) -> Result<Value, ApiError> {
    c.arity(2, 2)?;
    let code = c.str_arg(1, "inviteInfo")?.trim().to_string();
    let inv = Invitation::parse(&code)?;
    let now = unix_now();
    inv.verify(now)?;
    if inv.public_key == c.state.key.public_key() {
        return Err(InviteError::Own.into());
    }
    let inviter = inv.inviter();
    let me = LeitherId::from_public_key(&c.state.key.public_key()).to_string();
    let mine = own_addresses(c.state).join(",");
    let mut urls: Vec<&str> = inv.http_urls().collect();
    urls.sort_by_key(|u| !remote::names_ip(u));
    if urls.is_empty() {
        return Err(InviteError::Unreachable(
            "the invitation names no http:// address of the inviting node".into(),
        )
        .into());
    }
    let mut tried = Vec::new();
    let started = std::time::Instant::now();
    for url in urls {
        if started.elapsed() > ACCEPT_LIMIT {
            tried.push(format!("gave up after {} s", ACCEPT_LIMIT.as_secs()));
            break;
        }
        // The code is a secret: it goes only to an address that answers as the inviter.
        match remote::call(url, "GetVar", vec![Value::from(""), Value::from("hostid")]).await {
            Ok((200, Value::Str(h)))
                if h.parse::<LeitherId>()
                    .is_ok_and(|h| h.is_id_of(&inv.public_key)) => {}
            Ok((200, v)) => {
                let who = v
                    .as_str()
                    .map(|s| super::truncate(s, 40))
                    .unwrap_or_default();
                tried.push(format!("{url} is another node ({who})"));
                continue;
            }
            Ok((status, _)) => {
                tried.push(format!("{url}: HTTP {status} to GetVar"));
                continue;
            }
            Err(e) => {
                tried.push(e);
                continue;
            }
        }
        let args = vec![
            Value::Str(me.clone()),
            Value::Str(mine.clone()),
            Value::Str(code.clone()),
        ];
        match remote::call(url, "AddNode", args).await {
            Ok((200, _)) => {
                let how = format!(
                    "accepted:{} credit={}",
                    short(&inv.nonce_text()),
                    inv.credit
                );
                super::fns_auth::admit(c, &inviter, &how)?;
                let kept = Invites::new(&c.state.store).set_node_addrs(
                    &inviter.to_string(),
                    &keep_addrs(&inv.addrs, &inviter),
                    now,
                )?;
                crate::log_info!("accepted the invitation of node {inviter} at {url}");
                dial(c.state, &inviter, &kept);
                return Ok(Value::Null);
            }
            Ok((status, v)) => {
                let msg = v
                    .get("error")
                    .and_then(Value::as_str)
                    .map(|m| super::truncate(m, 400))
                    .unwrap_or_default();
                return Err(
                    InviteError::Refused(format!("{msg} (HTTP {status} from {url})")).into(),
                );
            }
            Err(e) => tried.push(e),
        }
    }
    Err(InviteError::Unreachable(tried.join("; ")).into())
}

/// `NLogin(ppt)`: `Login(ppt)` for a node, answering Leither's `NodeLoginReply`
/// `{Sid, Services}` (with `Login`'s fields beside it). `Services` is what this node granted
/// the pass's key, as `{name: {attribute: value}}`: `owner`, or `user` with `how`, `since`
/// and `credit` of its admission; nothing for a key it did not admit.
pub fn n_login(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 1)?;
        let text = c.str_arg(0, "ppt")?;
        let reply = super::fns_auth::login_by_pass(&c, text, unix_now())?;
        let uid = reply.get("uid").and_then(Value::as_str).unwrap_or("");
        let rights = reply.get("rights").and_then(Value::as_str).unwrap_or("");
        let services = services_of(&c, uid, rights)?;
        let Value::Map(mut m) = reply else {
            return Err(ApiError::Internal("Login answered no map".into()));
        };
        m.insert(0, ("Services".to_string(), services));
        Ok(Value::Map(m))
    })()))
}

fn services_of(c: &Call<'_>, uid: &str, rights: &str) -> Result<Value, ApiError> {
    let s = |v: &str| Value::Str(v.to_string());
    let entry = match rights {
        "owner" => vec![("rights", s("owner"))],
        "user" => match AdmittedUsers::new(&c.state.store).get(uid)? {
            Some(a) => {
                let credit = a
                    .how
                    .split(' ')
                    .find_map(|w| w.strip_prefix("credit="))
                    .unwrap_or("0")
                    .to_string();
                vec![
                    ("rights", s("user")),
                    ("how", Value::Str(a.how)),
                    ("since", Value::Str(a.at.to_string())),
                    ("credit", Value::Str(credit)),
                ]
            }
            None => vec![("rights", s("user")), ("how", s("account"))],
        },
        _ => return Ok(Value::Map(Vec::new())),
    };
    Ok(Value::Map(vec![(rights.to_string(), Value::map(entry))]))
}

/// `NGetGift(ppt)`: not on this node.
pub fn n_get_gift(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready(Err(ApiError::NotSupported(format!(
        "{} is not supported on this node: Leither reserves it (its client marks it TODO) and \
         documents no result; here two nodes trust each other through Invite and Accept, and \
         NLogin's Services says what this node granted a node",
        c.entry.name
    )))))
}

fn row_value(o: Outstanding) -> Value {
    Value::map([
        ("nonce", Value::Str(o.nonce)),
        ("made", Value::Int(o.made as i64)),
        ("expires", Value::Int(o.expires.min(i64::MAX as u64) as i64)),
        ("credit", Value::Str(o.credit.to_string())),
        ("count", Value::Int(o.count.into())),
        ("left", Value::Int(o.left.into())),
    ])
}

/// `ListInvites(sid)` (owner): the outstanding invitations.
pub fn list_invites(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 1)?;
        let rows = Invites::new(&c.state.store).list()?;
        Ok(Value::List(rows.into_iter().map(row_value).collect()))
    })()))
}

/// `DelInvite(sid, nonce)` (owner): withdraws an outstanding invitation named by its nonce
/// (or its first 6 or more characters); answers its row.
pub fn del_invite(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 2)?;
        let nonce = c.str_arg(1, "nonce")?;
        let row = Invites::new(&c.state.store).withdraw(nonce)?;
        crate::log_info!("invitation {} withdrawn", short(&row.nonce));
        Ok(row_value(row))
    })()))
}

/// `ListNodes(sid)` (owner): the nodes whose addresses this node keeps (from `AddNode` and
/// `Accept`), with whether they are admitted and how.
pub fn list_nodes(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 1)?;
        let nodes = Invites::new(&c.state.store).nodes()?;
        let users = AdmittedUsers::new(&c.state.store);
        let mut out = Vec::with_capacity(nodes.len());
        for n in nodes {
            let how = users.get(&n.id)?.map(|a| a.how);
            out.push(Value::map([
                ("id", Value::Str(n.id.clone())),
                ("at", Value::Int(n.at as i64)),
                (
                    "addrs",
                    Value::List(n.addrs.into_iter().map(Value::Str).collect()),
                ),
                ("admitted", Value::Bool(is_member(&c.state.store, &n.id)?)),
                ("how", Value::Str(how.unwrap_or_default())),
            ]));
        }
        Ok(Value::List(out))
    })()))
}
