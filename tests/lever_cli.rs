//! The `lever` client from outside, where it does not depend on the node's Lever runtime:
//! usage errors for bad URLs and arguments (exit 2, saying how to write them), a deploy of a
//! folder without lever.json refused before anything is uploaded, and `invoke`/`stream` of a
//! service the node does not run reported as the node's JSON error with its HTTP status
//! (exit 1). The runtime's side (deploy, calls, streams, ls, logs, rollback, rm) is tested
//! with it.

#![cfg(feature = "lever")]

mod common;

use std::process::Output;

use common::{TestNode, leither};

fn fails(o: &Output, code: i32) -> String {
    assert_eq!(o.status.code(), Some(code), "{o:?}");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn usage_errors_say_how() {
    let home = common::fresh_home();
    let e = fails(&leither(&home, &["lever", "invoke", "http://x/hello/m"]), 2);
    assert!(e.contains("lever://ENV/SERVICE[/RESOURCE]/METHOD"), "{e}");
    let e = fails(
        &leither(&home, &["lever", "invoke", "lever://dev.lever/hello"]),
        2,
    );
    assert!(e.contains("no method"), "{e}");
    let e = fails(
        &leither(
            &home,
            &["lever", "invoke", "lever://hello/sayHello", "world"],
        ),
        2,
    );
    assert!(e.contains("quote strings as JSON, e.g. '\"world\"'"), "{e}");
    let e = fails(
        &leither(&home, &["lever", "stream", "lever://hello/sayHello", "{"]),
        2,
    );
    assert!(e.contains("argument 1"), "{e}");
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn node_errors_are_reported() {
    let n = TestNode::start();
    let app = common::fresh_home().join("nolever");
    std::fs::create_dir_all(&app).unwrap();
    let e = fails(
        &leither(&n.home, &["lever", "deploy", app.to_str().unwrap()]),
        1,
    );
    assert!(e.contains("has no lever.json"), "{e}");

    for cmd in ["invoke", "stream"] {
        let o = std::process::Command::new(common::BIN)
            .arg("--home")
            .arg(&n.home)
            .args(["lever", cmd, "lever://dev.lever/nosuchservice/m", "\"x\""])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let e = fails(&o, 1);
        assert!(
            e.starts_with("leither: ") && e.contains("(HTTP "),
            "{cmd}: {e}"
        );
    }
}
