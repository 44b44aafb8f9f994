//! docs/compat.md, the table of Leither's functions and how this node answers each, must agree
//! with the API table: a function marked supported or differs is in the table, one marked
//! not yet is not, and (when Leither's repository is beside this one, as in CI) every
//! function that Leither's Go client declares has a row.

use std::collections::BTreeSet;
use std::path::Path;

const STATUSES: [&str; 4] = ["supported", "differs", "not yet", "not supported"];

fn rows() -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/compat.md");
    let text = std::fs::read_to_string(&path).expect("docs/compat.md");
    let table = text
        .split("## Functions")
        .nth(1)
        .and_then(|t| t.split("\n## ").next())
        .expect("a Functions section");
    table
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((name.to_string(), cells.get(2)?.to_string()))
        })
        .collect()
}

#[test]
fn every_row_agrees_with_the_api_table() {
    let rows = rows();
    assert!(rows.len() > 150, "only {} rows", rows.len());
    let mut seen = BTreeSet::new();
    for (name, status) in &rows {
        assert!(seen.insert(name.clone()), "{name} has two rows");
        assert!(
            STATUSES.contains(&status.as_str()),
            "{name}: status {status:?}"
        );
        let here = leither::api::lookup(name).is_some();
        match status.as_str() {
            "supported" | "differs" => assert!(
                here,
                "{name} is marked {status} but is not in the API table"
            ),
            "not yet" => assert!(
                !here,
                "{name} is in the API table: mark it supported or differs"
            ),
            _ => {}
        }
    }
}

/// Function names a Go file declares as stub fields (`Name func(`) or methods of the backend
/// stub (`func (s *BackEndStub) Name(`).
fn declared(go: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in go.lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("func (s *BackEndStub) ") {
            out.push(rest.split('(').next().unwrap_or("").to_string());
            continue;
        }
        let mut words = t.split_whitespace();
        if let (Some(name), Some(kind)) = (words.next(), words.next())
            && kind.starts_with("func(")
            && name.starts_with(|c: char| c.is_ascii_uppercase())
        {
            out.push(name.to_string());
        }
    }
    out
}

#[test]
fn every_function_of_leithers_client_has_a_row() {
    let lapi = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/leither/lapi");
    if !lapi.is_dir() {
        eprintln!(
            "{} is not here: only the table side is checked",
            lapi.display()
        );
        return;
    }
    let have: BTreeSet<String> = rows().into_iter().map(|(n, _)| n).collect();
    let mut missing = Vec::new();
    let mut checked = 0;
    for f in ["stub.go", "mdb.go", "backend.go"] {
        let go = std::fs::read_to_string(lapi.join(f)).unwrap_or_default();
        for name in declared(&go) {
            checked += 1;
            if !have.contains(&name) {
                missing.push(format!("{name} ({f})"));
            }
        }
    }
    assert!(
        checked > 100,
        "only {checked} declarations read: has lapi changed shape?"
    );
    assert!(
        missing.is_empty(),
        "no row in docs/compat.md for: {missing:?}"
    );
}
