#!/usr/bin/env bash
# Lever services (issue #6): HTTP calls of a Lua method on a release-built node beside Debian's
# nginx running the same handler in its Lua module (OpenResty's lua-nginx-module on LuaJIT),
# measured in the same run on the same machine with the same client.
#   - the service: `hello` (lever.json {"name":"hello","luaEntry":"hello.lua"}), whose
#     SayHello(name) returns "Hello, " .. name .. "!"; called as POST /hello/SayHello with the
#     JSON body ["world"], answered 200 with "Hello, world!" (checked with curl first).
#   - the peer: nginx, one worker, `location /hello/SayHello { content_by_lua_block ... }` that
#     reads the body, decodes it and answers the same JSON string: with cjson (lua-cjson) when
#     nginx's Lua can load it, else with a pattern match (said in the output).
#   - the client: wrk -t1 -c16 -d$DURATION --latency -s post.lua, then -c60 (the node takes
#     64 connections at most). The server runs on core SERVER_CPU, wrk on CLIENT_CPU (taskset).
#     Each measured run follows a WARMUP run; nginx and the node alternate.
#   - the node's RSS (VmRSS) idle, after the runs, and its peak (VmHWM); nginx's (master +
#     worker) after the runs.
#   - cold start of an instance: startUs of the service (LeverLs) right after deploy, which
#     checks the code by starting one instance; and the median over the copies below.
#   - memory per idle instance: on a second fresh node (after one warm-up deploy), N_IDLE
#     copies of the service (hello1.., each its own folder and "minInstances": 1) deployed;
#     (RSS after - RSS before) / N_IDLE, which includes what each deploy adds to the store,
#     and the Lua memory of one instance (LeverLs `memory` / `instances`).
#   - a remote call (issue #20 item 4): a third node R without the service, connected to the
#     node over libp2p, forwards POST /hello/SayHello to it (/leither/lever/1.0.0); wrk -c1
#     and -c16 against R and, in the same way, against the node itself.
# Goal: leither >= 1.0x nginx's requests/s at -c16, with p99 <= 2 ms; a remote call costs at
# most one round trip more than a local one: R's p50 at -c1 <= 2x the node's p50 at -c1 (a
# round trip being what a whole local call costs the client).
#
#   benches/lever.sh   env: DURATION=10s (each measured wrk run), WARMUP=2s, N_IDLE=20,
#                      SERVER_CPU=0, CLIENT_CPU=1, LEVER_MEMORY_MB=256 (the node's Lever
#                      budget: N_IDLE + the hello instances at 2 MiB each (the default ram) must fit),
#                      NGINX_CJSON=0 (the peer decodes with the pattern match even with cjson),
#                      STRICT=1 (exit 1 when the goal is missed), LEITHER_BIN=path (no build)
# Builds target/release/leither (under $CARGO_TARGET_DIR if set) when missing or older than the
# sources; installs wrk, nginx, libnginx-mod-http-lua, lua-cjson (optional), curl and python3
# with apt-get when absent. Everything listens on 127.0.0.1 and is stopped (and the temp
# homes removed) on exit. Not run by CI: the figures need a quiet machine.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../targets/lib.sh"
cd "$ROOT"
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
N_IDLE=${N_IDLE:-20}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
LEVER_MEMORY_MB=${LEVER_MEMORY_MB:-256}
CONNS=(16 60)          # wrk -c values; the goal is judged at the first
GOAL_RATIO=1.0         # leither requests/s / nginx requests/s at -c16
GOAL_P99_MS=2          # leither p99 at -c16
export PATH="$PATH:/usr/sbin:/sbin"   # nginx lives in /usr/sbin

WORK=$(mktemp -d /tmp/leither-lever.XXXXXX)
declare -a PIDS=() HOMES=()
BIN=${LEITHER_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/$BIN_NAME}
source "$ROOT/benches/lib.sh"

# --- what it needs -------------------------------------------------------------------------
need wrk wrk
need nginx nginx
need curl curl
need python3 python3
need taskset util-linux
need /usr/lib/nginx/modules/ngx_http_lua_module.so libnginx-mod-http-lua
# the modules' exact paths, as the packages ship them
ngx_module() {  # ngx_module PACKAGE FILE -> the path of FILE in PACKAGE (or the usual one)
  local p
  p=$(dpkg -L "$1" 2>/dev/null | grep "/$2\$" | head -1 || true)
  echo "${p:-/usr/lib/nginx/modules/$2}"
}
NDK_SO=$(ngx_module libnginx-mod-http-ndk ndk_http_module.so)
LUA_SO=$(ngx_module libnginx-mod-http-lua ngx_http_lua_module.so)
for so in "$NDK_SO" "$LUA_SO"; do
  [[ -f $so ]] || { echo "missing nginx module $so (apt-get install libnginx-mod-http-lua)" >&2; exit 1; }
done
# cjson for a fair decode/encode in nginx's Lua (LuaJIT loads the Lua 5.1 build); optional:
# without it the peer decodes with a pattern match (a subshell: need exits when it fails)
if [[ ${NGINX_CJSON:-1} != 0 ]]; then
  ( need "/usr/lib/$(uname -m)-linux-gnu/lua/5.1/cjson.so" lua-cjson ) ||
    echo "lua-cjson not installable: nginx will decode with a pattern match" >&2
fi

if [[ -z ${LEITHER_BIN:-} ]] && { [[ ! -x "$BIN" ]] || [[ -n $(find src Cargo.toml Cargo.lock -newer "$BIN" -print -quit) ]]; }; then
  echo "building $BIN (cargo build --release)..." >&2
  cargo build --release >&2
fi

NCPU=$(nproc)
if (( NCPU < 2 )); then
  echo "only $NCPU core: server and wrk share core 0" >&2; SERVER_CPU=0; CLIENT_CPU=0
fi
SRV=(taskset -c "$SERVER_CPU")
CLI=(taskset -c "$CLIENT_CPU")

rss_kib() { awk -v k="${2:-VmRSS}" '$1 == k":" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
kib_mib() { awk -v k="$1" 'BEGIN { printf "%.2f", k / 1024 }'; }
# cpu_ticks PID : "user system" clock ticks the process has used
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12, $13 }' "/proc/$1/stat" 2>/dev/null || echo "0 0"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
pin() { taskset -a -p -c "$SERVER_CPU" "$1" > /dev/null 2>&1 || true; }  # every thread of PID
children() { cat /proc/"$1"/task/*/children 2>/dev/null || true; }   # without procps

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $NCPU cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "server on core $SERVER_CPU, wrk on core $CLIENT_CPU; wrk -t1 -d$DURATION --latency (after $WARMUP warm-up)"

# --- the node ------------------------------------------------------------------------------
# start_node HOME : a fresh node on 127.0.0.1 (port 0) with the Lever budget set, on the
# server's core; sets NODE_PID and ADDR (host:port)
start_node() {
  local h=$1
  "$BIN" --home "$h" init -p 0 -b "" -l 127.0.0.1 > "$h.init.log" 2>&1 ||
    { echo "init failed: $(cat "$h.init.log")" >&2; exit 1; }
  HOMES+=("$h")
  python3 - "$h/SystemVars.json" "$LEVER_MEMORY_MB" <<'EOF2'
import json, sys
path, mb = sys.argv[1], int(sys.argv[2])
with open(path) as f:
    doc = json.load(f)
doc["LeverMemoryMB"] = mb
# MaxMemoryMB bounds Lever's share and the connections' together (src/budget.rs): raise it by
# Lever's share, or Lever takes all of the default 32 and the port keeps the least buffers,
# 4 MiB: 46 connections, so -c60 is answered 503/408 (src/budget.rs split).
doc["MaxMemoryMB"] = doc.get("MaxMemoryMB", 32) + mb
doc["SwarmPort"] = 0   # a free libp2p port for each node (the remote case runs two)
with open(path, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
EOF2
  "${SRV[@]}" "$BIN" --home "$h" run -d > "$h.run.log" 2>&1 ||
    { echo "run -d failed: $(cat "$h.run.log")" >&2; exit 1; }
  NODE_PID=$(tr -dc 0-9 < "$h/leither.pid")
  PIDS+=("$NODE_PID")
  pin "$NODE_PID"
  for _ in $(seq 1 300); do [[ -s "$h/leither.addr" ]] && break; sleep 0.05; done
  [[ -s "$h/leither.addr" ]] || { echo "the node wrote no address: $(tail -c 400 "$h.run.log")" >&2; exit 1; }
  ADDR=$(head -1 "$h/leither.addr" | tr -d '[:space:]'); ADDR=${ADDR#http://}
}
H="$WORK/home"
start_node "$H"
MAIN_PID=$NODE_PID
sleep 1
RSS_IDLE=$(rss_kib "$MAIN_PID")

# lever_ls [HOME] : the services as JSON (LeverLs, signed in with the node key)
lever_ls() { "$BIN" --home "${1:-$H}" call LeverLs 2> "$WORK/ls.err" || { echo "LeverLs failed: $(cat "$WORK/ls.err")" >&2; return 1; }; }
# ls_field JSON SERVICE FIELD : one field of one service
ls_field() {
  python3 -c 'import json, sys
for s in json.loads(sys.argv[1]):
    if s["name"] == sys.argv[2]:
        print(s[sys.argv[3]])' "$@"
}
# make_app DIR NAME [MIN_INSTANCES]
make_app() {
  mkdir -p "$1"
  if [[ -n ${3:-} ]]; then
    printf '{"name": "%s", "luaEntry": "hello.lua", "minInstances": %s}\n' "$2" "$3" > "$1/lever.json"
  else
    printf '{"name": "%s", "luaEntry": "hello.lua"}\n' "$2" > "$1/lever.json"
  fi
  cat > "$1/hello.lua" <<'EOF'
local M = {}
function M.SayHello(name) return "Hello, " .. name .. "!" end
return M
EOF
}
deploy() {  # deploy DIR NAME [HOME]
  if ! "$BIN" --home "${3:-$H}" lever deploy "$1" --env dev.lever > "$WORK/deploy-$2.log" 2>&1 ||
     ! grep -q "^Deployed $2 " "$WORK/deploy-$2.log"; then
    echo "deploying $2 failed: $(tail -c 400 "$WORK/deploy-$2.log")" >&2; exit 1
  fi
}

make_app "$WORK/apps/hello" hello
deploy "$WORK/apps/hello" hello
LS=$(lever_ls)
COLD_US=$(ls_field "$LS" hello startUs)
NODE_URL="http://$ADDR/hello/SayHello"

# check ONE URL : the answer must be exactly "Hello, world!" with status 200
check() {
  local out code body
  out=$(curl -s -w '\n%{http_code}' -X POST -H 'Content-Type: application/json' --data '["world"]' "$2") ||
    { echo "$1: curl $2 failed" >&2; exit 1; }
  code=${out##*$'\n'}; body=${out%$'\n'*}
  if [[ $code != 200 || $body != '"Hello, world!"' ]]; then
    echo "$1: POST $2 answered $code: $body" >&2; exit 1
  fi
}
check leither "$NODE_URL"

# --- nginx with the same handler -----------------------------------------------------------
NG="$WORK/nginx"; mkdir -p "$NG/tmp"
NG_PORT=$(free_port)
CJSON_INIT='local ok, c = pcall(require, "cjson"); CJSON = ok and c or nil'
[[ ${NGINX_CJSON:-1} == 0 ]] && CJSON_INIT='CJSON = nil'
cat > "$NG/nginx.conf" <<EOF
load_module $NDK_SO;
load_module $LUA_SO;
daemon off;
master_process on;
worker_processes 1;
pid $NG/nginx.pid;
error_log $NG/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $NG/tmp/body;
  proxy_temp_path $NG/tmp/proxy;
  fastcgi_temp_path $NG/tmp/fastcgi;
  uwsgi_temp_path $NG/tmp/uwsgi;
  scgi_temp_path $NG/tmp/scgi;
  init_by_lua_block { $CJSON_INIT }
  server {
    listen 127.0.0.1:$NG_PORT;
    location = /decoder { content_by_lua_block { ngx.print(CJSON and "cjson" or "pattern match") } }
    location = /hello/SayHello {
      content_by_lua_block {
        ngx.req.read_body()
        local body = ngx.req.get_body_data()
        ngx.header.content_type = "application/json"
        if CJSON then
          local args = CJSON.decode(body)
          ngx.print(CJSON.encode("Hello, " .. args[1] .. "!"))
        else
          local name = body:match('%["(.-)"%]')
          ngx.print('"Hello, ' .. name .. '!"')
        end
      }
    }
  }
}
EOF
"${SRV[@]}" nginx -c "$NG/nginx.conf" -p "$NG/" > "$NG/stderr.log" 2>&1 < /dev/null &
NG_MASTER=$!; PIDS+=("$NG_MASTER")
ok=0
for _ in $(seq 1 100); do
  if curl -s -f -o /dev/null "http://127.0.0.1:$NG_PORT/decoder"; then ok=1; break; fi
  sleep 0.05
done
[[ $ok == 1 ]] || { echo "nginx did not answer: $(cat "$NG/stderr.log" "$NG/error.log" 2>/dev/null)" >&2; exit 1; }
pin "$NG_MASTER"; for w in $(children "$NG_MASTER"); do pin "$w"; done
NG_DECODER=$(curl -s "http://127.0.0.1:$NG_PORT/decoder")
NG_URL="http://127.0.0.1:$NG_PORT/hello/SayHello"
check nginx "$NG_URL"
NG_VER=$(nginx -v 2>&1 | sed 's/.*: //')
echo "peer: $NG_VER, one worker, lua-nginx-module $(dpkg-query -W -f '${Version}' libnginx-mod-http-lua 2>/dev/null || echo '?'), JSON by $NG_DECODER"

# --- wrk runs ------------------------------------------------------------------------------
cat > "$WORK/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = '["world"]'
wrk.headers["Content-Type"] = "application/json"
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %.0f %.0f %.0f %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max,
    e.connect + e.read + e.write + e.status + e.timeout))
end
EOF
declare -A RPS=() P50=() P99=() MAXL=() ERRS=() INST=() CPU=() US=()
# run WHO URL CONNS : a warm-up, then the measured wrk run; results into the tables above
run() {
  local who=$1 url=$2 c=$3 log="$WORK/wrk-$1-$3.log" line req dur p50 p99 mx errs u0 s0 u1 s1
  echo "wrk $who -c$c ..." >&2
  "${CLI[@]}" wrk -t1 -c"$c" -d"$WARMUP" -s "$WORK/post.lua" "$url" > /dev/null 2>&1 || true
  local srv=$MAIN_PID
  [[ $who == nginx ]] && srv=$(children "$NG_MASTER" | awk '{ print $1 }')
  read -r u0 s0 <<< "$(cpu_ticks "$srv")"
  if ! "${CLI[@]}" timeout 300 wrk -t1 -c"$c" -d"$DURATION" --latency -s "$WORK/post.lua" "$url" > "$log" 2>&1; then
    echo "wrk against $who (-c$c) failed: $(tail -c 400 "$log")" >&2; return 0
  fi
  read -r u1 s1 <<< "$(cpu_ticks "$srv")"
  # the node's CPU during its run: user and kernel shares of the time it was busy
  [[ $who == leither ]] && CPU[$c]=$(awk -v u=$(( u1 - u0 )) -v s=$(( s1 - s0 )) \
    'BEGIN { t = u + s; if (t > 0) printf "%.0f%% user, %.0f%% kernel", 100 * u / t, 100 * s / t }')
  line=$(grep '^RESULT ' "$log" | tail -1)
  [[ -n $line ]] || { echo "wrk against $who (-c$c) printed no result: $(tail -c 400 "$log")" >&2; return 0; }
  read -r _ req dur p50 p99 mx errs <<< "$line"
  RPS[$who,$c]=$(awk -v r="$req" -v d="$dur" 'BEGIN { printf "%.0f", (d > 0 ? r * 1e6 / d : 0) }')
  P50[$who,$c]=$(awk -v u="$p50" 'BEGIN { printf "%.3f", u / 1000 }')
  P99[$who,$c]=$(awk -v u="$p99" 'BEGIN { printf "%.3f", u / 1000 }')
  MAXL[$who,$c]=$(awk -v u="$mx" 'BEGIN { printf "%.1f", u / 1000 }')
  ERRS[$who,$c]=$errs
  # CPU time the server spent per request (user + kernel): a cost that the machine's other
  # load shifts far less than requests/s, which is a share of whatever CPU was left over
  US[$who,$c]=$(awk -v t=$(( u1 - u0 + s1 - s0 )) -v r="$req" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { printf "%.1f", (r > 0 ? t * 1e6 / hz / r : 0) }')
  if [[ $who == leither ]]; then INST[$c]=$(ls_field "$(lever_ls)" hello instances); fi
}
for c in "${CONNS[@]}"; do
  run nginx "$NG_URL" "$c"
  run leither "$NODE_URL" "$c"
done
RSS_RUN=$(rss_kib "$MAIN_PID"); HWM_RUN=$(rss_kib "$MAIN_PID" VmHWM)
NG_RSS=$(rss_kib "$NG_MASTER"); for w in $(children "$NG_MASTER"); do NG_RSS=$(( NG_RSS + $(rss_kib "$w") )); done
check leither "$NODE_URL"   # still answering after the runs

# --- a remote call -------------------------------------------------------------------------
# R runs no service: each call is forwarded to the node over libp2p and answered from there.
HR="$WORK/home-remote"
start_node "$HR"
R_ADDR=$ADDR
SWARM=$(awk '$1 == "swarm" && $2 ~ /127\.0\.0\.1/ { print $2; exit }' "$H/leither.ports")
"$BIN" --home "$HR" swarm connect "$SWARM" > "$WORK/connect.log" 2>&1 ||
  { echo "R could not connect to the node: $(cat "$WORK/connect.log")" >&2; exit 1; }
R_URL="http://$R_ADDR/hello/SayHello"
ok=0
for _ in $(seq 1 100); do   # until the node has provided hello and R has found it
  if [[ $(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
          --data '["world"]' "$R_URL") == 200 ]]; then ok=1; break; fi
  sleep 0.2
done
[[ $ok == 1 ]] || { echo "R never reached the node's hello" >&2; exit 1; }
check remote "$R_URL"
REMOTE_CONNS=(1 16)
for c in "${REMOTE_CONNS[@]}"; do
  run local "$NODE_URL" "$c"
  run remote "$R_URL" "$c"
done

# --- idle instances ------------------------------------------------------------------------
# On a second fresh node, so that memory the wrk runs freed is not what the instances reuse;
# one throwaway deploy first, so the deploy path's own first allocations are not counted.
H2="$WORK/home2"
start_node "$H2"
IDLE_PID=$NODE_PID; IDLE_ADDR=$ADDR
make_app "$WORK/apps/warm" warm
deploy "$WORK/apps/warm" warm "$H2"
sleep 1
RSS_BEFORE=$(rss_kib "$IDLE_PID")
for i in $(seq 1 "$N_IDLE"); do
  make_app "$WORK/apps/hello$i" "hello$i" 1
  deploy "$WORK/apps/hello$i" "hello$i" "$H2"
done
sleep 1
RSS_AFTER=$(rss_kib "$IDLE_PID")
LS=$(lever_ls "$H2")
read -r IDLE_INST IDLE_LUA IDLE_START_MED <<< "$(python3 -c 'import json, sys
n = int(sys.argv[2])
ss = [s for s in json.loads(sys.argv[1]) if s["name"] in {"hello%d" % i for i in range(1, n + 1)}]
inst = sum(s["instances"] for s in ss)
mem = sum(s["memory"] for s in ss)
starts = sorted(s["startUs"] for s in ss)
print(inst, mem // inst if inst else 0, starts[(len(starts) - 1) // 2] if starts else 0)' "$LS" "$N_IDLE")"
PER_INST_KIB=$(( (RSS_AFTER - RSS_BEFORE) / N_IDLE ))
for i in 1 "$N_IDLE"; do check "leither hello$i" "http://$IDLE_ADDR/hello$i/SayHello"; done

# --- report --------------------------------------------------------------------------------
echo
echo "=== POST /hello/SayHello [\"world\"]: wrk -t1 -d$DURATION --latency (nginx $NG_VER + lua, one worker, JSON by $NG_DECODER)"
printf '%-6s %12s %12s %8s %9s %9s %9s %9s %8s %8s %6s\n' conns nginx-req/s leither-req/s ratio \
  ng-p50ms ng-p99ms lt-p50ms lt-p99ms lt-maxms errors inst
for c in "${CONNS[@]}"; do
  n=${RPS[nginx,$c]:-}; l=${RPS[leither,$c]:-}; r=-
  [[ -n $n && -n $l ]] && r=$(ratio "$l" "$n")
  printf '%-6s %12s %12s %8s %9s %9s %9s %9s %8s %8s %6s\n' "-c$c" "${n:--}" "${l:--}" "$r" \
    "${P50[nginx,$c]:--}" "${P99[nginx,$c]:--}" "${P50[leither,$c]:--}" "${P99[leither,$c]:--}" \
    "${MAXL[leither,$c]:--}" "${ERRS[nginx,$c]:--}/${ERRS[leither,$c]:--}" "${INST[$c]:--}"
done
echo "(errors: nginx/leither connect+read+write+status+timeout; inst: hello's instances after the run)"
for c in "${CONNS[@]}"; do [[ -n ${CPU[$c]:-} ]] && echo "node CPU during -c$c: ${CPU[$c]}"; done
for c in "${CONNS[@]}"; do
  n=${US[nginx,$c]:-}; l=${US[leither,$c]:-}
  [[ -n $n && -n $l ]] && echo "server CPU per request at -c$c (user + kernel): nginx $n us, leither $l us, nginx/leither $(ratio "$n" "$l")"
done
echo
echo "=== memory and start"
printf '%-52s %s\n' "node RSS idle (before deploy)" "$(kib_mib "$RSS_IDLE") MiB"
printf '%-52s %s\n' "node RSS after the wrk runs (peak VmHWM)" "$(kib_mib "$RSS_RUN") MiB ($(kib_mib "$HWM_RUN") MiB)"
printf '%-52s %s\n' "nginx RSS after the wrk runs (master + worker)" "$(kib_mib "$NG_RSS") MiB"
printf '%-52s %s\n' "cold start of an instance (hello, startUs)" "$COLD_US us"
printf '%-52s %s\n' "cold start, median of the $N_IDLE copies" "$IDLE_START_MED us"
printf '%-52s %s\n' "RSS per idle instance ($N_IDLE deployed, $IDLE_INST running)*" \
  "$PER_INST_KIB KiB ($(kib_mib "$RSS_BEFORE") -> $(kib_mib "$RSS_AFTER") MiB)"
printf '%-52s %s\n' "Lua memory per idle instance (LeverLs memory)" "$IDLE_LUA bytes"
echo "(* a second fresh node, after one warm-up deploy; includes what each deploy adds to the store)"
echo
echo "=== a remote call: R (no service) forwards to the node over libp2p; wrk -t1 -d$DURATION"
printf '%-6s %12s %12s %9s %9s %9s %9s %8s\n' conns local-req/s remote-req/s lo-p50ms lo-p99ms \
  re-p50ms re-p99ms errors
for c in "${REMOTE_CONNS[@]}"; do
  printf '%-6s %12s %12s %9s %9s %9s %9s %8s\n' "-c$c" "${RPS[local,$c]:--}" "${RPS[remote,$c]:--}" \
    "${P50[local,$c]:--}" "${P99[local,$c]:--}" "${P50[remote,$c]:--}" "${P99[remote,$c]:--}" \
    "${ERRS[local,$c]:--}/${ERRS[remote,$c]:--}"
done
lp=${P50[local,1]:-}; rp=${P50[remote,1]:-}
if [[ -z $lp || -z $rp ]]; then
  echo "GOAL remote p50 <= 2x local p50 at -c1: NOT MEASURED"
elif awk -v r="$rp" -v l="$lp" 'BEGIN { exit !(r <= 2 * l) }'; then
  echo "GOAL remote p50 <= 2x local p50 at -c1 (one round trip more): MET ($rp ms vs $lp ms)"
else
  echo "GOAL remote p50 <= 2x local p50 at -c1 (one round trip more): MISSED ($rp ms vs $lp ms)"
  [[ "${STRICT:-0}" == 1 ]] && exit 1
fi
echo
c=${CONNS[0]}; n=${RPS[nginx,$c]:-}; l=${RPS[leither,$c]:-}; p99=${P99[leither,$c]:-}
if [[ -z $n || -z $l ]]; then
  echo "GOAL leither >= ${GOAL_RATIO}x nginx at -c$c with p99 <= $GOAL_P99_MS ms: NOT MEASURED"
  [[ "${STRICT:-0}" == 1 ]] && exit 1
elif awk -v r="$(ratio "$l" "$n")" -v g="$GOAL_RATIO" -v p="$p99" -v m="$GOAL_P99_MS" 'BEGIN { exit !(r >= g && p <= m) }'; then
  echo "GOAL leither >= ${GOAL_RATIO}x nginx at -c$c with p99 <= $GOAL_P99_MS ms: MET ($(ratio "$l" "$n")x, p99 $p99 ms)"
else
  echo "GOAL leither >= ${GOAL_RATIO}x nginx at -c$c with p99 <= $GOAL_P99_MS ms: MISSED ($(ratio "$l" "$n")x, p99 $p99 ms)"
  [[ "${STRICT:-0}" == 1 ]] && exit 1
fi
exit 0
