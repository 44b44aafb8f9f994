//! HTTPS on `HttpsPort` (feature `tls`), black box: a real node with a self-signed
//! certificate made by the `openssl` CLI, spoken to by `curl --cacert` (a TLS client written
//! by others). The same routes as the HTTP port; plain HTTP on the HTTPS port answered and
//! closed; a missing key leaves the node on plain HTTP with the reason logged; a renewed
//! certificate is used by new connections without a restart.
#![cfg(feature = "tls")]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{TestNode, free_port, set_system_var};
use leither::api::Value;

/// The name the certificates are made for; curl maps it to 127.0.0.1 with `--resolve`.
const HOST: &str = "leither.test";

/// Key types `make_pair` can make, each in the PEM form the TLS stack must read.
#[derive(Clone, Copy, Debug)]
enum KeyKind {
    /// EC P-256 in PKCS#8 (`BEGIN PRIVATE KEY`).
    EcPkcs8,
    /// RSA 2048 in PKCS#1 (`BEGIN RSA PRIVATE KEY`).
    RsaPkcs1,
    /// EC P-256 in SEC1 (`BEGIN EC PRIVATE KEY`).
    EcSec1,
}

fn openssl(args: &[&str], dir: &Path) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI is needed for these tests (apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes a self-signed certificate for [`HOST`] and 127.0.0.1 and its key in `dir`, as
/// `<name>.crt` and `<name>.key`.
fn make_pair(dir: &Path, name: &str, kind: KeyKind) {
    let key = format!("{name}.key");
    let crt = format!("{name}.crt");
    match kind {
        KeyKind::EcPkcs8 => openssl(
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                &key,
            ],
            dir,
        ),
        KeyKind::RsaPkcs1 => openssl(&["genrsa", "-traditional", "-out", &key, "2048"], dir),
        KeyKind::EcSec1 => openssl(
            &[
                "ecparam",
                "-name",
                "prime256v1",
                "-genkey",
                "-noout",
                "-out",
                &key,
            ],
            dir,
        ),
    }
    let subject = format!("/CN={HOST}");
    let san = format!("subjectAltName=DNS:{HOST},IP:127.0.0.1");
    openssl(
        &[
            "req", "-x509", "-new", "-key", &key, "-out", &crt, "-days", "2", "-subj", &subject,
            "-addext", &san,
        ],
        dir,
    );
    let text = std::fs::read_to_string(dir.join(&key)).unwrap();
    let marker = match kind {
        KeyKind::EcPkcs8 => "BEGIN PRIVATE KEY",
        KeyKind::RsaPkcs1 => "BEGIN RSA PRIVATE KEY",
        KeyKind::EcSec1 => "BEGIN EC PRIVATE KEY",
    };
    assert!(
        text.contains(marker),
        "{kind:?} key is not {marker}:\n{text}"
    );
}

/// Starts a node serving HTTPS on a free port with `tls/<name>.crt` and `tls/<name>.key`
/// (relative paths: resolved against the home); `env` goes to the node.
fn start_https(kind: KeyKind, env: &[(&str, &str)]) -> (TestNode, u16) {
    let node = TestNode::start_listening_env(
        "https",
        "HttpsPort",
        |home| {
            let dir = home.join("tls");
            std::fs::create_dir_all(&dir).unwrap();
            make_pair(&dir, "site", kind);
            set_system_var(home, "TlsCert", Value::Str("tls/site.crt".into()));
            set_system_var(home, "TlsKey", Value::Str("tls/site.key".into()));
        },
        env,
    );
    let port = node.port_of("https");
    (node, port)
}

/// curl over HTTPS to [`HOST`]:`port` trusting only `ca`: (status, body), status 0 when the
/// connection or the verification failed.
fn curl_https(port: u16, ca: &Path, path: &str, post: Option<&str>) -> (u16, String) {
    let resolve = format!("{HOST}:{port}:127.0.0.1");
    let url = format!("https://{HOST}:{port}{path}");
    let ca = ca.to_str().unwrap();
    let mut args = vec!["--cacert", ca, "--resolve", &resolve];
    if let Some(body) = post {
        args.extend([
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            body,
        ]);
    }
    args.push(&url);
    let (code, body) = common::curl(&args);
    (code, String::from_utf8_lossy(&body).into_owned())
}

fn still_serves(n: &TestNode, port: u16, ca: &Path) {
    let (s, b) = curl_https(port, ca, "/api/Echo", Some("[\"still here\"]"));
    assert_eq!((s, b.as_str()), (200, "\"still here\""), "{}", n.stderr());
    let (s, b) = common::curl(&[&format!("{}/", n.url)]);
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
}

#[test]
fn https_serves_the_same_routes_as_http() {
    let (n, port) = start_https(KeyKind::EcPkcs8, &[]);
    let ca = n.home.join("tls/site.crt");
    let (s, b) = curl_https(port, &ca, "/api/Echo", Some("[\"hi\"]"));
    assert_eq!((s, b.as_str()), (200, "\"hi\""), "{}", n.stderr());
    let (s, b) = curl_https(port, &ca, "/", None);
    assert_eq!(s, 200, "{b}");
    assert!(
        b.contains("<title>Leither node</title>"),
        "the dashboard: {b}"
    );
    // The same answer as the plain port, and errors map to the same statuses.
    let (s2, b2) = common::curl(&[&format!("{}/", n.url)]);
    assert_eq!((s2, String::from_utf8_lossy(&b2).into_owned()), (200, b));
    let (s, _) = curl_https(port, &ca, "/api/NoSuchFunction", Some("[]"));
    assert_eq!(s, 404);
    // TLS 1.2 and 1.3 are both offered; HTTP/2 is not (ALPN http/1.1).
    for v in ["--tlsv1.2 --tls-max 1.2", "--tlsv1.3"] {
        let out = Command::new("curl")
            .args([
                "-s",
                "-m",
                "20",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code} %{http_version}",
            ])
            .args(["--cacert", ca.to_str().unwrap()])
            .args(["--resolve", &format!("{HOST}:{port}:127.0.0.1")])
            .args(v.split(' '))
            .arg(format!("https://{HOST}:{port}/"))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "200 1.1", "{v}");
    }
    // The log says where HTTPS listens.
    assert!(n.stderr().contains("HTTPS listening on"), "{}", n.stderr());
}

#[test]
fn rsa_and_sec1_keys_are_read() {
    for kind in [KeyKind::RsaPkcs1, KeyKind::EcSec1] {
        let (n, port) = start_https(kind, &[]);
        let ca = n.home.join("tls/site.crt");
        let (s, b) = curl_https(port, &ca, "/api/Echo", Some("[\"hi\"]"));
        assert_eq!((s, b.as_str()), (200, "\"hi\""), "{kind:?}: {}", n.stderr());
    }
}

#[test]
fn plain_http_to_the_https_port_is_answered_and_closed() {
    let (n, port) = start_https(KeyKind::EcPkcs8, &[("LEITHER_TLS_RELOAD_SECS", "0")]);
    let ca = n.home.join("tls/site.crt");
    // curl speaking HTTP to the HTTPS port gets a 400 that says what to do.
    let (s, b) = common::curl(&[&format!("http://127.0.0.1:{port}/api/Echo"), "-d", "[1]"]);
    let b = String::from_utf8_lossy(&b);
    assert_eq!(s, 400, "{b}");
    assert!(b.contains("https://"), "{b}");
    // Bytes that are neither TLS nor HTTP, a half handshake, and a silent connection: closed.
    for junk in [&b"\x00\x01\x02garbage"[..], b"\x16\x03\x01\x00\x05ab", b""] {
        let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        c.write_all(junk).unwrap();
        if !junk.is_empty() {
            // The server ends the connection (an alert, then EOF), within the handshake timeout.
            let mut out = Vec::new();
            let _ = c.read_to_end(&mut out);
        }
    }
    still_serves(&n, port, &ca);
    let err = n.stderr();
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_slow_handshake_does_not_hold_the_port() {
    let (n, port) = start_https(KeyKind::EcPkcs8, &[]);
    let ca = n.home.join("tls/site.crt");
    // Clients that connect and say nothing; the port still serves others meanwhile, and the
    // silent ones are closed after the handshake timeout (10 s).
    let idle: Vec<TcpStream> = (0..8)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    still_serves(&n, port, &ca);
    let started = Instant::now();
    let mut first = idle.into_iter().next().unwrap();
    first
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut buf = [0u8; 16];
    let n_read = first.read(&mut buf).unwrap_or(0);
    assert_eq!(n_read, 0, "a silent client got bytes");
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(15), "closed after {waited:?}");
}

#[test]
fn a_missing_key_leaves_https_off_and_http_on() {
    let port = free_port();
    let n = TestNode::start_with(|home| {
        let dir = home.join("tls");
        std::fs::create_dir_all(&dir).unwrap();
        make_pair(&dir, "site", KeyKind::EcPkcs8);
        set_system_var(home, "HttpsPort", Value::Int(i64::from(port)));
        set_system_var(home, "TlsCert", Value::Str("tls/site.crt".into()));
        set_system_var(home, "TlsKey", Value::Str("tls/missing.key".into()));
    });
    let (s, b) = common::curl(&[&format!("{}/", n.url)]);
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&b));
    let err = n.stderr();
    assert!(err.contains("HTTPS is off"), "{err}");
    assert!(err.contains("missing.key"), "{err}");
    assert!(err.contains("TlsKey"), "{err}");
    assert!(!err.contains("HTTPS listening"), "{err}");
    // The node bound no HTTPS port (asked of the node: another program may own `port`).
    assert_eq!(n.listener("https"), None, "{:?}", n.listeners);
}

#[test]
fn https_port_without_files_says_so() {
    let port = free_port();
    let n = TestNode::start_with(|home| {
        set_system_var(home, "HttpsPort", Value::Int(i64::from(port)));
    });
    let err = n.stderr();
    assert!(err.contains("HTTPS is off"), "{err}");
    assert!(err.contains("TlsCert"), "{err}");
    assert_eq!(n.listener("https"), None, "{:?}", n.listeners);
    let (s, _) = common::curl(&[&format!("{}/", n.url)]);
    assert_eq!(s, 200);
}

/// Replaces `tls/site.{crt,key}` with the pair `name` made in `tls/`, each by a rename (as
/// certbot moves its links).
fn install_pair(home: &Path, name: &str) {
    let dir = home.join("tls");
    for ext in ["key", "crt"] {
        std::fs::copy(
            dir.join(format!("{name}.{ext}")),
            dir.join(format!("tmp.{ext}")),
        )
        .unwrap();
        std::fs::rename(
            dir.join(format!("tmp.{ext}")),
            dir.join(format!("site.{ext}")),
        )
        .unwrap();
    }
}

#[test]
fn a_renewed_certificate_is_used_without_a_restart() {
    let (n, port) = start_https(KeyKind::EcPkcs8, &[("LEITHER_TLS_RELOAD_SECS", "0")]);
    let dir = n.home.join("tls");
    std::fs::copy(dir.join("site.crt"), dir.join("old.crt")).unwrap();
    let old_ca = dir.join("old.crt");
    let (s, _) = curl_https(port, &old_ca, "/", None);
    assert_eq!(s, 200, "{}", n.stderr());

    // A renewal: a new key and certificate.
    make_pair(&dir, "new", KeyKind::EcPkcs8);
    install_pair(&n.home, "new");
    let new_ca = dir.join("new.crt");
    let (s, _) = curl_https(port, &new_ca, "/", None);
    assert_eq!(s, 200, "{}", n.stderr());
    let (s, _) = curl_https(port, &old_ca, "/", None);
    assert_eq!(s, 0, "the old certificate is still served");
    assert!(
        n.stderr().contains("new certificate loaded"),
        "{}",
        n.stderr()
    );

    // A broken renewal (a key that is not the certificate's): the pair in use stays.
    make_pair(&dir, "other", KeyKind::EcPkcs8);
    std::fs::copy(dir.join("other.key"), dir.join("tmp.key")).unwrap();
    std::fs::rename(dir.join("tmp.key"), dir.join("site.key")).unwrap();
    let (s, b) = curl_https(port, &new_ca, "/api/Echo", Some("[\"hi\"]"));
    assert_eq!((s, b.as_str()), (200, "\"hi\""), "{}", n.stderr());
    let err = n.stderr();
    assert!(err.contains("keep the certificate loaded before"), "{err}");
    assert!(err.contains("site.key"), "{err}");

    // Garbage in the certificate file: the same.
    std::fs::write(dir.join("site.crt"), "not a certificate\n").unwrap();
    still_serves(&n, port, &new_ca);
}

/// A DNN serving its page over HTTPS never hands the browser a plain-HTTP provider (mixed
/// content is blocked): the page has no such candidate and its note says why and what to do.
#[cfg(feature = "files")]
#[test]
fn a_dnn_page_over_https_says_why_plain_http_providers_are_left_out() {
    let (d, port) = start_https(KeyKind::EcPkcs8, &[]);
    let ca = d.home.join("tls/site.crt");
    let url = d.url.clone();
    let p = TestNode::start_with(move |h| {
        set_system_var(h, "SwarmPort", Value::Int(0));
        set_system_var(h, "Gateway", Value::List(vec![Value::Str(url)]));
        set_system_var(h, "GatewaySecs", Value::Int(1));
    });
    let mid = common::ok(&common::leither(
        &p.home,
        &["mimei", "create", "-t", "file"],
    ))
    .lines()
    .find_map(|l| l.strip_prefix("mid= ").map(str::to_string))
    .unwrap();
    common::ok(&common::leither(
        &p.home,
        &["mimei", "setright", &mid, "*", "read"],
    ));
    let f = p.home.join("hello.txt");
    std::fs::write(&f, "hello").unwrap();
    common::ok(&common::leither(
        &p.home,
        &["mimei", "add", &mid, f.to_str().unwrap()],
    ));
    let path = format!("/mm/{mid}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    // Over plain HTTP the provider is offered...
    loop {
        let (_, b) = common::curl(&[&format!("{}{path}", d.url)]);
        if String::from_utf8_lossy(&b).contains(&p.url) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no report reached the DNN"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // ... over HTTPS it is not, and the page says why.
    let (status, page) = curl_https(port, &ca, &path, None);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("\"cands\":[]"), "{page}");
    assert!(!page.contains(&p.url), "{page}");
    assert!(
        page.contains("This page came over HTTPS") && page.contains("http://"),
        "{page}"
    );
    assert!(page.len() <= leither::dnn::page::MAX_PAGE, "{}", page.len());
}
