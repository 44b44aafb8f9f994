//! The API table's rows for one subsystem.
//! Domain-name nodes: domain bindings, reports, status.

use crate::api::fns_dnn;
use crate::api::{Access, ApiFn, Rights};

/// This subsystem's functions, in the order the function list shows them.
pub static FNS: &[ApiFn] = &[
    ApiFn {
        name: "MiMeiSetDomain",
        params: "sid, mid, domain, [kind]",
        access: Access::Session(Rights::User),
        doc: "Binds domain to the Mimei (kind \"mm\", the default) or to it as an app (\"tpt\"); \"\" removes the Mimei's bindings. Needs write right (the node key's too: it signs the reports). Served here at once and reported to the DNNs in Gateway. A domain another node holds is refused. Returns {domain, target, gateways}.",
        run: fns_dnn::set_domain,
    },
    ApiFn {
        name: "DnnReport",
        params: "report",
        access: Access::Public,
        doc: "A node's signed address report (base64url), as nodes send to the DNNs in their Gateway (docs/dnn.md). Refused unless the node key's signature verifies, its sequence is newer than the last one kept, and each domain binding carries a header giving the node write right. Returns {ok, node, seen, bound, refused}.",
        run: fns_dnn::report,
    },
    ApiFn {
        name: "DnnStatus",
        params: "sid",
        access: Access::Session(Rights::Guest),
        doc: "This node as a DNN client and as a DNN: {addrs (the HTTP addresses it reports), gateways [{url, ok, at, error, message}], domains [{domain, target, served, owner}], reports [{node, from, addrs, mimeis, age}]}.",
        run: fns_dnn::status,
    },
];
