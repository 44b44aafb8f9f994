//! `node`: nodes that trust each other, as their owners type it (docs/cli.md): `invite`,
//! `accept`, `invites`, `uninvite`, `nodes`, through the owner-only `Invite`, `Accept`,
//! `ListInvites`, `DelInvite` and `ListNodes` of the running node, signed in with the node
//! key (docs/security.md, "Nodes that trust each other").

use std::path::Path;

use argh::FromArgs;

use super::CliError;
use super::client::Client;
use crate::accounts::invite::Invitation;
use crate::api::Value;

/// Nodes that trust each other: invitations between node owners.
#[derive(FromArgs)]
#[argh(subcommand, name = "node")]
pub struct Node {
    #[argh(subcommand)]
    cmd: NodeCmd,
}

#[derive(FromArgs)]
#[argh(subcommand)]
enum NodeCmd {
    Invite(Invite),
    Accept(Accept),
    Invites(Invites),
    Uninvite(Uninvite),
    Nodes(Nodes),
}

/// Make an invitation another node's owner accepts (`leither node accept CODE`); prints the
/// code.
#[derive(FromArgs)]
#[argh(subcommand, name = "invite")]
struct Invite {
    /// how long it is valid, in hours (1 to 720; default 24)
    #[argh(option, default = "24")]
    hours: u64,
    /// how many nodes may use it (1 to 1000; default 1)
    #[argh(option, default = "1")]
    count: u64,
    /// the credit granted to the nodes it admits (recorded; default 0)
    #[argh(option, default = "0")]
    credit: u64,
}

/// Accept another node's invitation: that node admits this one, and this one admits it.
#[derive(FromArgs)]
#[argh(subcommand, name = "accept")]
struct Accept {
    /// the code `leither node invite` printed on the other node
    #[argh(positional)]
    code: String,
}

/// List the outstanding invitations: nonce, uses left of the count, expiry, credit.
#[derive(FromArgs)]
#[argh(subcommand, name = "invites")]
struct Invites {}

/// Withdraw an outstanding invitation (by its nonce, or its first 6 or more characters).
#[derive(FromArgs)]
#[argh(subcommand, name = "uninvite")]
struct Uninvite {
    /// the invitation's nonce, as `leither node invites` lists it
    #[argh(positional)]
    nonce: String,
}

/// List the nodes this node trusts by invitation: ID, admitted or not, how, addresses.
#[derive(FromArgs)]
#[argh(subcommand, name = "nodes")]
struct Nodes {}

impl Node {
    /// Runs `node <command>`.
    pub fn run(self, home: &Path) -> Result<(), CliError> {
        let mut c = Client::new(home, None, None)?;
        let sid = Value::Str(c.login(true)?);
        match self.cmd {
            NodeCmd::Invite(i) => {
                let code = c.call(
                    "Invite",
                    vec![
                        sid,
                        Value::Int(i.hours as i64),
                        Value::Int(i.credit.min(i64::MAX as u64) as i64),
                        Value::Int(i.count.min(i64::MAX as u64) as i64),
                    ],
                )?;
                let code = code
                    .as_str()
                    .ok_or_else(|| CliError::Http("Invite answered no code".into()))?;
                println!("{code}");
                if let Ok(inv) = Invitation::parse(code) {
                    eprintln!(
                        "invitation {} for {} node(s), valid until {}; the other node's owner \
                         runs `leither node accept CODE`",
                        inv.nonce_text(),
                        inv.count,
                        crate::clock::iso8601(inv.expires as i64)
                    );
                }
            }
            NodeCmd::Accept(a) => {
                let inv = Invitation::parse(&a.code).map_err(|e| CliError::Usage(e.to_string()))?;
                c.call("Accept", vec![sid, Value::Str(a.code.trim().to_string())])?;
                println!(
                    "accept ok: {} and this node are users of each other",
                    inv.inviter()
                );
            }
            NodeCmd::Invites(_) => {
                let v = c.call("ListInvites", vec![sid])?;
                for r in list(&v) {
                    let int = |k| r.get(k).and_then(Value::as_i64).unwrap_or(0);
                    println!(
                        "{}  {}/{} left  until {}  credit {}",
                        r.get("nonce").and_then(Value::as_str).unwrap_or(""),
                        int("left"),
                        int("count"),
                        crate::clock::iso8601(int("expires")),
                        r.get("credit").and_then(Value::as_str).unwrap_or("0")
                    );
                }
            }
            NodeCmd::Uninvite(u) => {
                let v = c.call("DelInvite", vec![sid, Value::Str(u.nonce)])?;
                println!(
                    "uninvite ok: {} withdrawn",
                    v.get("nonce").and_then(Value::as_str).unwrap_or("")
                );
            }
            NodeCmd::Nodes(_) => {
                let v = c.call("ListNodes", vec![sid])?;
                for r in list(&v) {
                    let addrs: Vec<&str> = list(r.get("addrs").unwrap_or(&Value::Null))
                        .iter()
                        .filter_map(|a| a.as_str())
                        .collect();
                    let admitted = matches!(r.get("admitted"), Some(Value::Bool(true)));
                    println!(
                        "{}  {}  {}  {}",
                        r.get("id").and_then(Value::as_str).unwrap_or(""),
                        if admitted { "user" } else { "not-admitted" },
                        r.get("how").and_then(Value::as_str).unwrap_or(""),
                        addrs.join(",")
                    );
                }
            }
        }
        Ok(())
    }
}

fn list(v: &Value) -> &[Value] {
    match v {
        Value::List(l) => l,
        _ => &[],
    }
}
