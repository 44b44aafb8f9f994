//! `swarm`: the node in the network. This part: `swarm id`.

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
