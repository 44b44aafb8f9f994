#!/usr/bin/env bash
# Mimei sync between two release-built nodes on loopback (issue: the network), measured in
# one run:
#   (a) full sync: a SIZE_MIB random file in a file Mimei, published by A, synced by a fresh
#       node B (connected to A only), RUNS times, each against rsync of the same file between
#       two directories over the rsync daemon protocol on loopback (`rsync --daemon` on a free
#       port; ssh is not used). Times are wall times of one client command each:
#       `leither call MiMeiSync MID "" wait` (one API call that answers when the version is
#       complete) and `rsync rsync://127.0.0.1:PORT/mod/file DIR/` into an empty DIR.
#       Goal: leither >= 0.8x rsync's MiB/s. Each run also gives the CPU time A and B spent
#       during the sync (utime + stime from /proc), steadier than wall times on a busy machine.
#   (b) delta: 1% of the file overwritten in place (10 x 1 MiB at spread offsets: no insert,
#       so fixed-size chunks stay aligned), added as version 2, published, synced by B.
#       Against: the bytes of the blocks of version 2 that are not in version 1, computed
#       here by walking both DAGs over A's gateway (one raw block per GET; links decoded by
#       the script, not by the node); B's netstats bytesReceived for that sync is shown
#       beside it (B only fetches missing blocks, so the two should agree). What A sent: its netstats deltas, bytesSent (block
#       bytes) and wireSent (whole bitswap messages, framing included).
#       Goal: A's wireSent <= 1.1x the new blocks.
#   (c) database: a db Mimei with N_KEYS keys (key:000000.., VALUE_BYTES-byte values)
#       written with redis-cli --pipe, made version 1 (`mimei backup`), published and synced
#       by B; then 1% of the keys changed (every 100th), version 2, published, synced; the
#       same delta figures as (b). Goal: wireSent <= 1.1x the new blocks.
# A summary table ends the run.
#
#   benches/sync.sh   env: SIZE_MIB=100, RUNS=2, N_KEYS=100000, VALUE_BYTES=100,
#                     STRICT=1 (exit 1 when a goal is missed), LEITHER_BIN=path (no build),
#                     PERF=DIR (perf record -g of A and B during each full sync, into
#                     DIR/sync-A-RUN.data and DIR/sync-B-RUN.data; best on a build with symbols;
#                     PERF_GRAPH=dwarf for whole call stacks where frame pointers are missing)
# Builds target/release/leither (under $CARGO_TARGET_DIR if set) when missing or older than
# the sources; installs rsync, redis-tools (redis-cli), curl and python3 with apt-get when
# absent. Everything listens on 127.0.0.1 and is stopped (and the temp dir removed) on exit.
# Not run by CI: the figures need a quiet machine.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../targets/lib.sh"
cd "$ROOT"
SIZE_MIB=${SIZE_MIB:-100}
RUNS=${RUNS:-2}
PERF=${PERF:-}        # a directory: record both nodes of each full sync with perf (needs perf)
N_KEYS=${N_KEYS:-100000}
VALUE_BYTES=${VALUE_BYTES:-100}
GOAL_RATIO=0.8   # leither MiB/s / rsync MiB/s
GOAL_DELTA=1.1   # A's wireSent / bytes of new blocks

WORK=$(mktemp -d /tmp/leither-syncbench.XXXXXX)
declare -a PIDS=() HOMES=()
BIN=${LEITHER_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/$BIN_NAME}
source "$ROOT/benches/lib.sh"

need rsync rsync
need redis-cli redis-tools
need curl curl
need python3 python3

if [[ -z ${LEITHER_BIN:-} ]] && { [[ ! -x "$BIN" ]] || [[ -n $(find src Cargo.toml Cargo.lock -newer "$BIN" -print -quit) ]]; }; then
  echo "building $BIN (cargo build --release)..." >&2
  cargo build --release >&2
fi

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "leither: $BIN ($("$BIN" version 2>/dev/null || echo '?')); $(rsync --version | head -1)"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
mibs() { awk -v b="$1" -v ms="$2" 'BEGIN { printf "%.1f", (ms > 0 ? b / 1048576 / (ms / 1000) : 0) }'; }
secs() { awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'; }
kib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1024 }'; }
die() { echo "FAILED: $*" >&2; exit 1; }

# --- nodes ---------------------------------------------------------------------------------
# start_node HOME [RESP_PORT] : a fresh node on 127.0.0.1 (HTTP port 0, libp2p on a free
# port, no mDNS, no bootstrap); sets MADDR (its /ip4/127.0.0.1/tcp/P/p2p/ID)
start_node() {
  local h=$1 resp=${2:-0}
  "$BIN" --home "$h" init -p 0 -b "" -l 127.0.0.1 > "$h.init.log" 2>&1 ||
    die "init: $(cat "$h.init.log")"
  HOMES+=("$h")
  python3 - "$h/SystemVars.json" "$(free_port)" "$resp" <<'EOF'
import json, sys
path, port, resp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path) as f:
    doc = json.load(f)
doc.update({"SwarmPort": port, "Mdns": False, "Bootstrap": [], "ListenAddr": "127.0.0.1"})
if resp:
    doc["RespPort"] = resp
with open(path, "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
EOF
  "$BIN" --home "$h" run -d > "$h.run.log" 2>&1 || die "run -d: $(cat "$h.run.log")"
  PIDS+=("$(tr -dc 0-9 < "$h/leither.pid")")
  for _ in $(seq 1 300); do [[ -s "$h/leither.addr" ]] && break; sleep 0.05; done
  [[ -s "$h/leither.addr" ]] || die "the node wrote no address: $(tail -c 400 "$h.run.log")"
  # The API answers before the swarm's listener reports its address: ask for up to 5 s.
  MADDR=
  for _ in $(seq 1 100); do
    MADDR=$("$BIN" --home "$h" swarm local | grep -m1 '^/ip4/127.0.0.1/tcp/') && break
    sleep 0.05
  done
  [[ -n $MADDR ]] || die "no libp2p address on 127.0.0.1: $("$BIN" --home "$h" swarm local 2>&1)"
}
stop_node() { "$BIN" --home "$1" stop > /dev/null 2>&1 || true; }
# cpu_ms HOME : CPU time (user + system) the node of HOME has used so far, in ms; on a loaded
# machine this is the steadier figure beside the wall times
cpu_ms() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print int(($12 + $13) * 1000 / hz) }' \
    "/proc/$(tr -dc 0-9 < "$1/leither.pid")/stat" 2>/dev/null || echo 0
}
lt() { local h=$1; shift; "$BIN" --home "$h" "$@"; }
# perf_start HOME FILE / perf_stop: with PERF=DIR, record the node of HOME during one sync
# (`perf record -g -F 4000`; read it with `perf report -i FILE`)
declare -a PERF_PIDS=()
perf_start() {
  [[ -n $PERF ]] || return 0
  perf record -q --call-graph "${PERF_GRAPH:-fp}" -F 4000 -o "$2" -p "$(tr -dc 0-9 < "$1/leither.pid")" > /dev/null 2>&1 &
  PERF_PIDS+=("$!")
  sleep 0.3   # perf attaches
}
perf_stop() {
  local p
  for p in "${PERF_PIDS[@]}"; do kill -INT "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  PERF_PIDS=()
}
# netstat HOME FIELD : one bitswap counter of the node
netstat() {
  lt "$1" call GetVar netstats | python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$2"
}
# root_of HOME MID VER : the root CID of a version
root_of() {
  lt "$1" call GetVar mmversions "$2" |
    python3 -c 'import json, sys
for v in json.load(sys.stdin):
    if v["ver"] == int(sys.argv[1]):
        print(v["cid"])' "$3"
}
# sync_ms HOME MID : syncs MID on HOME (one API call that answers when done); prints ms
sync_ms() {
  local t0 t1
  t0=$(date +%s%N)
  lt "$1" call MiMeiSync "$2" "" wait > "$WORK/sync.out" 2>&1 || die "sync of $2 on $1: $(tail -c 400 "$WORK/sync.out")"
  t1=$(date +%s%N)
  echo $(( (t1 - t0) / 1000000 ))
}
# new_blocks HOME MID : "NEW_COUNT NEW_BYTES": the blocks of version 2 that are not in
# version 1, found by walking both DAGs from their roots over the node's gateway (GET
# /ipfs/CID?format=raw, one block each, checked against its CID) with links read here:
# dag-pb (a file Mimei: field 2 PBLink, its field 1 the CID) and dag-cbor (a database: CBOR
# tag 42). Version 2's walk stops at blocks version 1 has (same CID, same subtree).
new_blocks() {
  local base
  base=$(head -1 "$1/leither.addr" | tr -d '[:space:]'); base=${base#http://}
  python3 - "$base" "$(root_of "$1" "$2" 1)" "$(root_of "$1" "$2" 2)" <<'EOF'
import base64, hashlib, socket, sys

host, r1, r2 = sys.argv[1], sys.argv[2], sys.argv[3]
h, p = host.rsplit(":", 1)

def varint(b, i):
    n = s = 0
    while True:
        c = b[i]; i += 1; n |= (c & 0x7f) << s; s += 7
        if c < 0x80:
            return n, i

def cid_str(raw):                 # binary CIDv1 -> base32 text; CIDv0 -> base58btc
    if raw[0] == 0x12:
        alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
        n, out = int.from_bytes(raw, "big"), ""
        while n:
            n, r = divmod(n, 58); out = alphabet[r] + out
        return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")

def codec_of(text):
    if text.startswith("Qm"):
        return 0x70
    raw = base64.b32decode(text[1:].upper() + "=" * (-len(text[1:]) % 8))
    _, i = varint(raw, 0)
    return varint(raw, i)[0]

def pb_links(b):
    out, i = [], 0
    while i < len(b):
        key, i = varint(b, i)
        field, wire = key >> 3, key & 7
        if wire == 2:
            n, i = varint(b, i); body = b[i:i + n]; i += n
            if field == 2:        # PBLink: field 1 is the Hash
                j = 0
                while j < len(body):
                    k, j = varint(body, j); m, j = varint(body, j)
                    if k == (1 << 3 | 2):
                        out.append(cid_str(body[j:j + m]))
                    j += m
        elif wire == 0:
            _, i = varint(b, i)
        else:
            raise ValueError("unexpected protobuf wire type %d" % wire)
    return out

def cbor_links(b):
    out = []
    def item(i):
        major, info = b[i] >> 5, b[i] & 31; i += 1
        if info < 24: arg = info
        else:
            n = {24: 1, 25: 2, 26: 4, 27: 8}[info]; arg = int.from_bytes(b[i:i + n], "big"); i += n
        if major in (2, 3):
            return i + arg
        if major == 4:
            for _ in range(arg): i = item(i)
        elif major == 5:
            for _ in range(2 * arg): i = item(i)
        elif major == 6:
            if arg == 42:         # a link: a byte string of 0x00 + the binary CID
                major2, info2 = b[i] >> 5, b[i] & 31; j = i + 1
                if info2 < 24: n = info2
                else:
                    k = {24: 1, 25: 2, 26: 4, 27: 8}[info2]; n = int.from_bytes(b[j:j + k], "big"); j += k
                out.append(cid_str(b[j + 1:j + n]))
            i = item(i)
        return i
    item(0)
    return out

def block(c):
    # One connection per block, read to its end; every block is checked against its CID.
    s = socket.create_connection((h, int(p)), timeout=30)
    s.sendall(("GET /ipfs/%s?format=raw HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (c, host)).encode())
    d = bytearray()
    while True:
        x = s.recv(1 << 20)
        if not x:
            break
        d += x
    s.close()
    head, _, body = bytes(d).partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        sys.exit("GET /ipfs/%s?format=raw answered %s" % (c, head[:200]))
    if hashlib.sha256(body).digest() != digest_of(c):
        sys.exit("GET /ipfs/%s?format=raw: the bytes do not match the CID" % c)
    return body

def digest_of(text):
    if text.startswith("Qm"):
        alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
        n = 0
        for ch in text:
            n = n * 58 + alphabet.index(ch)
        return n.to_bytes(34, "big")[2:]
    raw = base64.b32decode(text[1:].upper() + "=" * (-len(text[1:]) % 8))
    _, i = varint(raw, 0); _, i = varint(raw, i); _, i = varint(raw, i); ln, i = varint(raw, i)
    return raw[i:i + ln]

def walk(root, skip):
    sizes, stack = {}, [root]
    while stack:
        c = stack.pop()
        if c in sizes or c in skip:
            continue
        b = block(c); sizes[c] = len(b)
        codec = codec_of(c)
        stack.extend(pb_links(b) if codec == 0x70 else cbor_links(b) if codec == 0x71 else [])
    return sizes

v1 = walk(r1, {})
new = walk(r2, v1)
print(len(new), sum(new.values()))
EOF
}

declare -a SUMMARY=()   # rows: what \t figure \t against \t ratio \t goal
row() { SUMMARY+=("$1	$2	$3	$4	$5"); }
goal() {  # goal RATIO OP LIMIT -> "ok" or "MISSED"
  if awk -v r="$1" -v l="$3" -v op="$2" 'BEGIN { exit !(op == ">=" ? r >= l : r <= l) }'; then echo ok
  else echo MISSED; fi
}

A=$WORK/a
start_node "$A" "$(free_port)"
A_ADDR=$MADDR
A_RESP=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["RespPort"])' "$A/SystemVars.json")

# --- (a) full sync against rsync -----------------------------------------------------------
echo
echo "== (a) a $SIZE_MIB MiB file, A -> B on loopback, against rsync (daemon protocol)"
mkdir -p "$WORK/src"
head -c "$((SIZE_MIB << 20))" /dev/urandom > "$WORK/src/file"
BYTES=$((SIZE_MIB << 20))
MID=$(lt "$A" mimei create -t file | sed -n 's/^mid= *//p')
t0=$(date +%s%N)
lt "$A" mimei add "$MID" "$WORK/src/file" > "$WORK/add.log" 2>&1 || die "mimei add: $(cat "$WORK/add.log")"
ADD_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
lt "$A" mimei setright "$MID" '*' read > /dev/null
lt "$A" mimei publish "$MID" > /dev/null
echo "A: mimei add of the file took $(secs "$ADD_MS") s ($(mibs "$BYTES" "$ADD_MS") MiB/s)"

RS_PORT=$(free_port)
cat > "$WORK/rsyncd.conf" <<EOF
port = $RS_PORT
address = 127.0.0.1
pid file = $WORK/rsyncd.pid
use chroot = no
uid = root
gid = root
[mod]
path = $WORK/src
read only = yes
EOF
rsync --daemon --no-detach --config="$WORK/rsyncd.conf" > "$WORK/rsyncd.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 1 100); do rsync "rsync://127.0.0.1:$RS_PORT/" > /dev/null 2>&1 && break; sleep 0.05; done

declare -a L_MS=() R_MS=()
B=""
for run in $(seq 1 "$RUNS"); do
  # a fresh B each run (the last one stopped: it would be a second provider)
  [[ -n $B ]] && stop_node "$B"
  B=$WORK/b$run
  start_node "$B"
  lt "$B" swarm connect "$A_ADDR" > /dev/null || die "B cannot connect to A"
  a0=$(cpu_ms "$A"); b0=$(cpu_ms "$B")
  perf_start "$A" "$PERF/sync-A-$run.data"; perf_start "$B" "$PERF/sync-B-$run.data"
  ms=$(sync_ms "$B" "$MID")
  perf_stop
  a_cpu=$(( $(cpu_ms "$A") - a0 )); b_cpu=$(( $(cpu_ms "$B") - b0 ))
  lt "$B" mimei get -o "$WORK/got" "$MID" > /dev/null || die "mimei get on B"
  cmp -s "$WORK/got" "$WORK/src/file" || die "B's file differs from A's"
  rm -f "$WORK/got"
  rm -rf "$WORK/dst"; mkdir -p "$WORK/dst"
  t0=$(date +%s%N)
  rsync "rsync://127.0.0.1:$RS_PORT/mod/file" "$WORK/dst/" || die "rsync"
  rms=$(( ($(date +%s%N) - t0) / 1000000 ))
  cmp -s "$WORK/dst/file" "$WORK/src/file" || die "rsync's copy differs"
  L_MS+=("$ms"); R_MS+=("$rms")
  r=$(ratio "$(mibs "$BYTES" "$ms")" "$(mibs "$BYTES" "$rms")")
  echo "run $run: leither $(secs "$ms") s $(mibs "$BYTES" "$ms") MiB/s; rsync $(secs "$rms") s $(mibs "$BYTES" "$rms") MiB/s; leither/rsync ${r}x (file checked on both); node CPU: A ${a_cpu} ms, B ${b_cpu} ms"
  row "(a) full sync run $run, MiB/s" "$(mibs "$BYTES" "$ms") ($(secs "$ms") s, CPU A ${a_cpu} B ${b_cpu} ms)" "rsync $(mibs "$BYTES" "$rms") ($(secs "$rms") s)" "${r}x" ">= ${GOAL_RATIO}x $(goal "$r" ">=" "$GOAL_RATIO")"
done

# delta_report LABEL MID SYNC_MS : after B synced version 2, prints and records what A sent
# and B received since `snapshot` against the blocks new in version 2.
delta_report() {
  local label=$1 mid=$2 ms=$3 a_bytes a_wire a_blocks b_bytes b_blocks nb
  a_bytes=$(( $(netstat "$A" bytesSent) - A_BYTES0 ))
  a_wire=$(( $(netstat "$A" wireSent) - A_WIRE0 ))
  a_blocks=$(( $(netstat "$A" blocksSent) - A_BLOCKS0 ))
  b_bytes=$(( $(netstat "$B" bytesReceived) - B_BYTES0 ))
  b_blocks=$(( $(netstat "$B" blocksReceived) - B_BLOCKS0 ))
  local nbs
  nbs=$(new_blocks "$A" "$mid") || die "walking the versions of $mid failed"
  read -r nb_count nb <<< "$nbs"
  echo "blocks of version 2 not in version 1 (walked over A's gateway): $nb_count, $(kib "$nb") KiB"
  echo "sync took $(secs "$ms") s; B received $b_blocks blocks, $(kib "$b_bytes") KiB"
  echo "A sent $a_blocks blocks: $(kib "$a_bytes") KiB of blocks, $(kib "$a_wire") KiB of bitswap messages"
  local r1 r2
  r1=$(ratio "$a_bytes" "$nb"); r2=$(ratio "$a_wire" "$nb")
  echo "sent / new blocks: ${r1}x (blocks), ${r2}x (wire)"
  row "$label: A bytesSent" "$(kib "$a_bytes") KiB" "new blocks $(kib "$nb") KiB" "${r1}x" ""
  row "$label: A wireSent" "$(kib "$a_wire") KiB" "new blocks $(kib "$nb") KiB" "${r2}x" "<= ${GOAL_DELTA}x $(goal "$r2" "<=" "$GOAL_DELTA")"
  row "$label: B bytesReceived" "$(kib "$b_bytes") KiB" "new blocks $(kib "$nb") KiB" "$(ratio "$b_bytes" "$nb")x" ""
  DELTA_NB=$nb
}
snapshot() {
  A_BYTES0=$(netstat "$A" bytesSent); A_WIRE0=$(netstat "$A" wireSent); A_BLOCKS0=$(netstat "$A" blocksSent)
  B_BYTES0=$(netstat "$B" bytesReceived); B_BLOCKS0=$(netstat "$B" blocksReceived)
}

# --- (b) a 1% change of the file -----------------------------------------------------------
echo
echo "== (b) 1% of the file changed in place (10 x 1 MiB), version 2, B syncs"
cp "$WORK/src/file" "$WORK/file2"
for i in $(seq 0 9); do
  # 1 MiB at i * SIZE/10 + 333 KiB: spread, and not on a chunk boundary
  off=$(( i * (BYTES / 10) + 333 * 1024 ))
  head -c $((1 << 20)) /dev/urandom | dd of="$WORK/file2" bs=1024 seek=$((off / 1024)) conv=notrunc status=none
done
snapshot
lt "$A" mimei add "$MID" "$WORK/file2" > /dev/null || die "mimei add v2"
lt "$A" mimei publish "$MID" > /dev/null
ms=$(sync_ms "$B" "$MID")
lt "$B" mimei get -o "$WORK/got" "$MID" > /dev/null || die "mimei get of version 2 on B"
cmp -s "$WORK/got" "$WORK/file2" || die "B's version 2 differs from A's"
rm -f "$WORK/got"
delta_report "(b) file 1% delta" "$MID" "$ms"
# what chunking costs: the new blocks against the bytes overwritten (each 1 MiB spans 5 chunks)
row "(b) new blocks / bytes overwritten" "$(kib "$DELTA_NB") KiB" "overwritten $(kib $((10 << 20))) KiB" "$(ratio "$DELTA_NB" $((10 << 20)))x" ""

# --- (c) a database ------------------------------------------------------------------------
echo
echo "== (c) a database of $N_KEYS keys ($VALUE_BYTES-byte values), then 1% of them changed"
DB=$(lt "$A" mimei create -t db | sed -n 's/^mid= *//p')
# write_keys STEP TAG : SET key:NNNNNN to a VALUE_BYTES value for every STEP-th key, in one
# redis-cli --pipe session on A's RESP port (SELECT DB first)
write_keys() {
  python3 - "$DB" "$N_KEYS" "$VALUE_BYTES" "$1" "$2" <<'EOF' | redis-cli -p "$A_RESP" --pipe > "$WORK/pipe.log" 2>&1 ||
import sys
db, n, vb, step, tag = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
out = sys.stdout.buffer
def cmd(*a):
    out.write(b"*%d\r\n" % len(a))
    for x in a:
        x = x.encode()
        out.write(b"$%d\r\n%s\r\n" % (len(x), x))
cmd("SELECT", db)
for i in range(0, n, step):
    v = ("%s:%06d:" % (tag, i)) * vb
    cmd("SET", "key:%06d" % i, v[:vb])
EOF
    die "redis-cli --pipe: $(cat "$WORK/pipe.log")"
  grep -q 'errors: 0' "$WORK/pipe.log" || die "redis-cli --pipe: $(cat "$WORK/pipe.log")"
}
t0=$(date +%s%N)
write_keys 1 v1
W_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
lt "$A" mimei backup "$DB" > /dev/null || die "mimei backup (version 1)"
lt "$A" mimei setright "$DB" '*' read > /dev/null
lt "$A" mimei publish "$DB" > /dev/null
echo "A: $N_KEYS SETs through redis-cli --pipe in $(secs "$W_MS") s, version 1 made and published"
snapshot
ms=$(sync_ms "$B" "$DB")
V1_BYTES=$(( $(netstat "$B" bytesReceived) - B_BYTES0 ))
V1_BLOCKS=$(( $(netstat "$B" blocksReceived) - B_BLOCKS0 ))
echo "B synced version 1: $V1_BLOCKS blocks, $(kib "$V1_BYTES") KiB in $(secs "$ms") s"
row "(c) db v1 full sync" "$(kib "$V1_BYTES") KiB" "$V1_BLOCKS blocks" "$(secs "$ms") s" ""
write_keys 100 v2
snapshot
lt "$A" mimei backup "$DB" > /dev/null || die "mimei backup (version 2)"
lt "$A" mimei publish "$DB" > /dev/null
ms=$(sync_ms "$B" "$DB")
# the changed keys read back on B
got=$(lt "$B" mimei grep "$DB" -m 'key:000100' 2>&1 || true)
[[ $got == *v2:000100* ]] || die "B's version 2 lacks the changed key:000100: ${got:0:200}"
delta_report "(c) db 1% delta" "$DB" "$ms"
# what a 1% change of keys costs against the whole version (changed leaves and their paths)
row "(c) new blocks / all of version 1" "$(kib "$DELTA_NB") KiB" "version 1 $(kib "$V1_BYTES") KiB" "$(ratio "$DELTA_NB" "$V1_BYTES")x" ""

# --- summary -------------------------------------------------------------------------------
echo
echo "== summary ($SIZE_MIB MiB file, $N_KEYS-key database; loopback; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
printf '| %-34s | %-22s | %-26s | %-8s | %-14s |\n' "measure" "leither" "against" "ratio" "goal"
printf '|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..36})" "$(printf -- '-%.0s' {1..24})" "$(printf -- '-%.0s' {1..28})" "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..16})"
for r in "${SUMMARY[@]}"; do
  IFS=$'\t' read -r a b c d e <<< "$r"
  printf '| %-34s | %-22s | %-26s | %-8s | %-14s |\n' "$a" "$b" "$c" "$d" "$e"
done
MISSED=$(printf '%s\n' "${SUMMARY[@]}" | grep -c MISSED || true)
if (( MISSED > 0 )); then
  echo "$MISSED goal(s) missed"
  [[ ${STRICT:-0} == 1 ]] && exit 1
fi
exit 0
