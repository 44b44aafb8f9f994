//! `HELLO [2|3] [AUTH user pass] [SETNAME name]`: the protocol a connection speaks.
//!
//! After `HELLO 3` every reply of that connection is RESP3 (nulls `_`, maps `%`, sets `~`,
//! doubles `,`, score pairs as nested arrays: `server::encode`); `HELLO 2` goes back. The
//! reply is Redis 7.0's map: server, version, proto, id, mode, role, modules.

use crate::db::{DbError, Reply};

/// The Redis version the door answers as (`HELLO`, `INFO`): the suite and clients choose
/// features by it.
pub const REDIS_VERSION: &str = "7.0.15";

/// A parsed `HELLO`.
#[derive(Debug, Default, PartialEq)]
pub struct Hello<'a> {
    /// The protocol asked for, if any.
    pub proto: Option<u8>,
    /// `AUTH user pass`.
    pub auth: Option<(&'a [u8], &'a [u8])>,
    /// `SETNAME name`.
    pub setname: Option<&'a [u8]>,
}

/// Parses `HELLO` (`a[0]` is the name) with Redis 7.0's checks and texts.
pub fn parse<'a>(a: &[&'a [u8]]) -> Result<Hello<'a>, DbError> {
    let mut h = Hello::default();
    if let Some(v) = a.get(1) {
        let n = crate::db::num::parse_int(v).ok_or_else(|| {
            DbError::Other("Protocol version is not an integer or out of range".into())
        })?;
        if !(2..=3).contains(&n) {
            return Err(DbError::Unknown(
                "NOPROTO unsupported protocol version".into(),
            ));
        }
        h.proto = Some(n as u8);
    }
    let mut j = 2;
    while j < a.len() {
        let more = a.len() - 1 - j;
        if a[j].eq_ignore_ascii_case(b"auth") && more >= 2 {
            h.auth = Some((a[j + 1], a[j + 2]));
            j += 3;
        } else if a[j].eq_ignore_ascii_case(b"setname") && more >= 1 {
            h.setname = Some(a[j + 1]);
            j += 2;
        } else {
            return Err(DbError::Other(format!(
                "Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&a[j][..a[j].len().min(128)])
            )));
        }
    }
    Ok(h)
}

/// The reply: a map in the protocol now in force.
pub fn reply(proto: u8, client: u64) -> Reply {
    Reply::Map(vec![
        Reply::text("server"),
        Reply::text("redis"),
        Reply::text("version"),
        Reply::text(REDIS_VERSION),
        Reply::text("proto"),
        Reply::Int(i64::from(proto)),
        Reply::text("id"),
        Reply::Int(client as i64),
        Reply::text("mode"),
        Reply::text("standalone"),
        Reply::text("role"),
        Reply::text("master"),
        Reply::text("modules"),
        Reply::Array(Vec::new()),
    ])
}

/// Redis's rule for client names: printable ASCII, no spaces.
pub fn check_name(name: &[u8]) -> Result<(), DbError> {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(DbError::Other(
            "Client names cannot contain spaces, newlines or special characters.".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Hello<'_>, String> {
        let a: Vec<&[u8]> = s.split(' ').map(str::as_bytes).collect();
        parse(&a).map_err(|e| e.to_string())
    }

    #[test]
    fn parses_as_redis() {
        assert_eq!(p("hello").unwrap(), Hello::default());
        let h = p("hello 3 AUTH u pw SETNAME me").unwrap();
        assert_eq!(h.proto, Some(3));
        assert_eq!(h.auth, Some((&b"u"[..], &b"pw"[..])));
        assert_eq!(h.setname, Some(&b"me"[..]));
        assert_eq!(
            p("hello 4").unwrap_err(),
            "NOPROTO unsupported protocol version"
        );
        assert_eq!(
            p("hello x").unwrap_err(),
            "ERR Protocol version is not an integer or out of range"
        );
        assert_eq!(
            p("hello 3 auth u").unwrap_err(),
            "ERR Syntax error in HELLO option 'auth'"
        );
        assert!(check_name(b"a b").is_err() && check_name(b"ok").is_ok());
    }

    #[test]
    fn reply_is_a_map_of_seven() {
        let r = reply(3, 7).into_items().unwrap();
        assert_eq!(r.len(), 14);
        assert_eq!(r[5], Reply::Int(3));
    }
}
