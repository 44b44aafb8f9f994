//! The node's own functions: `Login`, `Logout`, `VerifyPPT`, `Echo` (variables are in
//! fns_var.rs).

use std::future::ready;

use super::{ApiError, ApiFuture, Call, Rights, Value};
use crate::clock::unix_now;
use crate::pki::Pass;
use crate::pki::encoding::base64url_encode;

/// The version string shown by `GetVar(sid, "ver")` and `leither version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// `Login()` gives a guest session; `Login(ppt)` a user session after verifying the pass
/// (an owner session when the node's own key signed it).
pub fn login(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready(login_now(&c, unix_now())))
}

fn login_now(c: &Call<'_>, now: u64) -> Result<Value, ApiError> {
    c.arity(0, 1)?;
    let (uid, rights, hard_end) = match c.opt_str_arg(0, "ppt")? {
        None => (String::new(), Rights::Guest, u64::MAX),
        Some(text) => {
            let pass = Pass::parse(text)?;
            pass.verify(now)?;
            let signer = pass.signer_id().to_string();
            let rights = if *pass.public_key() == c.state.key.public_key() {
                Rights::Owner
            } else {
                Rights::User
            };
            (signer, rights, pass.end_time())
        }
    };
    let s = c
        .state
        .sessions
        .borrow_mut()
        .open(&uid, rights, hard_end, now)?;
    Ok(Value::map([
        ("sid", Value::Str(s.sid)),
        ("uid", Value::Str(s.uid)),
        ("rights", Value::from(s.rights.as_str())),
        ("expires", Value::Int(s.expires as i64)),
    ]))
}

/// `Logout(sid)` ends the session.
pub fn logout(c: Call<'_>) -> ApiFuture<'_> {
    Box::pin(ready((|| {
        c.arity(1, 1)?;
        let sid = c.str_arg(0, "sid")?;
        c.state.sessions.borrow_mut().close(sid);
        Ok(Value::Bool(true))
    })()))
}

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
