//! The API table's rows for one subsystem.
//! Passes and health: `VerifyPPT`, `Echo`.

use crate::api::fns_node;
use crate::api::{Access, ApiFn};

/// This subsystem's functions, in the order the function list shows them.
pub static FNS: &[ApiFn] = &[
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
