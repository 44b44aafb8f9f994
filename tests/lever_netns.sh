#!/usr/bin/env bash
# Lever calls routed across real hosts: three nodes, each in its own network namespace (A
# 10.78.0.1, B 10.78.0.2, C 10.78.0.3) on a bridge in a fourth namespace (the switch), so the
# host's own network is never touched.
#   1. The `where` app (tests/apps/where) is deployed on B (NODE=B) and C (NODE=C) only.
#   2. Calls to A are answered by both B and C (A forwards them over /leither/lever/1.0.0).
#   3. A stream through A that landed on C is open; C's cable is pulled (its switch port
#      down: its packets vanish without a reset, as when a host dies). The stream must end
#      with the clear error ("went away during the call"), within STREAM_CUT_LIMIT seconds.
#   4. The next calls to A all go to B.
# Prints PASS/FAIL lines and exits non-zero on any failure. Namespaces, nodes and the temp
# dir are removed on every exit path.
#
#   tests/lever_netns.sh   env: LEITHER_BIN=path (default target/debug/leither), KEEP=1
# Needs root and iproute2 (`ip netns`). Run by tests/lever_netns.rs.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${LEITHER_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/leither}
SWARM_PORT=4001
STREAM_CUT_LIMIT=60   # seconds from the cut to the stream's error
T0=$(date +%s%N)

[[ -x $BIN ]] || { echo "FAIL: no leither binary at $BIN (cargo build, or set LEITHER_BIN)"; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "FAIL: needs root (ip netns)"; exit 1; }
command -v ip > /dev/null || { echo "FAIL: needs iproute2 (ip)"; exit 1; }

TAG=lv$$
SW=$TAG-sw
NODES=(a b c)
declare -A NS=() IP=() HOME_OF=()
for i in 0 1 2; do
  n=${NODES[$i]}; NS[$n]=$TAG-$n; IP[$n]=10.78.0.$((i + 1))
done
WORK=$(mktemp -d /tmp/leither-lever-netns.XXXXXX)
FAILS=0

ms() { echo $(( ($(date +%s%N) - T0) / 1000000 )); }
say() { printf '[%6.1fs] %s\n' "$(awk -v m="$(ms)" 'BEGIN { print m / 1000 }')" "$*"; }
pass() { say "PASS: $*"; }
fail() { say "FAIL: $*"; FAILS=$((FAILS + 1)); }
die() { fail "$*"; exit 1; }

# shellcheck disable=SC2317  # called by trap
cleanup() {
  local rc=$? n pid
  if [[ -n ${CLI_PID:-} ]]; then kill -TERM "$CLI_PID" 2>/dev/null || true; fi
  for n in "${NODES[@]}"; do
    pid=$(tr -dc 0-9 < "$WORK/$n/leither.pid" 2>/dev/null || true)
    if [[ -n $pid ]]; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  sleep 0.3
  for n in "${NODES[@]}"; do
    pid=$(tr -dc 0-9 < "$WORK/$n/leither.pid" 2>/dev/null || true)
    if [[ -n $pid ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
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

inns() { local n=$1; shift; ip netns exec "${NS[$n]}" "$@"; }
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
say "network: namespaces ${NS[a]} ${NS[b]} ${NS[c]} on a bridge in $SW (10.78.0.1-3)"

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
declare -A MADDR=() URL=()
for n in "${NODES[@]}"; do
  for _ in $(seq 1 200); do [[ -s ${HOME_OF[$n]}/leither.addr ]] && break; sleep 0.05; done
  [[ -s ${HOME_OF[$n]}/leither.addr ]] || die "node $n wrote no leither.addr"
  URL[$n]=$(head -1 "${HOME_OF[$n]}/leither.addr" | tr -d '[:space:]'); URL[$n]=http://${URL[$n]#http://}
  MADDR[$n]=$(lt "$n" swarm local | grep -m1 "/ip4/${IP[$n]}/tcp/$SWARM_PORT/p2p/" || true)
  [[ -n ${MADDR[$n]} ]] || die "node $n does not listen on ${IP[$n]}:$SWARM_PORT"
done
lt b swarm connect "${MADDR[a]}" > /dev/null || die "B cannot connect to A"
lt c swarm connect "${MADDR[a]}" > /dev/null || die "C cannot connect to A"
lt c swarm connect "${MADDR[b]}" > /dev/null || die "C cannot connect to B"
say "nodes up and connected: A ${MADDR[a]}"

# --- 1. the app on B and C only ------------------------------------------------------------
for n in b c; do
  d=$WORK/app-$n/where; mkdir -p "$d"
  cp "$ROOT/tests/apps/where/main.lua" "$d/"
  name=${n^^}
  printf '{"name": "where", "luaEntry": "main.lua", "env": {"NODE": "%s"}}\n' "$name" > "$d/lever.json"
  lt "$n" lever deploy "$d" --env dev.lever > "$WORK/deploy-$n.log" 2>&1 ||
    die "deploy on $n: $(tail -c 300 "$WORK/deploy-$n.log")"
done
say "where deployed on B and C"

# who : one call of where.who on A; prints the answering node's name, or the error
who() {
  inns a curl -s -m 30 -X POST -H 'Content-Type: application/json' --data '[]' \
    "${URL[a]}/where/who?forceenv=dev.lever" | tr -d '"'
}

# --- 2. calls to A answered by B and C -----------------------------------------------------
# Until B and C have provided the service and A has found both (a provider list is kept
# 30 s, so one that provided later may take that long to be seen), then 100 calls.
declare -A SEEN=()
for _ in $(seq 1 300); do
  w=$(who || true)
  [[ $w == B || $w == C ]] && SEEN[$w]=1
  (( ${#SEEN[@]} == 2 )) && break
  sleep 0.2
done
(( ${#SEEN[@]} == 2 )) || die "A never reached both B and C (seen: ${!SEEN[*]}; the last answer: $(who || true))"
declare -A COUNT=([B]=0 [C]=0)
for _ in $(seq 1 100); do
  w=$(who || true)
  if [[ $w == B || $w == C ]]; then COUNT[$w]=$(( COUNT[$w] + 1 )); fi
done
if (( COUNT[B] > 0 && COUNT[C] > 0 && COUNT[B] + COUNT[C] == 100 )); then
  pass "100 calls to A: B answered ${COUNT[B]}, C ${COUNT[C]}"
else
  die "100 calls to A: B ${COUNT[B]}, C ${COUNT[C]} (the last answer: $(who || true))"
fi

# --- 3. a stream through A on C; C's cable pulled ------------------------------------------
on_c=0
for _ in $(seq 1 40); do
  coproc STREAM { ip netns exec "${NS[a]}" "$BIN" --home "${HOME_OF[a]}" lever stream \
    "lever://dev.lever/where/echoChan" 2>&1; }
  CLI_PID=$STREAM_PID
  # Our own copies of the coprocess's pipes: bash unsets STREAM as soon as the coprocess
  # ends, which it does when the cut ends its stream, while its last lines are still unread.
  exec {S_IN}>&"${STREAM[1]}" {S_OUT}<&"${STREAM[0]}"
  echo 1 >&"$S_IN"
  line=""
  read -t 15 -r line <&"$S_OUT" || true
  if [[ $line == '"C:1"' ]]; then on_c=1; break; fi
  exec {S_IN}>&- {S_OUT}<&-
  if [[ -n ${STREAM[1]:-} ]]; then exec {STREAM[1]}>&-; fi
  wait "$CLI_PID" 2>/dev/null || true
done
(( on_c == 1 )) || die "no stream through A reached C in 40 tries"
echo 2 >&"$S_IN"
read -t 15 -r line <&"$S_OUT" || true
[[ $line == '"C:2"' ]] || die "the stream on C did not echo: $line"
ip -n "$SW" link set "$TAG"cs down
CUT=$(ms)
say "a stream through A runs on C; C's cable pulled"
echo 3 >&"$S_IN" || true
REST=""
while read -t "$STREAM_CUT_LIMIT" -r line <&"$S_OUT"; do REST+="$line"$'\n'; done
AFTER=$(( ($(ms) - CUT) / 1000 ))
if [[ $REST == *"went away during the call"* ]]; then
  pass "the stream ended with a clear error ${AFTER} s after the cut: $(grep -m1 'went away' <<< "$REST" | cut -c1-160)"
else
  fail "the stream did not end with the error within ${STREAM_CUT_LIMIT} s: $REST"
fi
exec {S_IN}>&- {S_OUT}<&-
# (bash unsets STREAM when the coprocess has ended)
if [[ -n ${STREAM[1]:-} ]]; then exec {STREAM[1]}>&-; fi
wait "$CLI_PID" 2>/dev/null || true
CLI_PID=""

# --- 4. the next calls go to B -------------------------------------------------------------
declare -A AFTER_COUNT=()
for _ in $(seq 1 20); do
  w=$(who || true); AFTER_COUNT[$w]=$(( ${AFTER_COUNT[$w]:-0} + 1 ))
done
if [[ ${AFTER_COUNT[B]:-0} == 20 ]]; then
  pass "the next 20 calls to A went to B"
else
  fail "the next 20 calls to A: $(for k in "${!AFTER_COUNT[@]}"; do printf '%s=%s ' "$k" "${AFTER_COUNT[$k]}"; done)"
fi

if (( FAILS > 0 )); then
  say "FAIL: $FAILS check(s) failed"; exit 1
fi
say "PASS: Lever calls routed across namespaces survive a provider cut off"
