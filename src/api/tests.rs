//! The dispatcher's guarantees: sessions and rights are checked before any function runs.

use std::future::ready;

use super::*;
use crate::config::SystemVars;
use crate::pki::{NodeKey, Pass};
use crate::store::Store;

fn write_fn(_c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready(Ok(Value::from("written"))))
}

static TEST_TABLES: &[&[ApiFn]] = &[TEST_TABLE];

static TEST_TABLE: &[ApiFn] = &[
    ApiFn {
        name: "OwnerWrite",
        params: "sid",
        access: Access::Session(Rights::Owner),
        doc: "",
        run: write_fn,
    },
    ApiFn {
        name: "UserWrite",
        params: "sid",
        access: Access::Session(Rights::User),
        doc: "",
        run: write_fn,
    },
];

fn state(name: &str) -> (NodeState, std::path::PathBuf) {
    fresh_state(&format!("api-{name}"))
}

/// A node's state on a fresh home in the temp dir, named by `tag` (unique per test), for
/// the in-process tests of the API's functions.
pub(crate) fn fresh_state(tag: &str) -> (NodeState, std::path::PathBuf) {
    let home = std::env::temp_dir().join(format!("leither-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).unwrap();
    let key = NodeKey::generate().unwrap();
    let store = Store::open(&home, 1 << 20, "test").unwrap();
    (
        NodeState::new(home.clone(), key, SystemVars::default(), store),
        home,
    )
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

fn login(st: &NodeState, pass: Option<String>) -> String {
    let args = pass.map(Value::Str).into_iter().collect();
    let v = block_on(call(st, "Login", args)).unwrap();
    v.get("sid").and_then(Value::as_str).unwrap().to_string()
}

#[test]
fn writes_need_a_session_with_enough_rights() {
    let (st, home) = state("rights");
    let now = crate::clock::unix_now();
    let guest = login(&st, None);
    let user_key = NodeKey::generate().unwrap();
    crate::accounts::admitted::AdmittedUsers::new(&st.store)
        .add(&user_key.id(), "test", 0)
        .unwrap();
    let user = login(
        &st,
        Some(Pass::sign(&user_key, vec![], now, 60).unwrap().to_text()),
    );
    let owner = login(
        &st,
        Some(Pass::sign(&st.key, vec![], now, 60).unwrap().to_text()),
    );
    let run = |f: &str, sid: &str| block_on(call_in(TEST_TABLES, &st, f, vec![Value::from(sid)]));
    assert!(matches!(
        block_on(call_in(TEST_TABLES, &st, "OwnerWrite", vec![])),
        Err(ApiError::NoSession { .. })
    ));
    // "" is Leither's guest session: known, but with guest rights only.
    assert!(matches!(
        run("OwnerWrite", ""),
        Err(ApiError::Forbidden { .. })
    ));
    assert!(matches!(
        run("OwnerWrite", "made-up"),
        Err(ApiError::SessionExpired)
    ));
    assert!(matches!(
        run("OwnerWrite", &guest),
        Err(ApiError::Forbidden { .. })
    ));
    assert!(matches!(
        run("OwnerWrite", &user),
        Err(ApiError::Forbidden { .. })
    ));
    assert!(run("OwnerWrite", &owner).is_ok());
    assert!(matches!(
        run("UserWrite", &guest),
        Err(ApiError::Forbidden { .. })
    ));
    assert!(run("UserWrite", &user).is_ok());
    assert!(run("UserWrite", &owner).is_ok());
    assert_eq!(
        ApiError::Forbidden {
            function: "x",
            need: "owner"
        }
        .http_status(),
        403
    );
    drop(st);
    std::fs::remove_dir_all(home).unwrap();
}

#[test]
fn getvar_names_and_errors() {
    let (st, home) = state("getvar");
    let sid = login(&st, None);
    let get = |name: &str| {
        block_on(call(
            &st,
            "GetVar",
            vec![Value::from(sid.as_str()), Value::from(name)],
        ))
    };
    assert_eq!(get("ver").unwrap(), Value::from(fns_node::VERSION));
    assert_eq!(get("hostid").unwrap().as_str().unwrap().len(), 27);
    assert!(
        get("peerid")
            .unwrap()
            .as_str()
            .unwrap()
            .starts_with("12D3KooW")
    );
    assert_eq!(get("userid").unwrap(), Value::from(""));
    assert!(get("nodeinfo").unwrap().get("uptime").is_some());
    assert!(matches!(get("nope"), Err(ApiError::NotFound(_))));
    let e = block_on(call(&st, "GetVar", vec![Value::from(sid.as_str())])).unwrap_err();
    assert!(e.to_string().contains("sid, name"), "{e}");
    assert!(matches!(
        block_on(call(&st, "Nope", vec![])),
        Err(ApiError::UnknownFunction(_))
    ));
    drop(st);
    std::fs::remove_dir_all(home).unwrap();
}

#[test]
fn leither_variables_rights_and_gob() {
    let (st, home) = state("vars");
    let now = crate::clock::unix_now();
    let owner = login(
        &st,
        Some(Pass::sign(&st.key, vec![], now, 60).unwrap().to_text()),
    );
    let user_key = NodeKey::generate().unwrap();
    crate::accounts::admitted::AdmittedUsers::new(&st.store)
        .add(&user_key.id(), "test", 0)
        .unwrap();
    let user = login(
        &st,
        Some(Pass::sign(&user_key, vec![], now, 60).unwrap().to_text()),
    );
    let run = |f: &str, args: &[&str]| {
        block_on(call(&st, f, args.iter().map(|a| Value::from(*a)).collect()))
    };
    // Names are case-insensitive, as Leither's.
    assert_eq!(
        run("GetVar", &["", "VER"]).unwrap(),
        Value::from(fns_node::VERSION)
    );
    let Value::List(cpu) = run("GetVar", &["", "cpu"]).unwrap() else {
        panic!("cpu is not a list")
    };
    assert!(matches!(cpu[..], [Value::Float(_)]));
    assert!(
        run("GetVar", &["", "disk"])
            .unwrap()
            .get("usedPercent")
            .is_some()
    );
    assert!(
        run("GetVar", &["", "virtualmemory"])
            .unwrap()
            .get("total")
            .is_some()
    );
    assert!(matches!(
        run("GetVar", &["", "ips"]).unwrap(),
        Value::List(_)
    ));
    assert!(matches!(run("GetVar", &["", "nodeinfos"]).unwrap(), Value::List(l) if !l.is_empty()));
    assert_eq!(
        run("GetVar", &[&user, "userinfo"]).unwrap().get("rights"),
        Some(&Value::from("user"))
    );
    // Settings and the owner's pass: the owner only.
    for who in ["", user.as_str()] {
        assert!(matches!(
            run("GetVar", &[who, "systemvars"]),
            Err(ApiError::Forbidden { .. })
        ));
        assert!(matches!(
            run("GetVar", &[who, "ppt", "1"]),
            Err(ApiError::Forbidden { .. })
        ));
        // The router and the external address are the owner's to know.
        #[cfg(feature = "net")]
        assert!(matches!(
            run("GetVar", &[who, "nat"]),
            Err(ApiError::Forbidden { .. })
        ));
    }
    assert!(
        run("GetVar", &[&owner, "systemvars"])
            .unwrap()
            .get("ServicePort")
            .is_some()
    );
    let ppt = run("GetVar", &[&owner, "ppt", "2"]).unwrap();
    let pass = Pass::parse(ppt.as_str().unwrap()).unwrap();
    assert_eq!(pass.public_key(), &st.key.public_key());
    assert_eq!(pass.end_time() - pass.sign_time(), 2 * 3600);
    for bad in ["0", "721", "x", "-1"] {
        assert!(
            matches!(
                run("GetVar", &[&owner, "ppt", bad]),
                Err(ApiError::BadArguments { .. })
            ),
            "{bad}"
        );
    }
    // The gob stream of "ver" is a Go string at top level.
    let Value::Bytes(b) = run("GetGobVar", &["", "ver"]).unwrap() else {
        panic!("GetGobVar gives bytes")
    };
    assert_eq!(&b[1..3], &[0x0c, 0x00]);
    assert!(b.ends_with(fns_node::VERSION.as_bytes()));
    assert!(matches!(
        run("GetGobVar", &["", "disk"]),
        Ok(Value::Bytes(_))
    ));
    // GetVarByContext takes its arguments from a map.
    let by_ctx = block_on(call(
        &st,
        "GetVarByContext",
        vec![
            Value::from(owner.as_str()),
            Value::from("ppt"),
            Value::Map(vec![("hours".into(), Value::from("1"))]),
        ],
    ))
    .unwrap();
    assert!(by_ctx.as_str().unwrap().starts_with("ppt1."));
    // Actions: known ones, refusals.
    assert_eq!(
        run("Act", &["", "supporttunnel"]).unwrap(),
        Value::Bool(false)
    );
    assert!(matches!(
        run("Act", &["", "warn", "x"]),
        Err(ApiError::Forbidden { .. })
    ));
    assert_eq!(
        run("Act", &[&user, "warn", "hello"]).unwrap(),
        Value::Bool(true)
    );
    let e = run("Act", &["", "opentunnel"]).unwrap_err();
    assert!(
        matches!(e, ApiError::NotSupported(_)) && e.http_status() == 501,
        "{e}"
    );
    drop(st);
    std::fs::remove_dir_all(home).unwrap();
}

#[test]
fn every_table_entry_is_documented_and_unique() {
    let mut names: Vec<&str> = names().collect();
    let n = names.len();
    names.sort();
    names.dedup();
    assert_eq!(n, names.len(), "duplicate names in the table");
    for f in table::all() {
        assert!(!f.doc.is_empty() && !f.params.is_empty(), "{}", f.name);
    }
}
