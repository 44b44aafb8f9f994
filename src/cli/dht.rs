//! `dht findpeer|provide`: the DHT, through `DhtFindPeer` and `DhtProvide`.

use std::path::Path;

use argh::FromArgs;

use super::CliError;
use super::client::Client;
use crate::api::Value;

/// The Kademlia DHT the node shares with IPFS peers.
#[derive(FromArgs)]
#[argh(subcommand, name = "dht")]
pub struct Dht {
    #[argh(subcommand)]
    cmd: DhtCmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum DhtCmd {
    FindPeer(FindPeer),
    Provide(Provide),
}

/// Print the addresses of a peer, one per line (a PeerId or a 27-character Leither ID).
#[derive(FromArgs)]
#[argh(subcommand, name = "findpeer")]
struct FindPeer {
    /// the peer
    #[argh(positional)]
    id: String,
    /// another node, by URL (default: the node on this home)
    #[argh(option, short = 'n')]
    node: Option<String>,
}

/// Announce that this node provides a CID it has.
#[derive(FromArgs)]
#[argh(subcommand, name = "provide")]
struct Provide {
    /// the CID
    #[argh(positional)]
    cid: String,
    /// another node, by URL (default: the node on this home)
    #[argh(option, short = 'n')]
    node: Option<String>,
}

impl Dht {
    /// Runs a `dht` command.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        let node = match &self.cmd {
            DhtCmd::FindPeer(c) => c.node.clone(),
            DhtCmd::Provide(c) => c.node.clone(),
        };
        let mut c = Client::new(home, node.as_deref(), None)?;
        let sid = Value::Str(c.login(true)?);
        match self.cmd {
            DhtCmd::FindPeer(a) => {
                let v = c.call("DhtFindPeer", vec![sid, Value::from(a.id.as_str())])?;
                for addr in super::swarm::list(&v) {
                    println!("{addr}");
                }
            }
            DhtCmd::Provide(a) => {
                c.call("DhtProvide", vec![sid, Value::from(a.cid.as_str())])?;
                println!("provide {} ok", a.cid);
            }
        }
        Ok(())
    }
}
