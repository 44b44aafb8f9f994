//! `init`, `run`, `stop`, `version`: making a home and running its node.

use std::path::Path;

use argh::FromArgs;

use super::CliError;
use crate::home::{self, InitChanges};
use crate::node::{self, RunOutcome};

/// Create the node's home, or change its settings (the node key is kept).
#[derive(FromArgs)]
#[argh(subcommand, name = "init")]
pub struct Init {
    /// HTTP port (default 4800; 0 picks a free port at each start)
    #[argh(option, short = 'p')]
    port: Option<u16>,
    /// bootstrap peers, comma separated ("" for none)
    #[argh(option, short = 'b')]
    bootstrap: Option<String>,
    /// the address to listen on (default 0.0.0.0: every interface; 127.0.0.1: this machine only)
    #[argh(option, short = 'l')]
    listen: Option<std::net::IpAddr>,
}

impl Init {
    /// Runs `init`.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        let changes = InitChanges {
            port: self.port,
            listen: self.listen.map(|a| a.to_string()),
            bootstrap: self.bootstrap.map(|b| {
                b.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            }),
        };
        let changed_port = self.port;
        let r = home::init(home, &changes).map_err(CliError::Home)?;
        println!("home: {}", home.display());
        println!(
            "SystemVars.json {}: ServicePort {}, Bootstrap [{}]",
            if r.new_vars { "created" } else { "updated" },
            r.vars.service_port,
            r.vars.bootstrap.join(", ")
        );
        println!(
            "hostkey.cfg {}: node id {}",
            if r.new_key { "created" } else { "kept" },
            r.key.id()
        );
        if crate::daemon::is_running(home)
            && (changed_port.is_some() || changes.bootstrap.is_some() || changes.listen.is_some())
        {
            println!(
                "a node is running on this home: restart it to apply (`leither stop`, `leither run -d`)"
            );
        }
        println!("init ok");
        Ok(())
    }
}

/// Run the node (in the foreground; -d to detach).
#[derive(FromArgs)]
#[argh(subcommand, name = "run")]
pub struct Run {
    /// detach: run in the background, logging to Leither.log
    #[argh(switch, short = 'd')]
    detach: bool,
}

impl Run {
    /// Runs `run`.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        match node::run(home, self.detach).map_err(CliError::Node)? {
            RunOutcome::Stopped => Ok(()),
            RunOutcome::Detached { pid, addr, notes } => {
                println!("Leither node started: pid {pid}, listening on {addr}");
                for n in notes {
                    println!("{n}");
                }
                println!("log: {}", home.join(crate::log::FILE_NAME).display());
                Ok(())
            }
        }
    }
}

/// Stop the node running on this home (gracefully).
#[derive(FromArgs)]
#[argh(subcommand, name = "stop")]
pub struct Stop {}

impl Stop {
    /// Runs `stop`.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        let pid = crate::daemon::stop(home)
            .map_err(|e| CliError::Node(crate::node::NodeError::Daemon(e)))?;
        println!("Leither node stopped (pid {pid})");
        Ok(())
    }
}

/// Print the version.
#[derive(FromArgs)]
#[argh(subcommand, name = "version")]
pub struct Version {}

impl Version {
    /// Runs `version`.
    pub fn run(self) -> Result<(), CliError> {
        println!(
            "leither {} ({}-{})",
            crate::api::fns_node::VERSION,
            std::env::consts::ARCH,
            std::env::consts::OS
        );
        Ok(())
    }
}
