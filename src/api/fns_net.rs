//! The network's functions in the API table: `Swarm*`, `Dht*` and the `MiMei*` set of
//! Leither (publish, provide, find providers, sync, show). The CLI's `swarm`, `dht` and
//! `mimei publish|unpublish|provide|unprovide|findprovs|sync|show` call these; Lua apps reach
//! them through `require('net')`.

use std::time::Duration;

use super::fns_mimei::{info, mid_arg};
use super::{ApiError, ApiFuture, Call, Value};
use crate::ipfs::Cid;
use crate::mimei::store::Mimeis;
use crate::mimei::{MimeiId, Right};
use crate::net::{Net, NetError, heads, publish, sync, values};

impl From<NetError> for ApiError {
    fn from(e: NetError) -> Self {
        ApiError::Net(Box::new(e))
    }
}

fn net<'a>(c: &'a Call<'_>) -> Result<&'a Net, ApiError> {
    c.state.net().ok_or(ApiError::Net(Box::new(NetError::Off)))
}

fn s(v: impl ToString) -> Value {
    Value::Str(v.to_string())
}

fn strs<T: ToString>(v: impl IntoIterator<Item = T>) -> Value {
    Value::List(v.into_iter().map(s).collect())
}

/// Whether `v` names a Mimei as a `mid` argument can (an ID, `mmroot`, `MID:VER`).
fn names_mimei(v: Option<&Value>) -> bool {
    v.and_then(Value::as_str).is_some_and(|t| {
        t.eq_ignore_ascii_case(super::fns_mimei::MMROOT)
            || crate::mimei::MimeiPath::parse(t).is_ok()
    })
}

/// Leither's network functions take a `dhts` argument after the sid, naming the DHTs to use
/// (`MiMeiPublish(sid, dhts, mid)`, `DhtFindPeer(sid, dhts, pid)`, ...). This node has one
/// DHT, so the slot is dropped and the call goes on in our form; true when it was there.
/// For the `MiMei*` set the slot is there when argument 2 does not name a Mimei and argument
/// 3 does (a `dhts` value is never a Mimei ID); for the `Dht*` set, by the argument count.
fn drop_dhts(c: &mut Call<'_>, leither_len: usize) -> bool {
    let leither = if leither_len == 0 {
        c.args.len() >= 3 && !names_mimei(c.args.get(1)) && names_mimei(c.args.get(2))
    } else {
        c.args.len() >= leither_len
    };
    if leither {
        c.args.remove(1);
    }
    leither
}

/// Leither's `[]DhtReply` for the one DHT this node has.
fn dht_reply(info: impl ToString) -> Value {
    Value::List(vec![Value::map([
        ("DhtName", s("ipfs")),
        ("Info", s(info)),
    ])])
}

/// go-libp2p's `AddrInfo`, as Leither's clients decode a peer.
fn addr_info(peer: impl ToString, addrs: Vec<String>) -> Value {
    Value::map([("ID", s(peer)), ("Addrs", strs(addrs))])
}

fn peer_arg(c: &Call<'_>, i: usize, name: &str) -> Result<libp2p::PeerId, ApiError> {
    let t = c.str_arg(i, name)?;
    Ok(crate::net::parse_peer(net(c)?, t)?)
}

/// A session that may write the Mimei (the owner, or a user with write right).
fn may_write(c: &Call<'_>, mid: &MimeiId) -> Result<(), ApiError> {
    let session = c.session.as_ref().ok_or(ApiError::SessionExpired)?;
    let user = crate::ops::session::uid(session)?;
    crate::ops::mimei::authorize(c.state, user.as_ref(), mid, Right::WRITE)?;
    Ok(())
}

/// Providing (or no longer providing) a Mimei speaks for the node: the owner may do it for
/// any Mimei here (a synced one too), a user only for a Mimei they may write.
fn may_provide(c: &Call<'_>, mid: &MimeiId) -> Result<(), ApiError> {
    let owner = c
        .session
        .as_ref()
        .is_some_and(|s| s.rights == super::Rights::Owner);
    if owner { Ok(()) } else { may_write(c, mid) }
}

/// When no head of `mid` is known here, asks the DHT for one (each value found is verified
/// by [`heads::accept`]; the bad ones are dropped).
async fn learn_head(c: &Call<'_>, n: &Net, mid: &MimeiId) -> Result<(), ApiError> {
    if heads::get(c.state, mid)?.is_none()
        && let Ok(found) = n.get_records(sync::head_key(mid)).await
    {
        for (_, v) in found {
            let _ = heads::accept(c.state, &v, heads::Via::Fetch);
        }
    }
    Ok(())
}

/// `SwarmLocal(sid)`: our listen addresses, each ending in `/p2p/<PeerId>`.
pub fn local(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(1, 1)?;
        Ok(strs(net(&c)?.local_addrs()))
    })
}

/// `SwarmAddrs(sid, [peer])`: known addresses, `{peer: [addr...]}`.
pub fn addrs(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(1, 2)?;
        let n = net(&c)?;
        let peer = match c.opt_str_arg(1, "peer")? {
            Some(p) if !p.is_empty() => Some(crate::net::parse_peer(n, p)?),
            _ => None,
        };
        let mut list = n.addrs(peer.as_ref());
        if let Some(p) = peer
            && list.is_empty()
        {
            list = vec![(p, n.find_peer(p).await?)];
        }
        Ok(Value::Map(
            list.into_iter()
                .map(|(p, a)| (p.to_string(), strs(a)))
                .collect(),
        ))
    })
}

/// `SwarmPeers(sid)`: connected peers, `[{peer, addr, agent}]`.
pub fn peers(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(1, 1)?;
        Ok(Value::List(
            net(&c)?
                .peers()
                .into_iter()
                .map(|i| {
                    Value::map([
                        ("peer", s(i.peer)),
                        ("addr", s(i.addr)),
                        ("agent", s(i.agent.unwrap_or_default())),
                    ])
                })
                .collect(),
        ))
    })
}

/// `SwarmConnect(sid, multiaddr)`: the PeerId connected to.
pub fn connect(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(2, 2)?;
        let addr = c.str_arg(1, "multiaddr")?;
        Ok(s(net(&c)?.connect(addr).await?))
    })
}

/// `SwarmDisconnect(sid, peer)`: whether there was a connection.
pub fn disconnect(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(2, 2)?;
        let p = peer_arg(&c, 1, "peer")?;
        Ok(Value::Bool(net(&c)?.disconnect(p).await?))
    })
}

/// `SwarmFilters(sid, [op, cidr])`: the filters after adding (`add`) or removing (`rm`).
pub fn filters(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(1, 3)?;
        let change = match c.opt_str_arg(1, "op")? {
            None | Some("") | Some("ls") => None,
            Some(op @ ("add" | "rm")) => Some((op == "add", c.str_arg(2, "cidr")?.to_string())),
            Some(other) => {
                return Err(ApiError::BadArguments {
                    function: c.entry.name,
                    message: format!(
                        "argument 2 (op) must be \"add\" or \"rm\", got \"{}\"",
                        super::truncate(other, 20)
                    ),
                });
            }
        };
        Ok(strs(net(&c)?.filters(change).await?))
    })
}

/// `DhtFindPeer(sid, id)`: the addresses of a peer (PeerId or Leither ID). Leither's
/// `DhtFindPeer(sid, dhts, pid)` answers its `AddrInfo` `{ID, Addrs}`.
pub fn find_peer(mut c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        let leither = drop_dhts(&mut c, 3);
        c.arity(2, 2)?;
        let p = peer_arg(&c, 1, "id")?;
        let addrs = net(&c)?.find_peer(p).await?;
        if addrs.is_empty() {
            return Err(NetError::NotFound(format!("peer {p} was not found in the DHT")).into());
        }
        if leither {
            return Ok(addr_info(
                p,
                addrs.iter().map(ToString::to_string).collect(),
            ));
        }
        Ok(strs(addrs))
    })
}

/// `DhtProvide(sid, cid)`: announces that this node provides a CID (which must be here).
/// Leither's `DhtProvide(sid, dhts, cid, bAnnounce)` is the same call.
pub fn provide_cid(mut c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        if drop_dhts(&mut c, 3) {
            c.args.truncate(2);
        }
        c.arity(2, 2)?;
        let text = c.str_arg(1, "cid")?;
        let cid: Cid = text.parse().map_err(|e| ApiError::BadArguments {
            function: c.entry.name,
            message: format!("argument 2 (cid): {e}"),
        })?;
        if !crate::store::blocks::Blocks::new(&c.state.store).has(&cid)? {
            return Err(ApiError::NotFound(format!(
                "block {cid} is not on this node; add it first (`leither ipfs add`)"
            )));
        }
        net(&c)?.provide(cid.hash().to_bytes()).await?;
        Ok(Value::Bool(true))
    })
}

/// `MiMeiPublish(sid, mid, [eolHours])`; Leither's `MiMeiPublish(sid, dhts, mid)` answers
/// `[]DhtReply`.
pub fn mm_publish(mut c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        let leither = drop_dhts(&mut c, 0);
        c.arity(2, 3)?;
        let mid = mid_arg(&c, 1)?;
        may_write(&c, &mid)?;
        let hours = match c.args.get(2) {
            None | Some(Value::Null) => publish::DEFAULT_EOL.as_secs() / 3600,
            Some(v) => v
                .as_i64()
                .or_else(|| {
                    v.as_str()
                        .and_then(|t| t.trim_end_matches('h').parse().ok())
                })
                .and_then(|h| u64::try_from(h).ok())
                .filter(|h| (1..=24 * 365).contains(h))
                .ok_or_else(|| ApiError::BadArguments {
                    function: c.entry.name,
                    message: "argument 3 (eolHours) must be a number of hours from 1 to 8760"
                        .into(),
                })?,
        };
        let p =
            publish::publish(net(&c)?, c.state, &mid, Duration::from_secs(hours * 3600)).await?;
        if leither {
            return Ok(dht_reply(format!(
                "published version {} of {mid} (EOL {hours}h) to {} DHT peers, pushed to {} providers",
                p.version, p.dht_peers, p.pushed
            )));
        }
        Ok(Value::map([
            ("mid", s(mid)),
            ("version", Value::Int(p.version as i64)),
            ("seq", Value::Int(p.seq as i64)),
            ("eol", s(format!("{hours}h"))),
            ("dhtPeers", Value::Int(p.dht_peers as i64)),
            ("pushed", Value::Int(p.pushed as i64)),
        ]))
    })
}

/// `MiMeiUnpublish(sid, mid)`. Leither's form
/// takes `dhts` after the sid and answers `[]DhtReply`.
pub fn mm_unpublish(mut c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        let leither = drop_dhts(&mut c, 0);
        c.arity(2, 2)?;
        let mid = mid_arg(&c, 1)?;
        may_write(&c, &mid)?;
        publish::unpublish(net(&c)?, c.state, &mid)?;
        if leither {
            return Ok(dht_reply(format!("unpublished {mid}")));
        }
        Ok(Value::Bool(true))
    })
}

/// `MiMeiProvide(sid, mid)`: announces this node as a provider (the Mimei must be here). Leither's form
/// takes `dhts` after the sid and answers `[]DhtReply`.
pub fn mm_provide(mut c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        let leither = drop_dhts(&mut c, 0);
        c.arity(2, 2)?;
        let mid = mid_arg(&c, 1)?;
        Mimeis::new(&c.state.store).header(&mid)?;
        may_provide(&c, &mid)?;
        net(&c)?.provide(sync::provider_key(&mid)).await?;
        if leither {
            return Ok(dht_reply(format!("provided {mid}")));
        }
        Ok(Value::Bool(true))
    })
}

/// `MiMeiUnprovide(sid, mid)`. Leither's form
/// takes `dhts` after the sid and answers `[]DhtReply`.
pub fn mm_unprovide(mut c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        let leither = drop_dhts(&mut c, 0);
        c.arity(2, 2)?;
        let mid = mid_arg(&c, 1)?;
        may_provide(&c, &mid)?;
        net(&c)?.unprovide(sync::provider_key(&mid))?;
        if heads::get(c.state, &mid)?.is_some() {
            heads::set_flags(c.state, &mid, Some(false), None)?;
        }
        if leither {
            return Ok(dht_reply(format!("unprovided {mid}")));
        }
        Ok(Value::Bool(true))
    })
}

/// `MiMeiFindProvs(sid, mid)`: `{version, providers: [{peer, addrs}]}`; version is the newest
/// verified head's (0 when none is known). Leither's `MiMeiFindProvs(sid, dhts, mid, count)`
/// answers its `Ver2ProvsInfo`, `{version: [{ID, Addrs}]}`, with at most `count` providers.
pub fn mm_find_provs(mut c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        let leither = drop_dhts(&mut c, 0);
        let count = if leither {
            let n = c.args.get(2).and_then(Value::as_i64).filter(|n| *n > 0);
            c.args.truncate(2);
            n.map(|n| n as usize)
        } else {
            None
        };
        c.arity(2, 2)?;
        let mid = mid_arg(&c, 1)?;
        let n = net(&c)?;
        let provs = n.providers(sync::provider_key(&mid)).await?;
        learn_head(&c, n, &mid).await?;
        let version = heads::get(c.state, &mid)?.map_or(0, |e| e.bundle.version.version());
        if leither {
            let infos = provs
                .into_iter()
                .take(count.unwrap_or(usize::MAX))
                .map(|(p, a)| addr_info(p, a.iter().map(ToString::to_string).collect()))
                .collect();
            return Ok(Value::Map(vec![(version.to_string(), Value::List(infos))]));
        }
        Ok(Value::map([
            ("mid", s(mid)),
            ("version", Value::Int(version as i64)),
            (
                "providers",
                Value::List(
                    provs
                        .into_iter()
                        .map(|(p, a)| Value::map([("peer", s(p)), ("addrs", strs(a))]))
                        .collect(),
                ),
            ),
        ]))
    })
}

fn progress_value(job: &sync::Job) -> Value {
    let p = job.progress();
    let (state, error) = match job.result() {
        None => ("running", String::new()),
        Some(Ok(_)) => ("done", String::new()),
        Some(Err(e)) => ("failed", e),
    };
    Value::map([
        ("state", s(state)),
        ("error", Value::Str(error)),
        ("version", Value::Int(p.version as i64)),
        ("blocksKnown", Value::Int(p.blocks_known as i64)),
        ("blocksDone", Value::Int(p.blocks_done as i64)),
        ("fetched", Value::Int(p.fetched as i64)),
        ("bytes", Value::Int(p.bytes as i64)),
        ("providers", Value::Int(p.providers as i64)),
        ("secs", Value::Float(job.elapsed())),
        ("refs", refs_value(job)),
    ])
}

/// How following the version's references went: `{total, done, failed, errors}` (all 0 and
/// `[]` until the sync ends, or when the head carries no references). A failed reference
/// does not fail the sync; it is listed here.
fn refs_value(job: &sync::Job) -> Value {
    let r = match job.result() {
        Some(Ok(rep)) => rep.refs,
        _ => sync::RefsReport::default(),
    };
    Value::map([
        ("total", Value::Int(r.total as i64)),
        ("done", Value::Int(r.done as i64)),
        ("failed", Value::Int(r.failed as i64)),
        (
            "errors",
            Value::List(r.errors.into_iter().map(Value::Str).collect()),
        ),
    ])
}

/// `MiMeiSync(sid, mid, [node], [mode])`: mode `wait` (default) syncs and answers the
/// report; `start` starts (or joins) a sync in the background; `status` answers the progress
/// of the running or last sync.
///
/// Leither's `MiMeiSync(sid, dhts, mid, param)` takes a map of strings: `node` and `mode` as
/// above.
pub fn mm_sync(mut c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        if drop_dhts(&mut c, 0)
            && let Some(Value::Map(param)) = c.args.get(2).cloned()
        {
            let get = |k: &str| {
                param
                    .iter()
                    .find(|(pk, _)| pk == k)
                    .map_or(Value::Null, |(_, v)| v.clone())
            };
            c.args.truncate(2);
            c.args.push(get("node"));
            c.args.push(get("mode"));
        }
        c.arity(2, 4)?;
        let mid = mid_arg(&c, 1)?;
        let n = net(&c)?;
        let node = c
            .opt_str_arg(2, "node")?
            .filter(|t| !t.is_empty())
            .map(str::to_string);
        let mode = c.opt_str_arg(3, "mode")?.unwrap_or("wait");
        match mode {
            "status" => match n.inner.sync.get(&mid) {
                Some(job) => Ok(progress_value(&job)),
                None => Err(ApiError::NotFound(format!(
                    "no sync of Mimei {mid} has run since the node started"
                ))),
            },
            "start" => Ok(progress_value(&sync::start(n, mid, node))),
            "wait" | "" => {
                let job = sync::start(n, mid, node);
                match job.wait().await {
                    Ok(_) => Ok(progress_value(&job)),
                    Err(e) => Err(ApiError::Net(Box::new(NetError::Sync(e)))),
                }
            }
            other => Err(ApiError::BadArguments {
                function: c.entry.name,
                message: format!(
                    "argument 4 (mode) must be \"wait\", \"start\" or \"status\", got \"{}\"",
                    super::truncate(other, 20)
                ),
            }),
        }
    })
}

/// `MiMeiShow(sid, mid)`: `mminfo` plus `net` (the newest verified head), `conflict` and
/// `compare` (local last against the net's version).
pub fn mm_show(mut c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        drop_dhts(&mut c, 0);
        c.arity(2, 2)?;
        let mid = mid_arg(&c, 1)?;
        let local = match info(&c, &mid, false) {
            Ok(v) => Some(v),
            Err(ApiError::Mimei(crate::mimei::store::MimeiStoreError::NotFound(_))) => None,
            Err(e) => return Err(e),
        };
        if let Some(n) = c.state.net() {
            learn_head(&c, n, &mid).await?;
        }
        let head = heads::get(c.state, &mid)?;
        if local.is_none() && head.is_none() {
            return Err(ApiError::NotFound(format!(
                "Mimei {mid} is neither on this node nor published in the network"
            )));
        }
        let m = Mimeis::new(&c.state.store);
        let local_last = m
            .versions(&mid)
            .ok()
            .and_then(|v| v.last().map(|r| r.version()))
            .unwrap_or(0);
        let mut out = match local {
            Some(Value::Map(entries)) => entries,
            _ => vec![("mid".to_string(), s(mid))],
        };
        let (net_v, conflict, compare) = match &head {
            None => (
                Value::Null,
                String::new(),
                format!("local last= {local_last}, not published in the network"),
            ),
            Some(e) => {
                let h = &e.bundle.head;
                let ver = e.bundle.version.version();
                let root = Cid::from_bytes(e.bundle.version.root_cid())
                    .map(|c| c.to_string())
                    .unwrap_or_default();
                let conflict = match m.version(&mid, ver) {
                    Ok(r) if r.root_cid() != e.bundle.version.root_cid() => format!(
                        "version {ver}: local cid {} but net cid {root}",
                        Cid::from_bytes(r.root_cid())
                            .map(|c| c.to_string())
                            .unwrap_or_default()
                    ),
                    _ => String::new(),
                };
                let compare = match local_last.cmp(&ver) {
                    std::cmp::Ordering::Less => format!(
                        "local last= {local_last} < net last= {ver}: the net is newer, `leither mimei sync {mid}` fetches it"
                    ),
                    std::cmp::Ordering::Equal => {
                        format!("local last= {local_last} = net last= {ver}: up to date")
                    }
                    std::cmp::Ordering::Greater => format!(
                        "local last= {local_last} > net last= {ver}: this node is newer, `leither mimei publish {mid}` publishes it"
                    ),
                };
                (
                    Value::map([
                        ("ver", Value::Int(ver as i64)),
                        ("cid", Value::Str(root)),
                        ("seq", Value::Int(h.seq() as i64)),
                        ("eol", Value::Int(h.eol() as i64)),
                        ("signer", s(h.signer())),
                        ("follow", Value::Bool(e.follow)),
                        ("publish", Value::Bool(e.publish)),
                    ]),
                    conflict,
                    compare,
                )
            }
        };
        out.push(("net".to_string(), net_v));
        out.push(("conflict".to_string(), Value::Str(conflict)));
        out.push(("compare".to_string(), Value::Str(compare)));
        Ok(Value::Map(out))
    })
}

/// `GetVar(sid, "netstats")`: bitswap counters, and Lever's forwarding streams.
pub fn stats(c: &Call<'_>) -> Value {
    let Some(n) = c.state.net() else {
        return Value::Null;
    };
    let st = n.bitswap().stats();
    #[allow(unused_mut)]
    let mut v = vec![
        ("blocksSent", Value::Int(st.blocks_sent as i64)),
        ("bytesSent", Value::Int(st.bytes_sent as i64)),
        ("wireSent", Value::Int(st.wire_sent as i64)),
        ("blocksReceived", Value::Int(st.blocks_received as i64)),
        ("bytesReceived", Value::Int(st.bytes_received as i64)),
        ("wireReceived", Value::Int(st.wire_received as i64)),
        ("unsolicited", Value::Int(st.unsolicited as i64)),
        ("peers", Value::Int(n.peers().len() as i64)),
    ];
    // The streams this node forwards Lever calls on (docs/lever.md, "Stream reuse").
    #[cfg(feature = "lever")]
    {
        let l = c.state.lever.forward_stats();
        v.push(("leverStreamsOpened", Value::Int(l.opened as i64)));
        v.push(("leverCallsReused", Value::Int(l.reused as i64)));
        v.push(("leverStreamsIdle", Value::Int(l.idle as i64)));
    }
    Value::map(v)
}

/// The IP of a multiaddr's first `/ip4` or `/ip6` part.
fn ip_of(a: &libp2p::Multiaddr) -> Option<std::net::IpAddr> {
    use libp2p::multiaddr::Protocol;
    a.iter().find_map(|p| match p {
        Protocol::Ip4(ip) => Some(ip.into()),
        Protocol::Ip6(ip) => Some(ip.into()),
        _ => None,
    })
}

/// `GetVar` `ips`: the IPs of our listen addresses (none when the swarm is off).
pub fn local_ips(c: &Call<'_>) -> Vec<String> {
    let Some(n) = c.state.net() else {
        return Vec::new();
    };
    n.local_addrs()
        .iter()
        .filter_map(|a| a.parse::<libp2p::Multiaddr>().ok())
        .filter_map(|a| ip_of(&a))
        .map(|ip| ip.to_string())
        .collect()
}

/// `GetVar` `nodeinfos` after our own: the connected peers, `{peerid, id, addr, agent}`.
pub fn peer_infos(c: &Call<'_>) -> Vec<Value> {
    let Some(n) = c.state.net() else {
        return Vec::new();
    };
    n.peers()
        .into_iter()
        .map(|i| {
            let id = crate::net::leither_id_of(&i.peer)
                .map(|id| id.to_string())
                .unwrap_or_default();
            Value::map([
                ("peerid", s(i.peer)),
                ("id", Value::Str(id)),
                ("addr", s(i.addr)),
                ("agent", s(i.agent.unwrap_or_default())),
            ])
        })
        .collect()
}

/// `GetVar(sid, "mmprovsips", mid)`: the IPs of the Mimei's providers, `{peerid: [ip]}`
/// (the DHT gives multiaddrs; Leither's clients want the hosts).
pub async fn prov_ips(c: &Call<'_>) -> Result<Value, ApiError> {
    c.arity(3, 3)?;
    let mid = mid_arg(c, 2)?;
    let provs = net(c)?.providers(sync::provider_key(&mid)).await?;
    Ok(Value::Map(
        provs
            .into_iter()
            .map(|(p, addrs)| {
                let mut ips: Vec<String> = Vec::new();
                for ip in addrs.iter().filter_map(ip_of) {
                    let t = ip.to_string();
                    if !ips.contains(&t) {
                        ips.push(t);
                    }
                }
                (p.to_string(), strs(ips))
            })
            .collect(),
    ))
}

/// Most values one user keeps in the DHT from this node.
pub const MAX_VALUES_PER_USER: usize = 64;

/// How long a put value lives in the DHT (put it again to keep it).
const VALUE_TTL: Duration = Duration::from_secs(36 * 3600);

/// Most keys one `DhtGets` asks for.
const MAX_GETS: usize = 16;

/// The full `ID/name` of key argument `i`: a bare name is in the caller's namespace (a
/// guest's: the node's). With `write`, a namespace other than the caller's is refused.
fn value_key(c: &Call<'_>, i: usize, write: bool) -> Result<String, ApiError> {
    let key = c.str_arg(i, "key")?;
    let session = c.session.as_ref().ok_or(ApiError::SessionExpired)?;
    let own = if session.uid.is_empty() {
        c.state.key.id().to_string()
    } else {
        session.uid.clone()
    };
    let bad = |message: String| ApiError::BadArguments {
        function: c.entry.name,
        message,
    };
    let full = match key.split_once('/') {
        Some((id, _)) if id.len() == crate::pki::LeitherId::TEXT_LEN => key.to_string(),
        _ => format!("{own}/{key}"),
    };
    let (ns, _) = values::split_key(&full).map_err(bad)?;
    if write && ns.to_string() != own {
        return Err(bad(format!(
            "you may put values only in your own namespace: give a bare name or {own}/name \
             (the key names {ns}'s)"
        )));
    }
    Ok(full)
}

/// Every verified value of `key` in the DHT (our store included), the best first.
async fn values_of(n: &Net, key: &str) -> Result<Vec<values::Signed>, ApiError> {
    let rk = values::record_key(key);
    let owner = values::split_key(key).map(|(id, _)| id).ok();
    let mut found: Vec<values::Signed> = Vec::new();
    for (_, bytes) in n.get_records(rk.clone()).await? {
        if let Ok(v) = values::open(&rk, &bytes)
            && !found.contains(&v)
        {
            found.push(v);
        }
    }
    if let Some(owner) = owner {
        found.sort_by_key(|v| std::cmp::Reverse((v.signer == owner, v.time)));
    }
    Ok(found)
}

fn text(v: &values::Signed) -> Value {
    Value::Str(String::from_utf8_lossy(&v.value).into_owned())
}

/// `DhtPutValue(sid, dhts, key, value)`: signs the value with the node key and puts it in
/// the DHT under `ID/name` (the caller's namespace). Returns `{key, peers}`.
pub fn dht_put_value(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(4, 4)?;
        let key = value_key(&c, 2, true)?;
        let value = match c.args.get(3) {
            Some(Value::Bytes(b)) => b.clone(),
            _ => c.str_arg(3, "value")?.as_bytes().to_vec(),
        };
        let n = net(&c)?;
        let rk = values::record_key(&key);
        let (ns, _) = values::split_key(&key).map_err(ApiError::Internal)?;
        let me = c.state.key.id();
        let mine = n
            .local_records(values::record_key(&format!("{ns}/")))
            .await?;
        let held = mine
            .iter()
            .filter(|(k, v)| values::open(k, v).is_ok_and(|s| s.signer == me))
            .count();
        let owner = c
            .session
            .as_ref()
            .is_some_and(|s| s.rights == crate::api::Rights::Owner);
        // QuotaDhtValues (docs/security.md); the owner keeps the fixed bound of the table.
        let limit = if owner {
            MAX_VALUES_PER_USER
        } else {
            let q = crate::accounts::quota::Quota::DhtValues;
            c.state.vars.borrow().quotas.limit(q) as usize
        };
        if held >= limit && !mine.iter().any(|(k, _)| *k == rk) {
            return Err(ApiError::Busy(format!(
                "{ns} already keeps {limit} values in the DHT from this node (quota \
                 QuotaDhtValues, UCI quota_dht_values); let some expire (36 h) or reuse their keys"
            )));
        }
        let sealed = values::seal(&c.state.key, &rk, &value, crate::clock::unix_ms() * 1000)
            .map_err(|message| ApiError::BadArguments {
                function: c.entry.name,
                message,
            })?;
        let peers = n.put_record(rk, sealed, VALUE_TTL).await?;
        Ok(Value::map([
            ("key", Value::Str(key)),
            ("peers", Value::Int(peers as i64)),
        ]))
    })
}

/// `DhtGetValue(sid, dhts, key)`: the value of a key (signed by the namespace's own node
/// first, then the newest).
pub fn dht_get_value(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(3, 3)?;
        let key = value_key(&c, 2, false)?;
        let found = values_of(net(&c)?, &key).await?;
        found
            .first()
            .map(text)
            .ok_or_else(|| ApiError::NotFound(format!("no value for {key} in the DHT")))
    })
}

/// `DhtGet(sid, key)`: every verified value of a key, the best first.
pub fn dht_get(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(2, 2)?;
        let key = value_key(&c, 1, false)?;
        let found = values_of(net(&c)?, &key).await?;
        Ok(Value::List(found.iter().map(text).collect()))
    })
}

/// `DhtGets(sid, keys...)`: `{key: [values]}` for up to 16 keys.
pub fn dht_gets(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(2, 1 + MAX_GETS)?;
        let n = net(&c)?;
        let mut out = Vec::new();
        for i in 1..c.args.len() {
            let asked = c.str_arg(i, "key")?.to_string();
            let key = value_key(&c, i, false)?;
            let found = values_of(n, &key).await?;
            out.push((asked, Value::List(found.iter().map(text).collect())));
        }
        Ok(Value::Map(out))
    })
}

/// `DhtGetAllKeys(sid)`: the keys (`ID/name`) of the values this node keeps.
pub fn dht_get_all_keys(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(1, 1)?;
        let held = net(&c)?.local_records(values::KEY_PREFIX.to_vec()).await?;
        let mut keys: Vec<String> = held
            .iter()
            .filter(|(k, v)| values::open(k, v).is_ok())
            .filter_map(|(k, _)| values::user_key(k).map(str::to_string))
            .collect();
        keys.sort();
        Ok(strs(keys))
    })
}

/// `DhtNetworkSize(sid, [dhts])`: the peers in our routing table plus this node (a lower
/// bound of the network's size).
pub fn dht_network_size(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(1, 2)?;
        Ok(Value::Int(net(&c)?.table_size().await? as i64 + 1))
    })
}
