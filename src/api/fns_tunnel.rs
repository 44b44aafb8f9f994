//! Leither's tunnel functions (docs/network.md, "The HTTP tunnel"): `OpenTunnel` and
//! `CloseTunnel` on the node behind a NAT, `RequestNodeTunnel` on the public node, and
//! `SetExtAddr`, the address this node is reachable at from outside.

use super::{ApiError, ApiFuture, Call, Value};
use crate::net::{Net, NetError, tunnel};

fn net<'a>(c: &'a Call<'_>) -> Result<&'a Net, ApiError> {
    c.state.net().ok_or(ApiError::Net(Box::new(NetError::Off)))
}

/// The public node named by `sUrl`: a multiaddr ending in `/p2p/<PeerId>` (dialled), a
/// PeerId or a Leither ID the node knows.
async fn server_of(c: &Call<'_>, s: &str) -> Result<libp2p::PeerId, ApiError> {
    let n = net(c)?;
    let s = s.trim();
    if s.starts_with("http://") || s.starts_with("https://") {
        return Err(ApiError::BadArguments {
            function: c.entry.name,
            message: "sUrl: name the public node by its libp2p address (/ip4/HOST/tcp/PORT/p2p/PEERID) or PeerId; an http:// URL does not say which peer it is".into(),
        });
    }
    if s.starts_with('/') {
        return Ok(n.connect(s).await?);
    }
    Ok(crate::net::parse_peer(n, s)?)
}

/// `OpenTunnel(sid, sUrl, uuid, tagurl)`: asks the public node `sUrl` to carry HTTP for this
/// node; answers the tunnel's URL there (`http://HOST:PORT/tun/<PeerId>`). `tagurl` must be
/// empty or name this node: a tunnel carries requests to this node's own routes only.
pub fn open(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(2, 4)?;
        let s_url = c.str_arg(1, "sUrl")?.to_string();
        let uuid = c.opt_str_arg(2, "uuid")?.unwrap_or("").to_string();
        if uuid.len() > 128 {
            return Err(ApiError::BadArguments {
                function: c.entry.name,
                message: "uuid: at most 128 bytes".into(),
            });
        }
        let server = server_of(&c, &s_url).await?;
        Ok(Value::Str(tunnel::open(net(&c)?, server, &uuid).await?))
    })
}

/// `CloseTunnel(sid, sUrl, turl)`: closes this node's tunnel on `sUrl` (or the one whose URL
/// is `turl`); answers null, or an error when there was none.
pub fn close(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(2, 3)?;
        let n = net(&c)?;
        let s_url = c.str_arg(1, "sUrl")?.to_string();
        let turl = c.opt_str_arg(2, "turl")?.unwrap_or("").to_string();
        let by_url = tunnel::opened(n)
            .into_iter()
            .find(|(_, u, _)| {
                !turl.is_empty()
                    && (u == &turl || u.trim_end_matches('/') == turl.trim_end_matches('/'))
            })
            .map(|(p, _, _)| p);
        let server = match by_url {
            Some(p) => p,
            None => server_of(&c, &s_url).await?,
        };
        if tunnel::close(n, &server) {
            Ok(Value::Null)
        } else {
            Err(NetError::NotFound(format!("this node has no tunnel open on {server}")).into())
        }
    })
}

/// `RequestNodeTunnel(sid, node)`: on a public node, the path of the tunnel it carries for
/// `node` (a Leither ID or PeerId), `/tun/<PeerId>`; an error when it carries none.
pub fn request_node(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(2, 2)?;
        let n = net(&c)?;
        let node = c.str_arg(1, "node")?;
        let want_id = node.parse::<crate::pki::LeitherId>().ok();
        let found = tunnel::served(n).into_iter().find(|(p, _, _)| {
            p.to_string() == node || (want_id.is_some() && crate::net::leither_id_of(p) == want_id)
        });
        match found {
            Some((p, _, _)) => Ok(Value::Str(format!("/tun/{p}"))),
            None => Err(NetError::NotFound(format!(
                "this node carries no tunnel for {}",
                super::truncate(node, 80)
            ))
            .into()),
        }
    })
}

/// Most addresses `SetExtAddr` keeps in `FixedAddr`.
const MAX_FIXED: usize = 16;

/// `SetExtAddr(sid, addr)`: an address this node is reachable at from outside (a port
/// forward, a public IP): `http://HOST:PORT` (offered on DNN pages), a multiaddr (announced
/// to libp2p peers at once), or `HOST:PORT` (as `http://HOST:PORT`). Kept in `FixedAddr`.
pub fn set_ext_addr(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(2, 2)?;
        let raw = c.str_arg(1, "addr")?.trim().to_string();
        let entry = if raw.starts_with("http://") || raw.starts_with("https://") {
            if crate::dnn::reporter::url_offer(&raw).is_none() {
                return Err(bad_addr(&c, "not an http(s)://HOST:PORT URL"));
            }
            raw
        } else if raw.starts_with('/') {
            let m = crate::net::parse_addr(&raw)?;
            net(&c)?.add_external(m.clone());
            m.to_string()
        } else {
            let url = format!("http://{raw}");
            if crate::dnn::reporter::url_offer(&url).is_none() || !raw.contains(':') {
                return Err(bad_addr(
                    &c,
                    "give http://HOST:PORT, HOST:PORT or a multiaddr",
                ));
            }
            url
        };
        let mut vars = c.state.vars.borrow().clone();
        if !vars.fixed_addr.contains(&entry) {
            if vars.fixed_addr.len() >= MAX_FIXED {
                return Err(bad_addr(&c, "FixedAddr holds 16 addresses already"));
            }
            vars.fixed_addr.push(entry);
            crate::config::save(&c.state.home, &vars).map_err(|e| {
                ApiError::Internal(format!("SetExtAddr: saving SystemVars.json failed: {e}"))
            })?;
            *c.state.vars.borrow_mut() = vars;
        }
        Ok(Value::Null)
    })
}

fn bad_addr(c: &Call<'_>, why: &str) -> ApiError {
    ApiError::BadArguments {
        function: c.entry.name,
        message: format!("addr: {why}"),
    }
}
