#!/usr/bin/env bash
# Redis's own test suite (redis 7.0.15's tests/ and runtest, in ../shared/reference/ or
# REDIS_SRC) run against the node's RESP port and against a real redis-server 7.0.15, unit by
# unit, in runtest's external-server mode (--host/--port): the same harness, the same tests,
# the same client. Prints passed/failed/skipped per unit for both, how many of the tests
# redis-server passes pass here too (by name), the ratio of those to redis-server's, and (with
# -v) the name of every test that redis-server passes and this node does not.
#
#   tests/redis_suite.sh [--short] [-v] [UNIT ...]
#     UNIT: e.g. type/list keyspace (default: the data-type units listed in UNITS below)
#     --short   the units CI runs (SHORT_UNITS)
#   env: LEITHER_BIN=path (default target/release/leither, built when missing or stale)
#        REDIS_SRC=dir holding runtest and tests/ (default: ../shared/reference/redis-7.0.15,
#          else Debian's redis_7.0.15.orig.tar.gz, fetched once into target/ and checked)
#        GOAL=0.95 (exit 1 below it)
#        KEEP=1 keep the work directory (logs per unit)
# Needs tclsh (Debian tcl) and redis-server; installs them with apt-get when absent.
# Every failure left is listed with its reason in docs/db.md ("Redis's own suite").
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../targets/lib.sh"
cd "$ROOT"
UNITS_ALL=(type/string type/incr type/hash type/list type/list-2 type/list-3 type/set type/zset
  type/stream type/stream-cgroups keyspace expire multi protocol scan info-command bitops auth quit)
SHORT_UNITS=(type/string type/incr type/hash type/set keyspace expire multi protocol scan)
GOAL=${GOAL:-0.95}
REDIS_TARBALL_URL=http://deb.debian.org/debian/pool/main/r/redis/redis_7.0.15.orig.tar.gz
REDIS_TARBALL_SHA256=4b1dc4ee6d622a09fff9c6777191209750fb5e5a725ef78ea012d6eef4c22982
VERBOSE=0; UNITS=()
for a in "$@"; do
  case $a in
    --short) UNITS=("${SHORT_UNITS[@]}") ;;
    -v) VERBOSE=1 ;;
    *) UNITS+=("$a") ;;
  esac
done
(( ${#UNITS[@]} )) || UNITS=("${UNITS_ALL[@]}")

need() { command -v "$1" >/dev/null 2>&1 || { apt-get install -y -qq "$2" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$2"; } >/dev/null; }; }
need tclsh tcl
need redis-server redis-server
need redis-cli redis-tools

SRC=${REDIS_SRC:-}
for d in "$ROOT/../shared/reference/redis-7.0.15" "$ROOT/../../shared/reference/redis-7.0.15" /work/shared/reference/redis-7.0.15; do
  [[ -z $SRC && -f $d/runtest ]] && SRC=$d
done
if [[ -z $SRC ]]; then
  # Not beside the repo (a fresh CI machine): Debian's source tarball of the same redis
  # 7.0.15 that Debian's redis-server is built from, from the package archive, checked.
  SRC="${CARGO_TARGET_DIR:-$ROOT/target}/redis-7.0.15"
  if [[ ! -f $SRC/runtest ]]; then
    tgz="${SRC}.orig.tar.gz"
    curl -fsSL --retry 3 -o "$tgz" "$REDIS_TARBALL_URL"
    echo "$REDIS_TARBALL_SHA256  $tgz" | sha256sum -c --quiet - ||
      { echo "$tgz: checksum differs from redis 7.0.15's" >&2; rm -f "$tgz"; exit 2; }
    tar xzf "$tgz" -C "$(dirname "$SRC")" redis-7.0.15/runtest redis-7.0.15/tests
    rm -f "$tgz"
  fi
fi
[[ -f $SRC/runtest ]] || { echo "redis-7.0.15 tests not found: set REDIS_SRC" >&2; exit 2; }

BIN=${LEITHER_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/$BIN_NAME}
if [[ -z ${LEITHER_BIN:-} ]] && { [[ ! -x "$BIN" ]] || [[ -n $(find src Cargo.toml Cargo.lock -newer "$BIN" -print -quit) ]]; }; then
  echo "building $BIN (cargo build --release)..." >&2
  cargo build --release >&2
fi

WORK=$(mktemp -d /tmp/leither-rsuite.XXXXXX)
declare -a PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  [[ ${KEEP:-0} == 1 ]] && echo "work directory kept: $WORK" >&2 || rm -rf "$WORK"
}
trap cleanup EXIT

wait_pong() {
  local i
  for i in $(seq 1 300); do
    [[ $(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null) == PONG ]] && return 0
    sleep 0.1
  done
  return 1
}

# redis-server, as the suite's peer
RPORT=$(free_port); mkdir -p "$WORK/redis"
redis-server --port "$RPORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
  --dir "$WORK/redis" --logfile "$WORK/redis/log" < /dev/null > /dev/null 2>&1 &
PIDS+=("$!")
wait_pong "$RPORT" || { echo "redis-server did not start" >&2; exit 1; }

# the node: fresh home, RESP on loopback, where the owner needs no AUTH
H="$WORK/home"; NPORT=$(free_port)
"$BIN" --home "$H" init -p 0 -b "" -l 127.0.0.1 > "$WORK/init.log" 2>&1 || { cat "$WORK/init.log" >&2; exit 1; }
python3 - "$H/SystemVars.json" "$NPORT" <<'EOF'
import json, sys
path, port = sys.argv[1], int(sys.argv[2])
doc = json.load(open(path))
doc["RespPort"] = port
json.dump(doc, open(path, "w"), indent=2)
EOF
"$BIN" --home "$H" run -d > "$WORK/run.log" 2>&1 || { cat "$WORK/run.log" >&2; exit 1; }
PIDS+=("$(tr -dc 0-9 < "$H/leither.pid")")
wait_pong "$NPORT" || { echo "the node did not answer PING on $NPORT" >&2; exit 1; }

# run_unit WHO PORT UNIT : runs one unit in a private copy of the suite; prints "pass fail skip"
run_unit() {
  local who=$1 port=$2 unit=$3
  local dir="$WORK/$who-${unit//\//_}"
  mkdir -p "$dir"; cp -r "$SRC/runtest" "$SRC/tests" "$dir/"
  # runtest's own test-server port is looked for from --baseport - 32: a base of our own
  # (from a free port) keeps runs that go at the same time from taking each other's.
  local base; base=$(( $(free_port) % 20000 + 30000 ))
  ( cd "$dir" && timeout 900 ./runtest --host 127.0.0.1 --port "$port" --single "unit/$unit" \
      --baseport "$base" \
      --clients 1 --durable --timeout 120 --tags -needs:debug --tags -needs:repl \
      --tags -needs:config-maxmemory 2>&1 | sed "s/\x1b\[[0-9;]*m//g" > "$dir/out.log" ) || true
  local pass fail skip
  pass=$(grep -c '^\[ok\]:' "$dir/out.log" || true)
  fail=$(grep -cE '^\[(err|exception)\]:' "$dir/out.log" || true)
  skip=$(grep -c '^\[skip\]:' "$dir/out.log" || true)
  echo "$pass $fail $skip"
}

# oks WHO UNIT : the names of the tests that passed, one per line, sorted (a name run twice
# is there twice, and comm pairs them one for one)
oks() { sed -n 's/^\[ok\]: \(.*\) ([0-9]* ms)$/\1/p' "$WORK/$1-${2//\//_}/out.log" | sort; }
printf '%-20s %24s   %24s %6s\n' unit "redis-server ok/err/skip" "leither ok/err/skip" both
tot_r=0; tot_both=0; tot_lf=0
for u in "${UNITS[@]}"; do
  read -r rp rf rs < <(run_unit redis "$RPORT" "$u")
  read -r lp lf ls < <(run_unit leither "$NPORT" "$u")
  both=$(comm -12 <(oks redis "$u") <(oks leither "$u") | wc -l)
  printf '%-20s %14s/%s/%s %20s/%s/%s %6s\n' "$u" "$rp" "$rf" "$rs" "$lp" "$lf" "$ls" "$both"
  tot_r=$((tot_r + rp)); tot_both=$((tot_both + both)); tot_lf=$((tot_lf + lf))
  if [[ $VERBOSE == 1 ]]; then
    comm -23 <(oks redis "$u") <(oks leither "$u") | sed 's/^/    fails here: /'
    sed -n 's/^\[\(err\|exception\)\]: /    error: /p' "$WORK/leither-${u//\//_}/out.log" | head -n 40
  fi
  if ! kill -0 "${PIDS[1]}" 2>/dev/null; then echo "    the node died: $(tail -c 600 "$H/leither.log" 2>/dev/null)"; exit 1; fi
done
ratio=$(awk -v a="$tot_both" -v b="$tot_r" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
echo "total: redis-server passes $tot_r; of those, leither passes $tot_both ($tot_lf errors here): ratio $ratio (goal $GOAL)"
kill -0 "${PIDS[1]}" 2>/dev/null || { echo "the node is not running any more" >&2; exit 1; }
awk -v r="$ratio" -v g="$GOAL" 'BEGIN { exit !(r >= g) }'
