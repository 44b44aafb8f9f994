//! The settings of reachability behind a NAT (docs/network.md, "Behind a NAT"), read from
//! SystemVars.json keys that the typed settings keep among the others: relay server on or
//! off and its bounds, the HTTP tunnel's server side (who may open one, and each tunnel's
//! quotas), and UPnP. Every key is optional; a value of the wrong kind falls back to the
//! default and the log says which key was ignored.

use crate::api::Value;
use crate::config::SystemVars;

/// What the node does about NATs.
#[derive(Debug, Clone, PartialEq)]
pub struct NatSettings {
    /// `RelayServer`: relay circuits (libp2p circuit relay v2) for other peers. Off by
    /// default: a router or a Pi behind a NAT cannot relay anyway, and a public node's owner
    /// decides to lend its bandwidth.
    pub relay_server: bool,
    /// `RelayCircuitKiB`: the most bytes one relayed connection may carry (both ways).
    pub relay_circuit_kib: u64,
    /// `RelayCircuitSecs`: the longest one relayed connection may last.
    pub relay_circuit_secs: u64,
    /// `RelayClient`: reserve a slot on a relay when this node is not reachable (default on).
    pub relay_client: bool,
    /// `TunnelServer`: open HTTP tunnels for other nodes (default off).
    pub tunnel_server: bool,
    /// `TunnelAllow`: the nodes (Leither IDs or PeerIds) that may open a tunnel here; empty:
    /// the nodes this node trusts (`AddNode`/`Accept`) only.
    pub tunnel_allow: Vec<String>,
    /// `TunnelMaxNodes`: most tunnels open at once.
    pub tunnel_max_nodes: usize,
    /// `TunnelMaxConcurrent`: most requests in flight through one tunnel.
    pub tunnel_max_concurrent: usize,
    /// `TunnelRequestsPerMin`: most requests a minute through one tunnel.
    pub tunnel_requests_per_min: u32,
    /// `TunnelMiBPerHour`: most response bytes an hour through one tunnel.
    pub tunnel_mib_per_hour: u64,
    /// `Upnp`: ask the home router for a port mapping (UPnP IGD), default on.
    pub upnp: bool,
}

impl Default for NatSettings {
    fn default() -> Self {
        NatSettings {
            relay_server: false,
            relay_circuit_kib: 4096,
            relay_circuit_secs: 600,
            relay_client: true,
            tunnel_server: false,
            tunnel_allow: Vec::new(),
            tunnel_max_nodes: 64,
            tunnel_max_concurrent: 8,
            tunnel_requests_per_min: 600,
            tunnel_mib_per_hour: 512,
            upnp: true,
        }
    }
}

impl NatSettings {
    /// The settings in `vars` (unknown keys are where they live).
    pub fn of(vars: &SystemVars) -> NatSettings {
        let mut s = NatSettings::default();
        for (k, v) in &vars.other {
            s.apply(k, v);
        }
        s
    }

    fn apply(&mut self, key: &str, v: &Value) {
        let num = |lo: i64, hi: i64| v.as_i64().filter(|n| (lo..=hi).contains(n));
        let ok = match key {
            "RelayServer" => bool_of(v).map(|b| self.relay_server = b),
            "RelayClient" => bool_of(v).map(|b| self.relay_client = b),
            "RelayCircuitKiB" => num(0, 1 << 22).map(|n| self.relay_circuit_kib = n as u64),
            "RelayCircuitSecs" => num(1, 86_400).map(|n| self.relay_circuit_secs = n as u64),
            "TunnelServer" => bool_of(v).map(|b| self.tunnel_server = b),
            "TunnelAllow" => match v {
                Value::List(l) => {
                    self.tunnel_allow = l
                        .iter()
                        .filter_map(Value::as_str)
                        .take(256)
                        .map(str::to_string)
                        .collect();
                    Some(())
                }
                _ => None,
            },
            "TunnelMaxNodes" => num(1, 4096).map(|n| self.tunnel_max_nodes = n as usize),
            "TunnelMaxConcurrent" => num(1, 256).map(|n| self.tunnel_max_concurrent = n as usize),
            "TunnelRequestsPerMin" => {
                num(1, 1_000_000).map(|n| self.tunnel_requests_per_min = n as u32)
            }
            "TunnelMiBPerHour" => num(1, 1 << 20).map(|n| self.tunnel_mib_per_hour = n as u64),
            "Upnp" => bool_of(v).map(|b| self.upnp = b),
            _ => Some(()),
        };
        if ok.is_none() {
            crate::log_warn!("SystemVars.json: {key} has a value of the wrong kind; ignored");
        }
    }
}

fn bool_of(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_read_from_the_other_keys_and_bad_ones_fall_back() {
        let vars = SystemVars {
            other: vec![
                ("RelayServer".into(), Value::Bool(true)),
                ("TunnelAllow".into(), Value::List(vec![Value::from("abc")])),
                ("TunnelMaxConcurrent".into(), Value::Int(100_000)),
                ("Upnp".into(), Value::Str("yes".into())),
            ],
            ..SystemVars::default()
        };
        let s = NatSettings::of(&vars);
        assert!(s.relay_server);
        assert_eq!(s.tunnel_allow, vec!["abc".to_string()]);
        assert_eq!(s.tunnel_max_concurrent, 8);
        assert!(s.upnp);
        assert!(!s.tunnel_server);
    }
}
