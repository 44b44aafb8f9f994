//! The API table, built from one slice of rows per subsystem (`auth.rs`, `node.rs`, `trust.rs`,
//! `var.rs`, `files.rs`, `mimei.rs`, `db.rs`, `lever.rs`, `script.rs`, `backend.rs`, `net.rs`, `dnn.rs`), so a subsystem's functions are
//! added in its own file. docs/api.md is kept beside it (a test checks that every function
//! here is documented there).

pub mod auth;
#[cfg(feature = "lever")]
pub mod backend;
#[cfg(feature = "files")]
pub mod db;
#[cfg(feature = "files")]
pub mod dnn;
#[cfg(feature = "files")]
pub mod files;
#[cfg(feature = "lever")]
pub mod lever;
#[cfg(feature = "files")]
pub mod mimei;
#[cfg(feature = "net")]
pub mod net;
pub mod node;
#[cfg(feature = "lever")]
pub mod script;
pub mod trust;
pub mod var;

use super::ApiFn;

/// Every subsystem's slice, in the order the function list shows them.
pub static TABLES: &[&[ApiFn]] = &[
    auth::FNS,
    node::FNS,
    trust::FNS,
    var::FNS,
    #[cfg(feature = "files")]
    files::FNS,
    #[cfg(feature = "files")]
    mimei::FNS,
    #[cfg(feature = "files")]
    db::FNS,
    #[cfg(feature = "lever")]
    lever::FNS,
    #[cfg(feature = "lever")]
    script::FNS,
    #[cfg(feature = "lever")]
    backend::FNS,
    #[cfg(feature = "net")]
    net::FNS,
    #[cfg(feature = "files")]
    dnn::FNS,
];

/// Every function of the node, in table order.
pub fn all() -> impl Iterator<Item = &'static ApiFn> {
    TABLES.iter().flat_map(|t| t.iter())
}

/// docs/api.md, generated from the table (a test keeps the file equal to this).
pub fn reference_markdown() -> String {
    let mut s = String::from(
        "# API reference\n\n\
         Generated from `src/api/table/` (`cargo test --test api_doc` checks it; run it with\n\
         `LEITHER_BLESS=1` to rewrite this file after changing the table).\n\n\
         Every function is reachable through every front door with the same name and argument\n\
         order:\n\n\
         - Hprose 2.0/3.0: `POST /webapi/` or WebSocket `/ws/`, e.g. `GetVar(sid, \"ver\")`;\n\
         - JSON: `POST /api/<Function>` with a JSON array of the arguments, e.g.\n  \
         `curl -X POST http://127.0.0.1:4800/api/GetVar -d '[\"SID\",\"ver\"]'`; the result is the\n  \
         JSON body; an error is `{\"error\": message, \"code\": code}` with status 400 (bad\n  \
         arguments or body), 401 (no or expired session, refused pass), 403 (too few rights),\n  \
         404 (unknown function or name), 413/431 (too large), 503 (busy) or 500;\n\
         - CLI: `leither call <Function> [args...]` (the session id is added for you).\n\n\
         Functions marked with a session take the session id from `Login` as their first\n\
         argument.\n\n\
         | function | parameters | access | what it does |\n|---|---|---|---|\n",
    );
    for f in all() {
        s.push_str(&format!(
            "| `{}` | `{}` | {} | {} |\n",
            f.name,
            f.params,
            f.access.describe(),
            f.doc
        ));
    }
    s.push_str(
        "\n`GetVar` names (case-insensitive; the same value is `GetGobVar`'s gob stream and\n\
         `GET /getvar`'s answer): `ver` (version string), `hostid` (the node's 27-character ID),\n\
         `peerid` (libp2p PeerId), `hostpk` (public key, base64url), `userid` (the session's\n\
         user ID, empty for a guest), `userinfo` ({uid, rights, expires} of the session),\n\
         `nodeinfo` (a map: id, peerid, ver, arch, os, started, uptime, port, maxMemoryMB,\n\
         storeBytes, sessions, calls), `nodeinfos` (the list: this node's nodeinfo, then each\n\
         connected peer as {peerid, id, addr, agent}), `ips` (the IPs this node listens on),\n\
         `cpu` ([percent]: the machine's CPU use since the previous read, gopsutil's\n\
         `cpu.Percent(0, false)`), `disk` (gopsutil's UsageStat of the home's file system: path,\n\
         fstype, total, free, used, usedPercent, inodesTotal, inodesUsed, inodesFree,\n\
         inodesUsedPercent; bytes), `virtualmemory` (gopsutil's VirtualMemoryStat from\n\
         /proc/meminfo: total, available, used, usedPercent, free, active, inactive, buffers,\n\
         cached, swapTotal, swapFree, shared; bytes), `systemvars` (owner only: SystemVars.json\n\
         as the node runs it, without keys that look like secrets), `ppt` with an optional\n\
         argument hours (owner only: a pass signed by the node key, valid 1 to 720 hours,\n\
         default 24, in the text form `Login` takes), `netstats` (bitswap counters:\n\
         blocksSent, bytesSent, wireSent, blocksReceived, bytesReceived, wireReceived,\n\
         unsolicited, peers, and Lever's forwarding streams: leverStreamsOpened, leverCallsReused,\n\
         leverStreamsIdle); with a third argument: `mminfo` mid (a map: mid, author, app, type,\n\
         ext, mark, create, revision, rights, myRights, cur, last, release, versions) and\n\
         `mmversions` mid (the list [{ver, cid, time, signer}]), both needing read on the Mimei;\n\
         `mmsid2mid` mmsid (the mid a handle of this session names); `mmprovsips` mid (the\n\
         providers' IPs, {peerid: [ip]}). Every stored version record is verified when read; one\n\
         that fails is refused (status 500), never returned.\n\n\
         `GET /getvar?name=NAME&arg0=A&arg1=B[&nojson]` calls `GetVar` as the guest `\"\"` and\n\
         answers JSON, or with `nojson` the bare value (a string without quotes). One exception,\n\
         for the Go client's `GetLocalPassport`: `name=ppt&arg0=HOURS` answers the owner's pass,\n\
         but only to a caller whose TCP connection comes from a loopback address (127.0.0.0/8,\n\
         ::1); anyone else gets 403. Headers such as X-Forwarded-For are never trusted for this:\n\
         only the socket's peer address counts, so a reverse proxy on the same machine must not\n\
         forward /getvar?name=ppt from outside.\n\n\
         `GET /mf/<path>?mmsid=MMSID` serves a file of the Mimei version an open handle names,\n\
         with the handle as its only credential (docs/mimei.md, \"`/mf/`\"): treat mmsids as\n\
         secrets.\n\n\
         Hprose clients also get the function list: an empty request (2.0) or a call of `~`\n\
         (3.0), see docs/hprose.md.\n",
    );
    s
}
