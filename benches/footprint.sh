#!/usr/bin/env bash
# Footprint of leither per target, beside a peer measured in the same run (Debian's redis-server):
#   - stripped binary size (target/dist/leither-<triple>, from targets/build.sh)
#   - idle RSS: VmRSS of the node ~IDLE_S seconds after its first API answer, and the part of
#     it that is anonymous memory (heap, stacks, .data/.bss; the rest is the binary's own
#     pages, clean and droppable by the kernel). For foreign targets this is the RSS of the
#     qemu-user process, which carries qemu itself and its translated code: reported, but
#     labelled "under qemu"; the real figure is x86_64 native.
#   - the OpenWrt .ipk of mips_24kc (openwrt/mkpkg.sh), when the mips binary is built.
#   - start-up: ms from spawning `leither run` to the first successful POST /api/Login.
# Goals: the spine (--no-default-features, target/dist/spine/) under 2.5 MiB on mipsel; from
# issue #18: the default build under 4 MiB on mips, its .ipk under 2 MB, idle RSS under 6 MiB
# on x86_64 (native).
#
#   benches/footprint.sh [TARGET...]   default: x86_64-unknown-linux-musl and the four
#   env: IDLE_S=2 (settle time before reading RSS), STRICT=1 (exit 1 when a goal is missed),
#        NO_PEER=1 (skip redis-server)
# Needs the binaries built: bash targets/build.sh x86_64 aarch64 armv7 mipsel mips
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../targets/lib.sh"
cd "$ROOT"
if [[ $# -eq 0 ]]; then set -- x86_64-unknown-linux-musl "${DEFAULT_TARGETS[@]}"; fi
resolve_targets "$@" || exit 2
IDLE_S=${IDLE_S:-2}
GOAL_SIZE_MIB=2.5   # mipsel stripped binary, spine
GOAL_MIPS_MIB=4     # mips stripped binary, default build (issue #18)
GOAL_IPK_MB=2       # .ipk for mips_24kc, in MB (10^6 bytes) (issue #18)
GOAL_RSS_MIB=6      # x86_64 native idle RSS (issue #18)

WORK=$(mktemp -d /tmp/leither-footprint.XXXXXX)
declare -a PIDS=()
# shellcheck disable=SC2317  # called by trap
cleanup() {
  local p
  for p in "${PIDS[@]}"; do
    if kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p" 2>/dev/null || true; sleep 0.5; kill -KILL "$p" 2>/dev/null || true
    fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
anon_kib() { awk '/^Anonymous:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
kib_mib() { awk -v k="$1" 'BEGIN { printf "%.2f", k / 1024 }'; }

# wait_answer CMD... : poll CMD every 10 ms (60 s at most); prints ms since $T0 on success
wait_answer() {
  local deadline=$(( $(now_ms) + 60000 ))
  while (( $(now_ms) < deadline )); do
    if "$@" >/dev/null 2>&1; then echo $(( $(now_ms) - T0 )); return 0; fi
    sleep 0.01
  done
  return 1
}

# shellcheck disable=SC2317  # called through wait_answer
login_ok() {
  local r
  r=$(curl -s --max-time 2 -X POST "http://127.0.0.1:$1/api/Login" -d '[]') && [[ "$r" == *'"sid"'* ]]
}

declare -a ROWS=()   # what \t how \t bytes \t rss_kib \t anon_kib \t start_ms \t note
MIPSEL_SIZE=""; MIPS_SIZE=""; X86_RSS=""

measure_leither() {
  local t=$1 b runner h port pid ms rss anon size how
  b=$(dist_bin "$t")
  if [[ ! -x "$b" ]]; then
    echo "skip $t: $b not built (bash targets/build.sh $t)"
    ROWS+=("leither $t	-	-	-	-	-	not built"); return 0
  fi
  runner=$(runner_for "$t") || { ROWS+=("leither $t	-	-	-	-	-	no qemu"); return 0; }
  how=${runner:-native}
  size=$(stat -c %s "$b")
  h="$WORK/$t"; mkdir -p "$h"; port=$(free_port)
  # shellcheck disable=SC2086
  HOME="$h" timeout 60 $runner "$b" --home "$h/node" init -p "$port" -b "" > "$h/init.log" 2>&1 < /dev/null || {
    echo "init failed for $t: $(head -c 300 "$h/init.log")"
    ROWS+=("leither $t	$how	$size	-	-	-	init failed"); return 0; }
  T0=$(now_ms)
  # shellcheck disable=SC2086
  HOME="$h" $runner "$b" --home "$h/node" run > "$h/run.log" 2>&1 < /dev/null &
  pid=$!; PIDS+=("$pid")
  if ! ms=$(wait_answer login_ok "$port"); then
    echo "no API answer from $t within 60 s: $(tail -c 300 "$h/run.log")"
    kill -TERM "$pid" 2>/dev/null || true
    ROWS+=("leither $t	$how	$size	-	-	-	no answer"); return 0
  fi
  sleep "$IDLE_S"
  rss=$(rss_kib "$pid"); anon=$(anon_kib "$pid")
  # shellcheck disable=SC2086
  HOME="$h" timeout 60 $runner "$b" --home "$h/node" stop > "$h/stop.log" 2>&1 < /dev/null || kill -TERM "$pid" 2>/dev/null || true
  local _; for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  local note=""
  [[ -n "$runner" ]] && note="RSS under qemu (inflated)"
  ROWS+=("leither $t	$how	$size	$rss	$anon	$ms	$note")
  [[ "$t" == mipsel-unknown-linux-musl ]] && MIPSEL_SIZE=$size
  [[ "$t" == mips-unknown-linux-musl ]] && MIPS_SIZE=$size
  [[ "$t" == x86_64-unknown-linux-musl ]] && X86_RSS=$rss
  return 0
}

measure_redis() {
  if [[ "${NO_PEER:-0}" == 1 ]]; then return 0; fi
  if ! command -v redis-server >/dev/null; then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
      echo "installing redis-server (peer for comparison)"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server > "$WORK/apt.log" 2>&1 ||
        { apt-get update -q > /dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server > "$WORK/apt.log" 2>&1; } || true
    fi
    command -v redis-server >/dev/null || { ROWS+=("redis-server (Debian)	-	-	-	-	-	not installed"); return 0; }
  fi
  local exe size port pid ms rss anon ver
  exe=$(readlink -f "$(command -v redis-server)"); size=$(stat -c %s "$exe")
  ver=$(redis-server --version | grep -oE 'v=[0-9.]+' | cut -d= -f2)
  port=$(free_port); mkdir -p "$WORK/redis"
  T0=$(now_ms)
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
    --dir "$WORK/redis" --logfile "$WORK/redis/log" < /dev/null > /dev/null 2>&1 &
  pid=$!; PIDS+=("$pid")
  if ! ms=$(wait_answer bash -c "[[ \$(redis-cli -p $port ping 2>/dev/null) == PONG ]]"); then
    kill -TERM "$pid" 2>/dev/null || true
    ROWS+=("redis-server $ver (Debian)	native	$size	-	-	-	no answer"); return 0
  fi
  sleep "$IDLE_S"
  rss=$(rss_kib "$pid"); anon=$(anon_kib "$pid")
  kill -TERM "$pid" 2>/dev/null || true       # redis shuts down cleanly on SIGTERM
  wait "$pid" 2>/dev/null || true
  ROWS+=("redis-server $ver (Debian)	native	$size	$rss	$anon	$ms	dynamic: size excludes shared libs")
}

for t in "${TARGETS[@]}"; do measure_leither "$t"; done
measure_redis

echo
echo "=== footprint (idle = ${IDLE_S}s after first answer; start-up = spawn -> first answer)"
printf '%-42s %-20s %10s %9s %12s %9s %9s  %s\n' what runner bytes MiB "idle RSS MiB" "anon MiB" "start ms" note
for row in "${ROWS[@]}"; do
  IFS=$'\t' read -r what how bytes rss anon ms note <<< "$row"
  mibs=-; [[ "$bytes" =~ ^[0-9]+$ ]] && mibs=$(mib "$bytes")
  rssm=-; [[ "$rss" =~ ^[0-9]+$ ]] && rssm=$(kib_mib "$rss")
  anonm=-; [[ "$anon" =~ ^[0-9]+$ ]] && anonm=$(kib_mib "$anon")
  printf '%-42s %-20s %10s %9s %12s %9s %9s  %s\n' "$what" "$how" "$bytes" "$mibs" "$rssm" "$anonm" "$ms" "$note"
done
# The OpenWrt package of the mips binary (gzip'd, what opkg downloads and unpacks).
IPK_BYTES=""
if [[ -x $(dist_bin mips-unknown-linux-musl) ]] &&
   FORMATS=ipk bash openwrt/mkpkg.sh -o "$WORK/ipk" mips_24kc > "$WORK/ipk.log" 2>&1; then
  IPK_BYTES=$(stat -c %s "$WORK"/ipk/*.ipk)
  echo ".ipk mips_24kc: $IPK_BYTES bytes"
fi
echo
missed=0
goal() {  # goal NAME VALUE_MIB LIMIT_MIB
  if [[ -z "$2" ]]; then echo "GOAL $1 under $3 MiB: not measured"; return 0; fi
  if awk -v v="$2" -v l="$3" 'BEGIN { exit !(v < l) }'; then echo "GOAL $1 under $3 MiB: $2 MiB -> MET"
  else echo "GOAL $1 under $3 MiB: $2 MiB -> MISSED"; missed=1; fi
}
# The 2.5 MiB goal is the spine's (issue 2): the binary without optional subsystems
# (--no-default-features), kept by CI at target/dist/spine/. The full binary is reported above.
SPINE=target/dist/spine/leither-mipsel-unknown-linux-musl
if [[ -f $SPINE ]]; then
  goal "mipsel stripped size, spine (--no-default-features)" "$(mib "$(stat -c %s "$SPINE")")" "$GOAL_SIZE_MIB"
  echo "     (full default build on mipsel: ${MIPSEL_SIZE:+$(mib "$MIPSEL_SIZE")} MiB, with IPFS files and Mimeis)"
else
  goal "mipsel stripped size" "${MIPSEL_SIZE:+$(mib "$MIPSEL_SIZE")}" "$GOAL_SIZE_MIB"
fi
goal "mips stripped size, default build" "${MIPS_SIZE:+$(mib "$MIPS_SIZE")}" "$GOAL_MIPS_MIB"
if [[ -n "$IPK_BYTES" ]]; then
  ipk_mb=$(awk -v b="$IPK_BYTES" 'BEGIN { printf "%.2f", b / 1000000 }')
  if awk -v v="$ipk_mb" -v l="$GOAL_IPK_MB" 'BEGIN { exit !(v < l) }'; then
    echo "GOAL .ipk mips_24kc under $GOAL_IPK_MB MB: $ipk_mb MB -> MET"
  else echo "GOAL .ipk mips_24kc under $GOAL_IPK_MB MB: $ipk_mb MB -> MISSED"; missed=1; fi
else
  echo "GOAL .ipk mips_24kc under $GOAL_IPK_MB MB: not measured"
fi
goal "x86_64 idle RSS (native)" "${X86_RSS:+$(kib_mib "$X86_RSS")}" "$GOAL_RSS_MIB"
if [[ "${STRICT:-0}" == 1 && $missed -eq 1 ]]; then exit 1; fi
exit 0
