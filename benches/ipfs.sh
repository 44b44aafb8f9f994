#!/usr/bin/env bash
# IPFS throughput and memory of leither on this machine, beside the peers measured in the same
# run on the same bytes (MIB MiB of random data in /tmp, page-cache warm):
#   - hashing limit: `openssl dgst -sha256` of the file (best of RUNS): the SHA-256 speed of
#     this CPU (with SHA extensions when it has them); every add must hash every byte once.
#   - add: `leither ipfs add FILE` (v0 defaults: dag-pb leaves) and `--cid-version 1` (raw
#     leaves), each timed once end to end (CLI start, login, upload, chunk, hash, store, pin),
#     each on a fresh node process, so its VmHWM is the peak RSS of that add alone.
#   - get: GET /ipfs/<cid> of both CIDs from the node's gateway with curl to /dev/null (RUNS
#     runs, best and median), on a third fresh node process on the same home (so its VmHWM is
#     the peak of the GETs alone), against nginx (one worker, sendfile on) serving the file.
#   - the gateway's bytes equal the input (sha256sum), once per CID.
# MB/s here is 10^6 bytes per second; sizes and RSS are MiB (2^20).
# Goals: add >= 0.5x openssl's throughput; node peak RSS under 16 MiB while adding (and
# while serving) MIB MiB; gateway GET >= 0.7x nginx (best runs).
#
#   benches/ipfs.sh        env: MIB=256 (file size), RUNS=3 (openssl and GET runs),
#                          STRICT=1 (exit 1 when a goal is missed),
#                          PROFILE=release (the cargo profile to run: `profiling` is the
#                          same code with symbols), PERF=DIR (record each add's node with
#                          `perf record -g` into DIR/add-v0.data and DIR/add-v1.data),
#                          LEITHER_BIN=PATH (run that binary as it is, e.g. a copy of the
#                          build before a change, to compare the two in one sitting)
# Builds target/PROFILE/leither when missing or older than the sources; installs openssl,
# nginx and curl with apt-get when absent. Everything listens on 127.0.0.1 and is stopped
# (and the files removed) on exit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../targets/lib.sh"
cd "$ROOT"
MIB=${MIB:-256}
RUNS=${RUNS:-3}
GOAL_ADD_RATIO=0.5   # add MB/s / openssl dgst -sha256 MB/s
GOAL_GET_RATIO=0.7   # gateway GET MB/s / nginx MB/s (best runs)
GOAL_RSS_MIB=16      # node VmHWM while adding (and serving) MIB MiB
export PATH="$PATH:/usr/sbin:/sbin"   # nginx lives in /usr/sbin

WORK=$(mktemp -d /tmp/leither-ipfs.XXXXXX)
declare -a PIDS=() HOMES=()
PROFILE=${PROFILE:-release}
BIN=${LEITHER_BIN:-$ROOT/target/$PROFILE/$BIN_NAME}
source "$ROOT/benches/lib.sh"

# --- what it needs -------------------------------------------------------------------------
need openssl openssl
need nginx nginx
need curl curl
need sha256sum coreutils
if [[ -n "${PERF:-}" ]]; then need perf linux-perf; mkdir -p "$PERF"; fi

if [[ -z "${LEITHER_BIN:-}" ]] &&
   { [[ ! -x "$BIN" ]] || [[ -n $(find src Cargo.toml Cargo.lock -newer "$BIN" -print -quit) ]]; }; then
  echo "building $BIN (cargo build --profile $PROFILE)..." >&2
  cargo build --profile "$PROFILE" >&2
fi

rss_kib() { awk -v k="$2" '$1 == k":" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
kib_mib() { awk -v k="$1" 'BEGIN { printf "%.2f", k / 1024 }'; }
mbs() { awk -v b="$1" -v ms="$2" 'BEGIN { printf "%.1f", (ms > 0 ? b / ms / 1000 : 0) }'; }
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print int(($12 + $13) * 1000 / hz) }' "/proc/$1/stat" 2>/dev/null || echo 0; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
best() { printf '%s\n' "$@" | sort -g | tail -1; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# --- the file ------------------------------------------------------------------------------
DATA="$WORK/data"; mkdir -p "$DATA"
FILE="$DATA/file.bin"
BYTES=$(( MIB * 1048576 ))
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, sha_ni: $(grep -qw sha_ni /proc/cpuinfo && echo yes || echo no)"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "making $MIB MiB of random bytes in $FILE" >&2
head -c "$BYTES" /dev/urandom > "$FILE"
IN_SHA=$(sha256sum "$FILE" | cut -d' ' -f1)   # also warms the page cache
# nginx workers run as another user: let them read the file (random bytes, nothing secret)
chmod 755 "$WORK" "$DATA"; chmod 644 "$FILE"

declare -a ROWS=()   # what|MB/s|detail|VmHWM kib|note (|, not tab: read would merge empty fields)

# --- openssl: the hashing limit ----------------------------------------------------------
declare -a SSL=()
for _ in $(seq 1 "$RUNS"); do
  t0=$(now_ms); openssl dgst -sha256 "$FILE" > /dev/null; ms=$(( $(now_ms) - t0 ))
  SSL+=("$(mbs "$BYTES" "$ms")")
done
SSL_BEST=$(best "${SSL[@]}")
ROWS+=("openssl dgst -sha256|$SSL_BEST|best of $RUNS: ${SSL[*]} MB/s|-|$(openssl version | cut -d' ' -f1-2)")

# --- leither nodes -------------------------------------------------------------------------
H="$WORK/home"
"$BIN" --home "$H" init -p 0 -l 127.0.0.1 > "$WORK/init.log" 2>&1 ||
  { echo "init failed: $(cat "$WORK/init.log")" >&2; exit 1; }
HOMES+=("$H")
NODE_PID=""; NODE_URL=""
start_node() {
  "$BIN" --home "$H" run -d > "$WORK/run.log" 2>&1 ||
    { echo "run -d failed: $(cat "$WORK/run.log")" >&2; exit 1; }
  NODE_PID=$(tr -dc 0-9 < "$H/leither.pid"); PIDS+=("$NODE_PID")
  NODE_URL="http://$(tr -d '[:space:]' < "$H/leither.addr")"
}
stop_node() {
  "$BIN" --home "$H" stop > /dev/null 2>&1 || kill -TERM "$NODE_PID" 2>/dev/null || true
  local _; for _ in $(seq 1 50); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
}

declare -A CID=() ADD_MBS=() ADD_HWM=()
add() {  # add LABEL [ARGS...] : one fresh node process, one add
  local label=$1 out t0 ms idle c0 c1; shift
  start_node
  idle=$(rss_kib "$NODE_PID" VmRSS)
  local perf_pid=""
  if [[ -n "${PERF:-}" ]]; then
    perf record -q -g -F 4000 -p "$NODE_PID" -o "$PERF/add-$label.data" > /dev/null 2>&1 &
    perf_pid=$!; sleep 0.5
  fi
  c0=$(cpu_ms "$NODE_PID")
  t0=$(now_ms)
  out=$("$BIN" --home "$H" ipfs add "$FILE" "$@" 2>&1) ||
    { echo "ipfs add $* failed: $out" >&2; exit 1; }
  ms=$(( $(now_ms) - t0 ))
  if [[ -n "$perf_pid" ]]; then kill -INT "$perf_pid"; wait "$perf_pid" || true; fi
  ADD_HWM[$label]=$(rss_kib "$NODE_PID" VmHWM)
  c1=$(cpu_ms "$NODE_PID")
  stop_node
  CID[$label]=${out##*/ipfs/}
  ADD_MBS[$label]=$(mbs "$BYTES" "$ms")
  ROWS+=("leither ipfs add $label|${ADD_MBS[$label]}|${ms} ms, $(ratio "${ADD_MBS[$label]}" "$SSL_BEST")x openssl|${ADD_HWM[$label]}|node CPU $(( c1 - c0 )) ms; idle RSS $(kib_mib "$idle") MiB; ${CID[$label]}")
}
add v0
add v1 --cid-version 1

# --- nginx -------------------------------------------------------------------------------
NG="$WORK/nginx"; mkdir -p "$NG/tmp"
NG_PORT=$(free_port)
cat > "$NG/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $NG/nginx.pid;
error_log $NG/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  default_type application/octet-stream;
  client_body_temp_path $NG/tmp/body;
  proxy_temp_path $NG/tmp/proxy;
  fastcgi_temp_path $NG/tmp/fastcgi;
  uwsgi_temp_path $NG/tmp/uwsgi;
  scgi_temp_path $NG/tmp/scgi;
  server {
    listen 127.0.0.1:$NG_PORT;
    root $DATA;
  }
}
EOF
nginx -c "$NG/nginx.conf" -p "$NG/" > "$NG/stderr.log" 2>&1 < /dev/null &
PIDS+=("$!")
NG_URL="http://127.0.0.1:$NG_PORT/file.bin"
ok=0
for _ in $(seq 1 100); do
  if curl -s -f -o /dev/null -r 0-0 "$NG_URL"; then ok=1; break; fi
  sleep 0.05
done
[[ $ok == 1 ]] || { echo "nginx did not answer: $(cat "$NG/stderr.log" "$NG/error.log" 2>/dev/null)" >&2; exit 1; }

# --- GETs ----------------------------------------------------------------------------------
get_runs() {  # get_runs URL -> prints RUNS speeds in MB/s (fails on a short or bad answer)
  local r code size speed
  for _ in $(seq 1 "$RUNS"); do
    r=$(curl -s -o /dev/null -w '%{http_code} %{size_download} %{speed_download}' "$1")
    read -r code size speed <<< "$r"
    if [[ $code != 200 || $size != "$BYTES" ]]; then
      echo "GET $1: status $code, $size of $BYTES bytes" >&2; return 1
    fi
    awk -v s="$speed" 'BEGIN { printf "%.1f\n", s / 1e6 }'
  done
}
start_node   # a third fresh process on the same home: VmHWM is the GETs' alone
GET_IDLE=$(rss_kib "$NODE_PID" VmRSS)
declare -A GET_CPU=()
declare -A GET_BEST=() GET_MED=()
for label in v0 v1; do
  c0=$(cpu_ms "$NODE_PID")
  mapfile -t speeds < <(get_runs "$NODE_URL/ipfs/${CID[$label]}")
  GET_CPU[$label]=$(( ($(cpu_ms "$NODE_PID") - c0) / RUNS ))
  [[ ${#speeds[@]} -eq $RUNS ]] || { echo "gateway GET of $label failed" >&2; exit 1; }
  GET_BEST[$label]=$(best "${speeds[@]}"); GET_MED[$label]=$(median "${speeds[@]}")
  ROWS+=("leither gateway GET $label|${GET_BEST[$label]}|median ${GET_MED[$label]}; runs ${speeds[*]} MB/s|-|node CPU ${GET_CPU[$label]} ms per GET")
done
mapfile -t speeds < <(get_runs "$NG_URL")
[[ ${#speeds[@]} -eq $RUNS ]] || { echo "nginx GET failed" >&2; exit 1; }
NG_BEST=$(best "${speeds[@]}"); NG_MED=$(median "${speeds[@]}")
ROWS+=("nginx GET (sendfile)|$NG_BEST|median $NG_MED; runs ${speeds[*]} MB/s|-|$(nginx -v 2>&1 | sed 's/.*: //')")

# the gateway's bytes are the input's, once per CID
for label in v0 v1; do
  curl -s -o "$WORK/out.bin" "$NODE_URL/ipfs/${CID[$label]}"
  got=$(sha256sum "$WORK/out.bin" | cut -d' ' -f1); rm -f "$WORK/out.bin"
  if [[ $got != "$IN_SHA" ]]; then
    echo "gateway GET of $label (${CID[$label]}) is not the input: sha256 $got, want $IN_SHA" >&2; exit 1
  fi
done
GET_HWM=$(rss_kib "$NODE_PID" VmHWM)
ROWS+=("leither node during GETs|-|$(( 2 * RUNS + 2 )) GETs of $MIB MiB|$GET_HWM|idle RSS $(kib_mib "$GET_IDLE") MiB")
stop_node

echo
echo "=== ipfs: $MIB MiB of random bytes, page cache warm; MB/s = 10^6 B/s; peak RSS = node VmHWM"
printf '%-28s %9s  %-44s %13s  %s\n' what MB/s detail "peak RSS MiB" note
for row in "${ROWS[@]}"; do
  IFS='|' read -r what speed detail hwm note <<< "$row"
  hwmm=-; [[ "$hwm" =~ ^[0-9]+$ ]] && hwmm=$(kib_mib "$hwm")
  printf '%-28s %9s  %-44s %13s  %s\n' "$what" "$speed" "$detail" "$hwmm" "$note"
done
echo "sha256 of the gateway's bytes = the input's ($IN_SHA) for v0 and v1"
echo "load average (other work on this machine): $LOAD0 at start, $(cut -d' ' -f1-3 /proc/loadavg) at end"
echo
missed=0
goal_min() {  # goal_min NAME RATIO LIMIT DETAIL
  if awk -v v="$2" -v l="$3" 'BEGIN { exit !(v >= l) }'; then echo "GOAL $1 >= ${3}x: ${2}x ($4) -> MET"
  else echo "GOAL $1 >= ${3}x: ${2}x ($4) -> NOT MET"; missed=1; fi
}
goal_under() {  # goal_under NAME MIB LIMIT
  if awk -v v="$2" -v l="$3" 'BEGIN { exit !(v < l) }'; then echo "GOAL $1 under $3 MiB: $2 MiB -> MET"
  else echo "GOAL $1 under $3 MiB: $2 MiB -> NOT MET"; missed=1; fi
}
for label in v0 v1; do
  goal_min "ipfs add $label / openssl sha256" "$(ratio "${ADD_MBS[$label]}" "$SSL_BEST")" "$GOAL_ADD_RATIO" \
    "${ADD_MBS[$label]} vs $SSL_BEST MB/s"
done
for label in v0 v1; do
  goal_min "gateway GET $label / nginx (best)" "$(ratio "${GET_BEST[$label]}" "$NG_BEST")" "$GOAL_GET_RATIO" \
    "${GET_BEST[$label]} vs $NG_BEST MB/s; median $(ratio "${GET_MED[$label]}" "$NG_MED")x"
done
for label in v0 v1; do
  goal_under "node peak RSS adding $MIB MiB ($label)" "$(kib_mib "${ADD_HWM[$label]}")" "$GOAL_RSS_MIB"
done
goal_under "node peak RSS serving $MIB MiB" "$(kib_mib "$GET_HWM")" "$GOAL_RSS_MIB"
if [[ "${STRICT:-0}" == 1 && $missed -eq 1 ]]; then exit 1; fi
exit 0
