#!/usr/bin/env bash
# targets/rpi/boot-test.sh: boot the Raspberry Pi image's kernel and initramfs under
# qemu-system-aarch64 (virt machine, cortex-a53, 256 MiB; the card image attached as a
# virtio disk because virt has no SD controller) and wait until the node answers the JSON
# API from the host through user networking's forwarded port.
#
#   targets/rpi/boot-test.sh            uses target/rpi/{vmlinuz,initrd.img,leither-rpi-arm64.img}
#   env: OUT=target/rpi  BOOT_TIMEOUT=180 (s, per boot)  GROW_MB=64 (the disk copy is made
#        this much bigger than the image, so the first-boot grow is exercised)
#        KEEP_LOG=1 (print the serial logs)
# Boots twice from the same disk. Passes when, on each boot, POST /api/Login answers a
# session and POST /api/GetVar answers; the first boot's serial log shows the data
# partition grown and mounted and the clock (started at 2000-01-01, as on a Pi without RTC)
# moved to the image's build time; and the second boot answers with the same node id (hostid),
# so the home really lives on the data partition. Before the second boot a fresh public key
# is put in the boot partition's ssh_authorized_keys (mtools): the test logs in over SSH
# (dropbear, forwarded port) and runs `leither version` (skipped without ssh/mcopy). Prints the seconds from qemu's start to
# the first answer. Works on a copy of the image; qemu is killed by PID on exit.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"
OUT=${OUT:-target/rpi}
TMO=${BOOT_TIMEOUT:-180}
GROW_MB=${GROW_MB:-64}
command -v qemu-system-aarch64 >/dev/null || { echo "missing qemu-system-aarch64 (apt-get install qemu-system-arm)" >&2; exit 1; }
for f in vmlinuz initrd.img leither-rpi-arm64.img; do
  [[ -f "$OUT/$f" ]] || { echo "missing $OUT/$f: run targets/rpi/build-image.sh" >&2; exit 1; }
done
W=$(mktemp -d /tmp/leither-boot.XXXXXX)
QPID=
stop_qemu() {
  if [[ -n "$QPID" ]]; then
    kill "$QPID" 2>/dev/null || true
    for _ in 1 2 3 4 5; do kill -0 "$QPID" 2>/dev/null || break; sleep 1; done
    kill -9 "$QPID" 2>/dev/null || true
    wait "$QPID" 2>/dev/null || true
    QPID=
  fi
}
cleanup() {
  stop_qemu
  if [[ "${KEEP_LOG:-0}" == 1 ]]; then cat "$W"/serial*.log 2>/dev/null || true; fi
  rm -rf "$W"
}
trap cleanup EXIT
cp --sparse=always "$OUT/leither-rpi-arm64.img" "$W/disk.img"
truncate -s +"${GROW_MB}M" "$W/disk.img"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
PORT=$(free_port)
SSHPORT=$(free_port)
fail=0
pass() { echo "PASS $*"; }
bad() { echo "FAIL $*"; fail=1; }

# boot N: start qemu, wait for the API; sets SECS and HOSTID
boot() {
  local n=$1 log=$W/serial$1.log out="" ok=0 start deadline sid
  start=$(date +%s%N)
  # -rtc base=2000-01-01: like a Pi (no RTC), the guest clock starts far in the past
  qemu-system-aarch64 -M virt -cpu cortex-a53 -m 256 -smp 1 -nographic -monitor none \
    -rtc base=2000-01-01T00:00:00 \
    -serial "file:$log" -kernel "$OUT/vmlinuz" -initrd "$OUT/initrd.img" \
    -append "console=ttyAMA0 rdinit=/init loglevel=4" \
    -drive "if=none,id=card,file=$W/disk.img,format=raw" -device virtio-blk-pci,drive=card \
    -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$PORT-:4800,hostfwd=tcp:127.0.0.1:$SSHPORT-:22" -device virtio-net-pci,netdev=n0,romfile= \
    -device virtio-rng-pci < /dev/null > "$W/qemu$n.out" 2>&1 &
  QPID=$!
  deadline=$(( $(date +%s) + TMO ))
  while (( $(date +%s) < deadline )); do
    kill -0 "$QPID" 2>/dev/null || { echo "qemu exited early:"; cat "$W/qemu$n.out"; break; }
    grep -q 'Kernel panic' "$log" 2>/dev/null && { echo "kernel panic"; break; }
    if out=$(curl -s -m 5 -X POST "http://127.0.0.1:$PORT/api/Login" -d '[]' 2>/dev/null) &&
       [[ "$out" == *'"sid"'* ]]; then ok=1; break; fi
    sleep 1
  done
  SECS=$(( ($(date +%s%N) - start) / 1000000000 ))
  HOSTID=
  if [[ $ok != 1 ]]; then
    bad "boot $n: node did not answer within ${TMO}s"; tail -30 "$log"; return 0
  fi
  pass "boot $n: /api/Login answered after ${SECS}s: ${out:0:120}"
  sid=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["sid"])' "$out")
  out=$(curl -s -m 10 -X POST "http://127.0.0.1:$PORT/api/GetVar" -d "[\"$sid\",\"ver\"]" || true)
  if [[ "$out" == *[0-9].[0-9]* ]]; then pass "boot $n: GetVar ver = $out"; else bad "boot $n: GetVar ver: $out"; fi
  HOSTID=$(curl -s -m 10 -X POST "http://127.0.0.1:$PORT/api/GetVar" -d "[\"$sid\",\"hostid\"]" || true)
  [[ -n "$HOSTID" ]] || bad "boot $n: GetVar hostid gave nothing"
}

boot 1
FIRST_SECS=$SECS; FIRST_ID=$HOSTID
if grep -q 'growing /dev/vda partition 2' "$W/serial1.log" && grep -q 'data partition /dev/vda2: ' "$W/serial1.log"; then
  pass "boot 1: $(grep -o 'data partition /dev/vda2: [0-9]* MiB' "$W/serial1.log") (grown from the image's partition)"
else
  bad "boot 1: the serial log does not show the data partition grown and mounted"; tail -30 "$W/serial1.log"
fi
if grep -q 'clock set to' "$W/serial1.log"; then
  pass "boot 1: $(grep -o 'clock set to [^(]*' "$W/serial1.log" | head -1)(the RTC said 2000-01-01)"
else
  bad "boot 1: the clock was not moved forward from 2000-01-01"
fi
stop_qemu
SSH_OK=0
if command -v ssh >/dev/null && command -v ssh-keygen >/dev/null && command -v mcopy >/dev/null; then
  ssh-keygen -q -t ed25519 -N '' -f "$W/key"
  # partition 1 starts at sector 8192 (build-image.sh)
  mcopy -o -i "$W/disk.img@@$((8192 * 512))" "$W/key.pub" ::ssh_authorized_keys && SSH_OK=1
fi
boot 2
if [[ -n "$FIRST_ID" && "$HOSTID" == "$FIRST_ID" ]]; then
  pass "boot 2: same node id $HOSTID (home kept on the data partition)"
else
  bad "boot 2: node id '$HOSTID' differs from boot 1's '$FIRST_ID'"
fi
grep -q 'growing /dev/vda' "$W/serial2.log" && bad "boot 2: grew the partition again"
if [[ $SSH_OK == 1 && -n "$HOSTID" ]]; then
  v=
  for _ in $(seq 1 20); do
    v=$(timeout 20 ssh -i "$W/key" -p "$SSHPORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
          -o BatchMode=yes -o LogLevel=ERROR root@127.0.0.1 'leither version' 2>/dev/null || true)
    [[ -n "$v" ]] && break
    sleep 2
  done
  if [[ "$v" == leither* ]]; then pass "boot 2: ssh root@ (dropbear, key from the boot partition): $v"
  else bad "boot 2: ssh login with the boot partition's key failed"; grep -i 'dropbear\|ssh' "$W/serial2.log" | tail -5; fi
else
  echo "SKIP ssh: needs ssh, ssh-keygen and mcopy"
fi
stop_qemu
echo "boot-to-answer: ${FIRST_SECS}s (first boot), ${SECS}s (second boot)"
exit $fail
