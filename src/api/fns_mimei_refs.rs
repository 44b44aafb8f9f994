//! Mimei functions around the content of a version: `MFSetCid` (set `cur`'s root), the
//! references of `cur` and the versions (`MMAddRef`, `MMDelRef`, `MMGetRef`, `MMGetRefs`;
//! their meaning and storage: `mimei::notes`), `MMSum` (a digest of a version),
//! `MMOpenUrl` (a file handle from a URL) and `MiMeiIsProvider`.
//!
//! All take Leither's `(sid, mid, ...)` form ([`super::target`]): rights are those of the
//! caller's session on the Mimei as stored now.

use super::*;
use crate::mimei::notes::{MAX_REF_ID, MAX_REFS, Notes};

/// `MFSetCid(sid, mid, cid)` -> the new `cur` root: `cur` := a CID stored on this node (a
/// file or a directory); needs write on a file Mimei. `MMBackup` makes it a version.
pub fn set_cid(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(3, 3)?;
        let t = target(&c)?;
        t.header.rights().check(t.user.as_ref(), Right::WRITE)?;
        if t.header.fields().kind == MimeiType::Db {
            return Err(bad(
                &c,
                format!(
                    "Mimei {} is a database; its cur is written with the database functions",
                    t.mid
                ),
            ));
        }
        let text = c.str_arg(2, "cid")?;
        let cid: Cid = text.trim_start_matches("/ipfs/").parse().map_err(|e| {
            bad(
                &c,
                format!("\"{}\" is not a CID: {e}", crate::api::truncate(text, 100)),
            )
        })?;
        if !Blocks::new(&c.state.store).has(&cid)? {
            return Err(ApiError::NotFound(format!(
                "block {cid} not found on this node; add it first (`leither ipfs add`)"
            )));
        }
        // A CID names content the caller did not upload here: the Mimei takes it only if the
        // caller may read it (ops::blocks::verdict; a refusal is 403 and changes nothing).
        Mimeis::new(&c.state.store).set_cur(
            &t.mid,
            Some(cid),
            &mut crate::ops::blocks::verdict(c.state, &t.who),
        )?;
        Ok(Value::Str(cid.to_string()))
    })()))
}

/// The reference IDs from `args[2]` on, each a Mimei ID or a CID, in canonical text.
fn ref_ids(c: &Call<'_>) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    for i in 2..c.args.len() {
        let text = c.str_arg(i, "fileid")?;
        let id = if let Ok(mid) = text.parse::<MimeiId>() {
            mid.to_string()
        } else if let Ok(cid) = text.trim_start_matches("/ipfs/").parse::<Cid>() {
            cid.to_string()
        } else {
            return Err(bad(
                c,
                format!(
                    "argument {} (\"{}\") is neither a Mimei ID nor a CID",
                    i + 1,
                    crate::api::truncate(text, 60)
                ),
            ));
        };
        if id.len() > MAX_REF_ID {
            return Err(bad(
                c,
                format!("a reference ID has at most {MAX_REF_ID} characters"),
            ));
        }
        out.push(id);
    }
    Ok(out)
}

/// `MMAddRef(sid, mid, fileids...)` -> how many were added: counts a reference of `cur` to each
/// ID (a Mimei or a CID); needs write.
pub fn add_ref(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 2 + MAX_VARIADIC)?;
        let t = target(&c)?;
        t.header.rights().check(t.user.as_ref(), Right::WRITE)?;
        let ids = ref_ids(&c)?;
        let mut cur = notes::get(&c.state.store, &t.mid, 0)?;
        for id in &ids {
            if !cur.refs.contains_key(id) && cur.refs.len() >= MAX_REFS {
                return Err(bad(
                    &c,
                    format!(
                        "cur already holds {MAX_REFS} references, the limit; nothing was added"
                    ),
                ));
            }
            let n = cur.refs.entry(id.clone()).or_insert(0);
            *n = n.saturating_add(1);
        }
        notes::put(&c.state.store, &t.mid, 0, &cur)?;
        Ok(Value::Int(ids.len() as i64))
    })()))
}

/// `MMDelRef(sid, mid, fileids...)` -> how many were removed: takes one count off each ID's
/// reference in `cur` (an ID `cur` does not hold counts nothing); needs write.
pub fn del_ref(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 2 + MAX_VARIADIC)?;
        let t = target(&c)?;
        t.header.rights().check(t.user.as_ref(), Right::WRITE)?;
        let ids = ref_ids(&c)?;
        let mut cur = notes::get(&c.state.store, &t.mid, 0)?;
        let mut done = 0;
        for id in &ids {
            if let Some(n) = cur.refs.get_mut(id) {
                *n -= 1;
                if *n == 0 {
                    cur.refs.remove(id);
                }
                done += 1;
            }
        }
        notes::put(&c.state.store, &t.mid, 0, &cur)?;
        Ok(Value::Int(done))
    })()))
}

fn refs_value(n: &Notes) -> Value {
    Value::Map(
        n.refs
            .iter()
            .map(|(k, v)| (k.clone(), Value::Int(*v as i64)))
            .collect(),
    )
}

/// The version `args[i]` names for the reference functions: 0 for `cur` (and for no version),
/// else its number.
fn notes_version(c: &Call<'_>, mid: &MimeiId, i: usize) -> Result<u64, ApiError> {
    match c.args.get(i) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Str(s)) if s.is_empty() => Ok(0),
        Some(_) => {
            let name = ver_arg(c, i)?;
            Ok(Mimeis::new(&c.state.store).resolve(mid, name)?.unwrap_or(0))
        }
    }
}

/// `MMGetRef(sid, mid, ver)` -> {id: count} of that version (`cur` without ver); needs read.
pub fn get_ref(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 3)?;
        let t = target(&c)?;
        read_or_write(&t)?;
        let v = notes_version(&c, &t.mid, 2)?;
        Ok(refs_value(&notes::get(&c.state.store, &t.mid, v)?))
    })()))
}

/// `MMGetRefs(sid, mid, vers...)` -> {ver: {id: count}} of those versions (every version
/// without any; `cur` is named "cur"); needs read.
pub fn get_refs(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 2 + MAX_VARIADIC)?;
        let t = target(&c)?;
        read_or_write(&t)?;
        let mut wanted: Vec<u64> = Vec::new();
        for i in 2..c.args.len() {
            wanted.push(notes_version(&c, &t.mid, i)?);
        }
        if wanted.is_empty() {
            let m = Mimeis::new(&c.state.store);
            wanted = m.versions(&t.mid)?.iter().map(|r| r.version()).collect();
        }
        wanted.sort_unstable();
        wanted.dedup();
        let mut out = Vec::new();
        for v in wanted {
            let name = if v == 0 {
                "cur".to_string()
            } else {
                v.to_string()
            };
            out.push((name, refs_value(&notes::get(&c.state.store, &t.mid, v)?)));
        }
        Ok(Value::Map(out))
    })()))
}

/// Reading the notes of a Mimei needs read, or write (a writer edits `cur`'s references).
fn read_or_write(t: &Target) -> Result<(), ApiError> {
    let r = t.header.rights();
    if r.check(t.user.as_ref(), Right::WRITE).is_ok() {
        return Ok(());
    }
    Ok(r.check(t.user.as_ref(), Right::READ)?)
}

/// `MMSum(sid, mid, ver, tp)` -> a digest of one version, to compare copies on two nodes;
/// needs read. tp `""` (or `data`, `cid`): the version's root CID, a hash of its whole content
/// (for a database Mimei, of its tree; `cur` of a database has none until backed up); tp
/// `ref`: the BLAKE3 of its references, one `id count` line each, sorted.
pub fn sum(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 4)?;
        let t = target(&c)?;
        read_or_write(&t)?;
        let name = match c.args.get(2) {
            None | Some(Value::Null) => VersionName::Last,
            Some(Value::Str(s)) if s.is_empty() => VersionName::Last,
            Some(_) => ver_arg(&c, 2)?,
        };
        let tp = c.opt_str_arg(3, "tp")?.unwrap_or("").to_ascii_lowercase();
        let m = Mimeis::new(&c.state.store);
        match tp.as_str() {
            "" | "data" | "cid" => {
                if name.is_writable() && t.header.fields().kind == MimeiType::Db {
                    return Err(bad(
                        &c,
                        "a database's cur has no digest until it is backed up (MMBackup); \
                         name a version"
                            .into(),
                    ));
                }
                let (root, _) = m.root(&t.mid, name)?;
                Ok(Value::Str(root.to_string()))
            }
            "ref" | "refs" => {
                let v = m.resolve(&t.mid, name)?.unwrap_or(0);
                let n = notes::get(&c.state.store, &t.mid, v)?;
                let mut h = blake3::Hasher::new();
                for (id, count) in &n.refs {
                    h.update(format!("{id} {count}\n").as_bytes());
                }
                Ok(Value::Str(h.finalize().to_hex().to_string()))
            }
            other => Err(bad(
                &c,
                format!(
                    "tp \"{}\" is not one of \"\" (content), ref",
                    crate::api::truncate(other, 20)
                ),
            )),
        }
    })()))
}

/// `MMOpenUrl(sid, ps)` -> a file handle (fsid) for reading: `mm://MID[:VER][/path]` (also
/// `mmroot` as the MID; VER defaults to what `MFOpenByPath` opens) is that path of the Mimei;
/// `/path`, `files://path` and `files/path` are the node's MFS; `/ipfs/CID[/path]`,
/// `ipfs://CID[/path]` an IPFS object.
pub fn open_url(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        c.arity(2, 2)?;
        let session = c.session.clone().ok_or(ApiError::SessionExpired)?;
        let ps = c.str_arg(1, "ps")?.to_string();
        let Some(rest) = ps.strip_prefix("mm://") else {
            return super::fs::open_url_read(c.state, &session, &ps).map(Value::Str);
        };
        let (which, path) = rest.split_once('/').unwrap_or((rest, ""));
        let entry = crate::api::lookup("MFOpenByPath")
            .ok_or_else(|| ApiError::Internal("MFOpenByPath is missing from the table".into()))?;
        let open = Call {
            state: c.state,
            session: Some(session.clone()),
            args: vec![
                Value::Str(session.sid.clone()),
                Value::from(which),
                Value::from(path),
                Value::Int(0),
            ],
            entry,
        };
        super::fs::open_path(open).await
    })
}

/// `MiMeiIsProvider(sid, mid)` -> whether this node can serve the Mimei: it holds the header
/// and at least one version.
pub fn is_provider(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(2, 2)?;
        let mid = mid_arg(&c, 1)?;
        let m = Mimeis::new(&c.state.store);
        let holds = match m.resolve(&mid, VersionName::Last) {
            Ok(v) => v.is_some(),
            Err(MimeiStoreError::NotFound(_)) => false,
            Err(e) => return Err(e.into()),
        };
        Ok(Value::Bool(holds))
    })()))
}
