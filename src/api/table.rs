//! The table itself: one line per API function. docs/api.md is kept beside it (a test
//! checks that every function here is documented there).

use super::{Access, ApiFn, Rights, fns_node};
#[cfg(feature = "files")]
use super::{fns_files, fns_ipfs, fns_mimei};

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
    #[cfg(feature = "files")]
    ApiFn {
        name: "IpfsAdd",
        params: "sid, data, [options]",
        access: Access::Session(Rights::User),
        doc: "Adds a string or bytes as a UnixFS file and pins it; options as the query of POST /ipfs/add (cid-version=1&raw-leaves=true&chunker=size-N&trickle=true&pin=false). Returns {cid, size}. Large files: POST /ipfs/add.",
        run: fns_ipfs::ipfs_add,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "IpfsCat",
        params: "sid, cid",
        access: Access::Session(Rights::Guest),
        doc: "A file of up to 1 MiB as bytes; larger files are read from GET /ipfs/<cid>.",
        run: fns_ipfs::ipfs_cat,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "IpfsPinAdd",
        params: "sid, cid, [recursive]",
        access: Access::Session(Rights::User),
        doc: "Pins a stored block, recursively unless recursive is false. Returns {cid, kind}.",
        run: fns_ipfs::pin_add,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "IpfsPinRm",
        params: "sid, cid",
        access: Access::Session(Rights::User),
        doc: "Removes a pin. Returns true.",
        run: fns_ipfs::pin_rm,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "IpfsPinLs",
        params: "sid",
        access: Access::Session(Rights::Guest),
        doc: "Lists the pins as [{cid, kind}].",
        run: fns_ipfs::pin_ls,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "IpfsLs",
        params: "sid, cid[/path]",
        access: Access::Session(Rights::Guest),
        doc: "What a CID (or a path under it) is: {cid, type, size, entries}; entries lists a directory as [{name, cid, size, tsize, type}] (empty for a file).",
        run: fns_files::ipfs_ls,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "IpfsMakeDir",
        params: "sid, entries, [options]",
        access: Access::Session(Rights::User),
        doc: "Builds a UnixFS directory over stored entries [{name, cid, tsize}] with kubo's CID (HAMT-sharded when big); options cid-version=1 for CIDv1. Not pinned. Returns {cid, dagSize}. `ipfs add -r` builds its tree with it.",
        run: fns_files::ipfs_make_dir,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "FilesLs",
        params: "sid, [path]",
        access: Access::Session(Rights::User),
        doc: "Lists an MFS directory (a file lists as itself): [{name, cid, size, tsize, type}].",
        run: fns_files::files_ls,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "FilesStat",
        params: "sid, [path]",
        access: Access::Session(Rights::User),
        doc: "What an MFS path is: {cid, type, size, cumulativeSize, childBlocks}.",
        run: fns_files::files_stat,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "FilesFlush",
        params: "sid, [path]",
        access: Access::Session(Rights::User),
        doc: "The CID of an MFS path (default /, the MFS root). Changes are written as they are made.",
        run: fns_files::files_flush,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "FilesMkdir",
        params: "sid, path, [parents]",
        access: Access::Session(Rights::Owner),
        doc: "Makes an MFS directory; parents true makes missing parents and accepts an existing directory. Returns the new MFS root CID.",
        run: fns_files::files_mkdir,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "FilesCp",
        params: "sid, from, to",
        access: Access::Session(Rights::Owner),
        doc: "Copies an MFS path or /ipfs/<cid>[/path] (its root block must be stored) to a new MFS path. Returns the new MFS root CID.",
        run: fns_files::files_cp,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "FilesMv",
        params: "sid, from, to",
        access: Access::Session(Rights::Owner),
        doc: "Moves an MFS entry; into `to` when it is an existing directory. Returns the new MFS root CID.",
        run: fns_files::files_mv,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "FilesRm",
        params: "sid, path, [recursive]",
        access: Access::Session(Rights::Owner),
        doc: "Removes an MFS entry; a directory only with recursive true. Returns the new MFS root CID.",
        run: fns_files::files_rm,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "RepoGc",
        params: "sid",
        access: Access::Session(Rights::Owner),
        doc: "Removes every stored block that no pin, no Mimei and not the MFS root reaches. Returns {removed, kept, bytesFreed}.",
        run: fns_ipfs::repo_gc,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "MMCreate",
        params: "sid, appid, ext, mark, type",
        access: Access::Session(Rights::User),
        doc: "Makes a Mimei authored and signed by this node; a creator who is not the owner is granted all rights. appid: a Mimei ID or \"\"; ext: free text; mark: \"\", any text, or {{auto}} for a fresh ID; type: file (default) or db, or 1/2. A fixed mark that exists already returns its ID to a writer. Returns the 27-character mid.",
        run: fns_mimei::create,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "MMOpen",
        params: "sid, mid, [ver]",
        access: Access::Session(Rights::Guest),
        doc: "Opens a Mimei: ver \"cur\" (writable; needs write or read), a number, \"last\" (default) or \"release\" (read-only; need read, which a guest has only when * grants it). Returns an mmsid.",
        run: fns_mimei::open,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "MMClose",
        params: "mmsid",
        access: Access::Public,
        doc: "Closes an mmsid and the files opened through it. Returns true.",
        run: fns_mimei::close,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "MMBackup",
        params: "mmsid",
        access: Access::Public,
        doc: "Makes the next numbered version from cur (mmsid from MMOpen; its session must still be alive; needs write; opened as cur). The node key signs the version record. Returns the version number.",
        run: fns_mimei::backup,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "MMRestore",
        params: "mmsid, ver",
        access: Access::Public,
        doc: "cur := the root of version ver (a number, last or release); needs write, opened as cur. Returns the version number.",
        run: fns_mimei::restore,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "MMDelVers",
        params: "mmsid, vers",
        access: Access::Public,
        doc: "Deletes versions (a list of numbers, or one); needs delete. A missing version deletes nothing. Numbers are never reused. Returns true.",
        run: fns_mimei::del_vers,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "MMRelease",
        params: "mmsid, ver",
        access: Access::Public,
        doc: "Names version ver `release`; needs release. Returns the version number.",
        run: fns_mimei::release,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "MMSetRight",
        params: "mmsid, member, rights",
        access: Access::Public,
        doc: "Sets member's (* or a user ID) rights: a number or names (read,write,delete,release,publish,admin, all, none); needs admin (docs/mimei.md). The author node signs the new header. Returns true.",
        run: fns_mimei::set_right,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "MMGetRight",
        params: "mmsid, [member]",
        access: Access::Public,
        doc: "The rights bits granted to member (* or a user ID), or without member the session's effective rights.",
        run: fns_mimei::get_right,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "MFSetCid",
        params: "mmsid, path, cid",
        access: Access::Public,
        doc: "Puts a stored CID at path in cur (\"\" or \"/\": replaces the whole root; directories on the way are made); needs write, opened as cur. Returns the new cur root.",
        run: fns_mimei::set_cid,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "MFOpenByPath",
        params: "mmsid, path, [flags]",
        access: Access::Public,
        doc: "Opens a path of the opened version. flags: 0 read; 2 (O_RDWR) write; 0x40 (O_CREATE) makes an empty file; 0x200 (O_TRUNC) empties it. Returns an fsid.",
        run: fns_mimei::open_path,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "MFGetData",
        params: "fsid, [start], [len]",
        access: Access::Public,
        doc: "Bytes of the file: start < 0 counts from the end; len < 0 (default) reads to the end; at most 16 MiB per call; needs read.",
        run: fns_mimei::get_data,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "MFSetData",
        params: "fsid, data, [start]",
        access: Access::Public,
        doc: "Writes data (string or bytes) at start (past the end fills zeros) into cur; files up to 16 MiB; needs write and an fsid opened for writing. Returns the bytes written.",
        run: fns_mimei::set_data,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "MFTruncate",
        params: "fsid, len",
        access: Access::Public,
        doc: "Cuts or zero-extends the file to len bytes; needs write. Returns len.",
        run: fns_mimei::truncate,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "MFStat",
        params: "fsid",
        access: Access::Public,
        doc: "{name, cid, size, type (file or dir)} of the opened path; needs read.",
        run: fns_mimei::stat,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "MFReaddir",
        params: "fsid",
        access: Access::Public,
        doc: "[{name, cid, size}] of the opened directory; needs read.",
        run: fns_mimei::readdir,
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
         uptime, port, maxMemoryMB, storeBytes, sessions, calls); with a third argument mid:\n\
         `mminfo` (a map: mid, author, app, type, ext, mark, create, revision, rights, myRights,\n\
         cur, last, release, versions) and `mmversions` (the list [{ver, cid, time, signer}]),\n\
         both needing read on the Mimei. Every stored version record is verified when read; one\n\
         that fails is refused (status 500), never returned.\n\n\
         Hprose clients also get the function list: an empty request (2.0) or a call of `~`\n\
         (3.0), see docs/hprose.md.\n",
    );
    s
}
