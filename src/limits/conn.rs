//! The connection settings of `SystemVars.json` (issue #15, item 7): how many connections
//! the HTTP ports and the RESP port hold, how many one address may hold, the slots kept for
//! loopback, and how long a client may take to send a request head (a RESP command), stay
//! idle between requests, or keep a WebSocket silent before it is the first to go when slots
//! run short.
//!
//! A block of its own so `config` stays one match over keys: [`ConnLimits::parse_key`]
//! takes the keys it knows, [`ConnLimits::entries`] writes them back. Used by the accept
//! loops of [`crate::http`] and the RESP listener, through the policy of
//! [`super::slots`] (HTTP takes these settings as they are; [`ConnLimits::resp`] is RESP's view).

use crate::api::Value;

/// Connections the kernel queues for a port's accept loop. std's `bind` asks for 128: a
/// connection flood fills that while the node's one thread is busy elsewhere, and past it
/// the kernel drops the SYN of whoever comes next, the owner too, whose client then waits a
/// second (TCP's first retransmission) before it tries again. The kernel caps this at
/// `net.core.somaxconn` (4096 on current Linux, 128 on older ones).
pub const LISTEN_BACKLOG: i32 = 1024;

/// Deepens the accept queue of a bound, listening `l` to [`LISTEN_BACKLOG`] (listen(2) on a
/// listening socket sets its backlog again); best effort, the queue stays as it was if the
/// kernel refuses.
pub fn deepen_backlog(l: &std::net::TcpListener) {
    use std::os::fd::AsRawFd;
    // SAFETY: listen(2) on the descriptor of a socket `l` owns and keeps open; it changes
    // nothing but the socket's backlog.
    let _ = unsafe { libc::listen(l.as_raw_fd(), LISTEN_BACKLOG) };
}

/// The settings, each with its `SystemVars.json` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnLimits {
    /// `HttpMaxConnections`: connections held at once per HTTP port (default 64).
    pub max_connections: usize,
    /// `HttpMaxPerAddress`: connections one IP address may hold at once (default 16).
    pub max_per_address: usize,
    /// `HttpLoopbackReserve`: slots only loopback clients (the owner's CLI and dashboard)
    /// may take (default 4).
    pub loopback_reserve: usize,
    /// `HttpHeaderTimeoutSecs`: from connect (or the first byte of a next request) to the
    /// end of the request head (default 5).
    pub header_timeout_secs: u64,
    /// `HttpKeepAliveSecs`: how long an idle keep-alive connection is kept while the port
    /// has room (default 30); it shrinks to 1 s as the port fills.
    pub keep_alive_secs: u64,
    /// `WsIdleSecs`: a WebSocket with no message either way for this long is idle; idle
    /// ones are closed first when the port is full (default 60).
    pub ws_idle_secs: u64,
    /// `RespMaxConnections`: connections the RESP port holds at once (default 64); each
    /// reserves its buffers from the memory budget while it is open.
    pub resp_max_connections: usize,
    /// `RespIdleSecs`: how long an idle RESP connection is kept while the port is at most
    /// half full (default 300); it shrinks to 1 s as the port fills.
    pub resp_idle_secs: u64,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            max_connections: 64,
            max_per_address: 16,
            loopback_reserve: 4,
            header_timeout_secs: 5,
            keep_alive_secs: 30,
            ws_idle_secs: 60,
            resp_max_connections: 64,
            resp_idle_secs: 300,
        }
    }
}

/// The keys, their ranges and what a refusal says is expected.
const KEYS: &[(&str, u64, u64, &str)] = &[
    (
        "HttpMaxConnections",
        4,
        65_536,
        "a number of connections from 4 to 65536",
    ),
    (
        "HttpMaxPerAddress",
        1,
        65_536,
        "a number of connections from 1 to 65536",
    ),
    (
        "HttpLoopbackReserve",
        0,
        65_536,
        "a number of connections from 0, below HttpMaxConnections",
    ),
    (
        "HttpHeaderTimeoutSecs",
        1,
        300,
        "a number of seconds from 1 to 300",
    ),
    (
        "HttpKeepAliveSecs",
        1,
        3600,
        "a number of seconds from 1 to 3600",
    ),
    (
        "WsIdleSecs",
        1,
        86_400,
        "a number of seconds from 1 to 86400",
    ),
    (
        "RespMaxConnections",
        4,
        65_536,
        "a number of connections from 4 to 65536, above HttpLoopbackReserve",
    ),
    (
        "RespIdleSecs",
        1,
        86_400,
        "a number of seconds from 1 to 86400",
    ),
];

impl ConnLimits {
    /// Takes `key` if it is one of these settings: `Ok(true)` when taken, `Ok(false)` when
    /// the key is not ours, `Err((key, expected))` when the value is out of range.
    pub fn parse_key(
        &mut self,
        key: &str,
        value: &Value,
    ) -> Result<bool, (&'static str, &'static str)> {
        let Some((name, n)) = super::ranged(KEYS, key, value)? else {
            return Ok(false);
        };
        let u = n as usize;
        match name {
            "HttpMaxConnections" => self.max_connections = u,
            "HttpMaxPerAddress" => self.max_per_address = u,
            "HttpLoopbackReserve" => self.loopback_reserve = u,
            "HttpHeaderTimeoutSecs" => self.header_timeout_secs = n,
            "HttpKeepAliveSecs" => self.keep_alive_secs = n,
            "WsIdleSecs" => self.ws_idle_secs = n,
            "RespMaxConnections" => self.resp_max_connections = u,
            _ => self.resp_idle_secs = n,
        }
        Ok(true)
    }

    /// Checks the settings together (after every key is read).
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        if self.loopback_reserve >= self.max_connections {
            return Err(("HttpLoopbackReserve", KEYS[2].3));
        }
        if self.loopback_reserve >= self.resp_max_connections {
            return Err(("RespMaxConnections", KEYS[6].3));
        }
        Ok(())
    }

    /// The limits of the RESP port: `RespMaxConnections` slots, idle ones kept
    /// `RespIdleSecs` (Redis clients keep pooled connections open), a command due
    /// `HttpHeaderTimeoutSecs` after its last byte; per address and loopback as HTTP's.
    pub fn resp(&self) -> ConnLimits {
        ConnLimits {
            max_connections: self.resp_max_connections,
            keep_alive_secs: self.resp_idle_secs,
            ..self.clone()
        }
    }

    /// The settings as `SystemVars.json` entries, in a fixed order.
    pub fn entries(&self) -> Vec<(String, Value)> {
        let n = |v: u64| Value::Int(v as i64);
        vec![
            (KEYS[0].0.into(), n(self.max_connections as u64)),
            (KEYS[1].0.into(), n(self.max_per_address as u64)),
            (KEYS[2].0.into(), n(self.loopback_reserve as u64)),
            (KEYS[3].0.into(), n(self.header_timeout_secs)),
            (KEYS[4].0.into(), n(self.keep_alive_secs)),
            (KEYS[5].0.into(), n(self.ws_idle_secs)),
            (KEYS[6].0.into(), n(self.resp_max_connections as u64)),
            (KEYS[7].0.into(), n(self.resp_idle_secs)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_validate_and_round_trip() {
        let mut l = ConnLimits::default();
        assert_eq!(l.parse_key("Other", &Value::Int(1)), Ok(false));
        assert_eq!(l.parse_key("HttpMaxPerAddress", &Value::Int(4)), Ok(true));
        assert_eq!(l.max_per_address, 4);
        assert_eq!(
            l.parse_key("HttpHeaderTimeoutSecs", &Value::Int(0)),
            Err(("HttpHeaderTimeoutSecs", "a number of seconds from 1 to 300"))
        );
        assert!(l.parse_key("WsIdleSecs", &Value::Str("5".into())).is_err());
        let mut again = ConnLimits::default();
        for (k, v) in l.entries() {
            assert_eq!(again.parse_key(&k, &v), Ok(true));
        }
        assert_eq!(again, l);
        assert_eq!(l.parse_key("RespIdleSecs", &Value::Int(9)), Ok(true));
        assert_eq!(l.resp().keep_alive_secs, 9);
        assert_eq!(l.resp().max_connections, 64);
        l.loopback_reserve = 64;
        assert!(l.check().is_err());
    }
}
