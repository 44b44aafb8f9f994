//! The API table's rows for one subsystem.
//! Leither's backend app API (docs/apps.md): `RunMApp`, and the backend functions, which
//! only an app's running code holds (`lapi` in its Lua); over the plain API they refuse.

use crate::api::fns_backend;
use crate::api::{Access, ApiFn};

macro_rules! backend_row {
    ($name:literal, $params:literal, $doc:literal) => {
        ApiFn {
            name: $name,
            params: $params,
            access: Access::Public,
            doc: concat!($doc, " Only an app's own running code (lapi in its Lua entry, docs/apps.md) holds it; a client calling it is refused (403)."),
            run: fns_backend::not_app_code,
        }
    };
}

/// This subsystem's functions, in the order the function list shows them.
pub static FNS: &[ApiFn] = &[
    ApiFn {
        name: "RunMApp",
        params: "entry, request, [args], [opt...]",
        access: Access::Public,
        doc: "Runs the Lua file entry (\"main\" when empty, .lua added) of the app request names (appid or aid, or author and app) at request.ver (default: released, else newest), with request.sid's session (none: the guest), which needs read on the app. The file sees request (Leither's keys sid, aid, appid, ver, entry, mid, nid set by the node), args, the modules and lapi (the API and the backend functions). Limits as RunScript; opt (at most 16) accepted, not used. Returns what the file returns.",
        run: fns_backend::run_mapp,
    },
    backend_row!(
        "BELoginAsAuthor",
        "none",
        "A session as the app's author (the user who made the app here), for the run only; refused when others may write the app."
    ),
    backend_row!(
        "BELoginAsApp",
        "none",
        "A session as the app's identity (a key this node derives for the app), for the run only."
    ),
    backend_row!(
        "BEOpenAppDataNode",
        "ver, mark",
        "An mmsid of this node's data Mimei of the app (a database, made on first use; only the app's identity and the node may write it); ver \"\" is cur."
    ),
    backend_row!(
        "BEOpenAppDataApp",
        "ver, mark",
        "An mmsid of the app's own data Mimei (as BEOpenAppDataNode, a second one)."
    ),
    backend_row!(
        "BEMMSync",
        "dhts, mid, param",
        "MiMeiSync with the author's session."
    ),
    backend_row!(
        "BESignPPT",
        "info, period",
        "A pass over info signed by the app's signer key (never the node's), for period hours (1 to 720)."
    ),
    backend_row!(
        "BESign",
        "info",
        "info signed by the app's signer key, in the pass's form."
    ),
    backend_row!(
        "CreateSession",
        "none",
        "A backend session of the app (values kept in memory; ends an hour after its last use)."
    ),
    backend_row!(
        "SessionSet",
        "sid, key, value",
        "Keeps any value under key in the app's session sid (64 keys, 64 KiB a value, 256 KiB a session)."
    ),
    backend_row!(
        "SessionGet",
        "sid, key",
        "The value under key in the app's session sid, null when none."
    ),
    backend_row!(
        "SessionDelete",
        "sid, key",
        "Removes key from the app's session sid."
    ),
    backend_row!("ReleaseSession", "sid", "Ends the app's session sid."),
];
