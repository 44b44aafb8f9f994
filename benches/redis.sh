#!/usr/bin/env bash
# RESP throughput of leither beside Debian's redis-server, measured in the same run on the same
# machine with the same client: redis-benchmark -t TESTS -n N -c CLIENTS,
# once without pipelining (-P 1) and once with 16 commands in flight per connection (-P 16),
# against a release-built node (fresh temp home, RespPort set in SystemVars.json, the owner's
# default database over loopback) and against redis-server --save "" --appendonly no (the
# goal's peer), and, for durability like the node's group commit, redis-server --appendonly yes
# --appendfsync everysec.
# The runs alternate (redis, node, redis, node) so that both see the same machine load.
# Goal: leither >= 0.7x redis-server's ops/s in every test, in both modes.
#
#   benches/redis.sh       env: N=100000 (requests per test), CLIENTS=50, TESTS=set,get,incr,lpush,rpush,lpop,hset,sadd,zadd
#                          STRICT=1 (exit 1 when the goal is missed or the node has no RESP listener)
#                          LEITHER_BIN=path (measure that binary, no build)
# Builds target/release/leither (under $CARGO_TARGET_DIR if set) when missing or older than the
# sources; installs redis-server
# and redis-tools (redis-benchmark, redis-cli) with apt-get when absent. Everything listens on
# 127.0.0.1 and is stopped (and the temp homes removed) on exit. Not run by CI: the figures
# need a quiet machine.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../targets/lib.sh"
cd "$ROOT"
N=${N:-100000}
CLIENTS=${CLIENTS:-50}
TESTS=${TESTS:-set,get,incr,lpush,rpush,lpop,hset,sadd,zadd}
MODES=(1 16)          # -P values
GOAL_RATIO=0.7        # leither ops/s / redis-server ops/s, every test, every mode

WORK=$(mktemp -d /tmp/leither-redis.XXXXXX)
declare -a PIDS=() HOMES=()
BIN=${LEITHER_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/$BIN_NAME}
source "$ROOT/benches/lib.sh"

# --- what it needs -------------------------------------------------------------------------
need redis-server redis-server
need redis-benchmark redis-tools
need redis-cli redis-tools
need python3 python3

if [[ -z ${LEITHER_BIN:-} ]] && { [[ ! -x "$BIN" ]] || [[ -n $(find src Cargo.toml Cargo.lock -newer "$BIN" -print -quit) ]]; }; then
  echo "building $BIN (cargo build --release)..." >&2
  cargo build --release >&2
fi

# wait_pong PORT SECONDS : until redis-cli PING on 127.0.0.1:PORT answers PONG
wait_pong() {
  local deadline=$(( $(now_ms) + $2 * 1000 ))
  while (( $(now_ms) < deadline )); do
    [[ $(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]] && return 0
    sleep 0.05
  done
  return 1
}

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
REDIS_VER=$(redis-server --version | grep -oE 'v=[0-9.]+' | cut -d= -f2)

# --- redis-server --------------------------------------------------------------------------
REDIS_PORT=$(free_port); mkdir -p "$WORK/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
  --dir "$WORK/redis" --logfile "$WORK/redis/log" < /dev/null > /dev/null 2>&1 &
PIDS+=("$!")
wait_pong "$REDIS_PORT" 30 || { echo "redis-server did not answer: $(tail -c 400 "$WORK/redis/log")" >&2; exit 1; }

# The same redis-server with an append-only file fsync'd every second: the peer whose
# durability matches the node's group commit (informative; the goal is against the one above).
AOF_PORT=$(free_port); mkdir -p "$WORK/redis-aof"
redis-server --port "$AOF_PORT" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec \
  --daemonize no --dir "$WORK/redis-aof" --logfile "$WORK/redis-aof/log" < /dev/null > /dev/null 2>&1 &
PIDS+=("$!")
wait_pong "$AOF_PORT" 30 || { echo "redis-server (aof) did not answer: $(tail -c 400 "$WORK/redis-aof/log")" >&2; exit 1; }

# --- the node ------------------------------------------------------------------------------
H="$WORK/home"; NODE_PORT=$(free_port); NODE_OK=0; NODE_NOTE=""
"$BIN" --home "$H" init -p 0 -b "" -l 127.0.0.1 > "$WORK/init.log" 2>&1 ||
  { echo "init failed: $(cat "$WORK/init.log")" >&2; exit 1; }
HOMES+=("$H")
python3 - "$H/SystemVars.json" "$NODE_PORT" <<'EOF'
import json, sys
path, port = sys.argv[1], int(sys.argv[2])
with open(path) as f:
    doc = json.load(f)
doc["RespPort"] = port
with open(path, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
EOF
"$BIN" --home "$H" run -d > "$WORK/run.log" 2>&1 ||
  { echo "run -d failed: $(cat "$WORK/run.log")" >&2; exit 1; }
PIDS+=("$(tr -dc 0-9 < "$H/leither.pid")")
if wait_pong "$NODE_PORT" 30; then
  NODE_OK=1
else
  NODE_NOTE="the node did not answer PING on RespPort $NODE_PORT (no RESP listener in this build?)"
  echo "$NODE_NOTE; measuring redis-server only" >&2
fi

# --- runs ----------------------------------------------------------------------------------
declare -A OPS=()   # OPS[who,P,TEST] = requests per second
# bench WHO PORT P : one redis-benchmark run, results into OPS
bench() {
  local who=$1 port=$2 p=$3 out line test rps
  echo "redis-benchmark $who -P $p ..." >&2
  if ! out=$(timeout 600 redis-benchmark -h 127.0.0.1 -p "$port" -t "$TESTS" -n "$N" -c "$CLIENTS" \
      -P "$p" --csv 2> "$WORK/bench-$who-$p.err"); then
    echo "redis-benchmark against $who (-P $p) failed: $(tail -c 400 "$WORK/bench-$who-$p.err")" >&2
    return 0
  fi
  while IFS= read -r line; do
    [[ $line == '"test"'* ]] && continue
    IFS=, read -r test rps _ <<< "$line"
    test=${test//\"/}; rps=${rps//\"/}
    [[ -n $test && $rps =~ ^[0-9.]+$ ]] && OPS[$who,$p,$test]=$rps
  done <<< "$out"
}
for p in "${MODES[@]}"; do
  bench redis "$REDIS_PORT" "$p"
  bench aof "$AOF_PORT" "$p"
  [[ $NODE_OK == 1 ]] && bench leither "$NODE_PORT" "$p"
done

# --- report --------------------------------------------------------------------------------
echo
echo "=== RESP ops/s: redis-benchmark -n $N -c $CLIENTS (redis-server $REDIS_VER, --save \"\" --appendonly no)"
printf '%-8s %-6s %14s %14s %8s %14s %9s\n' test mode redis-server leither ratio redis+aof ratio-aof
missed=0; measured=0; worst=""; worst_ratio=""
IFS=, read -r -a TEST_LIST <<< "${TESTS^^}"
for p in "${MODES[@]}"; do
  for t in "${TEST_LIST[@]}"; do
    r=${OPS[redis,$p,$t]:-}; l=${OPS[leither,$p,$t]:-}; ratio=-
    a=${OPS[aof,$p,$t]:-}; ratio_aof=-
    [[ -n $a && -n $l ]] && ratio_aof=$(awk -v x="$l" -v y="$a" 'BEGIN { printf "%.2f", (y > 0 ? x / y : 0) }')
    if [[ -n $r && -n $l ]]; then
      ratio=$(awk -v a="$l" -v b="$r" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
      measured=$(( measured + 1 ))
      if [[ -z $worst_ratio ]] || awk -v a="$ratio" -v b="$worst_ratio" 'BEGIN { exit !(a < b) }'; then
        worst_ratio=$ratio; worst="$t -P $p"
      fi
      awk -v a="$ratio" -v g="$GOAL_RATIO" 'BEGIN { exit !(a < g) }' && missed=1
    fi
    printf '%-8s %-6s %14s %14s %8s %14s %9s\n' "$t" "-P $p" "${r:--}" "${l:--}" "$ratio" "${a:--}" "$ratio_aof"
  done
done
echo
expected=$(( ${#MODES[@]} * ${#TEST_LIST[@]} ))
if [[ $measured -lt $expected ]]; then
  echo "GOAL leither >= ${GOAL_RATIO}x redis-server in every test, -P 1 and -P 16: NOT MEASURED ($measured of $expected pairs)${NODE_NOTE:+; $NODE_NOTE}"
  [[ "${STRICT:-0}" == 1 ]] && exit 1
elif [[ $missed == 1 ]]; then
  echo "GOAL leither >= ${GOAL_RATIO}x redis-server in every test, -P 1 and -P 16: MISSED (lowest ${worst_ratio}x, $worst)"
  [[ "${STRICT:-0}" == 1 ]] && exit 1
else
  echo "GOAL leither >= ${GOAL_RATIO}x redis-server in every test, -P 1 and -P 16: MET (lowest ${worst_ratio}x, $worst)"
fi
exit 0
