//! The API table's rows for one subsystem.
//! Authentication (api/Auth.md): `Login`, `LoginWithPPT`, `Logout`, `Register`,
//! `SetUserInfo`, `SignPPT`, `RequestService`; and who is a user of this node: `AddUser`,
//! `DelUser`, `ListUsers` (the owner's, Leither's `lpki addkey` / `lpki delkey`).

use crate::api::fns_auth;
use crate::api::{Access, ApiFn, Rights};

/// This subsystem's functions, in the order the function list shows them.
pub static FNS: &[ApiFn] = &[
    ApiFn {
        name: "Login",
        params: "[ppt | name, password], [\"byppt\" | \"byname\"]",
        access: Access::Public,
        doc: "Login() or Login(\"\"): a guest session (the empty sid \"\" is a guest too). Login(ppt): a pass in our ppt1. text or Leither's JSON; the node key's pass gives the owner's session; a pass of a key the owner admitted (AddUser, lpki addkey) or of an account a user session; any other valid pass a visitor session (a guest known by its ID: Mimei rights granted to it hold, but it stores nothing on the node). Login(name, password[, \"byname\"]): an account registered here. Returns Leither's {Sid, Uid} with our sid, uid, rights and expires beside them.",
        run: fns_auth::login,
    },
    ApiFn {
        name: "LoginWithPPT",
        params: "ppt",
        access: Access::Public,
        doc: "Login(ppt). Returns {Sid, Uid, sid, uid, rights, expires}.",
        run: fns_auth::login_with_ppt,
    },
    ApiFn {
        name: "Logout",
        params: "sid, [info]",
        access: Access::Public,
        doc: "Ends the session; info (at most 256 bytes, one line) goes to the node's log. Returns true.",
        run: fns_auth::logout,
    },
    ApiFn {
        name: "Register",
        params: "name, password, [email] | params",
        access: Access::Public,
        doc: "Makes an account on this node: a fresh key sealed under the password (never stored; PBKDF2-HMAC-SHA-256). params is a JSON map with newname, newpass, email. Who may register is SystemVars.json's Registration: \"loopback\" (default: programs on the node's machine), \"open\" or \"off\". Names: 1-64 of letters, digits, _ . @ -; passwords 6-128 bytes. Returns the new user ID.",
        run: fns_auth::register,
    },
    ApiFn {
        name: "SetUserInfo",
        params: "sid, param",
        access: Access::Session(Rights::User),
        doc: "param is a map: newname, newpass (only the account itself, logged in by name), email; the owner may name another account by userid (name and email only). Returns true.",
        run: fns_auth::set_user_info,
    },
    ApiFn {
        name: "SignPPT",
        params: "sid, info, period",
        access: Access::Session(Rights::User),
        doc: "A pass with info (a map of strings) as its data, valid period hours (1 to 720), signed by the session's key: the node key for the owner, the account's key for an account logged in by name; other users sign with `leither lpki signppt`. Returns the pass text.",
        run: fns_auth::sign_ppt,
    },
    ApiFn {
        name: "RequestService",
        params: "ppt",
        access: Access::Public,
        doc: "A user asks for services with a pass they signed (data service=NAME[,NAME], or Leither's RequestService=NAME). Returns {NAME: {granted, reason}}. A service named in SystemVars.json's GrantServices (default none) is granted to everyone; else the owner's script service/RequestService/NAME.lua in the home decides (docs/scripts.md: it runs as the guest with request {uid, service, the pass's fields} and returns true to grant; an error refuses). A grant admits the signer as a user of this node, nothing more; anything else is refused with the reason.",
        run: fns_auth::request_service,
    },
    ApiFn {
        name: "AddUser",
        params: "sid, uid",
        access: Access::Session(Rights::Owner),
        doc: "Admits the user ID uid as a user of this node (Leither's `lpki addkey`): its passes then give user sessions, which may store blocks, make Mimeis and deploy within their quotas; its live sessions become users' at once. Returns true if it was not admitted before.",
        run: fns_auth::add_user,
    },
    ApiFn {
        name: "DelUser",
        params: "sid, uid",
        access: Access::Session(Rights::Owner),
        doc: "Withdraws uid's admission (Leither's `lpki delkey`): its live sessions become visitors' at once (an account registered here stays a user). What it stored stays. Returns true if it was admitted.",
        run: fns_auth::del_user,
    },
    ApiFn {
        name: "ListUsers",
        params: "sid",
        access: Access::Session(Rights::Owner),
        doc: "The admitted users: [{uid, at (unix seconds), how (addkey, or service:NAME for a RequestService grant)}]. Accounts are not listed here.",
        run: fns_auth::list_users,
    },
];
