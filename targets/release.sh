#!/usr/bin/env bash
# targets/release.sh: one command for a release in dist/: the static binaries of every
# target, the OpenWrt .ipk and .apk for each OpenWrt arch, the Raspberry Pi image
# (compressed), SHA256SUMS and SIZES.md (binary, .ipk, .apk and image sizes per target).
#
#   targets/release.sh
#   env: SKIP_BUILD=1     package the binaries already in target/dist (no cargo run)
#        SKIP_IMAGE=1     leave out the Raspberry Pi image
#        BOOT_TEST=1      also boot the image under qemu (targets/rpi/boot-test.sh)
#        CARGO_TARGET_DIR, TINY, CARGO_ARGS   passed to targets/build.sh
#        RPI_CACHE        passed to targets/rpi/build-image.sh (its .deb cache)
# Steps: targets/build.sh all -> openwrt/mkpkg.sh -> targets/rpi/build-image.sh.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
DIST=$ROOT/dist
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
start=$(date +%s)

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  bash targets/build.sh all
fi
rm -rf "$DIST"
mkdir -p "$DIST"
for t in "${ALL_TARGETS[@]}"; do
  b=$(dist_bin "$t")
  [[ -f "$b" ]] || { echo "missing $b (targets/build.sh ${t%%-*})" >&2; exit 1; }
  cp "$b" "$DIST/"
done
echo "=== OpenWrt packages"
BIN_DIR=$ROOT/target/dist bash openwrt/mkpkg.sh -o "$DIST"
if [[ "${SKIP_IMAGE:-0}" != 1 ]]; then
  echo "=== Raspberry Pi image"
  OUT=$ROOT/target/rpi BIN=$(dist_bin aarch64-unknown-linux-musl) bash targets/rpi/build-image.sh
  cp target/rpi/leither-rpi-arm64.img.xz "$DIST/"
  if [[ "${BOOT_TEST:-0}" == 1 ]]; then OUT=$ROOT/target/rpi bash targets/rpi/boot-test.sh; fi
fi
cp targets/rpi/install.sh targets/rpi/leither.service "$DIST/"

( cd "$DIST" && sha256sum -- * | grep -v ' SIZES.md$' > SHA256SUMS )

# SIZES.md: one row per OpenWrt arch (its binary, .ipk, .apk) and one for the Pi image
sz() { [[ -f "$1" ]] && stat -c %s "$1" || echo -; }
kib() { [[ "$1" == - ]] && echo - || awk -v b="$1" 'BEGIN { printf "%.0f KiB (%.2f MiB)", b / 1024, b / 1048576 }'; }
version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -1)-r${PKG_RELEASE:-1}
{
  echo "# leither $version: release sizes"
  echo
  echo "| target | OpenWrt arch | binary | .ipk | .apk |"
  echo "|---|---|---|---|---|"
  for a in mipsel_24kc mips_24kc arm_cortex-a7_neon-vfpv4 aarch64_cortex-a53 aarch64_generic x86_64; do
    for t in "${ALL_TARGETS[@]}"; do
      [[ ",${T_OPENWRT[$t]}," == *",$a,"* ]] || continue
      echo "| $t | $a | $(kib "$(sz "$DIST/leither-$t")") | $(kib "$(sz "$DIST/leither_${version}_$a.ipk")") | $(kib "$(sz "$DIST/leither-${version}_$a.apk")") |"
    done
  done
  if [[ -f "$DIST/leither-rpi-arm64.img.xz" ]]; then
    echo
    echo "| Raspberry Pi image | compressed (.img.xz) | raw (.img) |"
    echo "|---|---|---|"
    echo "| aarch64 (Pi 3/4/400/CM4/Zero 2 W) | $(kib "$(sz "$DIST/leither-rpi-arm64.img.xz")") | $(kib "$(sz target/rpi/leither-rpi-arm64.img)") |"
  fi
} > "$DIST/SIZES.md"
cat "$DIST/SIZES.md"
mipsel_ipk=$(sz "$DIST/leither_${version}_mipsel_24kc.ipk")
if [[ "$mipsel_ipk" != - ]] && (( mipsel_ipk >= 2 * 1048576 )); then
  echo "WARNING: the mipsel .ipk is $mipsel_ipk bytes, over the 2 MiB goal"
fi
echo "dist/ ready in $(( $(date +%s) - start ))s: $(ls "$DIST" | wc -l) files"
