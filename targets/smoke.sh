#!/usr/bin/env bash
# Smoke-test built binaries (target/dist/leither-<triple>, from targets/build.sh) under
# qemu-user-static, each in a fresh temporary home, talking to it from the host with curl:
#   version; init -p PORT -b ""; run -d; POST /api/Login; POST /api/GetVar ver; the same
#   over HTTPS with TLS 1.2 and 1.3 (builds with `tls`, when openssl is there); a database
#   over RESP with redis-cli and a version of a db Mimei read back (builds with `resp`);
#   Lever services deployed and called, Lua on this CPU (builds with `lever`);
#   a file Mimei published here and synced by a second node over libp2p (builds with `net`),
#   and that node's signed address report verified here, as a DNN, which then answers its
#   Mimei with the page;
#   stop; stop again.
#
#   targets/smoke.sh [TARGET...]     default: the four router/board targets (same names as build.sh)
#   env: SMOKE_TIMEOUT=60   seconds allowed for each leither command (qemu is slow to start)
#
# Prints one PASS/FAIL line per step and exits 1 if any step failed. Nodes it started are
# killed on exit (by PID) and the temporary homes removed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
resolve_targets "$@" || exit 2
TMO=${SMOKE_TIMEOUT:-60}
command -v curl >/dev/null || { echo "curl is needed (apt-get install curl)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/leither-smoke.XXXXXX)
declare -a PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do
    if alive "$p"; then
      echo "cleanup: killing leftover node pid $p"
      kill -TERM "$p" 2>/dev/null || true; sleep 0.5
      if alive "$p"; then kill -KILL "$p" 2>/dev/null || true; fi
    fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# alive PID: running and not a zombie
alive() {
  [[ -r /proc/$1/stat ]] || return 1
  local st; st=$(sed -E 's/^[0-9]+ \(.*\) ([A-Z]).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ "$st" != Z && "$st" != X ]]
}

# listener_pid PORT -> pid of the process listening on 127.0.0.1:PORT (empty if none)
listener_pid() {
  { ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2; } || true
}

# pids_using DIR -> pids whose command line mentions DIR (the node's unique temp home)
pids_using() {
  local d f
  for d in /proc/[0-9]*; do
    f=$(tr '\0' ' ' 2>/dev/null < "$d/cmdline") || continue
    [[ "$f" == *"$1"* ]] && echo "${d#/proc/}"
  done
  return 0
}

npass=0; nfail=0
pass() { echo "PASS $T: $*"; npass=$((npass + 1)); }
fail() { echo "FAIL $T: $*"; nfail=$((nfail + 1)); }

# lei ARGS... : run the binary (under qemu if foreign) with a timeout; output to $OUT
lei() {
  local rc=0
  # shellcheck disable=SC2086  # $RUNNER is empty or one word
  HOME="$H" timeout "$TMO" $RUNNER "$B" "$@" > "$OUT" 2>&1 < /dev/null || rc=$?
  return $rc
}

smoke_one() {
  T=$1
  B=$(dist_bin "$T")
  if [[ ! -x "$B" ]]; then fail "binary $B missing (run targets/build.sh $T)"; return; fi
  if ! RUNNER=$(runner_for "$T"); then fail "no runner for $T"; return; fi
  H="$WORK/$T"; mkdir -p "$H"; OUT="$H/out.txt"
  local node="$H/node" port ver rc pid sid resp rport hport mid mm want got v
  port=$(free_port)
  echo "--- $T (${RUNNER:-native}), home $node, port $port"

  # 1. version
  rc=0; lei version || rc=$?
  ver=$(grep -oE '^leither [0-9]+\.[0-9]+\.[0-9]+[^ ]*' "$OUT" | head -1 | cut -d' ' -f2 || true)
  if [[ $rc -eq 0 && -n "$ver" ]]; then pass "version -> $(head -1 "$OUT")"
  else fail "version (exit $rc): $(head -c 300 "$OUT")"; return; fi

  # 2. init
  rc=0; lei --home "$node" init -p "$port" -b "" || rc=$?
  if [[ $rc -eq 0 ]]; then pass "init -p $port -b \"\""
  else fail "init (exit $rc): $(head -c 300 "$OUT")"; return; fi

  # The RESP port too, for the database check below (ignored by builds without it), and
  # HTTPS with a self-signed RSA certificate when openssl is there (builds with `tls`).
  rport=$(free_port)
  hport=0
  if command -v openssl > /dev/null &&
     openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout "$node/tls.key" -out "$node/tls.crt" \
       -subj /CN=smoke.test -addext subjectAltName=DNS:smoke.test > /dev/null 2>&1; then
    hport=$(free_port)
  fi
  python3 - "$node/SystemVars.json" "$rport" "$hport" <<'EOF'
import json, sys
p, port, hport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
d = json.load(open(p)); d["RespPort"] = port; d["SwarmPort"] = 0; d["Mdns"] = False
if hport:
    d["HttpsPort"] = hport; d["TlsCert"] = "tls.crt"; d["TlsKey"] = "tls.key"
json.dump(d, open(p, "w"))
EOF

  # 3. run -d: returns once the node answers
  local t0 t1
  t0=$(now_ms); rc=0; lei --home "$node" run -d || rc=$?; t1=$(now_ms)
  pid=$(listener_pid "$port")
  local p; for p in $pid $(pids_using "$node"); do PIDS+=("$p"); done
  if [[ $rc -ne 0 ]]; then fail "run -d (exit $rc): $(head -c 300 "$OUT")"; return; fi
  if [[ -z "$pid" ]]; then fail "run -d returned 0 but nothing listens on 127.0.0.1:$port"; return; fi
  if [[ -f "$node/leither.addr" ]] && grep -qx "127.0.0.1:$port" "$node/leither.addr"; then
    pass "run -d returned in $((t1 - t0)) ms; pid $pid listens; leither.addr = $(head -1 "$node/leither.addr")"
  else
    fail "run -d: leither.addr missing or not 127.0.0.1:$port ($(head -c 100 "$node/leither.addr" 2>/dev/null))"
  fi

  # 4. Login
  resp=$(curl -s --max-time 20 -X POST "http://127.0.0.1:$port/api/Login" -d '[]' || true)
  sid=$(printf '%s' "$resp" | python3 -c 'import json,sys
v=json.load(sys.stdin)
assert isinstance(v, dict) and isinstance(v.get("sid"), str) and v["sid"]
print(v["sid"])' 2>/dev/null || true)
  if [[ -n "$sid" ]]; then pass "POST /api/Login -> ${resp:0:120}"
  else fail "POST /api/Login: expected {\"sid\":...}, got: ${resp:0:300}"; fi

  # 5. GetVar ver
  if [[ -n "$sid" ]]; then
    resp=$(curl -s --max-time 20 -X POST "http://127.0.0.1:$port/api/GetVar" -d "[\"$sid\",\"ver\"]" || true)
    if printf '%s' "$resp" | VER="$ver" python3 -c 'import json,os,sys
v=json.load(sys.stdin)
assert isinstance(v, str) and os.environ["VER"] in v' 2>/dev/null; then
      pass "POST /api/GetVar ver -> ${resp:0:120}"
    else fail "POST /api/GetVar ver: expected a JSON string containing $ver, got: ${resp:0:300}"; fi
  else
    fail "POST /api/GetVar ver: skipped (no sid)"
  fi

  # 5b. HTTPS on this CPU (rustls + ring: RSA signing, AES-GCM, X25519 in this byte order),
  #     TLS 1.2 and 1.3, checked by curl against the certificate.
  if [[ "$hport" == 0 ]]; then
    echo "note $T: no openssl: HTTPS check skipped"
  elif grep -q 'built without TLS' "$node/Leither.log"; then
    echo "note $T: a build without the tls feature: HTTPS check skipped"
  else
    for v in "--tlsv1.2 --tls-max 1.2" "--tlsv1.3"; do
      # shellcheck disable=SC2086  # $v is two options or one
      resp=$(curl -s --max-time 30 $v --cacert "$node/tls.crt" --resolve "smoke.test:$hport:127.0.0.1" \
        -X POST -d '["hi"]' "https://smoke.test:$hport/api/Echo" || true)
      if [[ "$resp" == '"hi"' ]]; then pass "HTTPS ($v): POST /api/Echo -> $resp"
      else fail "HTTPS ($v): expected \"hi\", got: ${resp:0:300}; log: $(grep -m1 HTTPS "$node/Leither.log")"; fi
    done
  fi

  # 6. a Mimei database on this CPU (byte order, word size): redis-cli over RESP, then a
  #    version made and read back through the CLI (the prolly tree built and walked here).
  if ! command -v redis-cli > /dev/null; then
    fail "redis-cli is missing (apt-get install redis-tools): database check not run"
  elif [[ "$(redis-cli -p "$rport" PING 2>/dev/null)" == PONG ]]; then
    want=$'OK\n41\n42\n1\n3\n3\na\nb\nc\n2\nn\n0.25\nm\n1.5\n0\nh\nk\nl\nn\nz'
    got=$(printf 'SET k v\nINCRBY n 41\nINCR n\nHSET h f 1\nHINCRBY h f 2\nRPUSH l a b c\nLRANGE l 0 -1\nZADD z 1.5 m 0.25 n\nZRANGE z 0 -1 WITHSCORES\nSCAN 0 COUNT 100\n' |
      timeout 60 redis-cli -p "$rport" 2>&1 || true)
    if [[ "$got" == "$want" ]]; then pass "RESP: strings, counters, hash, list, sorted set, SCAN answer as Redis"
    else fail "RESP: expected $(printf '%q' "$want"), got $(printf '%q' "$got")"; fi
    rc=0; lei --home "$node" mimei create -t db -m smoke || rc=$?
    mid=$(sed -n 's/^mid= //p' "$OUT")
    # `--`: an ID may start with '-' (base64url), which would read as an option.
    if [[ $rc -eq 0 && -n "$mid" ]] && lei --home "$node" call -- MMOpen "$mid" cur; then
      mm=$(tr -d '"' < "$OUT")
      lei --home "$node" call -- Hmset "$mm" user '{"name":"ann"}' &&
        lei --home "$node" call -- Zadd "$mm" z 2 b 1 a &&
        lei --home "$node" mimei backup -- "$mid" &&
        lei --home "$node" call -- Set "$mm" user changed-after-the-backup || true
      rc=0; lei --home "$node" mimei grep -- "$mid" 1 || rc=$?
      if [[ $rc -eq 0 ]] && grep -qx 'user hash {"name":"ann"}' "$OUT" && grep -qx 'z zset \[{"Score":1,"Member":"a"},{"Score":2,"Member":"b"}\]' "$OUT"; then
        pass "db Mimei: version 1 made (prolly tree) and read back by mimei grep"
      else fail "db Mimei version: $(head -c 300 "$OUT")"; fi
    else
      fail "db Mimei: create/open failed: $(head -c 300 "$OUT")"
    fi
  else
    echo "note $T: no RESP listener (a build without the resp feature): database check skipped"
  fi

  # 7. Lua on this CPU: deploy Lever's hello service and the test kitchen, call them through
  # the CLI and HTTP (JSON numbers and nesting, the service's database, a loop stopped by its
  # instruction budget). Skipped by builds without the lever feature.
  if lei --home "$node" lever ls; then
    rc=0; lei --home "$node" lever deploy "$ROOT/tests/apps/hello" || rc=$?
    if [[ $rc -eq 0 ]] && lei --home "$node" lever invoke lever://dev.lever/helloService/SayHello "\"$T\"" &&
        [[ "$(cat "$OUT")" == "\"Hello, $T!\"" ]]; then
      pass "lever: deploy + invoke -> $(cat "$OUT")"
    else fail "lever hello: $(head -c 300 "$OUT")"; fi
    if lei --home "$node" lever deploy "$ROOT/tests/apps/kitchen"; then
      call() { curl -s -m 30 -X POST -H 'Content-Type: application/json' -d "$2" "http://127.0.0.1:$port/kitchen/$1"; }
      j=$(call json '[{"n":[1,-2,3.5,9007199254740993],"s":"\u00e9"}]')
      c1=$(call count '[]'); c2=$(call count '[]')
      loop=$(call loop '[]')
      if [[ "$j" == '{"n":[1,-2,3.5,9007199254740993],"s":"é"}' && $((c2 - c1)) -eq 1 && "$loop" == *maxInstructions* ]]; then
        pass "lever: kitchen json round trip, db counter $c1 -> $c2, runaway loop stopped"
      else fail "lever kitchen: json=$j count=$c1,$c2 loop=${loop:0:200}"; fi
    else fail "lever deploy kitchen: $(head -c 300 "$OUT")"; fi
  else
    echo "note $T: no lever command (a build without the lever feature): Lua check skipped"
  fi

  # 8. the network on this CPU: noise, yamux, kad, bitswap and signed heads between this build
  # and a second node (the host's debug build when there is one: a big-endian router talking
  # to an x86 PC), which syncs a file Mimei published here and gets the same bytes back.
  if lei --home "$node" swarm local && grep -q '/p2p/' "$OUT"; then
    local addr peer2 node2="$H/node2" port2 f="$H/net.bin" mid2 B2 R2
    addr=$(head -1 "$OUT")
    B2="$ROOT/target/debug/leither"; R2=""
    if [[ ! -x "$B2" ]]; then B2="$B"; R2="$RUNNER"; fi
    port2=$(free_port)
    head -c 700000 /dev/urandom > "$f"
    # shellcheck disable=SC2086
    l2() { timeout "$TMO" $R2 "$B2" --home "$node2" "$@" > "$OUT" 2>&1 < /dev/null; }
    if l2 init -p "$port2" -b "" -l 127.0.0.1 &&
        sed -i 's/"SwarmPort": *[0-9]*/"SwarmPort": 0/; s/"Mdns": *true/"Mdns": false/' "$node2/SystemVars.json" &&
        sed -i "s|\"Gateway\": *\\[\\]|\"Gateway\": [\"http://127.0.0.1:$port\"]|; s/\"GatewaySecs\": *[0-9]*/\"GatewaySecs\": 1/" "$node2/SystemVars.json"; then
      l2 run -d || true
      for peer2 in $(listener_pid "$port2") $(pids_using "$node2"); do PIDS+=("$peer2"); done
      rc=0
      lei --home "$node" mimei create -t file -m net || rc=$?
      mid2=$(sed -n 's/^mid= //p' "$OUT")
      if [[ $rc -eq 0 && -n "$mid2" ]] && lei --home "$node" mimei setright -- "$mid2" '*' read &&
          lei --home "$node" mimei add -- "$mid2" "$f" && lei --home "$node" mimei publish -- "$mid2" &&
          l2 swarm connect "$addr" && l2 mimei sync -- "$mid2" && l2 mimei get -o "$H/net.out" -- "$mid2" &&
          cmp -s "$f" "$H/net.out"; then
        pass "network: $B2 synced a Mimei published here over libp2p + bitswap (${addr%%/p2p/*})"
      else fail "network sync: $(head -c 300 "$OUT")"; fi
      # 8b. the DNN on this CPU: the second node reports to this one (Gateway), signed; this
      # build verifies the report and answers /mm/<mid> of a Mimei it does not hold with the
      # page naming the second node (at most 3 KB).
      local mid3 page i
      if l2 mimei create -t file -m dnn && mid3=$(sed -n 's/^mid= //p' "$OUT") && [[ -n "$mid3" ]] &&
          l2 mimei setright -- "$mid3" '*' read && l2 mimei add -- "$mid3" "$f"; then
        for i in $(seq 1 100); do
          page=$(curl -s -m 10 "http://127.0.0.1:$port/mm/$mid3")
          [[ $page == *"127.0.0.1:$port2"* ]] && break
          sleep 0.2
        done
        if [[ $page == *"\"url\":\"http://127.0.0.1:$port2\""* && ${#page} -le 3072 ]]; then
          pass "DNN: a signed report verified here; the page (${#page} bytes) names the provider"
        else fail "DNN page: $(head -c 300 <<< "$page")"; fi
      else fail "DNN: second node's Mimei: $(head -c 300 "$OUT")"; fi
      l2 stop || true
    else fail "network: second node init: $(head -c 300 "$OUT")"; fi
  else
    echo "note $T: no swarm (a build without the net feature): network check skipped"
  fi

  # 9. stop: exit 0 and the process is gone
  rc=0; lei --home "$node" stop || rc=$?
  local gone=0 _
  for _ in $(seq 1 100); do
    alive "$pid" || { gone=1; break; }
    sleep 0.1
  done
  if [[ $rc -eq 0 && $gone -eq 1 ]]; then pass "stop -> exit 0, pid $pid gone"
  else fail "stop (exit $rc, pid $pid $( ((gone)) && echo gone || echo 'still alive')): $(head -c 300 "$OUT")"; fi

  # 10. second stop: exit 1 (no node runs)
  rc=0; lei --home "$node" stop || rc=$?
  if [[ $rc -eq 1 ]]; then pass "second stop -> exit 1 ($(head -1 "$OUT" | head -c 100))"
  else fail "second stop: expected exit 1, got $rc: $(head -c 300 "$OUT")"; fi
}

for t in "${TARGETS[@]}"; do
  s=$(date +%s)
  smoke_one "$t"
  echo "--- $t: $(( $(date +%s) - s ))s"
done
echo
echo "smoke: $npass passed, $nfail failed"
[[ $nfail -eq 0 ]]
