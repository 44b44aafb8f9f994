#!/usr/bin/env bash
# Sync across real hosts: three nodes, each in its own network namespace (A 10.77.0.1,
# B 10.77.0.2, C 10.77.0.3) on a bridge that lives in a fourth namespace (the switch), so
# the host's own network is never touched.
#   1. A adds a SIZE_MIB random file to a file Mimei, lets anyone read it, publishes it.
#   2. B connects to A and syncs it fully: B is now a second provider.
#   3. C connects to A and B and starts `mimei sync`; once C's node has received some blocks
#      (GetVar netstats), A's cable is pulled: its port on the switch goes down, so C's
#      packets to A vanish without a reset, as when a host dies.
#   4. The sync must complete from B: either the running one finishes by itself, or, if it
#      failed on the cut, one re-run resumes it (the output says which). The file C gets must
#      have the sha256 of A's.
# Prints PASS/FAIL lines and exits non-zero on any failure. Namespaces (their veths with
# them), nodes and the temp dir are removed on every exit path.
#
#   tests/netns.sh   env: LEITHER_BIN=path (default target/debug/leither), SIZE_MIB=60,
#                    KEEP=1 (keep the temp dir and print where it is)
# Needs root and iproute2 (`ip netns`). Run by tests/netns.rs.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${LEITHER_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/leither}
SIZE_MIB=${SIZE_MIB:-60}
SWARM_PORT=4001
SYNC_TIMEOUT=150     # seconds one `mimei sync` may take before the test fails
T0=$(date +%s%N)

[[ -x $BIN ]] || { echo "FAIL: no leither binary at $BIN (cargo build, or set LEITHER_BIN)"; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "FAIL: needs root (ip netns)"; exit 1; }
command -v ip > /dev/null || { echo "FAIL: needs iproute2 (ip)"; exit 1; }

# Names carry our pid so that two runs never collide; a veth name must fit 15 characters.
TAG=lt$$
SW=$TAG-sw
NODES=(a b c)
declare -A NS=() IP=() HOME_OF=()
for i in 0 1 2; do
  n=${NODES[$i]}; NS[$n]=$TAG-$n; IP[$n]=10.77.0.$((i + 1))
done
WORK=$(mktemp -d /tmp/leither-netns.XXXXXX)
FAILS=0
SYNC_PID=""

ms() { echo $(( ($(date +%s%N) - T0) / 1000000 )); }
say() { printf '[%6.1fs] %s\n' "$(awk -v m="$(ms)" 'BEGIN { print m / 1000 }')" "$*"; }
pass() { say "PASS: $*"; }
fail() { say "FAIL: $*"; FAILS=$((FAILS + 1)); }
die() { fail "$*"; exit 1; }

# shellcheck disable=SC2317  # called by trap
cleanup() {
  local rc=$? n pid
  if [[ -n ${SYNC_PID:-} ]]; then kill -TERM "$SYNC_PID" 2>/dev/null || true; fi
  for n in "${NODES[@]}"; do
    pid=$(tr -dc 0-9 < "$WORK/$n/leither.pid" 2>/dev/null || true)
    if [[ -n $pid ]]; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  sleep 0.3
  for n in "${NODES[@]}"; do
    pid=$(tr -dc 0-9 < "$WORK/$n/leither.pid" 2>/dev/null || true)
    if [[ -n $pid ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  # Deleting a namespace destroys the veth ends in it, and with them their peers.
  for n in "${NODES[@]}"; do ip netns del "${NS[$n]}" 2>/dev/null || true; done
  ip netns del "$SW" 2>/dev/null || true
  if [[ $rc -ne 0 ]]; then
    for n in "${NODES[@]}"; do
      [[ -s $WORK/$n/Leither.log ]] && { echo "--- node $n: the end of Leither.log"; tail -n 15 "$WORK/$n/Leither.log"; }
    done
  fi
  if [[ ${KEEP:-0} == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# inns NODE CMD... : run CMD in NODE's namespace
inns() { local n=$1; shift; ip netns exec "${NS[$n]}" "$@"; }
# lt NODE ARGS... : the CLI on NODE's home, in its namespace
lt() { local n=$1; shift; inns "$n" "$BIN" --home "${HOME_OF[$n]}" "$@"; }

# --- the network ---------------------------------------------------------------------------
ip netns add "$SW"
ip -n "$SW" link add br0 type bridge
ip -n "$SW" link set br0 up
for n in "${NODES[@]}"; do
  ip netns add "${NS[$n]}"
  ip link add "$TAG$n" netns "${NS[$n]}" type veth peer name "$TAG${n}s" netns "$SW"
  ip -n "$SW" link set "$TAG${n}s" master br0 up
  ip -n "${NS[$n]}" addr add "${IP[$n]}/24" dev "$TAG$n"
  ip -n "${NS[$n]}" link set "$TAG$n" up
  ip -n "${NS[$n]}" link set lo up
done
say "network: namespaces ${NS[a]} ${NS[b]} ${NS[c]} on a bridge in $SW (10.77.0.1-3)"

# --- the nodes -----------------------------------------------------------------------------
set_vars() {  # set_vars HOME IP
  python3 - "$1/SystemVars.json" "$2" "$SWARM_PORT" <<'EOF'
import json, os, sys
path, ip, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(path) as f:
    doc = json.load(f)
doc.update({"SwarmPort": port, "Mdns": False, "ListenAddr": ip, "Bootstrap": [], "LogLevel": os.environ.get("NODE_LOG", "info")})
with open(path, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
EOF
}
for n in "${NODES[@]}"; do
  h=$WORK/$n; HOME_OF[$n]=$h
  "$BIN" --home "$h" init -p 0 -b "" -l "${IP[$n]}" > "$WORK/$n.init.log" 2>&1 ||
    die "init of node $n: $(tail -c 300 "$WORK/$n.init.log")"
  set_vars "$h" "${IP[$n]}"
  lt "$n" run -d > "$WORK/$n.run.log" 2>&1 || die "run -d of node $n: $(tail -c 300 "$WORK/$n.run.log")"
done
for n in "${NODES[@]}"; do
  for _ in $(seq 1 200); do [[ -s ${HOME_OF[$n]}/leither.addr ]] && break; sleep 0.05; done
  [[ -s ${HOME_OF[$n]}/leither.addr ]] || die "node $n wrote no leither.addr"
done
declare -A MADDR=()
for n in "${NODES[@]}"; do
  MADDR[$n]=$(lt "$n" swarm local | grep -m1 "/ip4/${IP[$n]}/tcp/$SWARM_PORT/p2p/" || true)
  [[ -n ${MADDR[$n]} ]] || die "node $n does not listen on ${IP[$n]}:$SWARM_PORT: $(lt "$n" swarm local 2>&1)"
done
say "nodes up: A ${MADDR[a]}"

# --- helpers -------------------------------------------------------------------------------
# netstat_of NODE FIELD : one netstats counter of NODE (0 when unreadable); login first
declare -A SID=() API=()
login() {
  local n=$1
  API[$n]=$(head -1 "${HOME_OF[$n]}/leither.addr" | tr -d '[:space:]'); API[$n]=http://${API[$n]#http://}/api
  SID[$n]=$(inns "$n" curl -s -m 5 -X POST "${API[$n]}/Login" -d '[]' |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["sid"])') || die "cannot log in to node $n"
}
netstat_of() {
  inns "$1" curl -s -m 5 -X POST "${API[$1]}/GetVar" -d "[\"${SID[$1]}\",\"netstats\"]" |
    python3 -c 'import json, sys; print(json.load(sys.stdin).get(sys.argv[1], 0))' "$2" 2>/dev/null || echo 0
}
for n in "${NODES[@]}"; do login "$n"; done
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

# --- 1. A publishes ------------------------------------------------------------------------
head -c "$((SIZE_MIB << 20))" /dev/urandom > "$WORK/file"
WANT=$(sha256sum < "$WORK/file" | cut -d' ' -f1)
MID=$(lt a mimei create -t file | sed -n 's/^mid= *//p')
[[ -n $MID ]] || die "mimei create printed no mid"
lt a mimei add "$MID" "$WORK/file" > "$WORK/add.log" 2>&1 || die "mimei add: $(tail -c 300 "$WORK/add.log")"
lt a mimei setright "$MID" '*' read > /dev/null || die "mimei setright"
lt a mimei publish "$MID" > "$WORK/publish.log" 2>&1 || die "mimei publish: $(cat "$WORK/publish.log")"
say "A: Mimei $MID with a $SIZE_MIB MiB file (sha256 ${WANT:0:16}...), published"

# --- 2. B syncs fully ----------------------------------------------------------------------
lt b swarm connect "${MADDR[a]}" > /dev/null || die "B cannot connect to A"
if timeout "$SYNC_TIMEOUT" ip netns exec "${NS[b]}" "$BIN" --home "${HOME_OF[b]}" mimei sync "$MID" > "$WORK/sync-b.log" 2>&1 &&
   grep -q 'MiMeiSync ok' "$WORK/sync-b.log"; then
  B_SECS=$(sed -n 's/.* in \([0-9.]*\) s$/\1/p' "$WORK/sync-b.log" | head -1)
  pass "B synced the Mimei from A: $(grep -m1 ' in .* s$' "$WORK/sync-b.log" || tail -1 "$WORK/sync-b.log")"
else
  die "B's sync from A: $(tail -c 400 "$WORK/sync-b.log")"
fi

# --- 3. C syncs from A and B, and A is cut off ---------------------------------------------
lt c swarm connect "${MADDR[a]}" > /dev/null || die "C cannot connect to A"
lt c swarm connect "${MADDR[b]}" > /dev/null || die "C cannot connect to B"
A_SENT0=$(netstat_of a blocksSent); B_SENT0=$(netstat_of b blocksSent)
timeout "$SYNC_TIMEOUT" ip netns exec "${NS[c]}" "$BIN" --home "${HOME_OF[c]}" mimei sync "$MID" > "$WORK/sync-c1.log" 2>&1 &
SYNC_PID=$!
got=0
for _ in $(seq 1 400); do
  got=$(netstat_of c blocksReceived)
  (( got > 0 )) && break
  kill -0 "$SYNC_PID" 2>/dev/null || break
  sleep 0.02
done
(( got > 0 )) || die "C received no block before its sync ended: $(tail -c 400 "$WORK/sync-c1.log")"
ip -n "$SW" link set "$TAG"as down
AT_CUT=$(netstat_of c bytesReceived)
say "cut A off (its switch port down) after C received $got block(s), $(mib "$AT_CUT")"
if (( AT_CUT >= (SIZE_MIB << 20) )); then
  fail "C had the whole file before the cut: the test proves nothing (raise SIZE_MIB)"
fi

CUT_MS=$(ms)
# The sync CLI ends when the node's sync job ends; `timeout` ends only the CLI (status 124).
HOW=""
rc=0; wait "$SYNC_PID" || rc=$?
if [[ $rc -eq 0 ]] && grep -q 'MiMeiSync ok' "$WORK/sync-c1.log"; then
  HOW="the running sync went on from B and completed, $(( ($(ms) - CUT_MS) / 1000 )) s after the cut"
elif [[ $rc -eq 124 ]]; then
  die "C's sync did not end within ${SYNC_TIMEOUT} s: $(tail -n 2 "$WORK/sync-c1.log" | tr '\n' ' ')"
else
  say "the sync failed on the cut (status $rc): $(grep -v '^sync ' "$WORK/sync-c1.log" | tail -c 300 | tr '\n' ' ')"
  say "re-running it once (it resumes with the blocks it kept)"
  if timeout "$SYNC_TIMEOUT" ip netns exec "${NS[c]}" "$BIN" --home "${HOME_OF[c]}" mimei sync "$MID" > "$WORK/sync-c2.log" 2>&1 &&
     grep -q 'MiMeiSync ok' "$WORK/sync-c2.log"; then
    HOW="the sync failed on the cut; one re-run resumed it and completed, $(( ($(ms) - CUT_MS) / 1000 )) s after the cut"
  else
    die "the re-run sync failed too: $(tail -c 400 "$WORK/sync-c2.log")"
  fi
fi
AFTER_S=$(( ($(ms) - CUT_MS) / 1000 ))
pass "C's sync completed after A was cut off ($HOW)"
say "C's sync: $(grep -h -m1 ' in .* s$' "$WORK"/sync-c*.log || true)"
# A full sync from B alone takes B_SECS; a much longer finish after the cut means the sync
# kept waiting on the silent provider.
if awk -v a="$AFTER_S" -v b="${B_SECS:-0}" 'BEGIN { exit !(b > 0 && a > 3 * b + 5) }'; then
  say "NOTE: finishing after the cut took ${AFTER_S} s, while a full sync from one live provider took ${B_SECS} s:"
  say "NOTE: the sync kept asking the cut-off A (C still lists it: $(lt c swarm peers | grep -c "/p2p/${MADDR[a]##*/p2p/}" || true) connection(s) to A now)"
fi
A_SENT=$(( $(netstat_of a blocksSent) - A_SENT0 )); B_SENT=$(( $(netstat_of b blocksSent) - B_SENT0 ))
say "blocks sent to C by their counters: A $A_SENT (as far as it got before the cut), B $B_SENT"
if (( B_SENT > 0 )); then pass "B served C"; else fail "B sent C no block"; fi

# --- 4. the file C gets --------------------------------------------------------------------
lt c mimei get -o "$WORK/got" "$MID" > "$WORK/get.log" 2>&1 || die "C's mimei get: $(tail -c 300 "$WORK/get.log")"
GOT=$(sha256sum < "$WORK/got" | cut -d' ' -f1)
if [[ $GOT == "$WANT" ]]; then
  pass "C's file matches A's (sha256 ${GOT:0:16}..., $(stat -c %s "$WORK/got") bytes)"
else
  fail "C's file differs: sha256 $GOT, want $WANT ($(stat -c %s "$WORK/got") bytes)"
fi

if (( FAILS > 0 )); then
  say "FAIL: $FAILS check(s) failed"; exit 1
fi
say "PASS: netns sync survives a provider cut off"
