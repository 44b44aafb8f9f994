//! The table itself: one line per API function. docs/api.md is kept beside it (a test
//! checks that every function here is documented there).

use super::{Access, ApiFn, Rights, fns_ipfs, fns_node};

/// Every function of the node, in the order the function list shows them.
pub static TABLE: &[ApiFn] = &[
    ApiFn {
        name: "Login",
        params: "[ppt]",
        access: Access::Public,
        doc: "Without a pass: a guest session (read only). With a pass (PPT text): a user session, or an owner session if the node key signed it. Returns {sid, uid, rights, expires}.",
        run: fns_node::login,
    },
    ApiFn {
        name: "Logout",
        params: "sid",
        access: Access::Public,
        doc: "Ends the session. Returns true.",
        run: fns_node::logout,
    },
    ApiFn {
        name: "GetVar",
        params: "sid, name",
        access: Access::Session(Rights::Guest),
        doc: "A node variable: ver, hostid, peerid, hostpk, userid, nodeinfo.",
        run: fns_node::get_var,
    },
    ApiFn {
        name: "VerifyPPT",
        params: "ppt",
        access: Access::Public,
        doc: "Verifies a pass; returns {signer, pk, data, sign, end} or the reason it is refused.",
        run: fns_node::verify_ppt,
    },
    ApiFn {
        name: "IpfsAdd",
        params: "sid, data, [options]",
        access: Access::Session(Rights::User),
        doc: "Adds a string or bytes as a UnixFS file and pins it; options as the query of POST /ipfs/add (cid-version=1&raw-leaves=true&chunker=size-N&trickle=true&pin=false). Returns {cid, size}. Large files: POST /ipfs/add.",
        run: fns_ipfs::ipfs_add,
    },
    ApiFn {
        name: "IpfsCat",
        params: "sid, cid",
        access: Access::Session(Rights::Guest),
        doc: "A file of up to 1 MiB as bytes; larger files are read from GET /ipfs/<cid>.",
        run: fns_ipfs::ipfs_cat,
    },
    ApiFn {
        name: "IpfsPinAdd",
        params: "sid, cid, [recursive]",
        access: Access::Session(Rights::User),
        doc: "Pins a stored block, recursively unless recursive is false. Returns {cid, kind}.",
        run: fns_ipfs::pin_add,
    },
    ApiFn {
        name: "IpfsPinRm",
        params: "sid, cid",
        access: Access::Session(Rights::User),
        doc: "Removes a pin. Returns true.",
        run: fns_ipfs::pin_rm,
    },
    ApiFn {
        name: "IpfsPinLs",
        params: "sid",
        access: Access::Session(Rights::Guest),
        doc: "Lists the pins as [{cid, kind}].",
        run: fns_ipfs::pin_ls,
    },
    ApiFn {
        name: "RepoGc",
        params: "sid",
        access: Access::Session(Rights::Owner),
        doc: "Removes every stored block no pin reaches. Returns {removed, kept, bytesFreed}.",
        run: fns_ipfs::repo_gc,
    },
    ApiFn {
        name: "Echo",
        params: "value",
        access: Access::Public,
        doc: "Returns its argument unchanged (health checks, client tests).",
        run: fns_node::echo,
    },
];

/// docs/api.md, generated from the table (a test keeps the file equal to this).
pub fn reference_markdown() -> String {
    let mut s = String::from(
        "# API reference\n\n\
         Generated from `src/api/table.rs` (`cargo test --test api_doc` checks it; run it with\n\
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
    for f in TABLE {
        s.push_str(&format!(
            "| `{}` | `{}` | {} | {} |\n",
            f.name,
            f.params,
            f.access.describe(),
            f.doc
        ));
    }
    s.push_str(
        "\n`GetVar` names: `ver` (version string), `hostid` (the node's 27-character ID),\n\
         `peerid` (libp2p PeerId), `hostpk` (public key, base64url), `userid` (the session's\n\
         user ID, empty for a guest), `nodeinfo` (a map: id, peerid, ver, arch, os, started,\n\
         uptime, port, maxMemoryMB, storeBytes, sessions, calls).\n\n\
         Hprose clients also get the function list: an empty request (2.0) or a call of `~`\n\
         (3.0), see docs/hprose.md.\n",
    );
    s
}
