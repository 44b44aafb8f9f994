//! The API table's rows for one subsystem.
//! Mimeis: create, open, versions, rights, and the `MF*` file functions on their handles.

use crate::api::fns_mimei;
use crate::api::{Access, ApiFn, Rights};

/// This subsystem's functions, in the order the function list shows them.
pub static FNS: &[ApiFn] = &[
    ApiFn {
        name: "MMCreate",
        params: "sid, appid, ext, mark, type",
        access: Access::Session(Rights::User),
        doc: "Makes a Mimei authored and signed by this node; a creator who is not the owner is granted all rights. appid: a Mimei ID or \"\"; ext: free text; mark: \"\", any text, or {{auto}} for a fresh ID; type: file (default) or db, or 1/2. A fixed mark that exists already returns its ID to a writer. Returns the 27-character mid.",
        run: fns_mimei::create,
    },
    ApiFn {
        name: "MMOpen",
        params: "sid, mid, [ver]",
        access: Access::Session(Rights::Guest),
        doc: "Opens a Mimei: ver \"cur\" (writable; needs write or read), a number, \"last\" (default) or \"release\" (read-only; need read, which a guest has only when * grants it). Returns an mmsid.",
        run: fns_mimei::open,
    },
    ApiFn {
        name: "MMClose",
        params: "mmsid",
        access: Access::Public,
        doc: "Closes an mmsid and the files opened through it. Returns true.",
        run: fns_mimei::close,
    },
    ApiFn {
        name: "MMBackup",
        params: "mmsid",
        access: Access::Public,
        doc: "Makes the next numbered version from cur (mmsid from MMOpen; its session must still be alive; needs write; opened as cur). The node key signs the version record. Returns the version number.",
        run: fns_mimei::backup,
    },
    ApiFn {
        name: "MMRestore",
        params: "mmsid, ver",
        access: Access::Public,
        doc: "cur := the root of version ver (a number, last or release); needs write, opened as cur. Returns the version number.",
        run: fns_mimei::restore,
    },
    ApiFn {
        name: "MMDelVers",
        params: "mmsid, vers",
        access: Access::Public,
        doc: "Deletes versions (a list of numbers, or one); needs delete. A missing version deletes nothing. Numbers are never reused. Returns true.",
        run: fns_mimei::del_vers,
    },
    ApiFn {
        name: "MMRelease",
        params: "mmsid, ver",
        access: Access::Public,
        doc: "Names version ver `release`; needs release. Returns the version number.",
        run: fns_mimei::release,
    },
    ApiFn {
        name: "MMSetRight",
        params: "mmsid, member, rights",
        access: Access::Public,
        doc: "Sets member's (* or a user ID) rights: a number or names (read,write,delete,release,publish,admin, all, none); needs admin (docs/mimei.md). The author node signs the new header. Returns true.",
        run: fns_mimei::set_right,
    },
    ApiFn {
        name: "MMGetRight",
        params: "mmsid, [member]",
        access: Access::Public,
        doc: "The rights bits granted to member (* or a user ID), or without member the session's effective rights.",
        run: fns_mimei::get_right,
    },
    ApiFn {
        name: "MFSetCid",
        params: "mmsid, path, cid",
        access: Access::Public,
        doc: "Puts a stored CID at path in cur (\"\" or \"/\": replaces the whole root; directories on the way are made); needs write, opened as cur. Returns the new cur root.",
        run: fns_mimei::set_cid,
    },
    ApiFn {
        name: "MFOpenByPath",
        params: "mmsid, path, [flags]",
        access: Access::Public,
        doc: "Opens a path of the opened version. flags: 0 read; 2 (O_RDWR) write; 0x40 (O_CREATE) makes an empty file; 0x200 (O_TRUNC) empties it. Returns an fsid.",
        run: fns_mimei::open_path,
    },
    ApiFn {
        name: "MFGetData",
        params: "fsid, [start], [len]",
        access: Access::Public,
        doc: "Bytes of the file: start < 0 counts from the end; len < 0 (default) reads to the end; at most 16 MiB per call; needs read.",
        run: fns_mimei::get_data,
    },
    ApiFn {
        name: "MFSetData",
        params: "fsid, data, [start]",
        access: Access::Public,
        doc: "Writes data (string or bytes) at start (past the end fills zeros) into cur; files up to 16 MiB; needs write and an fsid opened for writing. Returns the bytes written.",
        run: fns_mimei::set_data,
    },
    ApiFn {
        name: "MFTruncate",
        params: "fsid, len",
        access: Access::Public,
        doc: "Cuts or zero-extends the file to len bytes; needs write. Returns len.",
        run: fns_mimei::truncate,
    },
    ApiFn {
        name: "MFStat",
        params: "fsid",
        access: Access::Public,
        doc: "{name, cid, size, type (file or dir)} of the opened path; needs read.",
        run: fns_mimei::stat,
    },
    ApiFn {
        name: "MFReaddir",
        params: "fsid",
        access: Access::Public,
        doc: "[{name, cid, size}] of the opened directory; needs read.",
        run: fns_mimei::readdir,
    },
    ApiFn {
        name: "MiMeiList",
        params: "sid",
        access: Access::Session(Rights::Guest),
        doc: "The Mimeis this session may read: [{mid, type, app, ext, last, release, versions, publish, follow}].",
        run: fns_mimei::mm_list,
    },
];
