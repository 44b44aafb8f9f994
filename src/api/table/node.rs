//! The API table's rows for one subsystem.
//! Sessions, node variables and passes: `Login`, `Logout`, `GetVar`, `VerifyPPT`, `Echo`.

use crate::api::fns_node;
use crate::api::{Access, ApiFn, Rights};

/// This subsystem's functions, in the order the function list shows them.
pub static FNS: &[ApiFn] = &[
    ApiFn {
        name: "Login",
        params: "[ppt]",
        access: Access::Public,
        doc: "Without a pass: a guest session (read only). With a pass (PPT text): a user session, or an owner session if the node key signed it. Returns {sid, uid, rights, expires}.",
        run: fns_node::login,
    },
    ApiFn {
        name: "Logout",
        params: "sid",
        access: Access::Public,
        doc: "Ends the session. Returns true.",
        run: fns_node::logout,
    },
    ApiFn {
        name: "GetVar",
        params: "sid, name",
        access: Access::Session(Rights::Guest),
        doc: "A node variable: ver, hostid, peerid, hostpk, userid, nodeinfo, netstats.",
        run: fns_node::get_var,
    },
    ApiFn {
        name: "VerifyPPT",
        params: "ppt",
        access: Access::Public,
        doc: "Verifies a pass; returns {signer, pk, data, sign, end} or the reason it is refused.",
        run: fns_node::verify_ppt,
    },
    ApiFn {
        name: "Echo",
        params: "value",
        access: Access::Public,
        doc: "Returns its argument unchanged (health checks, client tests).",
        run: fns_node::echo,
    },
];
