#!/usr/bin/env bash
# tests/packages.sh: checks leither's OpenWrt packages, made by openwrt/mkpkg.sh from the
# static binaries already in target/dist (nothing is compiled here).
#
#   tests/packages.sh            every OpenWrt arch whose binary exists (others: SKIP)
#   env: BIN_DIR=target/dist  SMOKE_TIMEOUT=60 (s for the node to answer under qemu-user)
#
# Per arch: the .ipk's outer gzip'd tar (not ar), members and their order, owners 0:0, one
# fixed mtime, debian-binary; control fields in OpenWrt's order with the right Architecture
# and Installed-Size; conffiles; postinst/prerm (`sh -n`, default_postinst/default_prerm);
# data files, modes and owners; the binary's ELF machine matching the arch. The .apk read
# back by tests/packages/adb_read.py (an independent ADB reader): schema, blocks, unique id,
# hashes, info fields, files and modes, scripts (`sh -n`). Both unpacked binaries run
# `version` under qemu-user. The .apk's post-install and pre-deinstall, run in an
# OpenWrt-like root with its files extracted, enable and disable the service.
# Then, for one arch (mipsel if built, else the first), an install into an OpenWrt-like root
# with tests/packages/mini-opkg.sh (a stand-in for opkg) and the stand-ins for
# /lib/functions.sh and rc.common in tests/packages/openwrt-root (procd calls recorded):
# files in place, init script and UCI config parse (`sh -n`), the service enabled by
# postinst; wrong architecture refused; start writes SystemVars.json from UCI and hands
# procd the right instance (command, bounded respawn, file trigger); the node run from that
# root with that home under qemu-user answers /api/Login; reload rewrites SystemVars.json;
# a missing or read-only home logs a clear line and registers no instance (so no respawn
# loop); upgrade keeps a changed /etc/config/leither; remove disables the service and keeps
# the config and the node's data; a full overlay refuses the install (space check) and an
# install that runs out of space mid-copy leaves nothing behind.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/targets/lib.sh"
cd "$ROOT"
BIN_DIR=${BIN_DIR:-$ROOT/target/dist}
TMO=${SMOKE_TIMEOUT:-60}
T=$ROOT/tests/packages
W=$(mktemp -d /tmp/leither-pkgtest.XXXXXX)
MOUNTS=()
NODE_PID=
cleanup() {
  [[ -n "$NODE_PID" ]] && { kill "$NODE_PID" 2>/dev/null || true; wait "$NODE_PID" 2>/dev/null || true; }
  local m
  for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 1700000000)}
npass=0 nfail=0 nskip=0
pass() { echo "PASS $*"; npass=$((npass + 1)); }
fail() { echo "FAIL $*"; nfail=$((nfail + 1)); }
skip() { echo "SKIP $*"; nskip=$((nskip + 1)); }
check() { local what=$1; shift; if "$@" >"$W/check.out" 2>&1; then pass "$what"; else fail "$what: $(tail -5 "$W/check.out")"; fi; }

ARCHS=(mipsel_24kc mips_24kc arm_cortex-a7_neon-vfpv4 aarch64_cortex-a53 aarch64_generic x86_64)
declare -A TRIPLE=([mipsel_24kc]=mipsel-unknown-linux-musl [mips_24kc]=mips-unknown-linux-musl
  [arm_cortex-a7_neon-vfpv4]=armv7-unknown-linux-musleabihf [aarch64_cortex-a53]=aarch64-unknown-linux-musl
  [aarch64_generic]=aarch64-unknown-linux-musl [x86_64]=x86_64-unknown-linux-musl)
declare -A ELF=([mipsel_24kc]='ELF 32-bit LSB executable, MIPS' [mips_24kc]='ELF 32-bit MSB executable, MIPS'
  [arm_cortex-a7_neon-vfpv4]='ELF 32-bit LSB executable, ARM, EABI5' [aarch64_cortex-a53]='ELF 64-bit LSB executable, ARM aarch64'
  [aarch64_generic]='ELF 64-bit LSB executable, ARM aarch64' [x86_64]='ELF 64-bit LSB executable, x86-64')
BUILT=()
for a in "${ARCHS[@]}"; do
  if [[ -f "$BIN_DIR/leither-${TRIPLE[$a]}" ]]; then BUILT+=("$a"); else skip "$a: no $BIN_DIR/leither-${TRIPLE[$a]}"; fi
done
[[ ${#BUILT[@]} -gt 0 ]] || { echo "no binaries in $BIN_DIR: run targets/build.sh"; exit 1; }
PK=$W/pkgs
BIN_DIR=$BIN_DIR bash openwrt/mkpkg.sh -o "$PK" "${BUILT[@]}" > "$W/mkpkg.log" 2>&1 || { cat "$W/mkpkg.log"; exit 1; }
VERSION=$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -1)-r1

# tar_checks IPK ARCH: structure of the .ipk and its two inner tars (Python's tarfile)
tar_checks() {
  python3 - "$1" "$2" "$SOURCE_DATE_EPOCH" <<'PY'
import gzip, io, sys, tarfile
ipk, arch, epoch = sys.argv[1], sys.argv[2], int(sys.argv[3])
raw = open(ipk, "rb").read()
assert raw[:2] == b"\x1f\x8b", "outer file is not gzip (an ar .ipk would start with !<arch>)"
def members(data):
    t = tarfile.open(fileobj=io.BytesIO(gzip.decompress(data)))
    ms = t.getmembers()
    for m in ms:
        assert (m.uid, m.gid) == (0, 0), f"{m.name}: owner {m.uid}:{m.gid}"
        assert m.mtime == epoch, f"{m.name}: mtime {m.mtime} != {epoch}"
    return t, ms
outer, ms = members(raw)
names = [m.name for m in ms]
assert names == ["./debian-binary", "./data.tar.gz", "./control.tar.gz"], names
assert outer.extractfile("./debian-binary").read() == b"2.0\n"
ctl, cms = members(outer.extractfile("./control.tar.gz").read())
norm = lambda n: "./" if n in (".", "./") else n
assert [norm(m.name) for m in cms] == ["./", "./conffiles", "./control", "./postinst", "./prerm"], [m.name for m in cms]
modes = {m.name: m.mode for m in cms}
assert modes["./postinst"] == 0o755 and modes["./prerm"] == 0o755 and modes["./control"] == 0o644
control = ctl.extractfile("./control").read().decode()
fields = [l.split(":", 1)[0] for l in control.splitlines()]
order = ["Package", "Version", "Depends", "Source", "SourceName", "License", "Section",
         "SourceDateEpoch", "URL", "Maintainer", "Architecture", "Installed-Size", "Description"]
assert fields == [f for f in order if f in fields], f"field order {fields}"
for f in ("Package", "Version", "Architecture", "Installed-Size", "Description"):
    assert f in fields, f"no {f}"
kv = dict(l.split(": ", 1) for l in control.splitlines())
assert kv["Package"] == "leither" and kv["Architecture"] == arch, kv
datagz = outer.extractfile("./data.tar.gz").read()
assert int(kv["Installed-Size"]) == len(gzip.decompress(datagz)), "Installed-Size is not the data tar's size"
assert ctl.extractfile("./conffiles").read() == b"/etc/config/leither\n"
data, dms = members(datagz)
got = {norm(m.name): (m.mode, m.isdir()) for m in dms}
want = {"./": (0o755, True), "./etc": (0o755, True), "./etc/config": (0o755, True),
        "./etc/config/leither": (0o644, False), "./etc/init.d": (0o755, True),
        "./etc/init.d/leither": (0o755, False), "./usr": (0o755, True),
        "./usr/bin": (0o755, True), "./usr/bin/leither": (0o755, False)}
assert got == want, f"data files {got}"
assert [norm(m.name) for m in dms] == sorted(norm(m.name) for m in dms), "data members not sorted"
print("ok", kv["Version"], kv["Installed-Size"])
PY
}

# unpack IPK DIR: control files to DIR/CONTROL, data to DIR
unpack_ipk() {
  mkdir -p "$2/CONTROL"
  tar -xzOf "$1" ./control.tar.gz | tar -xzf - -C "$2/CONTROL"
  tar -xzOf "$1" ./data.tar.gz | tar -xzf - -C "$2"
}

# apk_checks APK ARCH DIR: read back with the independent reader, extract into DIR
apk_checks() {
  python3 "$T/adb_read.py" "$1" --extract "$3" > "$3.json" || return 1
  python3 - "$3.json" "$2" "$VERSION" "$3" <<'PY'
import json, os, subprocess, sys
pkg = json.load(open(sys.argv[1])); arch, version, root = sys.argv[2], sys.argv[3], sys.argv[4]
i = pkg["info"]
assert (i["name"], i["version"], i["arch"]) == ("leither", version, arch), i
for f in ("description", "license", "origin", "maintainer"):
    assert i.get(f), f"info has no {f}"
files = {f"{p['name']}/{f['name']}": f["acl"]["mode"] for p in pkg["paths"] for f in p.get("files") or []}
want = {"etc/config/leither": 0o644, "etc/init.d/leither": 0o755, "usr/bin/leither": 0o755,
        "lib/apk/packages/leither.list": 0o644, "lib/apk/packages/leither.conffiles": 0o644,
        "lib/apk/packages/leither.conffiles_static": 0o644}
assert files == want, files
for p in pkg["paths"]:
    assert p["acl"]["user"] == "root" and p["acl"]["group"] == "root"
    for f in p.get("files") or []:
        assert f["acl"]["user"] == "root" and f["acl"]["group"] == "root"
s = pkg["scripts"]
assert set(s) == {"post-install", "post-upgrade", "pre-deinstall"}, set(s)
assert "default_postinst" in s["post-install"] and 'pkgname="leither"' in s["post-install"]
assert "PKG_UPGRADE=1" in s["post-upgrade"] and "default_postinst" in s["post-upgrade"]
assert "default_prerm" in s["pre-deinstall"]
for name, text in s.items():
    path = os.path.join(os.path.dirname(sys.argv[1]), name)
    open(path, "w").write(text)
    subprocess.run(["sh", "-n", path], check=True)
lst = open(os.path.join(root, "lib/apk/packages/leither.list")).read().split()
assert "/usr/bin/leither" in lst and "/etc/init.d/leither" in lst, lst
assert open(os.path.join(root, "lib/apk/packages/leither.conffiles")).read() == "/etc/config/leither\n"
print("ok")
PY
}

run_version() {  # run_version ARCH BINARY
  local q
  q=$(runner_for "${TRIPLE[$1]}") || return 1
  timeout "$TMO" $q "$2" version | grep -q "^leither "
}

for a in "${BUILT[@]}"; do
  ipk=$PK/leither_${VERSION}_$a.ipk
  apk=$PK/leither-${VERSION}_$a.apk
  echo "=== $a: $(stat -c %s "$ipk") bytes .ipk, $(stat -c %s "$apk") bytes .apk"
  check "$a ipk: layout, control fields, owners, mtimes, modes" tar_checks "$ipk" "$a"
  d=$W/ipk-$a
  unpack_ipk "$ipk" "$d"
  check "$a ipk: postinst, prerm, init script, UCI config parse (sh -n)" \
    sh -c "sh -n '$d/CONTROL/postinst' && sh -n '$d/CONTROL/prerm' && sh -n '$d/etc/init.d/leither' && sh -n '$d/etc/config/leither'"
  check "$a ipk: scripts call default_postinst / default_prerm" \
    sh -c "grep -q '^default_postinst \$0 \$@\$' '$d/CONTROL/postinst' && grep -q '^default_prerm \$0 \$@\$' '$d/CONTROL/prerm'"
  check "$a ipk: binary is ${ELF[$a]}" sh -c "file -b '$d/usr/bin/leither' | grep -q '^${ELF[$a]}'"
  check "$a ipk: binary runs 'version' under ${T_QEMU[${TRIPLE[$a]}]}" run_version "$a" "$d/usr/bin/leither"
  check "$a apk: ADB read back, info, files, modes, scripts" apk_checks "$apk" "$a" "$W/apk-$a"
  check "$a apk: binary identical to the ipk's" cmp "$d/usr/bin/leither" "$W/apk-$a/usr/bin/leither"
done

# --- the .apk's scripts in an OpenWrt-like root (apk runs them with the files in place)
a=${BUILT[0]}
AR=$W/apkroot
mkdir -p "$AR"
cp -a "$T/openwrt-root/." "$AR/"
python3 "$T/adb_read.py" "$PK/leither-${VERSION}_$a.apk" --extract "$AR" > "$W/apkroot.json"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["scripts"]
for k in ("post-install","pre-deinstall"): open(sys.argv[2]+"/"+k,"w").write(s[k])' "$W/apkroot.json" "$W"
check "apk post-install (default_postinst via lib/apk/packages/leither.list) enables the service" \
  sh -c "IPKG_INSTROOT='$AR' sh '$W/post-install' && [ -L '$AR/etc/rc.d/S95leither' ]"
check "apk pre-deinstall (default_prerm) disables it" \
  sh -c "IPKG_INSTROOT='$AR' sh '$W/pre-deinstall' && [ ! -e '$AR/etc/rc.d/S95leither' ]"

# --- install into an OpenWrt-like root (one arch)
A=${BUILT[0]}
for a in "${BUILT[@]}"; do [[ $a == mipsel_24kc ]] && A=$a; done
IPK=$PK/leither_${VERSION}_$A.ipk
echo "=== install test ($A)"
R=$W/root
mkdir -p "$R/etc/opkg"
cp -a "$T/openwrt-root/." "$R/"
printf 'arch all 1\narch noarch 1\narch %s 10\n' "$A" > "$R/etc/opkg/arch.conf"
OPKG=("$T/mini-opkg.sh")
export PATH="$T/bin:$PATH" LOGGER_LOG=$W/logger.log PROCD_LOG=$W/procd.log
: > "$LOGGER_LOG"; : > "$PROCD_LOG"
check "install $A .ipk" "${OPKG[@]}" install "$R" "$IPK"
check "files in place with their modes" sh -c "[ -x '$R/usr/bin/leither' ] && [ -x '$R/etc/init.d/leither' ] && [ \"\$(stat -c %a '$R/etc/config/leither')\" = 644 ]"
check "init script and UCI config parse (sh -n)" sh -c "sh -n '$R/etc/init.d/leither' && sh -n '$R/etc/config/leither'"
check "postinst enabled the service (rc.d/S95leither)" test -L "$R/etc/rc.d/S95leither"
check "installed binary runs under qemu-user" run_version "$A" "$R/usr/bin/leither"
# wrong architecture: a package for another arch (metadata is what opkg checks)
other=mips_24kc; [[ $A == mips_24kc ]] && other=mipsel_24kc
mkdir -p "$W/fakebin"
cp "$BIN_DIR/leither-${TRIPLE[$A]}" "$W/fakebin/leither-${TRIPLE[$other]}"
BIN_DIR=$W/fakebin FORMATS=ipk bash openwrt/mkpkg.sh -o "$W/other" "$other" > /dev/null
if "${OPKG[@]}" install "$R" "$W/other/leither_${VERSION}_$other.ipk" > "$W/wrong.out" 2>&1; then
  fail "a $other package was installed on a $A root"
else
  grep -q "incompatible with the architectures configured" "$W/wrong.out" &&
    pass "wrong architecture refused: $(cat "$W/wrong.out")" || fail "wrong arch: $(cat "$W/wrong.out")"
fi

# the service: as a user would, point the home into the test root and pick a free port
UCI=$R/etc/config
H=$R/srv/leither
mkdir -p "$R/srv"   # like /etc on the router: the home's parent exists
P=$(free_port)
sed -i -e "s|option home .*|option home '$H'|" -e "s|option port .*|option port '$P'|" "$UCI/leither"
rc() { UCI_CONFIG_DIR=$UCI sh "$R/etc/rc.common" "$R/etc/init.d/leither" "$@"; }
: > "$PROCD_LOG"
check "start: start_service succeeds" rc start
check "start: procd instance command" grep -qx "param command /usr/bin/leither --home $H run" "$PROCD_LOG"
check "start: bounded respawn (threshold 3600 s, 5 s wait, 5 retries)" grep -qx "param respawn 3600 5 5" "$PROCD_LOG"
check "start: SystemVars.json is the reload trigger file" grep -qx "param file $H/SystemVars.json" "$PROCD_LOG"
check "start: SystemVars.json from UCI" python3 -c "
import json,sys; v=json.load(open('$H/SystemVars.json'))
assert v['ServicePort']==$P and v['RespPort']==0 and v['MaxMemoryMB']==32 and v['LAN'] is False, v
assert v['Bootstrap']==[] and v['ListenAddr']=='0.0.0.0' and v['LogLevel']=='info', v
assert v['RespAddr']=='127.0.0.1' and v['DbDurability']=='group', v"
# run the node the way procd would, from the installed root, under qemu-user
q=$(runner_for "${TRIPLE[$A]}")
$q "$R/usr/bin/leither" --home "$H" run > "$W/node.log" 2>&1 &
NODE_PID=$!
resp=
for _ in $(seq 1 "$TMO"); do
  resp=$(curl -s -m 2 -X POST "http://127.0.0.1:$P/api/Login" -d '[]' || true)
  [[ "$resp" == *'"sid"'* ]] && break
  sleep 1
done
if [[ "$resp" == *'"sid"'* ]]; then pass "node from the installed root answers /api/Login on port $P"
else fail "node did not answer: $(tail -5 "$W/node.log")"; fi
kill "$NODE_PID" 2>/dev/null || true; wait "$NODE_PID" 2>/dev/null || true; NODE_PID=
check "the node kept SystemVars.json's keys and made its key" sh -c "[ -s '$H/hostkey.cfg' ] && grep -q RespPort '$H/SystemVars.json'"
# reload: UCI changed -> SystemVars.json rewritten (procd restarts the instance on that change)
P2=$(free_port)
sed -i "s|option port .*|option port '$P2'|" "$UCI/leither"
: > "$PROCD_LOG"
check "reload: registers the UCI reload trigger and rewrites SystemVars.json" sh -c \
  "UCI_CONFIG_DIR='$UCI' sh '$R/etc/rc.common' '$R/etc/init.d/leither' reload && grep -qx 'reload_trigger leither' '$PROCD_LOG' && grep -q '\"ServicePort\": $P2,' '$H/SystemVars.json'"
sed -i "s|option enabled .*|option enabled '0'|" "$UCI/leither"; : > "$PROCD_LOG"
check "disabled in UCI: start registers no instance" sh -c "UCI_CONFIG_DIR='$UCI' sh '$R/etc/rc.common' '$R/etc/init.d/leither' start && ! grep -q open_instance '$PROCD_LOG'"
sed -i "s|option enabled .*|option enabled '1'|" "$UCI/leither"

# bad homes: a clear log line, start fails, no instance for procd to respawn
bad_home() {  # bad_home NAME HOME EXPECTED-LOG-TEXT
  sed -i "s|option home .*|option home '$2'|" "$UCI/leither"
  : > "$PROCD_LOG"; : > "$LOGGER_LOG"
  if rc start 2>/dev/null; then fail "$1: start succeeded"; return; fi
  if grep -q open_instance "$PROCD_LOG"; then fail "$1: an instance was registered"; return; fi
  if grep -q "leither.daemon.err: .*$3" "$LOGGER_LOG"; then pass "$1: logged '$(cut -d' ' -f2- "$LOGGER_LOG" | head -1)', no instance"
  else fail "$1: log was: $(cat "$LOGGER_LOG")"; fi
}
bad_home "missing home (USB disk not mounted)" "$R/mnt/sda1/leither" "is missing and so is"
mkdir -p "$R/mnt/ro"
if mount -t tmpfs -o size=64k tmpfs "$R/mnt/ro" 2>/dev/null; then
  MOUNTS+=("$R/mnt/ro")
  mkdir "$R/mnt/ro/leither"
  mount -o remount,ro "$R/mnt/ro"
  bad_home "read-only home" "$R/mnt/ro/leither" "is not writable"
  bad_home "home not creatable (read-only parent)" "$R/mnt/ro/new" "cannot be created"
else
  skip "read-only home: cannot mount a tmpfs here (needs root)"
fi
sed -i "s|option home .*|option home '$H'|" "$UCI/leither"

# upgrade keeps the changed config; remove keeps config and data
check "upgrade: reinstall over the installed package" "${OPKG[@]}" install "$R" "$IPK"
check "upgrade: the changed /etc/config/leither is kept (new one as leither-opkg)" sh -c \
  "grep -q \"option port '$P2'\" '$UCI/leither' && [ -f '$UCI/leither-opkg' ]"
check "upgrade: service still enabled" test -L "$R/etc/rc.d/S95leither"
check "remove" "${OPKG[@]}" remove "$R" leither
check "remove: binary and init script gone, service disabled" sh -c \
  "[ ! -e '$R/usr/bin/leither' ] && [ ! -e '$R/etc/init.d/leither' ] && [ ! -e '$R/etc/rc.d/S95leither' ]"
check "remove: changed config and the node's data kept" sh -c "[ -f '$UCI/leither' ] && [ -s '$H/hostkey.cfg' ]"

# a full overlay
S=$W/small
mkdir -p "$S"
if mount -t tmpfs -o size=512k tmpfs "$S" 2>/dev/null; then
  MOUNTS+=("$S")
  cp -a "$T/openwrt-root/." "$S/"; mkdir -p "$S/etc/opkg"; cp "$R/etc/opkg/arch.conf" "$S/etc/opkg/"
  if "${OPKG[@]}" install "$S" "$IPK" > "$W/full.out" 2>&1; then fail "install into a 512 KiB overlay succeeded"
  elif grep -q "only have" "$W/full.out" && [[ ! -e "$S/usr/bin/leither" ]]; then pass "full overlay: refused before writing: $(cat "$W/full.out")"
  else fail "full overlay: $(cat "$W/full.out")"; fi
  if MINI_OPKG_NO_SPACE_CHECK=1 "${OPKG[@]}" install "$S" "$IPK" > "$W/full2.out" 2>&1; then fail "install past the space check succeeded"
  elif [[ -z "$(find "$S/usr" "$S/etc/init.d" "$S/etc/config" -type f 2>/dev/null)" ]]; then
    pass "full overlay mid-copy: failed and left no files: $(tail -1 "$W/full2.out")"
  else fail "full overlay mid-copy left files: $(find "$S/usr" "$S/etc" -type f)"; fi
else
  skip "full overlay: cannot mount a tmpfs here (needs root)"
fi

echo
echo "packages: $npass passed, $nfail failed, $nskip skipped"
[[ $nfail == 0 ]]
