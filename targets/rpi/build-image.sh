#!/usr/bin/env bash
# targets/rpi/build-image.sh: build a flashable SD card image for 64-bit Raspberry Pi
# (3, 3+, 4, 400, CM4, Zero 2 W) that boots straight into a running leither node, from
# Debian's arm64 packages and our static aarch64 binary, without root and without loop mounts.
#
#   targets/rpi/build-image.sh            -> target/rpi/leither-rpi-arm64.img.xz (+ the
#                                            kernel and initramfs the boot test uses)
#   env: BIN=target/dist/leither-aarch64-unknown-linux-musl   the node binary
#        OUT=target/rpi   RPI_CACHE=target/rpi-cache (downloaded .debs, apt lists)
#        SUITE=bookworm   MIRROR=http://deb.debian.org/debian
#        BOOT_MB=128 DATA_MB=64   partition sizes (the data partition grows on first boot)
#        SSH=1            include dropbear (started only if the boot partition has
#                         ssh_authorized_keys); SSH=0 leaves it out
#        COMPRESS=xz|zstd|none
#
# Packages come from a private apt configuration (arm64; main and non-free-firmware; own
# lists and cache under RPI_CACHE), fetched with `apt-get download`: linux-image-arm64's
# kernel, raspi-firmware, busybox-static, e2fsprogs and fdisk (resize2fs and sfdisk for the
# first-boot grow, with their glibc libraries), dropbear-bin (SSH=1).
# The card: MBR; partition 1 FAT32 "LEITHERBOOT" (firmware, device trees, config.txt,
# cmdline.txt, vmlinuz, initrd.img) made with mkfs.vfat + mtools; partition 2 ext4
# "LEITHERDATA" made with mkfs.ext4 -d; both written into the image with dd.
# The initramfs is the whole root filesystem (targets/rpi/initramfs/: busybox init, rcS).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"
BIN=${BIN:-target/dist/leither-aarch64-unknown-linux-musl}
OUT=${OUT:-target/rpi}
CACHE=${RPI_CACHE:-target/rpi-cache}
SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
BOOT_MB=${BOOT_MB:-128}
DATA_MB=${DATA_MB:-64}
SSH=${SSH:-1}
COMPRESS=${COMPRESS:-xz}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}

for tool in apt-get dpkg-deb mkfs.vfat mcopy mkfs.ext4 sfdisk cpio readelf python3; do
  command -v "$tool" >/dev/null || {
    echo "missing $tool: apt-get install dosfstools mtools e2fsprogs fdisk cpio binutils" >&2; exit 1; }
done
[[ -f "$BIN" ]] || { echo "missing $BIN: run targets/build.sh aarch64" >&2; exit 1; }
file -b "$BIN" | grep -q 'ARM aarch64.*statically linked' ||
  { echo "$BIN is not a static aarch64 binary" >&2; exit 1; }

mkdir -p "$OUT" "$CACHE"/{lists/partial,cache/archives/partial,etc/preferences.d,debs}
CACHE=$(cd "$CACHE" && pwd)
W=$(mktemp -d /tmp/leither-rpi.XXXXXX)
trap 'rm -rf "$W"' EXIT

# --- 1. fetch the Debian packages (private apt config: nothing of the host's apt is touched)
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
SEC=${MIRROR%/debian}/debian-security
{
  echo "deb [arch=arm64 signed-by=$KEYRING] $MIRROR $SUITE main non-free-firmware"
  echo "deb [arch=arm64 signed-by=$KEYRING] $MIRROR $SUITE-updates main non-free-firmware"
  echo "deb [arch=arm64 signed-by=$KEYRING] $SEC $SUITE-security main non-free-firmware"
} > "$CACHE/etc/sources.list"
touch "$CACHE/status"
APT=(-o Dir::Etc::SourceList="$CACHE/etc/sources.list" -o Dir::Etc::SourceParts="$CACHE/etc/none"
     -o Dir::Etc::Preferences="$CACHE/etc/none" -o Dir::Etc::PreferencesParts="$CACHE/etc/preferences.d"
     -o Dir::State::Lists="$CACHE/lists" -o Dir::Cache="$CACHE/cache" -o Dir::State::Status="$CACHE/status"
     -o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Debug::NoLocking=1
     -o APT::Sandbox::User=root)
if [[ -z "$(find "$CACHE/lists" -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]]; then
  echo "=== apt-get update (arm64, $SUITE)"
  apt-get "${APT[@]}" -q update
fi
KPKG=$(apt-cache "${APT[@]}" depends linux-image-arm64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[[ -n "$KPKG" ]] || { echo "cannot resolve linux-image-arm64" >&2; exit 1; }
PKGS=("$KPKG" raspi-firmware busybox-static e2fsprogs libext2fs2 libcom-err2 libblkid1 libuuid1
      fdisk libfdisk1 libsmartcols1 libreadline8 libtinfo6 libc6)
[[ $SSH == 1 ]] && PKGS+=(dropbear-bin libtomcrypt1 libtommath1 libgmp10 zlib1g libcrypt1)
echo "=== apt-get download ${PKGS[*]}"
# deb_of NAME: the cached .deb of package NAME (newest), or nothing
deb_of() { local f; for f in "$CACHE/debs/$1"_*_arm64.deb "$CACHE/debs/$1"_*_all.deb; do if [[ -f "$f" ]]; then echo "$f"; fi; done | tail -1; }
for p in "${PKGS[@]}"; do
  [[ -n "$(deb_of "$p")" ]] || ( cd "$CACHE/debs" && apt-get "${APT[@]}" -q download "$p" )
done
SYS=$W/sysroot
mkdir -p "$SYS"
for p in "${PKGS[@]}"; do
  deb=$(deb_of "$p")
  [[ -n "$deb" ]] || { echo "no .deb for $p" >&2; exit 1; }
  dpkg-deb -x "$deb" "$SYS"
done
KVER=$(ls "$SYS/lib/modules" | head -1)
echo "kernel $KVER"

# --- 2. the initramfs (the root filesystem)
IR=$W/initramfs
cp -a "$HERE/initramfs" "$IR"
mkdir -p "$IR"/{bin,sbin,usr/bin,usr/sbin,lib/modules,lib/aarch64-linux-gnu,root,data,boot,proc,sys,dev,tmp,run,var}
install -m 0755 "$SYS/bin/busybox" "$IR/bin/busybox"
ln -s busybox "$IR/bin/sh"   # for #!/bin/sh before /init installs the other applets
install -m 0755 "$BIN" "$IR/usr/bin/leither"
echo "$SOURCE_DATE_EPOCH" > "$IR/etc/build-epoch"   # rcS: the clock never starts before this
# glibc programs with their libraries (NEEDED, resolved in the sysroot)
PROGS=(sbin/resize2fs sbin/sfdisk)
[[ $SSH == 1 ]] && PROGS+=(usr/sbin/dropbear usr/bin/dropbearkey)
python3 - "$SYS" "$IR" "${PROGS[@]}" <<'PY'
import os, re, shutil, subprocess, sys
sysroot, ir, progs = sys.argv[1], sys.argv[2], sys.argv[3:]
libdirs = ["lib/aarch64-linux-gnu", "usr/lib/aarch64-linux-gnu", "lib"]
def needed(p):
    out = subprocess.run(["readelf", "-dW", p], capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", out)
def find(lib):
    for d in libdirs:
        p = os.path.join(sysroot, d, lib)
        if os.path.exists(p):
            return os.path.realpath(p)
    sys.exit(f"library {lib} not found in the sysroot")
todo, seen = [], set()
for prog in progs:
    src = os.path.join(sysroot, prog)
    if not os.path.exists(src):
        src = os.path.join(sysroot, "usr", prog)
    shutil.copy2(src, os.path.join(ir, prog))
    todo += needed(src)
while todo:
    lib = todo.pop()
    if lib in seen:
        continue
    seen.add(lib)
    src = find(lib)
    shutil.copy2(src, os.path.join(ir, "lib/aarch64-linux-gnu", lib))
    todo += needed(src)
ld = os.path.realpath(os.path.join(sysroot, "lib/ld-linux-aarch64.so.1"))
shutil.copy2(ld, os.path.join(ir, "lib/aarch64-linux-gnu/ld-linux-aarch64.so.1"))
os.symlink("aarch64-linux-gnu/ld-linux-aarch64.so.1", os.path.join(ir, "lib/ld-linux-aarch64.so.1"))
print("libraries:", " ".join(sorted(seen)))
PY
# kernel modules: virtio (qemu's virt machine: the boot test), SD/eMMC, ethernet
# (Pi 4 GENET, Pi 3 USB LAN9514/LAN7800, common USB adapters), USB hosts, ext4 and vfat
MODS=(virtio_pci virtio_blk virtio_net virtio_rng crc32c_generic ext4 vfat nls_ascii nls_cp437 nls_iso8859_1
      sdhci_iproc bcm2835 genet mdio_bcm_unimac broadcom dwc2 xhci_pci reset_raspberrypi
      smsc95xx lan78xx cdc_ether r8152 asix iproc_rng200 bcm2835_rng)
python3 - "$SYS/lib/modules/$KVER" "$IR/lib/modules" "${MODS[@]}" <<'PY'
import os, re, shutil, subprocess, sys
mdir, out, wanted = sys.argv[1], sys.argv[2], sys.argv[3:]
path = {}
for d, _, fs in os.walk(os.path.join(mdir, "kernel")):
    for f in fs:
        if f.endswith(".ko"):
            path[f[:-3].replace("-", "_")] = os.path.join(d, f)
builtin = {os.path.basename(l.strip())[:-3].replace("-", "_")
           for l in open(os.path.join(mdir, "modules.builtin"))}
def deps(name):
    s = subprocess.run(["readelf", "-p", ".modinfo", path[name]], capture_output=True, text=True).stdout
    m = re.search(r"\bdepends=([^\s]*)", s)
    return [d.replace("-", "_") for d in m.group(1).split(",") if d] if m else []
order, seen = [], set()
def add(name):
    if name in seen:
        return
    seen.add(name)
    if name not in path:
        if name not in builtin:
            print(f"module {name}: not in this kernel", file=sys.stderr)
        return
    for d in deps(name):
        add(d)
    order.append(name)
for w in wanted:
    add(w)
with open(os.path.join(out, "load.order"), "w") as f:
    for n in order:
        shutil.copy2(path[n], os.path.join(out, n + ".ko"))
        f.write(n + ".ko\n")
print(f"{len(order)} modules:", " ".join(order))
PY
find "$IR" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
( cd "$IR" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet ) | gzip -n -9 > "$OUT/initrd.img"
cp "$SYS/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
echo "initramfs: $(stat -c %s "$OUT/initrd.img") bytes"

# --- 3. the boot partition (FAT32)
B=$W/boot
mkdir -p "$B"
cp "$SYS"/usr/lib/raspi-firmware/* "$B/"
cp "$SYS"/usr/lib/linux-image-"$KVER"/broadcom/bcm27{10,11,37}*.dtb "$B/" 2>/dev/null || true
cp "$OUT/vmlinuz" "$OUT/initrd.img" "$B/"
cat > "$B/config.txt" <<'CFG'
# Raspberry Pi firmware settings of the leither image (Debian kernel, upstream device trees)
arm_64bit=1
upstream_kernel=1
enable_uart=1
kernel=vmlinuz
initramfs initrd.img followkernel
# a headless node: give the GPU as little memory as the firmware allows
gpu_mem=16
CFG
echo "console=ttyS1,115200 console=ttyAMA0,115200 console=tty1 rdinit=/init loglevel=4" > "$B/cmdline.txt"
cat > "$B/README.txt" <<'TXT'
leither Raspberry Pi image. This partition is readable from any computer:
- ssh_authorized_keys: put public keys here (one a line) to enable SSH as root (dropbear).
- SystemVars.json: copied into the node's home (/data/leither) on its first start.
The node answers on http://<the Pi's address>:4800/ (DHCP on ethernet).
TXT
truncate -s "${BOOT_MB}M" "$W/boot.fat"
mkfs.vfat -F 32 -n LEITHERBOOT -i 4c455448 "$W/boot.fat" > /dev/null
mcopy -s -m -i "$W/boot.fat" "$B"/* ::

# --- 4. the data partition (ext4)
D=$W/data
mkdir -p "$D/leither"
chmod 0700 "$D/leither"
truncate -s "${DATA_MB}M" "$W/data.ext4"
E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH mkfs.ext4 -q -F -L LEITHERDATA -E root_owner=0:0 \
  -U 4c454954-4845-5200-0000-000000000002 -d "$D" "$W/data.ext4"

# --- 5. the card image: MBR, 4 MiB gap, boot, data
IMG=$OUT/leither-rpi-arm64.img
S1=8192; N1=$((BOOT_MB * 2048)); S2=$((S1 + N1)); N2=$((DATA_MB * 2048))
rm -f "$IMG"
truncate -s $(( (S2 + N2) * 512 )) "$IMG"
sfdisk -q "$IMG" <<SF
label: dos
label-id: 0x4c454954
start=$S1, size=$N1, type=c, bootable
start=$S2, size=$N2, type=83
SF
dd if="$W/boot.fat" of="$IMG" bs=1M seek=$((S1 / 2048)) conv=notrunc status=none
dd if="$W/data.ext4" of="$IMG" bs=1M seek=$((S2 / 2048)) conv=notrunc status=none
case $COMPRESS in
  xz) xz -T0 -6 -f -k "$IMG"; FINAL=$IMG.xz ;;
  zstd) zstd -q -19 -T0 -f "$IMG" -o "$IMG.zst"; FINAL=$IMG.zst ;;
  none) FINAL=$IMG ;;
  *) echo "COMPRESS must be xz, zstd or none" >&2; exit 2 ;;
esac
echo "image: $IMG ($(stat -c %s "$IMG") bytes), $FINAL ($(stat -c %s "$FINAL") bytes)"
