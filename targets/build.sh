#!/usr/bin/env bash
# Build static musl release binaries of leither without Docker (cargo-zigbuild: zig cc is the
# C compiler and linker and brings musl), check they are static, and copy them to
# target/dist/leither-<triple>.
#
#   targets/build.sh [TARGET...]     default: the four router/board targets
#   TARGET: a triple from targets/targets.tsv, its first word (mips, mipsel, armv7, aarch64,
#           x86_64) or "all" (the four plus x86_64-unknown-linux-musl)
#   env: TINY=1          nightly targets only: also rebuild std with optimize_for_size and
#                        panic=immediate-abort (smaller; a panic then prints nothing)
#        CARGO_ARGS="…"  extra arguments for cargo (e.g. --locked, --no-default-features)
#        ZIGVENV=/opt/zigvenv  where install-toolchain.sh put zig + cargo-zigbuild
#        TOOLCHAIN=nightly-build-std  build a stable target the nightly way too, as the MIPS
#                             targets ship: std rebuilt, no unwind tables (x86_64: -1.12 MiB);
#                             also to measure TINY there; targets.tsv says what ships
#        CARGO_TARGET_DIR     cargo's build directory (default target/); the binaries are
#                             still copied to target/dist/
#        DIST_DIR             where the binaries are copied instead of target/dist/
#        SYMBOLS=1            keep the symbol table (only the final link differs from the
#                             release build, so the dependencies are reused): for
#                             benches/crate_sizes.sh, which adds up code size by crate
#
# One target is built at a time (the machine has 2 cores; cargo uses both).
# Prerequisites: bash targets/install-toolchain.sh
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"
resolve_targets "$@" || exit 2

command -v cargo-zigbuild >/dev/null || { echo "cargo-zigbuild not found: run targets/install-toolchain.sh" >&2; exit 1; }
read -r -a EXTRA <<< "${CARGO_ARGS:-}"
# shellcheck disable=SC2054  # one argument, commas intended
BUILD_STD=(-Zbuild-std=std,panic_abort)
TINY_ARGS=()
# `cargo zigbuild` is `cargo-zigbuild zigbuild`; `cargo-zigbuild rustc` passes what follows `--`
# to the last compile only (the binary, where fat LTO links everything).
SUB=zigbuild; LAST=()
if [[ "${SYMBOLS:-0}" == 1 ]]; then SUB=rustc; LAST=(-- -C strip=none); fi
if [[ "${TINY:-0}" == 1 ]]; then
  TINY_ARGS=(-Zbuild-std-features=optimize_for_size -Zpanic-immediate-abort
             --config 'profile.release.panic="immediate-abort"')
fi

build_one() {
  local t=$1 own=()
  # A stable target built with build-std has no self-contained crt1.o either: zig's musl, as
  # .cargo/config.toml says for the nightly targets. And no unwind tables, as the MIPS targets
  # are built: with std built too, -C force-unwind-tables=no takes .eh_frame from 1.03 MB to
  # 80 KB on x86_64 (on stable, with std prebuilt, the same flag changed not one byte).
  if [[ "${TOOLCHAIN:-}" == nightly-build-std && "${T_TOOLCHAIN[$t]}" == stable ]]; then
    own=(--config "target.$t.rustflags=[\"-C\", \"link-self-contained=no\", \"-C\", \"force-unwind-tables=no\"]")
  fi
  case "${TOOLCHAIN:-${T_TOOLCHAIN[$t]}}" in
    stable)            cargo-zigbuild "$SUB" --release --target "$t" --bin "$BIN_NAME" "${EXTRA[@]}" "${LAST[@]}" ;;
    nightly-build-std) RUSTUP_TOOLCHAIN=nightly cargo-zigbuild "$SUB" "${BUILD_STD[@]}" "${TINY_ARGS[@]}" "${own[@]}" \
                         --release --target "$t" --bin "$BIN_NAME" "${EXTRA[@]}" "${LAST[@]}" ;;
    *) echo "unknown toolchain '${TOOLCHAIN:-${T_TOOLCHAIN[$t]}}' for $t (targets.tsv or TOOLCHAIN)" >&2; return 1 ;;
  esac
}

# is_static FILE: no program interpreter and no DT_NEEDED
is_static() {
  ! readelf -lW "$1" 2>/dev/null | grep -q 'Requesting program interpreter' &&
  ! readelf -dW "$1" 2>/dev/null | grep -q '(NEEDED)'
}

mkdir -p "$DIST_DIR"
fail=0
declare -a SUMMARY=()
for t in "${TARGETS[@]}"; do
  echo "=== build $t (${TOOLCHAIN:-${T_TOOLCHAIN[$t]}}${TINY:+, TINY=$TINY})"
  s=$(date +%s)
  if ! build_one "$t"; then
    echo "BUILD FAILED: $t"; SUMMARY+=("$t	FAILED	-	-	$(( $(date +%s) - s ))s"); fail=1; continue
  fi
  secs=$(( $(date +%s) - s ))
  b="${CARGO_TARGET_DIR:-target}/$t/release/$BIN_NAME"
  d=$(dist_bin "$t")
  cp -f "$b" "$d"
  # MIPS objects carry .pdr (procedure descriptors, for old debuggers): never loaded, not
  # removed by strip, 0.37 MiB of a 6.8 MiB mips binary. binutils-multiarch's objcopy (from
  # install-toolchain.sh) or LLVM's removes it.
  if [[ "$t" == mips* ]]; then
    if ! objcopy --remove-section=.pdr "$d" 2>/dev/null &&
       ! { command -v llvm-objcopy >/dev/null && llvm-objcopy --remove-section=.pdr "$d"; }; then
      echo "note: no objcopy that reads MIPS (apt-get install binutils-multiarch): .pdr left in $d"
    fi
  fi
  info=$(file -b "$d")
  if [[ "$info" != *", stripped"* && "${SYMBOLS:-0}" != 1 ]]; then
    echo "note: $b is not stripped (profile.release.strip should do it)"
  fi
  if ! is_static "$d"; then
    echo "NOT STATIC: $t: $info"; fail=1; st=dynamic
  else
    st=static
  fi
  size=$(stat -c %s "$d")
  echo "built $t in ${secs}s: $size bytes ($(mib "$size") MiB), $st"
  echo "file: $info"
  SUMMARY+=("$t	$size	$(mib "$size")	$st	${secs}s")
done

echo
echo "=== binaries ($DIST_DIR)"
printf '%-32s %10s %8s %8s %7s\n' target bytes MiB linking time
for row in "${SUMMARY[@]}"; do
  IFS=$'\t' read -r a b c d e <<< "$row"
  printf '%-32s %10s %8s %8s %7s\n' "$a" "$b" "$c" "$d" "$e"
done
exit $fail
