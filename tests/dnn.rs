//! Domain-name nodes end to end, with real nodes on loopback (the browser side is
//! tests/dnn_web.rs): a home node reports to its DNN; the DNN answers `/mm/<mid>` and a bound
//! domain with the page, an unknown Mimei or domain with a 404 page, `/` with the dashboard;
//! forged, replayed and hijacking reports are refused; a broken `temp.html` falls back to the
//! built-in page and says so in the log.
#![cfg(feature = "files")]

mod common;

use std::time::Duration;

use common::dnn::{home_node, run, site, wait_for};
use common::{TestNode, curl, leither};
use leither::dnn::addr::{Host, Offer};
use leither::dnn::page::MAX_PAGE;
use leither::dnn::report::{Binding, Kind, Report};
use leither::mimei::{HeaderFields, MimeiHeader, MimeiType, Rights};
use leither::pki::NodeKey;

fn get(url: &str, headers: &[&str]) -> (u16, String) {
    let mut args: Vec<&str> = Vec::new();
    for h in headers {
        args.extend(["-H", h]);
    }
    args.push(url);
    let (code, body) = curl(&args);
    (code, String::from_utf8_lossy(&body).into_owned())
}

fn post_report(dnn: &TestNode, r: &Report) -> (u16, String) {
    let body = format!(
        "[\"{}\"]",
        leither::pki::encoding::base64url_encode(&r.to_bytes())
    );
    let (code, b) = curl(&[
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        &body,
        &format!("{}/api/DnnReport", dnn.url),
    ]);
    (code, String::from_utf8_lossy(&b).into_owned())
}

fn loopback(port: u16) -> Vec<Offer> {
    vec![Offer {
        https: false,
        host: Host::Ip("127.0.0.1".parse().unwrap()),
        port,
        prefix: 8,
        vpn: false,
    }]
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn reports_pages_domains_and_refusals() {
    let d = TestNode::start();
    let p = home_node(&d);
    let mid = site(&p, "hello from the provider");

    // The report reaches the DNN: /mm/<mid> there is the page, naming the provider.
    let page_url = format!("{}/mm/{mid}", d.url);
    let mut page = String::new();
    wait_for(
        "the DNN page lists the provider",
        Duration::from_secs(10),
        || {
            page = get(&page_url, &[]).1;
            page.contains(&p.url)
        },
    );
    assert!(page.len() <= MAX_PAGE, "{} bytes", page.len());
    assert!(
        page.contains(&format!("\"target\":\"/mm/{mid}/\"")),
        "{page}"
    );
    assert!(page.contains("\"visitor\":\"127.0.0.1\""), "{page}");
    println!("DNN page: {} bytes", page.len());
    // ... never for the page's own fetches, which get the plain 404.
    let (code, body) = get(&format!("{page_url}/?dnn=0"), &[]);
    assert_eq!(code, 404, "{body}");
    assert!(body.contains("\"code\":\"mm\""), "{body}");
    // The provider answers with CORS, so the page may read it.
    let (_, head) = curl(&["-sI", &format!("{}/mm/{mid}/?dnn=0", p.url)]);
    let head = String::from_utf8_lossy(&head);
    assert!(head.contains("Access-Control-Allow-Origin: *"), "{head}");

    // An unknown Mimei: a 404 page for a browser, the JSON error for a program.
    let unknown = format!("{}/mm/AAAAAAAAAAAAAAAAAAAAAAAAAAA", d.url);
    let (code, body) = get(&unknown, &["Accept: text/html"]);
    assert_eq!(code, 404);
    assert!(
        body.contains("<h1>Not found</h1>") && body.contains("is not on this node"),
        "{body}"
    );
    let (code, body) = get(&unknown, &[]);
    assert_eq!(code, 404);
    assert!(body.starts_with("{\"error\""), "{body}");

    // `/` is the dashboard while nothing is bound.
    let (code, body) = get(&format!("{}/", d.url), &["Host: blog.test"]);
    assert_eq!(code, 200);
    assert!(
        body.contains("<html") || body.contains("<!doctype"),
        "{body}"
    );
    let dash = body;

    // Bind a domain on the home node: the DNN serves it.
    let out = run(&p.home, &["mimei", "setdomain", &mid, "blog.test"]);
    assert!(
        out.contains("MiMeiSetDomain ok: blog.test -> /mm/"),
        "{out}"
    );
    assert!(out.contains(&format!("reported to: {}", d.url)), "{out}");
    let mut page = String::new();
    wait_for("the domain is served", Duration::from_secs(10), || {
        page = get(&format!("{}/", d.url), &["Host: blog.test:4800"]).1;
        page.contains(&p.url)
    });
    assert!(page.contains("<title>blog.test</title>"), "{page}");
    // Now an unbound name is a 404 page; the dashboard stays at /dashboard and on the IP.
    let (code, body) = get(&format!("{}/", d.url), &["Host: other.test"]);
    assert_eq!(code, 404);
    assert!(
        body.contains("No Mimei or app is bound to other.test"),
        "{body}"
    );
    assert_eq!(get(&format!("{}/dashboard", d.url), &[]).1, dash);
    assert_eq!(get(&format!("{}/", d.url), &[]).1, dash);

    // Bad domain names and Mimeis the session cannot write are refused with a reason.
    let o = leither(&p.home, &["mimei", "setdomain", &mid, "Not A Domain"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a domain name"));

    // Forged and replayed reports.
    let key = NodeKey::generate().unwrap();
    let r = Report::sign(&key, now_ms(), loopback(1), vec![], vec![]);
    let (code, body) = post_report(&d, &r);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"seen\":\"127.0.0.1\""), "{body}");
    let (code, body) = post_report(&d, &r);
    assert_eq!(code, 409, "a replay: {body}");
    let mut forged = Report::sign(&key, now_ms() + 5, loopback(2), vec![], vec![]);
    forged.addrs = loopback(3);
    let (code, body) = post_report(&d, &forged);
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("signature"), "{body}");
    let (code, body) = curl(&[
        "-X",
        "POST",
        "--data-binary",
        "[\"bm90IGEgcmVwb3J0\"]",
        &format!("{}/api/DnnReport", d.url),
    ]);
    assert_eq!(code, 400, "{}", String::from_utf8_lossy(&body));
    // A report binding a Mimei its node may not write: refused as a whole.
    let author = NodeKey::generate().unwrap();
    let header = MimeiHeader::create(
        &author,
        HeaderFields {
            app: None,
            kind: MimeiType::File,
            mark: "theirs".into(),
            nonce: None,
            ext: String::new(),
            created: now_ms() / 1000,
            revision: 0,
            rights: Rights::new(author.id()),
        },
    )
    .unwrap();
    let hijack = Report::sign(
        &key,
        now_ms() + 10,
        loopback(4),
        vec![],
        vec![Binding {
            domain: "evil.test".into(),
            kind: Kind::Mimei,
            header: header.to_bytes(),
        }],
    );
    let (code, body) = post_report(&d, &hijack);
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("has no write right"), "{body}");

    // Another node binding its own Mimei to the taken domain: its report is kept, the
    // domain refused (its log says why), and the DNN keeps serving the first binding.
    let s = home_node(&d);
    let smid = site(&s, "stranger");
    run(&s.home, &["mimei", "setdomain", &smid, "blog.test"]);
    wait_for(
        "the refusal reaches the stranger",
        Duration::from_secs(10),
        || {
            std::fs::read_to_string(s.home.join("Leither.log"))
                .unwrap_or_default()
                .contains("refused: blog.test is bound to Mimei")
        },
    );
    let page = get(&format!("{}/", d.url), &["Host: blog.test"]).1;
    assert!(page.contains(&format!("/mm/{mid}/")), "{page}");
    assert!(!page.contains(&smid), "{page}");
    // The stranger's Mimei is listed on the DNN all the same.
    let page = get(&format!("{}/mm/{smid}", d.url), &[]).1;
    assert!(page.contains(&s.url), "{page}");
}

/// An app on a home node: the DNN answers `/tpt/<appid>` and the app's bound domain with the
/// page for `/tpt/<appid>/`.
#[test]
fn apps_get_pages_and_domains_too() {
    let d = TestNode::start();
    let p = home_node(&d);
    let dir = common::fresh_home().join("shop");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("lever.json"),
        "{\"name\": \"shop\", \"luaEntry\": \"main.lua\"}\n",
    )
    .unwrap();
    std::fs::write(dir.join("index.html"), "<h1>the shop</h1>").unwrap();
    let out = run(&p.home, &["lapp", "uploadapp", "-i", dir.to_str().unwrap()]);
    let appid = out
        .lines()
        .find_map(|l| l.strip_prefix("appid= "))
        .expect("appid= line")
        .to_string();
    let page_url = format!("{}/tpt/{appid}", d.url);
    let mut page = String::new();
    wait_for("the app's page", Duration::from_secs(10), || {
        page = get(&page_url, &[]).1;
        page.contains(&p.url)
    });
    assert!(
        page.contains(&format!("\"target\":\"/tpt/{appid}/\"")),
        "{page}"
    );
    assert!(
        page.contains(&format!("<title>App {appid}</title>")),
        "{page}"
    );
    // On the provider the app itself (its slash form; the bare path redirects there).
    assert_eq!(get(&format!("{}/tpt/{appid}", p.url), &[]).0, 301);
    assert!(
        get(&format!("{}/tpt/{appid}/", p.url), &[])
            .1
            .contains("the shop")
    );
    let out = run(
        &p.home,
        &["lapp", "setdomain", "-a", "shop", "-d", "shop.test"],
    );
    assert!(out.contains(&format!("shop.test -> /tpt/{appid}")), "{out}");
    wait_for("the app's domain", Duration::from_secs(10), || {
        get(&format!("{}/", d.url), &["Host: shop.test"])
            .1
            .contains(&format!("\"target\":\"/tpt/{appid}/\""))
    });
}

#[test]
fn a_broken_template_falls_back_and_an_override_is_used() {
    let d = TestNode::start();
    let p = home_node(&d);
    let mid = site(&p, "content");
    let page_url = format!("{}/mm/{mid}", d.url);
    wait_for("the DNN page", Duration::from_secs(10), || {
        get(&page_url, &[]).1.contains(&p.url)
    });
    let builtin = get(&page_url, &[]).1;
    // A typo in a field: logged, the built-in page is served.
    std::fs::write(
        d.home.join("temp.html"),
        "<p>{{titel}}</p><script>{{data}}</script>",
    )
    .unwrap();
    let (code, page) = get(&page_url, &[]);
    assert_eq!(code, 200);
    assert_eq!(page, builtin);
    let log = std::fs::read_to_string(d.home.join("Leither.log")).unwrap();
    assert!(
        log.contains("temp.html cannot be used (unknown field {{titel}}"),
        "{log}"
    );
    // A good override is used at once.
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(
        d.home.join("temp.html"),
        "<!doctype html><title>{{title}}</title><p>{{note}}</p><script>var mine={{data}}</script>",
    )
    .unwrap();
    let page = get(&page_url, &[]).1;
    assert!(page.starts_with("<!doctype html><title>Mimei "), "{page}");
    assert!(page.contains("var mine={\"target\""), "{page}");
}

/// A flood of fresh keys from one address fills only its own share of the directory.
#[test]
fn one_address_cannot_fill_the_directory() {
    let d = TestNode::start();
    let cap = leither::dnn::directory::MAX_PER_ADDR;
    for i in 0..cap {
        let k = NodeKey::generate().unwrap();
        let r = Report::sign(&k, now_ms(), loopback(1000 + i as u16), vec![], vec![]);
        let (code, body) = post_report(&d, &r);
        assert_eq!(code, 200, "report {i}: {body}");
    }
    let k = NodeKey::generate().unwrap();
    let (code, body) = post_report(&d, &Report::sign(&k, now_ms(), loopback(1), vec![], vec![]));
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("nodes reporting from 127.0.0.1"), "{body}");
}
