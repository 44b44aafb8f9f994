#!/usr/bin/env bash
# The stress run of issue #15 ("Show"): every flood of docs/security.md at once against one
# node with MaxMemoryMB 64, while its owner works. Pass when, for the whole run:
#   - the owner's GetVar (from 127.0.0.1, a fresh connection every ~20 ms, the owner's
#     session from a pass signed by the node key, as the CLI does) has p99 < P99_MS (50);
#   - every `leither mimei add` the owner runs meanwhile (ADDS of them, spread over the run)
#     succeeds;
#   - the node's peak RSS (VmRSS sampled every 100 ms, and VmHWM) stays under MaxMemoryMB.
# The floods, each in its own process (benches/flood.py says how each is made): idle TCP
# connections from 40 addresses, slowloris heads (a byte a second), idle WebSockets, NDJSON
# streams of 8 MiB to an echo service, 16 MiB POST /ipfs/add by an admitted user and by a
# stranger's key, MMCreate floods (user, stranger), Login floods (user, stranger, guest),
# MMOpen floods (user, guest), a 20-star glob through Scan and through RESP KEYS/SCAN MATCH,
# a Lua service with lever.json asking timeoutMs 3600000 whose methods run a backtracking
# string.find, a looping __gc and `while true do end`, and password guessing by name.
# Output: the owner's figures, the peak RSS and, per flood, what the attacker got (answers by
# status, resets, connections the node closed); exit 1 when a goal is missed.
#
#   benches/flood.sh [--short] [--only FLOOD,...]
#   env: DURATION=60 (s; --short: 15), MAX_MB=64, P99_MS=50, MAX_BAD=0 (owner answers not 200 allowed), ADDS=5 (--short: 3),
#        SERVER_CPU=0, CLIENT_CPU=1 (the node on one core, attackers and owner on the other,
#        as on a router whose attackers are elsewhere; one core: both on core 0),
#        ATTACK_NICE=10 (the attackers yield their core to the owner's prober, whose
#        latencies would otherwise include waiting for the CPU behind 13 flood processes),
#        LEITHER_BIN=path (no build), FLOOD_NET=198.18.15 (the attackers' /24; see below),
#        JSON=file (the figures as JSON), KEEP_LOG=file (a copy of the node's log)
# Builds target/release/leither (under $CARGO_TARGET_DIR if set) when LEITHER_BIN is not set
# and it is missing or older than the sources. Attackers need many source addresses that the
# node sees as outside ones: as root this routes FLOOD_NET.0/24 (198.18.0.0/15 is the
# benchmarking range of RFC 2544) to lo for the run (`ip route add local`) and removes the
# route afterwards; otherwise they come from 127.0.0.N, which the node treats as loopback, so
# they may also take the slots it keeps for loopback clients (said in the output). The node
# listens on 127.0.0.1 only and is stopped (and its home removed) on exit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../targets/lib.sh"
cd "$ROOT"
DURATION=${DURATION:-}
ADDS=${ADDS:-}
ONLY=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --short) DURATION=${DURATION:-15}; ADDS=${ADDS:-3} ;;
    --only) ONLY=$2; shift ;;
    *) echo "usage: benches/flood.sh [--short] [--only FLOOD,...]" >&2; exit 2 ;;
  esac
  shift
done
DURATION=${DURATION:-60}
ADDS=${ADDS:-5}
MAX_MB=${MAX_MB:-64}
P99_MS=${P99_MS:-50}
MAX_BAD=${MAX_BAD:-0}
ATTACK_NICE=${ATTACK_NICE:-10}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
FLOOD_NET=${FLOOD_NET:-198.18.15}

WORK=$(mktemp -d /tmp/leither-flood.XXXXXX)
declare -a PIDS=() HOMES=()
BIN=${LEITHER_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/$BIN_NAME}
source "$ROOT/benches/lib.sh"
ROUTE_ADDED=0
# shellcheck disable=SC2317  # called by trap
flood_cleanup() {
  if [[ $ROUTE_ADDED == 1 ]]; then ip route del local "$FLOOD_NET.0/24" dev lo 2>/dev/null || true; fi
  cleanup
}
trap flood_cleanup EXIT

need python3 python3
need curl curl
need taskset util-linux
if (( $(nproc) < 2 )); then SERVER_CPU=0; CLIENT_CPU=0; fi
if [[ -z ${LEITHER_BIN:-} ]] && { [[ ! -x "$BIN" ]] || [[ -n $(find src Cargo.toml Cargo.lock -newer "$BIN" -print -quit) ]]; }; then
  echo "building $BIN (cargo build --release)..." >&2
  cargo build --release >&2
fi
[[ -x "$BIN" ]] || { echo "no binary at $BIN" >&2; exit 2; }

# The attackers' addresses.
NET=127.0.0
if [[ $(id -u) -eq 0 ]] && command -v ip > /dev/null; then
  if ip route show table local | grep >/dev/null "^local $FLOOD_NET.0/24 "; then
    NET=$FLOOD_NET   # routed already (another run): used, left in place
  elif ip route add local "$FLOOD_NET.0/24" dev lo 2>/dev/null; then
    NET=$FLOOD_NET; ROUTE_ADDED=1
  fi
fi
if [[ $NET == 127.0.0 ]]; then
  echo "note: attackers come from 127.0.0.N (no root to route $FLOOD_NET.0/24 to lo): the node" \
       "counts them as loopback, so they may take the slots kept for loopback clients too"
fi

# The node: RESP on (for KEYS/SCAN MATCH), MaxMemoryMB set, no mDNS, the rest as shipped.
H=$WORK/node
"$BIN" --home "$H" init -p 0 -b "" -l 127.0.0.1 > "$WORK/init.log" 2>&1 ||
  { echo "init failed: $(cat "$WORK/init.log")" >&2; exit 2; }
HOMES+=("$H")
RESP_PORT=$(free_port)
python3 - "$H/SystemVars.json" "$MAX_MB" "$RESP_PORT" <<'EOF'
import json, sys
path, mb, resp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path) as f:
    doc = json.load(f)
doc.update({"MaxMemoryMB": mb, "RespPort": resp, "Mdns": False})
with open(path, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
EOF
taskset -c "$SERVER_CPU" "$BIN" --home "$H" run -d > "$WORK/run.log" 2>&1 ||
  { echo "run -d failed: $(cat "$WORK/run.log")" >&2; exit 2; }
for _ in $(seq 1 600); do [[ -s "$H/leither.addr" ]] && break; sleep 0.05; done
[[ -s "$H/leither.addr" ]] || { echo "the node wrote no address: $(tail -c 400 "$H/Leither.log")" >&2; exit 2; }
NODE_PID=$(tr -dc 0-9 < "$H/leither.pid"); PIDS+=("$NODE_PID")
taskset -a -p -c "$SERVER_CPU" "$NODE_PID" > /dev/null 2>&1 || true   # every thread
ADDR=$(head -1 "$H/leither.addr" | tr -d '[:space:]'); ADDR=${ADDR#http://}
grep -q '^resp ' "$H/leither.ports" 2>/dev/null || RESP_PORT=0   # taken meanwhile: no RESP flood

echo "leither: $BIN ($(stat -c %s "$BIN") bytes); node pid $NODE_PID at $ADDR, MaxMemoryMB $MAX_MB"
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "node on core $SERVER_CPU; attackers (nice $ATTACK_NICE) and the owner on core $CLIENT_CPU"
rc=0
taskset -c "$CLIENT_CPU" python3 "$ROOT/benches/flood.py" --bin "$BIN" --home "$H" --pid "$NODE_PID" --port "${ADDR##*:}" \
  --resp-port "$RESP_PORT" --net "$NET" --work "$WORK" --duration "$DURATION" --max-mb "$MAX_MB" \
  --p99-ms "$P99_MS" --max-bad "$MAX_BAD" --adds "$ADDS" --nice "$ATTACK_NICE" --only "$ONLY" ${JSON:+--json "$JSON"} || rc=$?
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
# What the floods made the node write to its log (a rotation means older lines are gone).
logs=("$H/Leither.log")
[[ -f "$H/Leither.log.1" ]] && logs=("$H/Leither.log.1" "${logs[@]}")
log_lines=$(cat "${logs[@]}" 2>/dev/null | wc -l || true)
warns=$(cat "${logs[@]}" 2>/dev/null | grep -c ' WARN ' || true)
echo "node log: $log_lines lines, $warns of them warnings$([[ ${#logs[@]} -gt 1 ]] && echo "; rotated (Leither.log.1): older lines lost")"
if [[ -n ${KEEP_LOG:-} ]]; then cat "${logs[@]}" > "$KEEP_LOG" 2>/dev/null || true; fi
if [[ $rc -ne 0 ]]; then
  echo "node log (last lines):"; tail -n 15 "$H/Leither.log" 2>/dev/null | sed 's/^/  /' || true
  echo "verdict: $(cat "$WORK/verdict.txt" 2>/dev/null || echo "FAIL: flood.py exited $rc before its report")"
fi
exit $rc
