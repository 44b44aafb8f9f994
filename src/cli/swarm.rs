//! `swarm`: the node in the network: `id`, `local`, `addrs`, `peers`, `connect`,
//! `disconnect`, `filters`, through `GetVar` and the `Swarm*` functions.
//!
//! Output is what scripts expect of `ipfs swarm`: one address (or peer) per line; `peers`
//! prints `MULTIADDR/p2p/PEERID`; `connect` prints `connect PEERID success`.

use std::path::Path;

use argh::FromArgs;

use super::CliError;
use super::client::Client;
use crate::api::Value;

/// The node in the network.
#[derive(FromArgs)]
#[argh(subcommand, name = "swarm")]
pub struct Swarm {
    #[argh(subcommand)]
    cmd: SwarmCmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum SwarmCmd {
    Id(Id),
    #[cfg(feature = "net")]
    Local(Local),
    #[cfg(feature = "net")]
    Addrs(Addrs),
    #[cfg(feature = "net")]
    Peers(Peers),
    #[cfg(feature = "net")]
    Connect(Connect),
    #[cfg(feature = "net")]
    Disconnect(Disconnect),
    #[cfg(feature = "net")]
    Filters(Filters),
}

/// Print the node's libp2p listen addresses, one per line, each with /p2p/<PeerId>.
#[cfg(feature = "net")]
#[derive(FromArgs)]
#[argh(subcommand, name = "local")]
struct Local {
    /// another node, by URL (default: the node on this home)
    #[argh(option, short = 'n')]
    node: Option<String>,
}

/// Print the known addresses of peers (or of one peer, looked up in the DHT if unknown).
#[cfg(feature = "net")]
#[derive(FromArgs)]
#[argh(subcommand, name = "addrs")]
struct Addrs {
    /// a PeerId or Leither ID
    #[argh(positional)]
    peer: Option<String>,
    /// another node, by URL (default: the node on this home)
    #[argh(option, short = 'n')]
    node: Option<String>,
}

/// Print the connected peers, one `MULTIADDR/p2p/PEERID` per line.
#[cfg(feature = "net")]
#[derive(FromArgs)]
#[argh(subcommand, name = "peers")]
struct Peers {
    /// also print each peer's agent (what it runs)
    #[argh(switch, short = 'v')]
    verbose: bool,
    /// another node, by URL (default: the node on this home)
    #[argh(option, short = 'n')]
    node: Option<String>,
}

/// Connect to a peer: /ip4/A/tcp/P/p2p/ID (or host:port).
#[cfg(feature = "net")]
#[derive(FromArgs)]
#[argh(subcommand, name = "connect")]
struct Connect {
    /// the address
    #[argh(positional)]
    addr: String,
    /// another node, by URL (default: the node on this home)
    #[argh(option, short = 'n')]
    node: Option<String>,
}

/// Close the connections to a peer (PeerId, Leither ID, or an address ending in /p2p/ID).
#[cfg(feature = "net")]
#[derive(FromArgs)]
#[argh(subcommand, name = "disconnect")]
struct Disconnect {
    /// the peer
    #[argh(positional)]
    peer: String,
    /// another node, by URL (default: the node on this home)
    #[argh(option, short = 'n')]
    node: Option<String>,
}

/// List address filters, or `add`/`rm` one (/ip4/10.0.0.0/ipcidr/8 or 10.0.0.0/8):
/// connections to and from filtered addresses are refused.
#[cfg(feature = "net")]
#[derive(FromArgs)]
#[argh(subcommand, name = "filters")]
struct Filters {
    /// nothing (list), or add CIDR, or rm CIDR
    #[argh(positional, greedy)]
    words: Vec<String>,
    /// another node, by URL (default: the node on this home)
    #[argh(option, short = 'n')]
    node: Option<String>,
}

/// Print the node's Leither ID and libp2p PeerId, one per line.
#[derive(FromArgs)]
#[argh(subcommand, name = "id")]
struct Id {
    /// another node, by URL (default: the node on this home)
    #[argh(option, short = 'n')]
    node: Option<String>,
}

impl Swarm {
    /// Runs a `swarm` command.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        match self.cmd {
            SwarmCmd::Id(c) => c.run(home),
            #[cfg(feature = "net")]
            SwarmCmd::Local(c) => {
                let (cl, sid) = owner(home, c.node.as_deref())?;
                for a in list(&cl.call("SwarmLocal", vec![sid.clone()])?) {
                    println!("{a}");
                }
                // How the addresses were got, as a comment line (a node without `GetVar nat`,
                // or with nothing to say, prints none).
                if let Ok(nat) = cl.call("GetVar", vec![sid, Value::from("nat")]) {
                    if let Some(mapping) = nat.get("mapping").and_then(Value::as_str) {
                        println!("# port mapping: {mapping}");
                    }
                    if let Some(reach) = nat.get("reach").and_then(Value::as_str) {
                        println!("# reachability (AutoNAT): {reach}");
                    }
                }
                Ok(())
            }
            #[cfg(feature = "net")]
            SwarmCmd::Addrs(c) => {
                let (cl, sid) = owner(home, c.node.as_deref())?;
                let v = cl.call(
                    "SwarmAddrs",
                    vec![sid, Value::from(c.peer.unwrap_or_default().as_str())],
                )?;
                if let Value::Map(m) = v {
                    for (peer, addrs) in m {
                        let addrs = list(&addrs);
                        println!("{peer} ({})", addrs.len());
                        for a in addrs {
                            println!("\t{a}");
                        }
                    }
                }
                Ok(())
            }
            #[cfg(feature = "net")]
            SwarmCmd::Peers(c) => {
                let (cl, sid) = owner(home, c.node.as_deref())?;
                if let Value::List(l) = cl.call("SwarmPeers", vec![sid])? {
                    for p in l {
                        let f = |k| p.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                        if c.verbose {
                            println!("{}/p2p/{} {}", f("addr"), f("peer"), f("agent"));
                        } else {
                            println!("{}/p2p/{}", f("addr"), f("peer"));
                        }
                    }
                }
                Ok(())
            }
            #[cfg(feature = "net")]
            SwarmCmd::Connect(c) => {
                let (cl, sid) = owner(home, c.node.as_deref())?;
                let v = cl.call("SwarmConnect", vec![sid, Value::from(c.addr.as_str())])?;
                println!("connect {} success", v.as_str().unwrap_or(""));
                Ok(())
            }
            #[cfg(feature = "net")]
            SwarmCmd::Disconnect(c) => {
                let (cl, sid) = owner(home, c.node.as_deref())?;
                let peer = c.peer.rsplit("/p2p/").next().unwrap_or(&c.peer).to_string();
                let v = cl.call("SwarmDisconnect", vec![sid, Value::from(peer.as_str())])?;
                if v == Value::Bool(true) {
                    println!("disconnect {peer} success");
                } else {
                    println!("disconnect {peer}: not connected");
                }
                Ok(())
            }
            #[cfg(feature = "net")]
            SwarmCmd::Filters(c) => {
                let (cl, sid) = owner(home, c.node.as_deref())?;
                let mut args = vec![sid];
                let op = c.words.first().map(String::as_str);
                let cidr = c.words.get(1).map(String::as_str);
                match (op, cidr, c.words.len()) {
                    (None, _, _) => {}
                    (Some(op @ ("add" | "rm")), Some(cidr), 2) => {
                        args.push(Value::from(op));
                        args.push(Value::from(cidr));
                    }
                    _ => {
                        return Err(CliError::Usage(
                            "use `swarm filters`, `swarm filters add CIDR` or `swarm filters rm CIDR`".into(),
                        ));
                    }
                }
                let v = cl.call("SwarmFilters", args)?;
                match (op, cidr) {
                    (Some("add"), Some(cidr)) => println!("added {cidr}"),
                    (Some("rm"), Some(cidr)) => println!("removed {cidr}"),
                    _ => {
                        for f in list(&v) {
                            println!("{f}");
                        }
                    }
                }
                Ok(())
            }
        }
    }
}

impl Id {
    fn run(self, home: &Path) -> Result<(), CliError> {
        let local_idle = self.node.is_none() && !crate::daemon::is_running(home);
        if local_idle {
            // No node runs: the identity is the home's key all the same.
            let key_path = home.join(crate::home::KEY_FILE);
            let key = crate::pki::NodeKey::load(&key_path).map_err(CliError::Pki)?;
            println!("{}", key.id());
            println!("{}", key.peer_id());
            return Ok(());
        }
        let mut c = Client::new(home, self.node.as_deref(), None)?;
        let sid = c.login(false)?;
        for var in ["hostid", "peerid"] {
            match c.call("GetVar", vec![Value::Str(sid.clone()), Value::from(var)])? {
                Value::Str(s) => println!("{s}"),
                other => {
                    return Err(CliError::Http(format!(
                        "GetVar {var} gave {}",
                        other.kind()
                    )));
                }
            }
        }
        Ok(())
    }
}

/// A client signed in with the home's node key (the swarm commands change the node).
#[cfg(feature = "net")]
fn owner(home: &Path, node: Option<&str>) -> Result<(Client, Value), CliError> {
    let mut c = Client::new(home, node, None)?;
    let sid = Value::Str(c.login(true)?);
    Ok((c, sid))
}

/// The strings of a list value.
#[cfg(feature = "net")]
pub(super) fn list(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}
