//! The node's own functions: `VerifyPPT`, `Echo` (logins are in fns_auth.rs, variables in
//! fns_var.rs).

use std::future::ready;

use super::{ApiFuture, Call, Value};
use crate::clock::unix_now;
use crate::pki::Pass;
use crate::pki::encoding::base64url_encode;

/// The version string shown by `GetVar(sid, "ver")` and `leither version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `VerifyPPT(ppt)`: checks a pass and returns what it states, or the reason it is refused.
pub fn verify_ppt(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 1)?;
        let pass = Pass::parse(c.str_arg(0, "ppt")?)?;
        pass.verify(unix_now())?;
        Ok(pass_value(&pass))
    })()))
}

/// A pass as a map, for `VerifyPPT` and `lpki show`.
pub fn pass_value(pass: &Pass) -> Value {
    Value::map([
        ("signer", Value::Str(pass.signer_id().to_string())),
        ("pk", Value::Str(base64url_encode(pass.public_key()))),
        (
            "data",
            Value::Map(
                pass.data()
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::Str(v.clone())))
                    .collect(),
            ),
        ),
        ("sign", Value::Int(pass.sign_time() as i64)),
        ("end", Value::Int(pass.end_time() as i64)),
    ])
}

/// `Echo(value)`: returns its argument; for health checks and codec tests.
pub fn echo(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 1)?;
        Ok(c.args[0].clone())
    })()))
}
