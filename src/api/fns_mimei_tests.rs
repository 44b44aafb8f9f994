//! In-process checks of the Mimei functions: a session that ends takes its handles with it, a
//! right revoked after `MMOpen` applies at the next call, a full handle table frees the
//! handles of ended sessions before refusing, two nodes in one process keep their handles
//! apart; Leither's `(sid, mid, ...)` forms, `mmroot`, references, memos, `MMSum`,
//! `MMOpenUrl`, and the refusals of guests and users without the right.

use super::*;
use crate::api::{NodeState, call};
use crate::pki::{NodeKey, Pass};

fn state(name: &str) -> (NodeState, std::path::PathBuf) {
    crate::api::tests::fresh_state(&format!("fnmm-{name}"))
}

fn run(st: &NodeState, f: &str, args: Vec<Value>) -> Result<Value, ApiError> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(call(st, f, args))
}

/// Logs in with `key`, admitted first (a stranger's key is a visitor: docs/security.md).
fn login(st: &NodeState, key: &NodeKey) -> Value {
    if key.id() != st.key.id() {
        crate::accounts::admitted::AdmittedUsers::new(&st.store)
            .add(&key.id(), "test", 0)
            .unwrap();
    }
    let pass = Pass::sign(key, vec![], unix_now(), 600).unwrap().to_text();
    let v = run(st, "Login", vec![Value::Str(pass)]).unwrap();
    v.get("sid").cloned().unwrap()
}

fn s(t: &str) -> Value {
    Value::from(t)
}

#[test]
fn handles_follow_their_session_and_current_rights() {
    let (st, home) = state("follow");
    let owner_key = NodeKey::from_seed(&st.key.secret_seed()).unwrap();
    let owner = login(&st, &owner_key);
    let mid = run(
        &st,
        "MMCreate",
        vec![owner.clone(), s(""), s(""), s("m"), s("")],
    )
    .unwrap();
    let user_key = NodeKey::generate().unwrap();
    let uid = user_key.id().to_string();
    let user = login(&st, &user_key);
    run(
        &st,
        "MMSetRight",
        vec![owner.clone(), mid.clone(), s(&uid), s("read,write")],
    )
    .unwrap();
    let umm = run(&st, "MMOpen", vec![user.clone(), mid.clone(), s("cur")]).unwrap();
    let fs = run(
        &st,
        "MFOpenByPath",
        vec![user.clone(), umm.clone(), s("a.txt"), Value::Int(0x42)],
    )
    .unwrap();
    run(&st, "MFSetData", vec![fs.clone(), s("hello")]).unwrap();

    // Revoked after MMOpen: the next write is refused, naming the right.
    run(
        &st,
        "MMSetRight",
        vec![owner.clone(), mid.clone(), s(&uid), s("read")],
    )
    .unwrap();
    let e = run(&st, "MFSetData", vec![fs.clone(), s("x")]).unwrap_err();
    assert_eq!(e.http_status(), 403, "{e}");
    assert!(e.to_string().contains("write"), "{e}");
    // Leither's -1 is the end of the file, so -5 is four bytes before it.
    let got = run(&st, "MFGetData", vec![fs.clone(), Value::Int(-5)]).unwrap();
    assert_eq!(got, Value::Bytes(b"ello".to_vec()));

    // The session ends: its handles stop working.
    run(&st, "Logout", vec![user]).unwrap();
    let e = run(&st, "MFGetData", vec![fs, Value::Int(0)]).unwrap_err();
    assert!(matches!(e, ApiError::SessionExpired), "{e}");
    drop(st);
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn a_full_table_frees_the_handles_of_ended_sessions() {
    let (st, home) = state("full");
    let owner_key = NodeKey::from_seed(&st.key.secret_seed()).unwrap();
    let owner = login(&st, &owner_key);
    let mid = run(
        &st,
        "MMCreate",
        vec![owner.clone(), s(""), s(""), s("m"), s("")],
    )
    .unwrap();
    let mid_id: MimeiId = mid.as_str().unwrap().parse().unwrap();
    {
        let mut t = st.mm_handles.borrow_mut();
        for i in 0..MAX_HANDLES {
            t.mm.insert(
                format!("stale{i}"),
                MmHandle {
                    sid: "ended".into(),
                    uid: "x".into(),
                    owner: false,
                    mid: mid_id,
                    version: None,
                    name: VersionName::Cur,
                },
            );
        }
    }
    run(&st, "MMOpen", vec![owner, mid, s("cur")]).unwrap();
    assert_eq!(st.mm_handles.borrow().mm.len(), 1);
    drop(st);
    std::fs::remove_dir_all(&home).unwrap();
}

fn err(r: Result<Value, ApiError>) -> ApiError {
    r.expect_err("the call should have been refused")
}

/// A node, its owner's session, a fresh user's session and ID, and a guest ("").
fn people(name: &str) -> (NodeState, std::path::PathBuf, Value, Value, String) {
    let (st, home) = state(name);
    let owner_key = NodeKey::from_seed(&st.key.secret_seed()).unwrap();
    let owner = login(&st, &owner_key);
    let user_key = NodeKey::generate().unwrap();
    let user = login(&st, &user_key);
    (st, home, owner, user, user_key.id().to_string())
}

/// Stores `data` as a raw block and returns its CID text.
fn block(st: &NodeState, data: &[u8]) -> String {
    let cid = Cid::new_v1(
        Codec::Raw,
        crate::ipfs::multihash::Multihash::sha2_256(data),
    );
    Blocks::new(&st.store).put(&cid, data).unwrap();
    cid.to_string()
}

#[test]
fn leither_forms_version_a_mimei() {
    let (st, home, owner, _, _) = people("forms");
    // Leither's six arguments: tp 1 (file), right 0x07276705 (everyone reads).
    let mid = run(
        &st,
        "MMCreate",
        vec![
            owner.clone(),
            s(""),
            s("ext"),
            s("m1"),
            Value::Int(1),
            Value::Int(0x07276705),
        ],
    )
    .unwrap();
    let got = run(&st, "MMGetRight", vec![owner.clone(), mid.clone(), s("*")]).unwrap();
    assert_eq!(got, Value::Int(Right::READ.bits() as i64));
    let cid = block(&st, b"hello");
    assert_eq!(
        run(&st, "MFSetCid", vec![owner.clone(), mid.clone(), s(&cid)]).unwrap(),
        s(&cid)
    );
    run(
        &st,
        "MMAddRef",
        vec![owner.clone(), mid.clone(), s(&cid), s(&cid)],
    )
    .unwrap();
    let v1 = run(
        &st,
        "MMBackup",
        vec![owner.clone(), mid.clone(), s("first"), s("delref=1")],
    )
    .unwrap();
    assert_eq!(v1, s("1"));
    let mmid: MimeiId = mid.as_str().unwrap().parse().unwrap();
    assert_eq!(notes::get(&st.store, &mmid, 1).unwrap().memo, "first");
    // delref cleared cur's references; version 1 keeps them, counted.
    let cur = run(&st, "MMGetRef", vec![owner.clone(), mid.clone(), s("cur")]).unwrap();
    assert_eq!(cur, Value::Map(vec![]));
    let one = run(&st, "MMGetRef", vec![owner.clone(), mid.clone(), s("1")]).unwrap();
    assert_eq!(one, Value::Map(vec![(cid.clone(), Value::Int(2))]));
    // Leither's examples pass the mmsid as the sid.
    let mm = run(&st, "MMOpen", vec![owner.clone(), mid.clone(), s("cur")]).unwrap();
    assert_eq!(
        run(&st, "MMBackup", vec![mm.clone(), mid.clone(), s("")]).unwrap(),
        s("2")
    );
    assert_eq!(run(&st, "MMBackup", vec![mm.clone()]).unwrap(), s("3"));
    let refs = run(&st, "MMGetRefs", vec![owner.clone(), mid.clone()]).unwrap();
    assert_eq!(
        refs.get("1"),
        Some(&Value::Map(vec![(cid.clone(), Value::Int(2))]))
    );
    assert_eq!(refs.get("3"), Some(&Value::Map(vec![])));
    assert_eq!(
        run(&st, "MMRelease", vec![owner.clone(), mid.clone(), s("2")]).unwrap(),
        s("2")
    );
    assert_eq!(
        run(
            &st,
            "MMSum",
            vec![owner.clone(), mid.clone(), s("1"), s("")]
        )
        .unwrap(),
        s(&cid)
    );
    let r1 = run(
        &st,
        "MMSum",
        vec![owner.clone(), mid.clone(), s("1"), s("ref")],
    )
    .unwrap();
    let r3 = run(
        &st,
        "MMSum",
        vec![owner.clone(), mid.clone(), s("3"), s("ref")],
    )
    .unwrap();
    assert_ne!(r1, r3);
    run(&st, "MMRestore", vec![owner.clone(), mid.clone(), s("1")]).unwrap();
    let cur = run(&st, "MMGetRef", vec![owner.clone(), mid.clone()]).unwrap();
    assert_eq!(cur, Value::Map(vec![(cid.clone(), Value::Int(2))]));
    assert_eq!(
        run(
            &st,
            "MMDelRef",
            vec![owner.clone(), mid.clone(), s(&cid), s(&cid), s(&cid)]
        )
        .unwrap(),
        Value::Int(2)
    );
    assert_eq!(
        run(
            &st,
            "MMDelVers",
            vec![owner.clone(), mid.clone(), s("1"), s("3")]
        )
        .unwrap(),
        Value::Int(2)
    );
    assert_eq!(
        notes::get(&st.store, &mmid, 1).unwrap(),
        notes::Notes::default()
    );
    assert_eq!(
        run(&st, "MiMeiIsProvider", vec![owner.clone(), mid.clone()]).unwrap(),
        Value::Bool(true)
    );
    drop(st);
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn guests_and_users_without_the_right_are_refused() {
    let (st, home, owner, user, uid) = people("refuse");
    let mid = run(
        &st,
        "MMCreate",
        vec![owner.clone(), s(""), s(""), s("m2"), s("file"), s("read")],
    )
    .unwrap();
    let cid = block(&st, b"x");
    run(&st, "MFSetCid", vec![owner.clone(), mid.clone(), s(&cid)]).unwrap();
    run(&st, "MMBackup", vec![owner.clone(), mid.clone(), s("")]).unwrap();
    for who in [s(""), user.clone()] {
        for (f, args) in [
            ("MMSetRight", vec![s(&uid), s("all")]),
            ("MMBackup", vec![s("")]),
            ("MMAddRef", vec![s(&cid)]),
            ("MFSetCid", vec![s(&cid)]),
            ("MMDelVers", vec![s("1")]),
            ("MMRelease", vec![s("1")]),
            ("MMRestore", vec![s("1")]),
        ] {
            let mut all = vec![who.clone(), mid.clone()];
            all.extend(args);
            let e = err(run(&st, f, all));
            assert_eq!(e.http_status(), 403, "{f}: {e}");
        }
        // Reading is what * grants.
        run(&st, "MMGetRef", vec![who.clone(), mid.clone(), s("1")]).unwrap();
    }
    // A user granted write may back up, but not hand out rights (no admin).
    run(
        &st,
        "MMSetRight",
        vec![owner.clone(), mid.clone(), s(&uid), Value::Int(0x07276706)],
    )
    .unwrap();
    run(&st, "MMBackup", vec![user.clone(), mid.clone(), s("")]).unwrap();
    let e = err(run(
        &st,
        "MMSetRight",
        vec![user.clone(), mid.clone(), s(""), s("all")],
    ));
    assert_eq!(e.http_status(), 403, "{e}");
    let got = run(&st, "MMGetRight", vec![user.clone(), mid.clone(), s("")]).unwrap();
    assert_eq!(got, Value::Int((Right::READ | Right::WRITE).bits() as i64));
    // Bad input: not an ID, an unknown tp, a right of neither layout.
    let e = err(run(
        &st,
        "MMAddRef",
        vec![owner.clone(), mid.clone(), s("nonsense")],
    ));
    assert_eq!(e.http_status(), 400, "{e}");
    let e = err(run(
        &st,
        "MMSum",
        vec![owner.clone(), mid.clone(), s("1"), s("md5")],
    ));
    assert_eq!(e.http_status(), 400, "{e}");
    let e = err(run(
        &st,
        "MMSetRight",
        vec![owner.clone(), mid.clone(), s("*"), Value::Int(0x80)],
    ));
    assert_eq!(e.http_status(), 400, "{e}");
    drop(st);
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn mmroot_is_the_nodes_private_folder() {
    let (st, home, owner, user, _) = people("mmroot");
    // Private until the owner opens it: the user and a guest may not read it.
    for who in [s(""), user.clone()] {
        let e = err(run(&st, "MMOpen", vec![who, s("mmroot"), s("last")]));
        assert_eq!(e.http_status(), 403, "{e}");
    }
    let cid = block(&st, b"web");
    run(&st, "MFSetCid", vec![owner.clone(), s("mmroot"), s(&cid)]).unwrap();
    run(&st, "MMBackup", vec![owner.clone(), s("MMROOT"), s("")]).unwrap();
    // Leither's setup guide opens it to other users this way.
    run(
        &st,
        "MMSetRight",
        vec![owner.clone(), s("mmroot"), s(""), Value::Int(0x07276707)],
    )
    .unwrap();
    run(&st, "MMOpen", vec![user.clone(), s("mmroot"), s("last")]).unwrap();
    let fsid = run(&st, "MMOpenUrl", vec![user.clone(), s("mm://mmroot")]).unwrap();
    assert_eq!(
        run(&st, "MFGetData", vec![fsid, Value::Int(0)]).unwrap(),
        Value::Bytes(b"web".to_vec())
    );
    // Its author is the node; no user can take its mark.
    let info = run(&st, "GetVar", vec![owner.clone(), s("mminfo"), s("mmroot")]).unwrap();
    assert_eq!(info.get("author"), Some(&s(&st.key.id().to_string())));
    let e = err(run(
        &st,
        "MMCreate",
        vec![user, s(""), s(""), s("mmroot"), s("")],
    ));
    assert_eq!(e.http_status(), 400, "{e}");
    let e = err(run(&st, "MMOpenUrl", vec![owner, s("ipfs://QmX")]));
    assert_eq!(e.http_status(), 400, "{e}");
    drop(st);
    std::fs::remove_dir_all(&home).unwrap();
}

#[test]
fn two_nodes_in_one_process_keep_their_handles_apart() {
    let (a, home_a, owner_a, _, _) = people("two-a");
    let (b, home_b, _, _, _) = people("two-b");
    let mid = run(
        &a,
        "MMCreate",
        vec![owner_a.clone(), s(""), s(""), s("m"), s("")],
    )
    .unwrap();
    let mm = run(&a, "MMOpen", vec![owner_a, mid, s("cur")]).unwrap();
    assert_eq!(a.mm_handles.borrow().mm.len(), 1);
    assert_eq!(b.mm_handles.borrow().mm.len(), 0);
    let e = err(run(&b, "MFReaddir", vec![mm, Value::Int(-1)]));
    assert_eq!(e.http_status(), 404, "{e}");
    drop((a, b));
    std::fs::remove_dir_all(&home_a).unwrap();
    std::fs::remove_dir_all(&home_b).unwrap();
}
