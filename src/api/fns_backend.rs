//! Leither's backend app API over the plain API (docs/apps.md): `RunMApp`, which runs an
//! app's Lua entry ([`crate::scripts::mapp`]), and the rows of the backend functions
//! (`BE*`, `CreateSession`, `SessionSet`, ...), which only an app's own running code holds
//! ([`crate::scripts::backend`]): called by a client they answer a refusal that says so.

use std::future::ready;

use super::{ApiError, ApiFuture, Call, Value};

/// `RunMApp(entry, request, args)`: runs Lua file `entry` of the app `request` names
/// (`appid`/`aid`, or `author` and `app`) with `request.sid`'s session and `args`, and
/// answers what it returns.
pub fn run_mapp(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(async move {
        // Leither's trailing `opt ...string` is accepted and not used.
        c.arity(1, 3 + 16)?;
        let entry = c.str_arg(0, "entry")?.to_string();
        let request = crate::api::fns_script::glob_arg(&c, 1)?;
        let args = match c.args.get(2) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::List(l)) => l.clone(),
            Some(v) => {
                return Err(ApiError::BadArguments {
                    function: c.entry.name,
                    message: format!("argument 3 (args) must be a list, got {}", v.kind()),
                });
            }
        };
        crate::scripts::mapp::run(c.state, &entry, request, args).await
    })
}

/// A backend function called over the plain API: refused, naming why.
pub fn not_app_code(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready(Err(ApiError::NotAppCode {
        function: c.entry.name,
    })))
}
