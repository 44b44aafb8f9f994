//! docs/api.md must be the reference generated from the API table, so the documented
//! interface and the node's functions never drift apart.

#[test]
fn docs_api_md_matches_the_table() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/api.md");
    let want = leither::api::table::reference_markdown();
    if std::env::var_os("LEITHER_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "docs/api.md is out of date: run `LEITHER_BLESS=1 cargo test --test api_doc`"
    );
    for f in leither::api::table::all() {
        assert!(have.contains(&format!("`{}`", f.name)));
    }
}
