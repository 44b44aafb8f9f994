//! Mimei functions of the table: `MMCreate`, `MMOpen` and the functions on the `mmsid` it
//! returns (versions, rights), `MiMeiList` (the Mimeis a session may read), and `GetVar`
//! names `mminfo`, `mmversions`. The `MF*` file
//! functions are in the child module `fns_mimei_fs.rs`.
//!
//! **Who signs.** The node holds no user's secret key (a pass proves who a user is; it cannot
//! sign records). So a Mimei made through `MMCreate` is authored by the node key: the node signs
//! its header, and for a creator who is not the node owner it grants that user every right in
//! the header. Version records (`MMBackup`) are signed by the node key on behalf of the session,
//! after the session's write right was checked here; any node verifying the record sees a
//! signer (the author) that holds write. A Mimei authored elsewhere can be versioned here only
//! when its header grants this node's key write (checked before signing).
//!
//! **Handles.** `MMOpen` returns an `mmsid` naming (session, Mimei, version), kept in a bounded
//! table of the node (`NodeState::mm_handles`); file handles (`fsid`) are `mf_handles.rs`'s.
//! The dispatcher cannot check their session (the first argument is the handle), so each call
//! here checks that the session behind the handle is still alive and re-reads the Mimei's
//! rights: a right revoked after `MMOpen` takes effect at the next call.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::ready;

use super::{ApiError, ApiFuture, Call, Session, Value};
use crate::clock::unix_now;
use crate::ipfs::cid::{Cid, Codec};
use crate::ipfs::dagpb::PbNode;
use crate::ipfs::dir::{self, DirEntry};
use crate::ipfs::exporter;
use crate::ipfs::importer::{FileImporter, ImportOptions};
use crate::ipfs::unixfs::{DataType, UnixFs};
use crate::mimei::notes;
use crate::mimei::store::{MimeiStoreError, Mimeis};
use crate::mimei::{
    HeaderFields, Member, MimeiHeader, MimeiId, MimeiType, Right, Rights, VersionName,
    VersionRecord,
};
use crate::pki::LeitherId;
use crate::store::blocks::Blocks;

/// Most Mimei handles open at once.
pub const MAX_HANDLES: usize = 4096;
/// The share of [`MAX_HANDLES`] only the owner's sessions may use, so no one else can lock the
/// owner out by opening handles (docs/security.md, "Quotas").
pub const OWNER_HANDLES: usize = 256;
/// Largest read of one `MFGetData`, and largest file `MFSetData`/`MFTruncate` rewrite.
pub const MAX_DATA: u64 = 16 << 20;
/// Most entries `MFReaddir` lists.
const MAX_ENTRIES: usize = 100_000;

#[derive(Clone)]
struct MmHandle {
    sid: String,
    /// The session's user ("" for a guest) and whether it is the owner: for the quotas.
    uid: String,
    owner: bool,
    mid: MimeiId,
    /// `None` = `cur` (writable); `Some(n)` = version n, read-only.
    version: Option<u64>,
    name: VersionName,
}

/// The open Mimei handles of one node ([`NodeState::mm_handles`]), so that several nodes in
/// one process (tests) keep theirs apart.
///
/// [`NodeState::mm_handles`]: super::NodeState::mm_handles
#[derive(Default)]
pub struct Handles {
    mm: HashMap<String, MmHandle>,
}

impl Handles {
    /// Closes every handle open on `mid`; returns their ids (the caller ends their
    /// transactions: `ops::db::close_handles`).
    pub fn close_mimei(&mut self, mid: &MimeiId) -> Vec<String> {
        let ids: Vec<String> = self
            .mm
            .iter()
            .filter(|(_, h)| h.mid == *mid)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &ids {
            self.mm.remove(id);
        }
        ids
    }
}

/// Runs `f` on the node's handle table (the node's own, not a thread's).
fn with_handles<R>(c: &Call<'_>, f: impl FnOnce(&RefCell<Handles>) -> R) -> R {
    f(&c.state.mm_handles)
}

/// A fresh handle: 15 random bytes in base64url, never starting with '-' (a command line
/// would read it as an option).
fn new_handle_id() -> Result<String, ApiError> {
    let mut raw = [0u8; 15];
    loop {
        getrandom::getrandom(&mut raw)
            .map_err(|e| ApiError::Internal(format!("no randomness for a handle: {e}")))?;
        let id = crate::pki::encoding::base64url_encode(&raw);
        if !id.starts_with('-') {
            return Ok(id);
        }
    }
}

/// Makes room for a handle of `session`: at most `QuotaHandles` per user (the owner exempt),
/// and the last [`OWNER_HANDLES`] slots for the owner alone. Frees the handles of sessions
/// that have ended when a limit is reached; errs, naming the limit, if it still is.
fn make_room(c: &Call<'_>, t: &mut Handles, session: &Session) -> Result<(), ApiError> {
    let owner = session.rights == crate::api::Rights::Owner;
    let per_user = c
        .state
        .vars
        .borrow()
        .quotas
        .limit(crate::accounts::quota::Quota::Handles);
    let counted = !owner && !session.uid.is_empty();
    let over = |t: &Handles| {
        if owner {
            return t.mm.len() >= MAX_HANDLES;
        }
        let shared = t.mm.values().filter(|h| !h.owner).count();
        shared >= MAX_HANDLES - OWNER_HANDLES
            || (counted
                && t.mm.values().filter(|h| h.uid == session.uid).count() as u64 >= per_user)
    };
    if !over(t) {
        return Ok(());
    }
    let now = unix_now();
    let mut sessions = c.state.sessions.borrow_mut();
    sessions.sweep(now);
    t.mm.retain(|_, h| sessions.is_live(&h.sid, now));
    if !over(t) {
        return Ok(());
    }
    if counted && t.mm.values().filter(|h| h.uid == session.uid).count() as u64 >= per_user {
        return Err(crate::accounts::quota::QuotaError::new(
            crate::accounts::quota::Quota::Handles,
            per_user,
            &session.uid,
        )
        .into());
    }
    Err(full())
}

fn full() -> ApiError {
    ApiError::Busy(format!(
        "the node holds its maximum of Mimei handles ({} for users and guests, {OWNER_HANDLES} \
         more kept for its owner); close some with MMClose, or try again later",
        MAX_HANDLES - OWNER_HANDLES
    ))
}

fn bad(c: &Call<'_>, message: String) -> ApiError {
    ApiError::BadArguments {
        function: c.entry.name,
        message,
    }
}

/// The name Leither's apps and scripts give the node's own web folder, taken wherever a mid
/// is (`MMOpen(sid, "mmroot", "last")`, `MMSetRight(sid, 'mmroot', '', 0x07276707)`).
pub const MMROOT: &str = "mmroot";

/// The Mimei of argument `i`: a Mimei ID (`MID[:VER][/path]` gives its MID), `mmroot`, or an
/// open mmsid (its Mimei; a handle names no more than the Mimei here: rights are checked for
/// the caller).
pub(super) fn mid_arg(c: &Call<'_>, i: usize) -> Result<MimeiId, ApiError> {
    let t = c.str_arg(i, "mid")?;
    if t.eq_ignore_ascii_case(MMROOT) {
        return mmroot(c);
    }
    if let Some(mid) = with_handles(c, |h| h.borrow().mm.get(t).map(|h| h.mid)) {
        return Ok(mid);
    }
    Ok(crate::mimei::MimeiPath::parse(t)?.mid)
}

/// The node's `mmroot`: a file Mimei authored by the node key with the mark `mmroot`, made on
/// first use with an empty folder as version 1 (so `MMOpen(sid, "mmroot", "last")` opens it,
/// as Leither's clients do before anything is put there). Private at first, as Leither's is ("not open to the outside by default"; its
/// setup guide opens it with `MMSetRight`): only the node's owner reads or writes it until
/// the owner grants more. `MMCreate` refuses that mark without an app, so no user can make
/// (and own) a Mimei of the same ID first.
pub(super) fn mmroot(c: &Call<'_>) -> Result<MimeiId, ApiError> {
    let key = &c.state.key;
    let mid = crate::mimei::id::derive(&key.id(), None, MimeiType::File, MMROOT, None)?;
    let m = Mimeis::new(&c.state.store);
    match m.header(&mid) {
        Ok(_) => return Ok(mid),
        Err(MimeiStoreError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let (mid, made) = crate::ops::mimei::create_own(c.state, MimeiType::File, MMROOT, "")?;
    if !made {
        return Ok(mid);
    }
    // The empty UnixFS folder (kubo's QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn).
    const EMPTY_DIR: [u8; 4] = [0x0a, 0x02, 0x08, 0x01];
    let root = Cid::of_block(crate::ipfs::cid::Version::V0, Codec::DagPb, &EMPTY_DIR);
    Blocks::new(&c.state.store).put(&root, &EMPTY_DIR)?;
    m.set_cur(&mid, Some(root), &mut crate::ops::blocks::node_verdict)?;
    make_version(
        c,
        &mid,
        &Rights::new(key.id()),
        &crate::ops::blocks::Who::Owner,
    )?;
    Ok(mid)
}

/// What a database function runs on, after the checks of [`db_target`].
pub(super) struct DbTarget {
    /// The handle (transactions are per handle).
    pub handle: String,
    /// The Mimei.
    pub mid: MimeiId,
    /// `None` = `cur`; a number = that read-only version.
    pub version: Option<u64>,
}

/// The database behind the handle `args[0]`: a live session, a db-type Mimei, and the right
/// to read (a reader, or a writer on `cur`) or, for `write`, to write `cur`.
pub(super) fn db_target(c: &Call<'_>, write: bool) -> Result<DbTarget, ApiError> {
    let (h, user, header) = mm_header(c)?;
    if header.fields().kind != MimeiType::Db {
        return Err(bad(
            c,
            format!(
                "Mimei {} is a file Mimei; database functions need one made with type db \
                 (`leither mimei create -t db`)",
                h.mid
            ),
        ));
    }
    if write {
        writable(c, &h)?;
    }
    crate::ops::db::may_run(header.rights(), user.as_ref(), write, h.version)?;
    Ok(DbTarget {
        handle: c.str_arg(0, "mmsid")?.to_string(),
        mid: h.mid,
        version: h.version,
    })
}

fn mm_header(c: &Call<'_>) -> Result<(MmHandle, Option<LeitherId>, MimeiHeader), ApiError> {
    let id = c.str_arg(0, "mmsid")?;
    let h = with_handles(c, |t| t.borrow().mm.get(id).cloned()).ok_or_else(|| {
        ApiError::NotFound(format!(
            "{}: no open Mimei \"{}\"; call MMOpen first",
            c.entry.name,
            super::truncate(id, 40)
        ))
    })?;
    let user = crate::ops::session::user(c.state, &h.sid)?;
    let header = Mimeis::new(&c.state.store).header(&h.mid)?;
    Ok((h, user, header))
}

/// Refuses a change through a handle opened on a read-only version.
fn writable(c: &Call<'_>, h: &MmHandle) -> Result<(), ApiError> {
    if h.version.is_some() {
        return Err(ApiError::Mimei(MimeiStoreError::Conflict(format!(
            "{}: Mimei {} is open read-only (version {}); open it with version \"cur\" to change it",
            c.entry.name, h.mid, h.name
        ))));
    }
    Ok(())
}

/// `MMCreate(sid, appid, ext, mark, tp, right)` -> mid. `right` (optional, as in our older
/// five-argument form) is what everyone (`*`) is granted on a new Mimei.
pub fn create(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 6)?;
        let app = match c.opt_str_arg(1, "appid")? {
            Some(a) => Some(crate::mimei::MimeiPath::parse(a)?.mid),
            None => None,
        };
        let ext = c.opt_str_arg(2, "ext")?.unwrap_or("").to_string();
        let mark = c.opt_str_arg(3, "mark")?.unwrap_or("").to_string();
        if app.is_none() && mark.eq_ignore_ascii_case(MMROOT) {
            return Err(bad(
                &c,
                format!(
                    "the mark \"{MMROOT}\" names the node's own web folder; pass \"{MMROOT}\" \
                     as the mid to MMOpen instead, or use another mark"
                ),
            ));
        }
        let kind = match c.args.get(4) {
            None | Some(Value::Null) => MimeiType::File,
            Some(Value::Str(s)) if s.is_empty() => MimeiType::File,
            Some(Value::Str(s)) => s.parse()?,
            Some(v) => match v.as_i64().and_then(|i| u8::try_from(i).ok()) {
                Some(i) => MimeiType::from_code(i)
                    .ok_or_else(|| bad(&c, format!("type {i} is not 1 (file) or 2 (db)")))?,
                None => {
                    return Err(bad(
                        &c,
                        format!("type must be file or db, got {}", v.kind()),
                    ));
                }
            },
        };
        let everyone = match c.args.get(5) {
            None | Some(Value::Null) => Right::NONE,
            Some(_) => right_arg(&c, 5)?,
        };
        let session = c.session.as_ref().ok_or(ApiError::SessionExpired)?;
        let user = crate::ops::session::uid(session)?;
        let key = &c.state.key;
        let owner = session.rights == crate::api::Rights::Owner;
        // A fixed mark names the same Mimei each time, so it is someone's name: the owner's
        // marks are the node's own (apps, service databases), everyone else's live under
        // their ID, so no one can make a Mimei that the owner's mark (or another user's)
        // will name later (docs/security.md, "Names that cannot be squatted").
        let mark = if owner || mark == crate::mimei::id::AUTO_MARK {
            mark
        } else {
            user_mark(&session.uid, &mark)
        };
        let mut rights = Rights::new(key.id());
        if let Some(u) = user.filter(|u| *u != key.id()) {
            rights.set(Some(&key.id()), Member::User(u), Right::ALL)?;
        }
        rights.set(Some(&key.id()), Member::Everyone, everyone)?;
        let header = MimeiHeader::create(
            key,
            HeaderFields {
                app,
                kind,
                mark,
                nonce: None,
                ext,
                created: unix_now(),
                revision: 0,
                rights,
            },
        )?;
        let m = Mimeis::new(&c.state.store);
        let mid = header.mid().to_string();
        let store = &c.state.store;
        if m.header(header.mid()).is_ok() {
            // A fixed mark names the same Mimei again: give it back to its creator, never to
            // anyone else (its rights stay as they are).
            adopt(&c, &m, &header, session, user.as_ref())?;
            return Ok(Value::Str(mid));
        }
        let quotas = c.state.vars.borrow().quotas.clone();
        crate::accounts::quota::charge_create(store, session, &quotas)?;
        match m.create(&header) {
            Ok(()) => crate::accounts::authors::record(store, &mid, &session.uid)?,
            Err(MimeiStoreError::Conflict(_)) => adopt(&c, &m, &header, session, user.as_ref())?,
            Err(e) => return Err(e.into()),
        }
        Ok(Value::Str(mid))
    })()))
}

/// The mark a non-owner's fixed `mark` is derived from: `~UID/mark`, their own namespace.
pub fn user_mark(uid: &str, mark: &str) -> String {
    format!("~{uid}/{mark}")
}

/// `MMCreate` of a fixed mark whose Mimei exists: answers it only to its creator (recorded in
/// `mimei_creators`), or, for a Mimei made before creators were recorded, to a caller with
/// write right when no other user holds write on it.
fn adopt(
    c: &Call<'_>,
    m: &Mimeis<'_>,
    header: &MimeiHeader,
    session: &Session,
    user: Option<&LeitherId>,
) -> Result<(), ApiError> {
    let mid = header.mid();
    let old = m.header(mid)?;
    let refuse = |why: String| {
        ApiError::Mimei(MimeiStoreError::Conflict(format!(
            "Mimei {mid} (mark {:?}) exists and {why}; it is not given to you: use another \
             mark, or {{{{auto}}}} for a fresh ID",
            header.fields().mark
        )))
    };
    match crate::accounts::authors::creator(&c.state.store, &mid.to_string())? {
        Some(creator) if creator == session.uid => Ok(()),
        Some(creator) => Err(refuse(format!("was made by {creator}"))),
        None => {
            old.rights()
                .check(user, Right::WRITE)
                .map_err(|_| refuse("you hold no write right on it".to_string()))?;
            let other = old.rights().grants().iter().find(|(member, right)| {
                matches!(member, Member::User(u) if Some(u) != user) && right.contains(Right::WRITE)
            });
            match other {
                Some((Member::User(u), _)) => Err(refuse(format!(
                    "{u} holds write on it too, so it may be theirs (remove their right with \
                     MMSetRight to take it)"
                ))),
                _ => Ok(()),
            }
        }
    }
}

/// Most trailing `opt` arguments (`MMOpen`, `MMBackup`) and versions (`MMDelVers`,
/// `MMGetRefs`) one call takes.
pub const MAX_VARIADIC: usize = 1000;

/// `MMOpen(sid, mid, ver, opt...)` -> mmsid. The options Leither defines are not documented;
/// they are accepted and ignored.
pub fn open(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 3 + MAX_VARIADIC)?;
        let mid = mid_arg(&c, 1)?;
        let name = match c.args.get(2) {
            None | Some(Value::Null) => VersionName::Last,
            Some(Value::Str(s)) if s.is_empty() => VersionName::Last,
            Some(_) => ver_arg(&c, 2)?,
        };
        let session = c.session.as_ref().ok_or(ApiError::SessionExpired)?;
        Ok(Value::Str(open_handle(&c, session, mid, name)?))
    })()))
}

/// Checks the session may open `mid` at `name` and adds the handle; returns the mmsid.
fn open_handle(
    c: &Call<'_>,
    session: &Session,
    mid: MimeiId,
    name: VersionName,
) -> Result<String, ApiError> {
    let user = crate::ops::session::uid(session)?;
    let header = Mimeis::new(&c.state.store).header(&mid)?;
    let need = crate::ops::mimei::open_right(&header, user.as_ref(), name);
    let version = crate::ops::mimei::open(c.state, user.as_ref(), &mid, name, need)?.version;
    if let Some(n) = version {
        Mimeis::new(&c.state.store).version(&mid, n)?;
    }
    let id = new_handle_id()?;
    with_handles(c, |t| {
        let mut t = t.borrow_mut();
        make_room(c, &mut t, session)?;
        t.mm.insert(
            id.clone(),
            MmHandle {
                sid: session.sid.clone(),
                uid: session.uid.clone(),
                owner: session.rights == crate::api::Rights::Owner,
                mid,
                version,
                name,
            },
        );
        Ok::<(), ApiError>(())
    })?;
    Ok(id)
}

/// `MMClose(mmsid)`: closes a Mimei handle, or a file handle (Leither closes an fsid so).
pub fn close(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 1)?;
        let id = c.str_arg(0, "mmsid")?;
        with_handles(&c, |t| t.borrow_mut().mm.remove(id));
        c.state.mf.borrow_mut().remove(id);
        Ok(Value::Bool(true))
    })()))
}

/// Who calls a `(sid, mid, ...)` function, on which Mimei, with the Mimei's current header.
pub(super) struct Target {
    /// The caller (`None` = a guest).
    pub user: Option<LeitherId>,
    /// The caller, for what its changes may take into the Mimei (`ops::blocks::verdict`).
    pub who: crate::ops::blocks::Who,
    /// The Mimei.
    pub mid: MimeiId,
    /// Its header as stored now (rights included).
    pub header: MimeiHeader,
}

/// The session behind `args[0]` of a `(sid, mid, ...)` function: the one the dispatcher
/// checked, or, for functions that also take Leither's habit of passing an mmsid there
/// (`MMBackup(mmsid, mid, memo)` in its examples), the session of that handle.
fn caller(c: &Call<'_>) -> Result<Session, ApiError> {
    if let Some(s) = &c.session {
        return Ok(s.clone());
    }
    let id = match c.args.first() {
        Some(Value::Str(s)) => s.as_str(),
        _ => {
            return Err(ApiError::NoSession {
                function: c.entry.name,
            });
        }
    };
    let sid = with_handles(c, |t| t.borrow().mm.get(id).map(|h| h.sid.clone()));
    crate::ops::session::touch(c.state, sid.as_deref().unwrap_or(id))
}

/// [`caller`] and the Mimei of `args[1]` ([`mid_arg`]); with no mid (our older one-argument
/// form `f(mmsid)`), the Mimei of the handle in `args[0]`.
pub(super) fn target(c: &Call<'_>) -> Result<Target, ApiError> {
    let session = caller(c)?;
    let user = crate::ops::session::uid(&session)?;
    let who = crate::ops::blocks::Who::of(&session)?;
    let mid = match c.args.get(1) {
        None | Some(Value::Null) => None,
        Some(Value::Str(s)) if s.is_empty() => None,
        Some(_) => Some(mid_arg(c, 1)?),
    };
    let mid = match mid {
        Some(m) => m,
        None => {
            let id = c.str_arg(0, "sid")?;
            with_handles(c, |t| t.borrow().mm.get(id).map(|h| h.mid))
                .ok_or_else(|| bad(c, "argument 2 (mid) is missing".into()))?
        }
    };
    let header = Mimeis::new(&c.state.store).header(&mid)?;
    Ok(Target {
        user,
        who,
        mid,
        header,
    })
}

/// `MMBackup(sid, mid, memo, opt...)` -> the new version (a string), made from `cur`; needs
/// write. `memo` is kept beside the version; the option `delref=1` (or `true`) clears `cur`'s
/// references once the version holds them.
pub fn backup(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 3 + MAX_VARIADIC)?;
        let t = target(&c)?;
        let rights = t.header.rights().clone();
        rights.check(t.user.as_ref(), Right::WRITE)?;
        let memo = c.opt_str_arg(2, "memo")?.unwrap_or("").to_string();
        if memo.len() > notes::MAX_MEMO {
            return Err(bad(
                &c,
                format!(
                    "the memo has {} bytes; at most {} are kept",
                    memo.len(),
                    notes::MAX_MEMO
                ),
            ));
        }
        let mut delref = false;
        for i in 3..c.args.len() {
            let opt = c.str_arg(i, "opt")?;
            let (k, v) = opt.split_once('=').unwrap_or((opt, "1"));
            if k.trim().eq_ignore_ascii_case("delref") {
                delref = !matches!(v.trim(), "" | "0" | "false" | "no");
            }
        }
        let n = make_version(&c, &t.mid, &rights, &t.who)?;
        let cur = notes::get(&c.state.store, &t.mid, 0)?;
        let kept = notes::Notes {
            memo,
            refs: cur.refs,
        };
        notes::put(&c.state.store, &t.mid, n, &kept)?;
        if delref {
            notes::put(&c.state.store, &t.mid, 0, &notes::Notes::default())?;
        }
        Ok(Value::Str(n.to_string()))
    })()))
}

/// Signs `cur` of `mid` as its next version, for `who` (what the version's blocks may take:
/// `ops::blocks::verdict`; a database's version tree is built here from the Mimei's own
/// entries, so all of it is the Mimei's).
fn make_version(
    c: &Call<'_>,
    mid: &MimeiId,
    rights: &Rights,
    who: &crate::ops::blocks::Who,
) -> Result<u64, ApiError> {
    let m = Mimeis::new(&c.state.store);
    let key = &c.state.key;
    rights.check(Some(&key.id()), Right::WRITE).map_err(|_| {
        ApiError::Mimei(MimeiStoreError::Conflict(format!(
            "this node's key {} holds no write right on Mimei {mid}, so it cannot sign its versions; \
             ask its author {} to grant it write",
            key.id(),
            rights.author()
        )))
    })?;
    let state = m.state(mid)?;
    let db = m.header(mid)?.fields().kind == MimeiType::Db;
    let root = if db {
        // A database's cur lives in db_cur; the version is its prolly tree.
        let mut db = c.state.db.borrow_mut();
        crate::db::version::snapshot(&mut db, &c.state.store, mid)
            .map_err(|error| ApiError::db(c.entry.name, error))?
    } else {
        state.cur.ok_or_else(|| {
            ApiError::Mimei(MimeiStoreError::Conflict(format!(
                "Mimei {mid} has nothing in cur; set it first (MFSetCid, `mimei setcid`)"
            )))
        })?
    };
    let prev = m.versions(mid)?.last().map_or(0, |r| r.version());
    let rec = VersionRecord::sign(key, *mid, state.next, &root.to_bytes(), prev, unix_now())?;
    if db {
        m.add_version(&rec, &mut crate::ops::blocks::node_verdict)?;
    } else {
        m.add_version(&rec, &mut crate::ops::blocks::verdict(c.state, who))?;
    }
    Ok(rec.version())
}

fn ver_arg(c: &Call<'_>, i: usize) -> Result<VersionName, ApiError> {
    match c.args.get(i) {
        Some(Value::Str(s)) => Ok(s.parse()?),
        Some(v) => match v.as_i64() {
            Some(n) if n > 0 => Ok(VersionName::Number(n as u64)),
            _ => Err(bad(
                c,
                format!("argument {} (ver) must be a version from 1", i + 1),
            )),
        },
        None => Err(bad(c, format!("argument {} (ver) is missing", i + 1))),
    }
}

/// `MMRestore(sid, mid, ver)`: `cur` := that version's root and references; needs write.
/// Returns the version number.
pub fn restore(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 3)?;
        let t = target(&c)?;
        t.header.rights().check(t.user.as_ref(), Right::WRITE)?;
        let m = Mimeis::new(&c.state.store);
        // Our older form passed (mmsid, ver).
        let at = if c.args.len() == 2 { 1 } else { 2 };
        let (root, n) = m.root(&t.mid, ver_arg(&c, at)?)?;
        if t.header.fields().kind == MimeiType::Db {
            let mut db = c.state.db.borrow_mut();
            crate::db::version::restore(&mut db, &c.state.store, &t.mid, root)
                .map_err(|error| ApiError::db(c.entry.name, error))?;
        }
        m.set_cur(
            &t.mid,
            Some(root),
            &mut crate::ops::blocks::verdict(c.state, &t.who),
        )?;
        if let Some(n) = n {
            let refs = notes::get(&c.state.store, &t.mid, n)?.refs;
            let cur = notes::Notes {
                memo: String::new(),
                refs,
            };
            notes::put(&c.state.store, &t.mid, 0, &cur)?;
        }
        Ok(Value::Int(n.unwrap_or(0) as i64))
    })()))
}

/// The version arguments from `args[from]` on: strings or numbers, or lists of them (our
/// older form passed one list). At most [`MAX_VARIADIC`].
fn versions_from(c: &Call<'_>, mid: &MimeiId, from: usize) -> Result<Vec<u64>, ApiError> {
    let mut flat = Vec::new();
    for v in c.args.iter().skip(from) {
        match v {
            Value::List(l) => flat.extend(l.iter().take(MAX_VARIADIC + 1)),
            one => flat.push(one),
        }
        if flat.len() > MAX_VARIADIC {
            return Err(bad(
                c,
                format!("at most {MAX_VARIADIC} versions in one call"),
            ));
        }
    }
    let m = Mimeis::new(&c.state.store);
    let mut vers = Vec::new();
    for v in flat {
        let n = match v {
            Value::Str(s) => m.resolve(mid, s.parse()?)?,
            v => v.as_i64().filter(|n| *n > 0).map(|n| n as u64),
        };
        vers.push(n.ok_or_else(|| bad(c, "versions must be numbers from 1".into()))?);
    }
    vers.sort_unstable();
    vers.dedup();
    Ok(vers)
}

/// `MMDelVers(sid, mid, vers...)` -> how many versions were deleted; needs delete.
pub fn del_vers(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 2 + MAX_VARIADIC)?;
        let t = target(&c)?;
        t.header.rights().check(t.user.as_ref(), Right::DELETE)?;
        let vers = versions_from(&c, &t.mid, 2)?;
        Mimeis::new(&c.state.store).delete_versions(&t.mid, &vers)?;
        notes::remove(&c.state.store, &t.mid, &vers)?;
        Ok(Value::Int(vers.len() as i64))
    })()))
}

/// `MMRelease(sid, mid, ver)` -> the version now named `release` (a string); needs release.
pub fn release(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(3, 3)?;
        let t = target(&c)?;
        t.header.rights().check(t.user.as_ref(), Right::RELEASE)?;
        let m = Mimeis::new(&c.state.store);
        let n = m
            .resolve(&t.mid, ver_arg(&c, 2)?)?
            .ok_or_else(|| bad(&c, "cur cannot be released; back it up first".into()))?;
        m.set_release(&t.mid, n)?;
        Ok(Value::Str(n.to_string()))
    })()))
}

fn right_arg(c: &Call<'_>, i: usize) -> Result<Right, ApiError> {
    match c.args.get(i) {
        Some(Value::Str(s)) => Ok(s.parse()?),
        Some(v) => match v.as_i64() {
            Some(n) if n >= 0 => Ok(Right::from_word(n as u64)?),
            _ => Err(bad(
                c,
                "rights must be a number or names like read,write".into(),
            )),
        },
        None => Err(bad(c, format!("argument {} (right) is missing", i + 1))),
    }
}

/// A member argument: `""` (Leither's "everyone") or `*`, or a user ID.
fn member_arg(c: &Call<'_>, i: usize) -> Result<Member, ApiError> {
    match c.str_arg(i, "member")? {
        "" => Ok(Member::Everyone),
        m => Ok(m.parse()?),
    }
}

/// `MMSetRight(sid, mid, member, right)`: needs admin; the author (this node) signs the new
/// header.
pub fn set_right(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(4, 4)?;
        let t = target(&c)?;
        let member = member_arg(&c, 2)?;
        let right = right_arg(&c, 3)?;
        let mut rights = t.header.rights().clone();
        rights.set(t.user.as_ref(), member, right)?;
        if *t.header.author() != c.state.key.id() {
            return Err(ApiError::Mimei(MimeiStoreError::Conflict(format!(
                "Mimei {} was authored by {}; only its author can sign new rights",
                t.mid,
                t.header.author()
            ))));
        }
        Mimeis::new(&c.state.store).put_header(&t.header.with_rights(&c.state.key, rights)?)?;
        Ok(Value::Bool(true))
    })()))
}

/// `MMGetRight(sid, mid, uid)` -> the rights (our bits) `uid` holds: for a user ID its entry
/// plus everyone's, for `*` everyone's, and for `""` or no uid the caller's own. Anyone who
/// may read the Mimei may ask.
pub fn get_right(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 3)?;
        let t = target(&c)?;
        let rights = t.header.rights();
        let mine = rights.effective(t.user.as_ref());
        let r = match c.opt_str_arg(2, "uid")? {
            None => mine,
            Some(m) => {
                if mine.is_empty() {
                    rights.check(t.user.as_ref(), Right::READ)?;
                }
                match m.parse::<Member>()? {
                    Member::Everyone => rights.granted(&Member::Everyone),
                    Member::User(u) => rights.effective(Some(&u)),
                }
            }
        };
        Ok(Value::Int(r.bits() as i64))
    })()))
}

/// `GetVar(sid, "mminfo", mid)` and `GetVar(sid, "mmversions", mid)`; `None` for other names.
pub fn get_var(c: &Call<'_>, name: &str) -> Option<Result<Value, ApiError>> {
    match name {
        "mminfo" | "mmversions" => Some((|| {
            c.arity(3, 3)?;
            let mid = mid_arg(c, 2)?;
            info(c, &mid, name == "mmversions")
        })()),
        "mmsid2mid" => Some((|| {
            c.arity(3, 3)?;
            let mmsid = c.str_arg(2, "mmsid")?;
            let sid = c.str_arg(0, "sid")?;
            // A handle answers only to the session that opened it (it names what was opened).
            with_handles(c, |t| {
                t.borrow()
                    .mm
                    .get(mmsid)
                    .filter(|h| h.sid == sid)
                    .map(|h| Value::Str(h.mid.to_string()))
            })
            .ok_or_else(|| {
                ApiError::NotFound(format!(
                    "no open Mimei handle {} in this session; MMOpen gives one",
                    super::truncate(mmsid, 40)
                ))
            })
        })()),
        _ => None,
    }
}

/// `mminfo` of a Mimei (or, with `versions_only`, `mmversions`), for a session with read.
pub(super) fn info(c: &Call<'_>, mid: &MimeiId, versions_only: bool) -> Result<Value, ApiError> {
    let mid = *mid;
    let session = c.session.as_ref().ok_or(ApiError::SessionExpired)?;
    let user = crate::ops::session::uid(session)?;
    let header = crate::ops::mimei::authorize(c.state, user.as_ref(), &mid, Right::READ)?;
    let m = Mimeis::new(&c.state.store);
    let versions = m.versions(&mid)?;
    let state = m.state(&mid)?;
    let list = Value::List(
        versions
            .iter()
            .map(|r| {
                Value::map([
                    ("ver", Value::Int(r.version() as i64)),
                    (
                        "cid",
                        Value::Str(
                            Cid::from_bytes(r.root_cid())
                                .map(|c| c.to_string())
                                .unwrap_or_default(),
                        ),
                    ),
                    ("time", Value::Int(r.time() as i64)),
                    ("signer", Value::Str(r.signer().to_string())),
                ])
            })
            .collect(),
    );
    if versions_only {
        return Ok(list);
    }
    let f = header.fields();
    Ok(Value::map([
        ("mid", Value::Str(mid.to_string())),
        ("author", Value::Str(header.author().to_string())),
        (
            "app",
            Value::Str(f.app.map(|a| a.to_string()).unwrap_or_default()),
        ),
        ("type", Value::from(f.kind.name())),
        ("ext", Value::Str(f.ext.clone())),
        ("mark", Value::Str(f.mark.clone())),
        ("create", Value::Int(f.created as i64)),
        ("revision", Value::Int(f.revision as i64)),
        (
            "rights",
            Value::List(
                f.rights
                    .grants()
                    .iter()
                    .map(|(m, r)| Value::Str(format!("{m}={r}")))
                    .collect(),
            ),
        ),
        (
            "myRights",
            Value::Str(header.rights().effective(user.as_ref()).to_string()),
        ),
        (
            "cur",
            Value::Str(state.cur.map(|c| c.to_string()).unwrap_or_default()),
        ),
        (
            "last",
            Value::Int(versions.last().map_or(0, |r| r.version()) as i64),
        ),
        ("release", Value::Int(state.release as i64)),
        ("versions", list),
    ]))
}

#[path = "fns_mimei_fs.rs"]
mod fs;
pub use fs::{
    close_file, get_data, get_mime_type, get_object, get_size, is_exist, local_file, open_mac,
    open_path, open_temp, readdir, set_data, set_object, stat, temp_to_files, temp_to_ipfs,
    truncate,
};

#[path = "fns_mimei_refs.rs"]
mod refs;
pub use refs::{add_ref, del_ref, get_ref, get_refs, is_provider, open_url, set_cid, sum};

#[cfg(test)]
#[path = "fns_mimei_tests.rs"]
mod tests;

/// `MiMeiList(sid)`: the Mimeis the session may read:
/// [{mid, type, app, ext, last, release, versions, publish, follow}].
pub fn mm_list(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(1, 1)?;
        let session = c.session.as_ref().ok_or(ApiError::SessionExpired)?;
        let user = crate::ops::session::uid(session)?;
        let m = Mimeis::new(&c.state.store);
        let mut out = Vec::new();
        for mid in m.ids()? {
            let Ok(h) = m.header(&mid) else { continue };
            if h.rights().check(user.as_ref(), Right::READ).is_err() {
                continue;
            }
            let versions = m.versions(&mid).map(|v| v.len()).unwrap_or(0);
            let last = m
                .resolve(&mid, VersionName::Last)
                .ok()
                .flatten()
                .unwrap_or(0);
            let release = m.state(&mid).map(|s| s.release).unwrap_or(0);
            #[cfg(feature = "net")]
            let (publish, follow) = crate::net::heads::get(c.state, &mid)
                .ok()
                .flatten()
                .map_or((false, false), |e| (e.publish, e.follow));
            #[cfg(not(feature = "net"))]
            let (publish, follow) = (false, false);
            let f = h.fields();
            out.push(Value::map([
                ("mid", Value::Str(mid.to_string())),
                (
                    "type",
                    Value::from(match f.kind {
                        crate::mimei::MimeiType::File => "file",
                        crate::mimei::MimeiType::Db => "db",
                    }),
                ),
                (
                    "app",
                    Value::Str(f.app.map(|a| a.to_string()).unwrap_or_default()),
                ),
                ("ext", Value::Str(f.ext.clone())),
                ("last", Value::Int(last as i64)),
                ("release", Value::Int(release as i64)),
                ("versions", Value::Int(versions as i64)),
                ("publish", Value::Bool(publish)),
                ("follow", Value::Bool(follow)),
            ]));
        }
        Ok(Value::List(out))
    })
}

/// What an mmsid gives a plain HTTP request (`GET /mf/<path>?mmsid=`, src/http/mf.rs): its
/// Mimei and version, once the handle's session is found alive and its user still allowed to
/// read. The handle is the capability: whoever presents it reads as the session that opened
/// it, as every `MF*` call on it does. The version is `None` for `cur`.
pub(crate) fn mmsid_for_read(
    state: &super::NodeState,
    mmsid: &str,
) -> Result<(MimeiId, Option<u64>, crate::ops::blocks::Who), ApiError> {
    let h = state
        .mm_handles
        .borrow()
        .mm
        .get(mmsid)
        .cloned()
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "no open Mimei \"{}\"; open it with MMOpen and pass the mmsid it gives",
                super::truncate(mmsid, 40)
            ))
        })?;
    let session = crate::ops::session::touch(state, &h.sid)?;
    let user = crate::ops::session::uid(&session)?;
    let header = Mimeis::new(&state.store).header(&h.mid)?;
    let rights = header.rights();
    // As for every read through a handle: cur opened by a writer reads without the read bit.
    if h.version.is_some() || rights.check(user.as_ref(), Right::WRITE).is_err() {
        rights.check(user.as_ref(), Right::READ)?;
    }
    Ok((h.mid, h.version, crate::ops::blocks::Who::of(&session)?))
}
