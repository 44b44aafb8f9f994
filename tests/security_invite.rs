//! Nodes that trust each other (issue #15, "Trust nobody by default": `Invite`, `Accept`,
//! `AddNode` between nodes; docs/security.md, "Nodes that trust each other"): two real nodes
//! admit each other by invitation, and one test per attack on the invitation, named after it.

#![cfg(feature = "files")]

mod common;

use std::time::Duration;

use common::{TestNode, leither, ok};
use leither::accounts::invite::{Invitation, NONCE_LEN};
use leither::pki::{NodeKey, Pass};

/// `POST path` with `body` from `source` (any 127/8 address: 127.0.0.1 is the owner's
/// loopback, exempt from the rate limits; the others are strangers): status and body.
fn post_from(n: &TestNode, source: &str, path: &str, body: &str) -> (u16, String) {
    let s = common::connect_from(n.port(), source, Duration::from_secs(20)).unwrap();
    common::post_json_on(s, path, body)
}

fn post(n: &TestNode, path: &str, body: &str) -> (u16, String) {
    post_from(n, "127.0.0.1", path, body)
}

fn pass(key: &NodeKey) -> String {
    Pass::sign(key, vec![], leither::clock::unix_now(), 3600)
        .unwrap()
        .to_text()
}

/// A string field of a JSON answer.
fn field(body: &str, k: &str) -> String {
    let at = body
        .find(&format!("\"{k}\":\""))
        .unwrap_or_else(|| panic!("no {k} in {body}"))
        + k.len()
        + 4;
    body[at..].split('"').next().unwrap().to_string()
}

/// `Login` with a pass of `key`: the sid and the rights the node gave.
fn login(n: &TestNode, key: &NodeKey) -> (String, String) {
    let (code, body) = post(n, "/api/Login", &format!("[\"{}\"]", pass(key)));
    assert_eq!(code, 200, "{body}");
    (field(&body, "sid"), field(&body, "rights"))
}

fn owner_key(n: &TestNode) -> NodeKey {
    NodeKey::load(&n.home.join("hostkey.cfg")).unwrap()
}

fn owner_sid(n: &TestNode) -> String {
    let (sid, rights) = login(n, &owner_key(n));
    assert_eq!(rights, "owner");
    sid
}

/// An invitation of `n` made by its owner through the API: the code.
fn invite(n: &TestNode, hours: u64, credit: u64, count: u64) -> String {
    let sid = owner_sid(n);
    let (code, body) = post(
        n,
        "/api/Invite",
        &format!("[\"{sid}\", {hours}, {credit}, {count}]"),
    );
    assert_eq!(code, 200, "{body}");
    body.trim().trim_matches('"').to_string()
}

fn add_node_body(id: &str, addrs: &str, code: &str) -> String {
    format!("[\"{id}\", \"{addrs}\", \"{code}\"]")
}

/// `AddNode` for a fresh node ID from the owner's loopback: status, body and the ID.
fn add_fresh_node(n: &TestNode, code: &str) -> (u16, String, NodeKey) {
    let k = NodeKey::generate().unwrap();
    let (status, body) = post(
        n,
        "/api/AddNode",
        &add_node_body(&k.id().to_string(), "http://192.0.2.9:4800", code),
    );
    (status, body, k)
}

/// What `n` admitted (`lpki users`).
fn users(n: &TestNode) -> String {
    ok(&leither(&n.home, &["lpki", "users"]))
}

/// The user-only call a stranger is refused: `MMCreate`.
fn mm_create(n: &TestNode, sid: &str) -> (u16, String) {
    post(
        n,
        "/api/MMCreate",
        &format!("[\"{sid}\", \"\", \"\", \"from-a-peer\", \"file\"]"),
    )
}

/// The owner of A invites, the owner of B accepts with the code: each node's key then logs
/// in to the other as a user and may store there, where a stranger is refused.
#[test]
fn two_nodes_invite_and_accept_trust_each_other() {
    let a = TestNode::start();
    let b = TestNode::start();
    let (ka, kb) = (owner_key(&a), owner_key(&b));
    let stranger = NodeKey::generate().unwrap();

    // Before: B is a visitor on A, refused what users may do.
    let (sid, rights) = login(&a, &kb);
    assert_eq!(rights, "visitor");
    assert_eq!(mm_create(&a, &sid).0, 403);

    let code = ok(&leither(
        &a.home,
        &[
            "node", "invite", "--hours", "2", "--count", "1", "--credit", "5",
        ],
    ));
    let code = code.trim();
    assert!(code.starts_with("linv1."), "{code}");
    let inv = Invitation::parse(code).unwrap();
    assert_eq!(inv.inviter(), ka.id());
    assert!(
        inv.http_urls().any(|u| u == a.url),
        "the invitation names A's URL {}: {:?}",
        a.url,
        inv.addrs
    );

    let out = ok(&leither(&b.home, &["node", "accept", code]));
    assert!(out.contains(&ka.id().to_string()), "{out}");

    // B's node key is a user of A now...
    let (sid, rights) = login(&a, &kb);
    assert_eq!(rights, "user");
    let (status, body) = mm_create(&a, &sid);
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(&a, "/api/IpfsAdd", &format!("[\"{sid}\", \"hello\"]"));
    assert_eq!(status, 200, "{body}");
    // ...and A's of B.
    let (sid, rights) = login(&b, &ka);
    assert_eq!(rights, "user");
    let (status, body) = mm_create(&b, &sid);
    assert_eq!(status, 200, "{body}");
    // A stranger still is not.
    let (sid, rights) = login(&a, &stranger);
    assert_eq!(rights, "visitor");
    assert_eq!(mm_create(&a, &sid).0, 403);

    // The admissions name the invitation and its credit.
    let nonce8 = &inv.nonce_text()[..8];
    let on_a = users(&a);
    assert!(on_a.contains(&kb.id().to_string()), "{on_a}");
    assert!(
        on_a.contains(&format!("invite:{nonce8} credit=5")),
        "{on_a}"
    );
    let on_b = users(&b);
    assert!(
        on_b.contains(&format!("accepted:{nonce8} credit=5")),
        "{on_b}"
    );

    // NLogin tells B what A granted it.
    let (status, body) = post(&a, "/api/NLogin", &format!("[\"{}\"]", pass(&kb)));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"Services\":{\"user\":{"), "{body}");
    assert!(body.contains("\"credit\":\"5\""), "{body}");
    assert!(!field(&body, "Sid").is_empty());
    let (status, body) = post(&a, "/api/NLogin", &format!("[\"{}\"]", pass(&stranger)));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"Services\":{}"), "{body}");

    // A kept B's addresses; the invitation is used up.
    let nodes = ok(&leither(&a.home, &["node", "nodes"]));
    assert!(nodes.contains(&kb.id().to_string()), "{nodes}");
    assert!(nodes.contains(&b.url), "A keeps B's URL: {nodes}");
    let invites = ok(&leither(&a.home, &["node", "invites"]));
    assert!(invites.contains("0/1 left"), "{invites}");

    // Accepting again is refused by A, naming why.
    let again = leither(&b.home, &["node", "accept", code]);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("used up"), "{err}");
}

/// Inviting is the owner's: a guest, a visitor and even an admitted user are refused.
#[test]
fn a_guest_visitor_or_user_cannot_invite() {
    let n = TestNode::start();
    let (visitor, _) = login(&n, &NodeKey::generate().unwrap());
    let (user, rights) = login(&n, &common::admitted_key(&n.home));
    assert_eq!(rights, "user");
    for sid in ["", visitor.as_str(), user.as_str()] {
        let (status, body) = post(&n, "/api/Invite", &format!("[\"{sid}\", 1, 0, 1]"));
        assert_eq!(status, 403, "{body}");
        for f in ["ListInvites", "ListNodes"] {
            let (status, body) = post(&n, &format!("/api/{f}"), &format!("[\"{sid}\"]"));
            assert_eq!(status, 403, "{f}: {body}");
        }
        let (status, body) = post(&n, "/api/DelInvite", &format!("[\"{sid}\", \"abcdefgh\"]"));
        assert_eq!(status, 403, "{body}");
    }
    let (status, body) = post(&n, "/api/Accept", "[\"\", \"linv1.x\"]");
    assert_eq!(status, 403, "{body}");
}

/// A code signed by a self-made key claims to be an invitation of this node.
#[test]
fn add_node_with_a_forged_code_is_refused() {
    let n = TestNode::start();
    let forger = NodeKey::generate().unwrap();
    let now = leither::clock::unix_now();
    let forged = Invitation::sign(&forger, now, now + 3600, 0, 5, [3; NONCE_LEN], &[])
        .unwrap()
        .to_text();
    let (status, body, k) = add_fresh_node(&n, &forged);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("not issued by this node"), "{body}");
    assert!(!users(&n).contains(&k.id().to_string()));
    assert_eq!(login(&n, &k).1, "visitor");
}

/// A real code with one byte changed (its credit raised).
#[test]
fn add_node_with_a_tampered_code_is_refused() {
    let n = TestNode::start();
    let code = invite(&n, 1, 5, 1);
    let mut bytes = leither::pki::encoding::base64url_decode(&code["linv1.".len()..]).unwrap();
    bytes[60] ^= 0x40; // the credit's last byte
    let tampered = format!("linv1.{}", leither::pki::encoding::base64url_encode(&bytes));
    let (status, body, k) = add_fresh_node(&n, &tampered);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("signature does not verify"), "{body}");
    assert!(!users(&n).contains(&k.id().to_string()));
    // The real code still works: the refusal changed nothing.
    let (status, body, _) = add_fresh_node(&n, &code);
    assert_eq!(status, 200, "{body}");
}

/// A code of this node's whose time is over (signed with the node's own key, an hour ago).
#[test]
fn add_node_with_an_expired_code_is_refused() {
    let n = TestNode::start();
    let now = leither::clock::unix_now();
    let expired = Invitation::sign(
        &owner_key(&n),
        now - 7200,
        now - 3600,
        0,
        1,
        [9; NONCE_LEN],
        &[],
    )
    .unwrap()
    .to_text();
    let (status, body, k) = add_fresh_node(&n, &expired);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("expired"), "{body}");
    assert!(!users(&n).contains(&k.id().to_string()));
}

/// A code for two nodes, used by a third.
#[test]
fn add_node_with_a_used_up_code_is_refused() {
    let n = TestNode::start();
    let code = invite(&n, 1, 0, 2);
    for _ in 0..2 {
        let (status, body, k) = add_fresh_node(&n, &code);
        assert_eq!(status, 200, "{body}");
        assert_eq!(login(&n, &k).1, "user");
    }
    let (status, body, k) = add_fresh_node(&n, &code);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("used up"), "{body}");
    assert_eq!(login(&n, &k).1, "visitor");
}

/// A code the owner withdrew (`leither node uninvite`).
#[test]
fn add_node_with_a_withdrawn_code_is_refused() {
    let n = TestNode::start();
    let code = invite(&n, 1, 0, 3);
    let nonce = Invitation::parse(&code).unwrap().nonce_text();
    let listed = ok(&leither(&n.home, &["node", "invites"]));
    assert!(listed.contains(&nonce), "{listed}");
    let out = ok(&leither(&n.home, &["node", "uninvite", &nonce[..8]]));
    assert!(out.contains(&nonce), "{out}");
    let (status, body, k) = add_fresh_node(&n, &code);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("withdrew"), "{body}");
    assert_eq!(login(&n, &k).1, "visitor");
    assert!(!ok(&leither(&n.home, &["node", "invites"])).contains(&nonce));
}

/// A stranger guesses codes from one address: each wrong one costs a failed login, and past
/// `LoginFailuresPerMin` the address is refused before its code is looked at, the right
/// code too; another address is not.
#[test]
fn a_flood_of_wrong_codes_from_one_address_is_rate_limited() {
    let n = TestNode::start();
    let code = invite(&n, 1, 0, 1);
    let id = NodeKey::generate().unwrap().id().to_string();
    let mut refused_at = None;
    for i in 0..30 {
        let mut bytes = leither::pki::encoding::base64url_decode(&code["linv1.".len()..]).unwrap();
        bytes[70] ^= (i as u8) + 1; // a guessed nonce
        let guess = format!("linv1.{}", leither::pki::encoding::base64url_encode(&bytes));
        let (status, body) = post_from(
            &n,
            "127.0.0.2",
            "/api/AddNode",
            &add_node_body(&id, "", &guess),
        );
        match status {
            403 => assert!(i < 10, "guess {i} was still checked: {body}"),
            429 => {
                assert!(body.contains("LoginFailuresPerMin"), "{body}");
                refused_at = Some(i);
                break;
            }
            other => panic!("guess {i}: {other} {body}"),
        }
    }
    assert_eq!(
        refused_at,
        Some(10),
        "refused after LoginFailuresPerMin (10) wrong codes"
    );
    let (status, body) = post_from(
        &n,
        "127.0.0.2",
        "/api/AddNode",
        &add_node_body(&id, "", &code),
    );
    assert_eq!(status, 429, "the right code from a limited address: {body}");
    let (status, body) = post_from(
        &n,
        "127.0.0.3",
        "/api/AddNode",
        &add_node_body(&id, "", &code),
    );
    assert_eq!(status, 200, "another address: {body}");
}

/// `AddNode` with an ID of 10 KB, addresses of 5 KB, too many addresses, or an address
/// with a control character: a clear 400, nothing admitted, the code still whole.
#[test]
fn add_node_with_oversized_arguments_is_refused() {
    let n = TestNode::start();
    let code = invite(&n, 1, 0, 1);
    let id = NodeKey::generate().unwrap().id().to_string();
    let cases = [
        (
            add_node_body(&"A".repeat(10_000), "", &code),
            "id is 10000 bytes",
        ),
        (
            add_node_body(&id, &"x".repeat(5000), &code),
            "over the limit of 4096",
        ),
        (
            add_node_body(
                &id,
                &(0..17)
                    .map(|i| format!("http://10.0.0.{i}:1"))
                    .collect::<Vec<_>>()
                    .join(","),
                &code,
            ),
            "more than 16",
        ),
        (add_node_body(&id, &"y".repeat(300), &code), "is not one"),
        (
            add_node_body(&id, "", &"z".repeat(20_000)),
            "over the limit of 4096",
        ),
    ];
    for (body, says) in cases {
        let (status, answer) = post(&n, "/api/AddNode", &body);
        assert_eq!(status, 400, "{answer}");
        assert!(answer.contains(says), "{says}: {answer}");
    }
    assert!(!users(&n).contains(&id));
    let (status, body) = post(&n, "/api/AddNode", &add_node_body(&id, "", &code));
    assert_eq!(status, 200, "the code was not used by the refusals: {body}");
}

/// Invitations are kept in a bounded table: the 65th outstanding one is refused, naming how
/// to make room; withdrawing one makes it.
#[test]
fn the_outstanding_invitation_table_holds_its_bound() {
    let n = TestNode::start();
    let sid = owner_sid(&n);
    let mut first = String::new();
    for i in 0..64 {
        let (status, body) = post(&n, "/api/Invite", &format!("[\"{sid}\", 1, 0, 1]"));
        assert_eq!(status, 200, "invitation {i}: {body}");
        if i == 0 {
            first = body.trim().trim_matches('"').to_string();
        }
    }
    let (status, body) = post(&n, "/api/Invite", &format!("[\"{sid}\", 1, 0, 1]"));
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("at most 64"), "{body}");
    assert!(body.contains("uninvite"), "{body}");
    let nonce = Invitation::parse(&first).unwrap().nonce_text();
    let (status, body) = post(&n, "/api/DelInvite", &format!("[\"{sid}\", \"{nonce}\"]"));
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(&n, "/api/Invite", &format!("[\"{sid}\", 1, 0, 1]"));
    assert_eq!(status, 200, "{body}");
    // Out-of-range parameters are refused with their bounds.
    for (args, says) in [
        ("1000, 0, 1", "1 to 720 hours"),
        ("1, 0, 1001", "1 to 1000"),
        ("1, -5, 1", "whole number"),
    ] {
        let (status, body) = post(&n, "/api/Invite", &format!("[\"{sid}\", {args}]"));
        assert_eq!(status, 400, "{body}");
        assert!(body.contains(says), "{says}: {body}");
    }
}

/// Leither reserves `NGetGift`; this node says so instead of answering something made up.
#[test]
fn n_get_gift_is_not_supported_and_says_why() {
    let n = TestNode::start();
    let (status, body) = post(
        &n,
        "/api/NGetGift",
        &format!("[\"{}\"]", pass(&NodeKey::generate().unwrap())),
    );
    assert_eq!(status, 501, "{body}");
    assert!(body.contains("Invite and Accept"), "{body}");
}

/// An invitation whose address leads to another node (a stale or planted address): `Accept`
/// asks who answers there first and never hands that node the code; an expired invitation
/// is refused before any call.
#[test]
fn accept_sends_the_code_only_to_the_inviting_node() {
    let b = TestNode::start();
    let other = TestNode::start();
    let inviter = NodeKey::generate().unwrap();
    let now = leither::clock::unix_now();
    let code = Invitation::sign(
        &inviter,
        now,
        now + 3600,
        0,
        1,
        [5; NONCE_LEN],
        std::slice::from_ref(&other.url),
    )
    .unwrap()
    .to_text();
    let out = leither(&b.home, &["node", "accept", &code]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is another node"), "{err}");
    let log = std::fs::read_to_string(other.home.join("Leither.log")).unwrap_or_default();
    assert!(
        !log.contains("admitted"),
        "the other node admitted someone: {log}"
    );
    assert!(!users(&b).contains(&inviter.id().to_string()));

    let expired = Invitation::sign(
        &inviter,
        now - 7200,
        now - 3600,
        0,
        1,
        [6; NONCE_LEN],
        std::slice::from_ref(&other.url),
    )
    .unwrap()
    .to_text();
    let out = leither(&b.home, &["node", "accept", &expired]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("expired"), "{err}");
}

/// Trust outlives a restart: the restarted node (on a new swarm port) dials the node it
/// trusts again from the addresses it kept, and its key is still a user there.
#[test]
fn a_restarted_node_dials_the_nodes_it_trusts() {
    let a = TestNode::start();
    let mut b = TestNode::start();
    let code = invite(&a, 1, 0, 1);
    ok(&leither(&b.home, &["node", "accept", &code]));
    b.stop();
    let out = ok(&leither(&b.home, &["run", "-d"]));
    assert!(out.contains("started"), "{out}");
    let a_peer = ok(&leither(&a.home, &["swarm", "id"]));
    let a_peer = a_peer
        .split_whitespace()
        .find(|w| w.starts_with("12D3KooW"))
        .unwrap_or_else(|| panic!("no PeerId in {a_peer}"))
        .to_string();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut peers = String::new();
    while std::time::Instant::now() < deadline {
        peers = ok(&leither(&b.home, &["swarm", "peers"]));
        if peers.contains(&a_peer) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let (_, rights) = login(&a, &owner_key(&b));
    ok(&leither(&b.home, &["stop"]));
    assert!(peers.contains(&a_peer), "B did not dial A again: {peers}");
    assert_eq!(rights, "user");
}
