//! The table itself: one line per API function. docs/api.md is kept beside it (a test
//! checks that every function here is documented there).

#[cfg(feature = "lever")]
use super::fns_lever;
#[cfg(feature = "net")]
use super::fns_net;
use super::{Access, ApiFn, Rights, fns_node};
#[cfg(feature = "files")]
use super::{fns_db, fns_dnn, fns_files, fns_ipfs, fns_mimei};

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
        doc: "A node variable: ver, hostid, peerid, hostpk, userid, nodeinfo, netstats.",
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
    #[cfg(feature = "files")]
    ApiFn {
        name: "Set",
        params: "mmsid, key, value, [options]",
        access: Access::Public,
        doc: "Database, SET: options as Redis (NX, XX, GET, EX s, PX ms, KEEPTTL). Returns \"OK\", or null when NX/XX did not hold. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::set,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Get",
        params: "mmsid, key",
        access: Access::Public,
        doc: "Database, GET: the string, or null. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::get,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Del",
        params: "mmsid, key...",
        access: Access::Public,
        doc: "Database, DEL: how many keys were removed. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::del,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Exists",
        params: "mmsid, key...",
        access: Access::Public,
        doc: "Database, EXISTS: how many of the keys exist. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::exists,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Incr",
        params: "mmsid, key",
        access: Access::Public,
        doc: "Database, INCR: the new value. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::incr,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "IncrBy",
        params: "mmsid, key, n",
        access: Access::Public,
        doc: "Database, INCRBY: the new value. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::incr_by,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Strlen",
        params: "mmsid, key",
        access: Access::Public,
        doc: "Database, STRLEN. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::strlen,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Expire",
        params: "mmsid, key, seconds",
        access: Access::Public,
        doc: "Database, EXPIRE: 1 if set, 0 if the key is absent. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::expire,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Ttl",
        params: "mmsid, key",
        access: Access::Public,
        doc: "Database, TTL: seconds left, -1 without expiry, -2 when absent. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::ttl,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Persist",
        params: "mmsid, key",
        access: Access::Public,
        doc: "Database, PERSIST: 1 if an expiry was removed. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::persist,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Type",
        params: "mmsid, key",
        access: Access::Public,
        doc: "Database, TYPE: string, hash, list, set, zset or none. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::type_,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Hset",
        params: "mmsid, key, field, value...",
        access: Access::Public,
        doc: "Database, HSET: how many fields were added. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::hset,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Hget",
        params: "mmsid, key, field",
        access: Access::Public,
        doc: "Database, HGET: the value, or null. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::hget,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Hmget",
        params: "mmsid, key, field...",
        access: Access::Public,
        doc: "Database, HMGET: the values (null for absent fields). The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::hmget,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Hmset",
        params: "mmsid, key, {field: value}",
        access: Access::Public,
        doc: "Database, HMSET: sets the fields (a map, or field, value pairs). Returns \"OK\". The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::hmset,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Hgetall",
        params: "mmsid, key",
        access: Access::Public,
        doc: "Database, HGETALL as a map {field: value}, fields in byte order. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::hgetall,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Hkeys",
        params: "mmsid, key",
        access: Access::Public,
        doc: "Database, HKEYS, in byte order. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::hkeys,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Hdel",
        params: "mmsid, key, field...",
        access: Access::Public,
        doc: "Database, HDEL: how many fields were removed. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::hdel,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Hlen",
        params: "mmsid, key",
        access: Access::Public,
        doc: "Database, HLEN. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::hlen,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Hclear",
        params: "mmsid, key",
        access: Access::Public,
        doc: "Database, Removes the hash; returns how many fields it had. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::hclear,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "HincrBy",
        params: "mmsid, key, field, n",
        access: Access::Public,
        doc: "Database, HINCRBY: the new value. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::hincr_by,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Hscan",
        params: "mmsid, key, cursor, [\"COUNT\", n], [\"MATCH\", pattern]",
        access: Access::Public,
        doc: "Database, fields after the field cursor (\"\" = from the first), in byte order, at most n (default 10), as a map {field: value}. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::hscan,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Hrevscan",
        params: "mmsid, key, cursor, [\"COUNT\", n], [\"MATCH\", pattern]",
        access: Access::Public,
        doc: "Database, like Hscan, descending from before cursor (\"\" = from the last). The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::hrevscan,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Lpush",
        params: "mmsid, key, value...",
        access: Access::Public,
        doc: "Database, LPUSH: the new length. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::lpush,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Lpop",
        params: "mmsid, key, [count]",
        access: Access::Public,
        doc: "Database, LPOP: the element (null when empty), or a list with count. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::lpop,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Rpush",
        params: "mmsid, key, value...",
        access: Access::Public,
        doc: "Database, RPUSH: the new length. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::rpush,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Rpop",
        params: "mmsid, key, [count]",
        access: Access::Public,
        doc: "Database, RPOP: the element, or a list with count. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::rpop,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Lrange",
        params: "mmsid, key, start, stop",
        access: Access::Public,
        doc: "Database, LRANGE (negative indexes count from the end). The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::lrange,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Lindex",
        params: "mmsid, key, index",
        access: Access::Public,
        doc: "Database, LINDEX: the element, or null. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::lindex,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Llen",
        params: "mmsid, key",
        access: Access::Public,
        doc: "Database, LLEN. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::llen,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Lset",
        params: "mmsid, key, index, value",
        access: Access::Public,
        doc: "Database, LSET: \"OK\"; out of range and missing key are errors. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::lset,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Lclear",
        params: "mmsid, key",
        access: Access::Public,
        doc: "Database, removes the list; returns how many elements it had. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::lclear,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Sadd",
        params: "mmsid, key, member...",
        access: Access::Public,
        doc: "Database, SADD: how many members were added. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::sadd,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Srem",
        params: "mmsid, key, member...",
        access: Access::Public,
        doc: "Database, SREM: how many members were removed. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::srem,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Smembers",
        params: "mmsid, key",
        access: Access::Public,
        doc: "Database, SMEMBERS, in byte order. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::smembers,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Scard",
        params: "mmsid, key",
        access: Access::Public,
        doc: "Database, SCARD. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::scard,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Sinter",
        params: "mmsid, key...",
        access: Access::Public,
        doc: "Database, SINTER. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::sinter,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Sunion",
        params: "mmsid, key...",
        access: Access::Public,
        doc: "Database, SUNION. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::sunion,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Sdiff",
        params: "mmsid, key...",
        access: Access::Public,
        doc: "Database, SDIFF: members of the first set in none of the others. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::sdiff,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Sclear",
        params: "mmsid, key",
        access: Access::Public,
        doc: "Database, removes the set; returns how many members it had. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::sclear,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Zadd",
        params: "mmsid, key, [options], score, member...",
        access: Access::Public,
        doc: "Database, ZADD with Redis's options (NX XX GT LT CH INCR): how many members were added (changed too with CH; the new score with INCR). The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::zadd,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Zrem",
        params: "mmsid, key, member...",
        access: Access::Public,
        doc: "Database, ZREM: how many members were removed. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::zrem,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Zscore",
        params: "mmsid, key, member",
        access: Access::Public,
        doc: "Database, ZSCORE: the score as text (Redis's %.17g), or null. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::zscore,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Zrank",
        params: "mmsid, key, member",
        access: Access::Public,
        doc: "Database, ZRANK: the 0-based rank by score, or null. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::zrank,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Zcard",
        params: "mmsid, key",
        access: Access::Public,
        doc: "Database, ZCARD. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::zcard,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Zcount",
        params: "mmsid, key, min, max",
        access: Access::Public,
        doc: "Database, ZCOUNT: members with min <= score <= max (\"(\" excludes; -inf, +inf). The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::zcount,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Zrange",
        params: "mmsid, key, start, stop, [\"WITHSCORES\"]",
        access: Access::Public,
        doc: "Database, ZRANGE by rank (also BYSCORE, REV, LIMIT as in Redis 6.2+). The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::zrange,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Zrevrange",
        params: "mmsid, key, start, stop, [\"WITHSCORES\"]",
        access: Access::Public,
        doc: "Database, ZREVRANGE by rank, highest first. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::zrevrange,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Zrangebyscore",
        params: "mmsid, key, min, max, [\"WITHSCORES\"], [\"LIMIT\", offset, count]",
        access: Access::Public,
        doc: "Database, ZRANGEBYSCORE. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::zrangebyscore,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Zrevrangebyscore",
        params: "mmsid, key, max, min, [\"WITHSCORES\"], [\"LIMIT\", offset, count]",
        access: Access::Public,
        doc: "Database, ZREVRANGEBYSCORE. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::zrevrangebyscore,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Zremrangebyscore",
        params: "mmsid, key, min, max",
        access: Access::Public,
        doc: "Database, ZREMRANGEBYSCORE: how many members were removed. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::zremrangebyscore,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "ZincrBy",
        params: "mmsid, key, increment, member",
        access: Access::Public,
        doc: "Database, ZINCRBY: the new score as text. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::zincr_by,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Zclear",
        params: "mmsid, key",
        access: Access::Public,
        doc: "Database, removes the sorted set; returns how many members it had. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::zclear,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Scan",
        params: "mmsid, cursor, [\"COUNT\", n], [\"MATCH\", pattern]",
        access: Access::Public,
        doc: "Database, keys after the key cursor (\"\" = from the first), in byte order, at most n (default 10); pass the last key back as the next cursor. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::scan,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Begin",
        params: "mmsid",
        access: Access::Public,
        doc: "Database, starts an optimistic transaction on this handle (cur; write right): its writes stay private until Commit. Returns true. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::begin,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Commit",
        params: "mmsid",
        access: Access::Public,
        doc: "Database, applies the transaction; if another writer changed a key it used since Begin, nothing is applied and the error names the key (HTTP 409). Returns true. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::commit,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "Rollback",
        params: "mmsid",
        access: Access::Public,
        doc: "Database, drops the transaction. Returns true. The mmsid is of a db Mimei; reads need read, writes need write on cur.",
        run: fns_db::rollback,
    },
    #[cfg(feature = "lever")]
    ApiFn {
        name: "LeverDeploy",
        params: "sid, env, appMid, [ver]",
        access: Access::Session(Rights::User),
        doc: "Deploys version ver (default the latest) of app Mimei appMid as the service its lever.json names, in env (default dev.lever); needs write on the app. The code is checked by starting one instance; a redeploy is a new version (calls in flight finish on the old one). Returns {env, name, mid, version, instances, ...}.",
        run: fns_lever::deploy,
    },
    #[cfg(feature = "lever")]
    ApiFn {
        name: "LeverLs",
        params: "sid, [env]",
        access: Access::Session(Rights::Guest),
        doc: "The services (of env, or all): a list of {env, name, description, mid, version, private, instances, draining, inflight, calls, errors, rate, latencyMs, resources, startUs, memory, versions}.",
        run: fns_lever::ls,
    },
    #[cfg(feature = "lever")]
    ApiFn {
        name: "LeverLogs",
        params: "sid, env, service, [since]",
        access: Access::Session(Rights::User),
        doc: "A service's log lines numbered since and later (the last 1000 are kept): {lines, next}; pass next as since to follow.",
        run: fns_lever::logs,
    },
    #[cfg(feature = "lever")]
    ApiFn {
        name: "LeverRollback",
        params: "sid, env, service, [ver]",
        access: Access::Session(Rights::User),
        doc: "Makes an earlier deployed version (default: the one before the current) current again; only the deployer or the owner. Returns the service like LeverDeploy.",
        run: fns_lever::rollback,
    },
    #[cfg(feature = "lever")]
    ApiFn {
        name: "LeverRm",
        params: "sid, env, service",
        access: Access::Session(Rights::User),
        doc: "Removes a service (calls in flight finish); only the deployer or the owner. Returns true.",
        run: fns_lever::rm,
    },
    #[cfg(feature = "lever")]
    ApiFn {
        name: "LeverInvoke",
        params: "sid, url, [args]",
        access: Access::Session(Rights::Guest),
        doc: "Calls lever://ENV/SERVICE[/RESOURCE]/METHOD with the list args, with the session's rights (as POST /SERVICE/METHOD does). Returns the method's result.",
        run: fns_lever::invoke,
    },
    #[cfg(feature = "net")]
    ApiFn {
        name: "SwarmLocal",
        params: "sid",
        access: Access::Session(Rights::Guest),
        doc: "This node's libp2p listen addresses, each ending in /p2p/<PeerId>.",
        run: fns_net::local,
    },
    #[cfg(feature = "net")]
    ApiFn {
        name: "SwarmAddrs",
        params: "sid, [peer]",
        access: Access::Session(Rights::Guest),
        doc: "Known addresses of peers (of one peer, by PeerId or Leither ID, looked up in the DHT if unknown): {peer: [multiaddr]}.",
        run: fns_net::addrs,
    },
    #[cfg(feature = "net")]
    ApiFn {
        name: "SwarmPeers",
        params: "sid",
        access: Access::Session(Rights::Guest),
        doc: "Connected peers: [{peer, addr, agent}].",
        run: fns_net::peers,
    },
    #[cfg(feature = "net")]
    ApiFn {
        name: "SwarmConnect",
        params: "sid, multiaddr",
        access: Access::Session(Rights::Owner),
        doc: "Connects to a peer (/ip4/A/tcp/P[/p2p/ID] or host:port); returns its PeerId.",
        run: fns_net::connect,
    },
    #[cfg(feature = "net")]
    ApiFn {
        name: "SwarmDisconnect",
        params: "sid, peer",
        access: Access::Session(Rights::Owner),
        doc: "Closes every connection to a peer; returns whether there was one.",
        run: fns_net::disconnect,
    },
    #[cfg(feature = "net")]
    ApiFn {
        name: "SwarmFilters",
        params: "sid, [op, cidr]",
        access: Access::Session(Rights::Owner),
        doc: "Address filters (connections to and from these ranges are refused): op \"add\" or \"rm\" with /ip4/10.0.0.0/ipcidr/8 or 10.0.0.0/8; returns the list.",
        run: fns_net::filters,
    },
    #[cfg(feature = "net")]
    ApiFn {
        name: "DhtFindPeer",
        params: "sid, id",
        access: Access::Session(Rights::Guest),
        doc: "The addresses of a peer (PeerId or 27-character Leither ID), from connections, the address book or the DHT.",
        run: fns_net::find_peer,
    },
    #[cfg(feature = "net")]
    ApiFn {
        name: "DhtProvide",
        params: "sid, cid",
        access: Access::Session(Rights::Owner),
        doc: "Announces in the DHT that this node provides a block it has (IPFS peers find it with findprovs).",
        run: fns_net::provide_cid,
    },
    #[cfg(feature = "net")]
    ApiFn {
        name: "MiMeiPublish",
        params: "sid, mid, [eolHours]",
        access: Access::Session(Rights::User),
        doc: "Signs a head for the Mimei's latest version (the node key needs write right; so does the session), puts it in the DHT with an EOL (default 168 h; re-published before it), provides the Mimei and tells its providers at once. Returns {mid, version, seq, eol, dhtPeers, pushed}.",
        run: fns_net::mm_publish,
    },
    #[cfg(feature = "net")]
    ApiFn {
        name: "MiMeiUnpublish",
        params: "sid, mid",
        access: Access::Session(Rights::User),
        doc: "Stops publishing and providing the Mimei here (copies in the DHT expire at their EOL). Returns true.",
        run: fns_net::mm_unpublish,
    },
    #[cfg(feature = "net")]
    ApiFn {
        name: "MiMeiProvide",
        params: "sid, mid",
        access: Access::Session(Rights::User),
        doc: "Announces this node as a provider of a Mimei it has. Returns true.",
        run: fns_net::mm_provide,
    },
    #[cfg(feature = "net")]
    ApiFn {
        name: "MiMeiUnprovide",
        params: "sid, mid",
        access: Access::Session(Rights::User),
        doc: "Stops providing (and following) the Mimei. Returns true.",
        run: fns_net::mm_unprovide,
    },
    #[cfg(feature = "net")]
    ApiFn {
        name: "MiMeiFindProvs",
        params: "sid, mid",
        access: Access::Session(Rights::Guest),
        doc: "The newest verified head's version (0 if none) and the providers: {mid, version, providers: [{peer, addrs}]}.",
        run: fns_net::mm_find_provs,
    },
    #[cfg(feature = "net")]
    ApiFn {
        name: "MiMeiSync",
        params: "sid, mid, [node], [mode]",
        access: Access::Session(Rights::User),
        doc: "Fetches the newest verified head, then only the missing blocks, from the providers (or from node alone: a multiaddr or PeerId), stores the version and follows the Mimei. mode \"wait\" (default) answers when done, \"start\" runs it in the background, \"status\" gives the progress: {state, error, version, blocksKnown, blocksDone, fetched, bytes, providers, secs}.",
        run: fns_net::mm_sync,
    },
    #[cfg(feature = "net")]
    ApiFn {
        name: "MiMeiShow",
        params: "sid, mid",
        access: Access::Session(Rights::Guest),
        doc: "mminfo (when the Mimei is here) plus net (the newest verified head: {ver, cid, seq, eol, signer, follow, publish} or null), conflict (text, empty if none) and compare (local last against the net's).",
        run: fns_net::mm_show,
    },
    ApiFn {
        name: "Echo",
        params: "value",
        access: Access::Public,
        doc: "Returns its argument unchanged (health checks, client tests).",
        run: fns_node::echo,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "MiMeiList",
        params: "sid",
        access: Access::Session(Rights::Guest),
        doc: "The Mimeis this session may read: [{mid, type, app, ext, last, release, versions, publish, follow}].",
        run: fns_mimei::mm_list,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "MiMeiSetDomain",
        params: "sid, mid, domain, [kind]",
        access: Access::Session(Rights::User),
        doc: "Binds domain to the Mimei (kind \"mm\", the default) or to it as an app (\"tpt\"); \"\" removes the Mimei's bindings. Needs write right (the node key's too: it signs the reports). Served here at once and reported to the DNNs in Gateway. A domain another node holds is refused. Returns {domain, target, gateways}.",
        run: fns_dnn::set_domain,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "DnnReport",
        params: "report",
        access: Access::Public,
        doc: "A node's signed address report (base64url), as nodes send to the DNNs in their Gateway (docs/dnn.md). Refused unless the node key's signature verifies, its sequence is newer than the last one kept, and each domain binding carries a header giving the node write right. Returns {ok, node, seen, bound, refused}.",
        run: fns_dnn::report,
    },
    #[cfg(feature = "files")]
    ApiFn {
        name: "DnnStatus",
        params: "sid",
        access: Access::Session(Rights::Guest),
        doc: "This node as a DNN client and as a DNN: {addrs (the HTTP addresses it reports), gateways [{url, ok, at, error, message}], domains [{domain, target, served, owner}], reports [{node, from, addrs, mimeis, age}]}.",
        run: fns_dnn::status,
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
         uptime, port, maxMemoryMB, storeBytes, sessions, calls), `netstats` (bitswap counters:\n\
         blocksSent, bytesSent, wireSent, blocksReceived, bytesReceived, wireReceived,\n\
         unsolicited, peers); with a third argument mid:\n\
         `mminfo` (a map: mid, author, app, type, ext, mark, create, revision, rights, myRights,\n\
         cur, last, release, versions) and `mmversions` (the list [{ver, cid, time, signer}]),\n\
         both needing read on the Mimei. Every stored version record is verified when read; one\n\
         that fails is refused (status 500), never returned.\n\n\
         Hprose clients also get the function list: an empty request (2.0) or a call of `~`\n\
         (3.0), see docs/hprose.md.\n",
    );
    s
}
