//! In-process checks of Leither's login forms, accounts, `SignPPT` and `RequestService`.

use super::*;
use crate::api::{NodeState, call};

fn state(name: &str) -> (NodeState, std::path::PathBuf) {
    crate::api::tests::fresh_state(&format!("auth-{name}"))
}

fn run(st: &NodeState, f: &str, args: Vec<Value>) -> Result<Value, ApiError> {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(call(st, f, args))
}

fn s(t: &str) -> Value {
    Value::from(t)
}

fn sid(v: &Value) -> String {
    let a = v.get("Sid").and_then(Value::as_str).unwrap().to_string();
    assert_eq!(v.get("sid").and_then(Value::as_str), Some(a.as_str()));
    a
}

#[test]
fn every_login_form_answers_sid_and_uid() {
    let (st, home) = state("forms");
    let g = run(&st, "Login", vec![]).unwrap();
    assert_eq!(g.get("Uid"), Some(&s("")));
    assert_eq!(g.get("rights"), Some(&s("guest")));
    let g2 = run(&st, "login", vec![s("")]).unwrap();
    assert_eq!(g2.get("rights"), Some(&s("guest")));
    let owner_pass = Pass::sign(&st.key, vec![], unix_now(), 60)
        .unwrap()
        .to_text();
    for args in [
        vec![s(&owner_pass)],
        vec![s(&owner_pass), s("byppt")],
        vec![s(&owner_pass), s(""), s("byppt")],
    ] {
        let r = run(&st, "Login", args).unwrap();
        assert_eq!(r.get("rights"), Some(&s("owner")));
        assert_eq!(r.get("Uid"), Some(&s(&st.key.id().to_string())));
    }
    let r = run(&st, "LoginWithPPT", vec![s(&owner_pass)]).unwrap();
    assert_eq!(r.get("rights"), Some(&s("owner")));
    assert!(matches!(
        run(&st, "Login", vec![s("x"), s("y"), s("bysomething")]),
        Err(ApiError::BadArguments { .. })
    ));
    assert!(matches!(
        run(&st, "LoginWithPPT", vec![s("ppt1.garbage")]),
        Err(ApiError::Pass(_))
    ));
    let _ = std::fs::remove_dir_all(home);
}

#[test]
fn register_then_login_by_name_and_sign_a_pass() {
    let (st, home) = state("byname");
    let uid = run(
        &st,
        "Register",
        vec![s("lsb"), s("123456"), s("lsb@example.org")],
    )
    .unwrap();
    let uid = uid.as_str().unwrap().to_string();
    assert!(matches!(
        run(&st, "Register", vec![s("lsb"), s("abcdef")]),
        Err(ApiError::Account(AccountError::Taken(_)))
    ));
    // Leither's map form.
    let uid2 = run(
        &st,
        "Register",
        vec![s(r#"{"newname":"ann","newpass":"secret1"}"#)],
    )
    .unwrap();
    assert_ne!(uid2.as_str().unwrap(), uid);
    for args in [
        vec![s("lsb"), s("123456")],
        vec![s("lsb"), s("123456"), s("byname")],
    ] {
        let r = run(&st, "Login", args).unwrap();
        assert_eq!(r.get("Uid"), Some(&s(&uid)));
        assert_eq!(r.get("rights"), Some(&s("user")));
    }
    assert!(matches!(
        run(&st, "Login", vec![s("lsb"), s("wrong1")]),
        Err(ApiError::Account(AccountError::WrongLogin))
    ));
    let me = sid(&run(&st, "Login", vec![s("lsb"), s("123456")]).unwrap());
    let info = Value::Map(vec![("CertFor".into(), s("Self"))]);
    let ppt = run(&st, "SignPPT", vec![s(&me), info.clone(), Value::Int(7)]).unwrap();
    // The pass is the account's own: logging in with it gives the same user.
    let again = run(&st, "Login", vec![ppt]).unwrap();
    assert_eq!(again.get("Uid"), Some(&s(&uid)));
    // A user who logged in with a pass has no key here: refused, with what to do.
    let pass_user = sid(&again);
    let e = run(
        &st,
        "SignPPT",
        vec![s(&pass_user), info.clone(), Value::Int(7)],
    )
    .unwrap_err();
    assert!(e.to_string().contains("lpki signppt"), "{e}");
    // A guest may not sign; bad periods are refused.
    assert!(matches!(
        run(&st, "SignPPT", vec![s(""), info.clone(), Value::Int(7)]),
        Err(ApiError::Forbidden { .. })
    ));
    assert!(run(&st, "SignPPT", vec![s(&me), info, Value::Int(100_000)]).is_err());
    let _ = std::fs::remove_dir_all(home);
}

#[test]
fn set_user_info_renames_and_changes_the_password() {
    let (st, home) = state("setinfo");
    run(&st, "Register", vec![s("lsb"), s("123456")]).unwrap();
    let me = sid(&run(&st, "Login", vec![s("lsb"), s("123456")]).unwrap());
    let p = Value::Map(vec![
        ("newname".into(), s("lsb2")),
        ("newpass".into(), s("654321")),
    ]);
    assert_eq!(
        run(&st, "SetUserInfo", vec![s(&me), p]).unwrap(),
        Value::Bool(true)
    );
    assert!(run(&st, "Login", vec![s("lsb"), s("123456")]).is_err());
    assert!(run(&st, "Login", vec![s("lsb2"), s("123456")]).is_err());
    assert!(run(&st, "Login", vec![s("lsb2"), s("654321")]).is_ok());
    // Another user may not touch this account.
    let other = NodeKey::generate().unwrap();
    crate::accounts::admitted::AdmittedUsers::new(&st.store)
        .add(&other.id(), "test", 0)
        .unwrap();
    let o = sid(&run(
        &st,
        "Login",
        vec![s(&Pass::sign(&other, vec![], unix_now(), 60)
            .unwrap()
            .to_text())],
    )
    .unwrap());
    let uid = run(&st, "Login", vec![s("lsb2"), s("654321")])
        .unwrap()
        .get("Uid")
        .cloned()
        .unwrap();
    let p = Value::Map(vec![
        ("userid".into(), uid),
        ("newname".into(), s("stolen")),
    ]);
    assert!(matches!(
        run(&st, "SetUserInfo", vec![s(&o), p]),
        Err(ApiError::Forbidden { .. })
    ));
    assert!(run(&st, "Login", vec![s("lsb2"), s("654321")]).is_ok());
    let _ = std::fs::remove_dir_all(home);
}

#[test]
fn registration_can_be_turned_off() {
    let (st, home) = state("closed");
    st.vars.borrow_mut().registration = "off".to_string();
    let e = run(&st, "Register", vec![s("lsb"), s("123456")]).unwrap_err();
    assert!(e.to_string().contains("Registration"), "{e}");
    assert!(run(&st, "Login", vec![s("lsb"), s("123456")]).is_err());
    let _ = std::fs::remove_dir_all(home);
}

#[test]
fn logout_takes_leithers_info_and_ends_the_session() {
    let (st, home) = state("logout");
    let me = sid(&run(&st, "Login", vec![]).unwrap());
    assert_eq!(
        run(&st, "Logout", vec![s(&me), s("bye\nnow")]).unwrap(),
        Value::Bool(true)
    );
    assert!(matches!(
        run(&st, "GetVar", vec![s(&me), s("ver")]),
        Err(ApiError::SessionExpired)
    ));
    let _ = std::fs::remove_dir_all(home);
}

#[test]
fn request_service_grants_nothing_without_a_rule_and_says_why() {
    let (st, home) = state("reqsvc");
    let k = NodeKey::generate().unwrap();
    let data = vec![("service".to_string(), "mimei,storage".to_string())];
    let ppt = Pass::sign(&k, data, unix_now(), 60).unwrap().to_text();
    let r = run(&st, "RequestService", vec![s(&ppt)]).unwrap();
    for name in ["mimei", "storage"] {
        let entry = r.get(name).unwrap();
        assert_eq!(entry.get("granted"), Some(&s("false")));
        assert!(
            entry
                .get("reason")
                .and_then(Value::as_str)
                .unwrap()
                .contains(name)
        );
    }
    let bare = Pass::sign(&k, vec![], unix_now(), 60).unwrap().to_text();
    assert!(run(&st, "RequestService", vec![s(&bare)]).is_err());
    let _ = std::fs::remove_dir_all(home);
}
