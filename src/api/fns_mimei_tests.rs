//! In-process checks of the Mimei handles: a session that ends takes its handles with it, a
//! right revoked after `MMOpen` applies at the next call, and a full handle table frees the
//! handles of ended sessions before refusing.

use super::*;
use crate::api::{NodeState, call};
use crate::config::SystemVars;
use crate::pki::{NodeKey, Pass};
use crate::store::Store;

fn state(name: &str) -> (NodeState, std::path::PathBuf) {
    let home = std::env::temp_dir().join(format!("leither-fnmm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).unwrap();
    let key = NodeKey::generate().unwrap();
    let store = Store::open(&home, 1 << 20, "test").unwrap();
    (
        NodeState::new(home.clone(), key, SystemVars::default(), store),
        home,
    )
}

fn run(st: &NodeState, f: &str, args: Vec<Value>) -> Result<Value, ApiError> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(call(st, f, args))
}

fn login(st: &NodeState, key: &NodeKey) -> Value {
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
    let mm = run(&st, "MMOpen", vec![owner.clone(), mid.clone(), s("cur")]).unwrap();

    let user_key = NodeKey::generate().unwrap();
    let uid = user_key.id().to_string();
    let user = login(&st, &user_key);
    run(
        &st,
        "MMSetRight",
        vec![mm.clone(), s(&uid), s("read,write")],
    )
    .unwrap();
    let umm = run(&st, "MMOpen", vec![user.clone(), mid.clone(), s("cur")]).unwrap();
    let fs = run(
        &st,
        "MFOpenByPath",
        vec![umm.clone(), s("a.txt"), Value::Int(0x42)],
    )
    .unwrap();
    run(&st, "MFSetData", vec![fs.clone(), s("hello")]).unwrap();

    // Revoked after MMOpen: the next write is refused, naming the right.
    run(&st, "MMSetRight", vec![mm.clone(), s(&uid), s("read")]).unwrap();
    let e = run(&st, "MFSetData", vec![fs.clone(), s("x")]).unwrap_err();
    assert_eq!(e.http_status(), 403, "{e}");
    assert!(e.to_string().contains("write"), "{e}");
    let got = run(&st, "MFGetData", vec![fs.clone(), Value::Int(-4)]).unwrap();
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
