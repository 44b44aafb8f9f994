//! The API table's rows for one subsystem.
//! Sessions and passes: `Login`, `Logout`, `VerifyPPT`, `Echo`.

use crate::api::fns_node;
use crate::api::{Access, ApiFn};

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
