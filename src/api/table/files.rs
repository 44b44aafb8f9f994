//! The API table's rows for one subsystem.
//! IPFS files, pins and the MFS (`Ipfs*`, `Files*`, `RepoGc`).

use crate::api::fns_files;
use crate::api::fns_ipfs;
use crate::api::{Access, ApiFn, Rights};

/// This subsystem's functions, in the order the function list shows them.
pub static FNS: &[ApiFn] = &[
    ApiFn {
        name: "IpfsAdd",
        params: "sid, data, [options]",
        access: Access::Session(Rights::User),
        doc: "Adds a string or bytes as a UnixFS file and pins it; options as the query of POST /ipfs/add (cid-version=1&raw-leaves=true&chunker=size-N&trickle=true&pin=false&mid=MID). A plain add is public; with mid (a Mimei the session may write) the blocks are that Mimei's content, as private as it. Returns {cid, size}. Large files: POST /ipfs/add.",
        run: fns_ipfs::ipfs_add,
    },
    ApiFn {
        name: "IpfsCat",
        params: "sid, cid",
        access: Access::Session(Rights::Guest),
        doc: "A file of up to 1 MiB as bytes; larger files are read from GET /ipfs/<cid>. Every block must be public or in a Mimei the session may read (403 otherwise).",
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
        access: Access::Session(Rights::Owner),
        doc: "Removes a pin. Returns true.",
        run: fns_ipfs::pin_rm,
    },
    ApiFn {
        name: "IpfsPinLs",
        params: "sid",
        access: Access::Session(Rights::Owner),
        doc: "Lists the pins as [{cid, kind}].",
        run: fns_ipfs::pin_ls,
    },
    ApiFn {
        name: "IpfsLs",
        params: "sid, cid[/path]",
        access: Access::Session(Rights::Guest),
        doc: "What a CID (or a path under it) is: {cid, type, size, entries}; entries lists a directory as [{name, cid, size, tsize, type}] (empty for a file). The root and each block of the path must be public or in a Mimei the session may read (403 otherwise). Blocks of the root, the path or the listing that are not here are fetched from the network's peers, as the gateway does (at most 256 a call).",
        run: fns_files::ipfs_ls,
    },
    ApiFn {
        name: "IpfsMakeDir",
        params: "sid, entries, [options]",
        access: Access::Session(Rights::User),
        doc: "Builds a UnixFS directory over stored entries [{name, cid, tsize}] with kubo's CID (HAMT-sharded when big); options cid-version=1 for CIDv1, hamt-threshold-rule=above|at-or-above (shard a directory whose estimate is exactly 256 KiB: no, as current boxo and JS; yes, as kubo up to 0.39), mid=MID to build it as content of a Mimei the session may write (each entry must then be one it may read). Not pinned. Returns {cid, dagSize}. `ipfs add -r` builds its tree with it.",
        run: fns_files::ipfs_make_dir,
    },
    ApiFn {
        name: "FilesLs",
        params: "sid, [ps]",
        access: Access::Session(Rights::User),
        doc: "Lists an MFS directory (a file lists as itself; ps as /x, files://x or files/x, default /): Leither's []LsLink [{name, hash, size, type (0 file, 1 directory), target}].",
        run: fns_files::files_ls,
    },
    ApiFn {
        name: "FilesStat",
        params: "sid, [ps]",
        access: Access::Session(Rights::User),
        doc: "What an MFS path is: Leither's StatInfo {hash, size, cumulativeSize, blocks, type (directory or file), withLocality, local, sizeLocal}. A missing name errs with IPFS's text: no link named \"name\" under <cid>.",
        run: fns_files::files_stat,
    },
    ApiFn {
        name: "FilesFlush",
        params: "sid, [ps]",
        access: Access::Session(Rights::User),
        doc: "The CID of an MFS path (default /, the MFS root). Changes are written as they are made.",
        run: fns_files::files_flush,
    },
    ApiFn {
        name: "FilesMkdir",
        params: "sid, ps, [flush], [parents]",
        access: Access::Session(Rights::Owner),
        doc: "Makes an MFS directory; flush is accepted (changes are always written); parents true makes missing parents and accepts an existing directory. Returns null.",
        run: fns_files::files_mkdir,
    },
    ApiFn {
        name: "FilesCopy",
        params: "sid, src, dst, [flush]",
        access: Access::Session(Rights::Owner),
        doc: "Copies an MFS path or /ipfs/<cid>[/path] (its root block must be stored) to a new MFS path. Returns null.",
        run: fns_files::files_copy,
    },
    ApiFn {
        name: "FilesMv",
        params: "sid, src, dst, [flush]",
        access: Access::Session(Rights::Owner),
        doc: "Moves an MFS entry; into dst when it is an existing directory. Returns null.",
        run: fns_files::files_mv,
    },
    ApiFn {
        name: "FilesRm",
        params: "sid, ps, [recursive], [flush]",
        access: Access::Session(Rights::Owner),
        doc: "Removes an MFS entry; a directory only with recursive true. Returns null.",
        run: fns_files::files_rm,
    },
    ApiFn {
        name: "RepoGc",
        params: "sid",
        access: Access::Session(Rights::Owner),
        doc: "Removes every stored block that no pin, no Mimei and not the MFS root reaches. Returns {removed, kept, bytesFreed}.",
        run: fns_ipfs::repo_gc,
    },
];
