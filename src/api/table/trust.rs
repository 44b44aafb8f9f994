//! The API table's rows for one subsystem.
//! Nodes that trust each other (api/Net.md section 2): `Invite`, `Accept`, `AddNode`,
//! `NLogin`, `NGetGift`; and ours to manage invitations: `ListInvites`, `DelInvite`,
//! `ListNodes`. docs/security.md, "Nodes that trust each other".

use crate::api::fns_trust;
use crate::api::{Access, ApiFn, Rights};

/// This subsystem's functions, in the order the function list shows them.
pub static FNS: &[ApiFn] = &[
    ApiFn {
        name: "Invite",
        params: "sid, validity, credit, friendCount",
        access: Access::Session(Rights::Owner),
        doc: "Signs an invitation for other nodes with the node key: this node's ID, its HTTP URLs and libp2p addresses, an expiry (validity in hours, 1 to 720; 0: 24), credit (recorded with each admission; no ledger spends it yet) and how many nodes may use it (friendCount, 1 to 1000; 0: 1). The node keeps it outstanding (at most 64) until used up, expired or withdrawn. Returns the code, one line `linv1.<base64url>`.",
        run: fns_trust::invite,
    },
    ApiFn {
        name: "Accept",
        params: "sid, inviteInfo",
        access: Access::Session(Rights::Owner),
        doc: "Accepts another node's invitation: checks its signature and expiry, finds the inviting node at the first of its http:// addresses whose GetVar hostid is that node, calls AddNode(this node's ID, its addresses, the code) there, and on success admits the inviting node here (how `accepted:NONCE credit=C`). Each node's key then logs in to the other as a user. Returns null; a refusal says why (the inviting node's message) or which addresses failed.",
        run: fns_trust::accept,
    },
    ApiFn {
        name: "AddNode",
        params: "id, addrs, invCode",
        access: Access::Public,
        doc: "A node presents an invitation this node issued: when invCode is signed by this node's key, outstanding, unexpired and has uses left, the node ID id is admitted as a user (how `invite:NONCE credit=C`) and its addrs (up to 16, comma- or space-separated, or a list; each up to 200 bytes; multiaddrs kept only with its own /p2p/ ID) are kept and dialled. A forged, changed, expired, used-up or withdrawn code is refused with the reason and changes nothing; each refusal costs the caller's address a failed login (LoginFailuresPerMin). Returns null.",
        run: fns_trust::add_node,
    },
    ApiFn {
        name: "NLogin",
        params: "ppt",
        access: Access::Public,
        doc: "Login(ppt) for a node: Leither's NodeLoginReply {Sid, Services} with Login's Uid, sid, uid, rights and expires beside it. Services is what this node granted the key: {owner: {rights}}, {user: {rights, how, since, credit}}, or {} for a key it did not admit (a visitor).",
        run: fns_trust::n_login,
    },
    ApiFn {
        name: "NGetGift",
        params: "ppt",
        access: Access::Public,
        doc: "Not supported on this node (HTTP 501): Leither reserves it and documents no result; trust between nodes is Invite and Accept, and NLogin's Services shows it.",
        run: fns_trust::n_get_gift,
    },
    ApiFn {
        name: "ListInvites",
        params: "sid",
        access: Access::Session(Rights::Owner),
        doc: "The outstanding invitations: [{nonce, made, expires (unix seconds), credit, count, left}]; used-up and expired ones stay until the table needs their room.",
        run: fns_trust::list_invites,
    },
    ApiFn {
        name: "DelInvite",
        params: "sid, nonce",
        access: Access::Session(Rights::Owner),
        doc: "Withdraws an outstanding invitation, named by its nonce or its first 6 or more characters: AddNode refuses it from then on (nodes it admitted stay; `lpki delkey` withdraws them). Returns its row.",
        run: fns_trust::del_invite,
    },
    ApiFn {
        name: "ListNodes",
        params: "sid",
        access: Access::Session(Rights::Owner),
        doc: "The nodes whose addresses this node keeps (from AddNode and Accept): [{id, at, addrs, admitted, how}].",
        run: fns_trust::list_nodes,
    },
];
