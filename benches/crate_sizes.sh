#!/usr/bin/env bash
# Crate shares of .text in one target's release build, as shipped by targets/build.sh (any
# target: cargo-bloat cannot drive cargo-zigbuild or build-std). Builds the binary again
# with its symbol table (SYMBOLS=1: only the final link differs, the dependencies are
# reused) into target/sizes/symbols/, then adds up its code by crate (benches/crate_sizes.py)
# and prints a Markdown table and the size of the same binary stripped.
#
#   benches/crate_sizes.sh [TARGET] [ROWS]     default: mips, 20 rows
#   env: NO_BUILD=1 (use the binary already in target/sizes/symbols/), and what
#        targets/build.sh reads (CARGO_ARGS, CARGO_TARGET_DIR, TINY, TOOLCHAIN)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../targets/lib.sh"
cd "$ROOT"
resolve_targets "${1:-mips}" || exit 2
T=${TARGETS[0]}
DIR=$ROOT/target/sizes/symbols
if [[ "${NO_BUILD:-0}" != 1 ]]; then
  SYMBOLS=1 DIST_DIR="$DIR" bash targets/build.sh "$T"
fi
B=$DIR/$BIN_NAME-$T
python3 benches/crate_sizes.py "$B" -n "${2:-20}" --markdown \
  --build-dir "${CARGO_TARGET_DIR:-$ROOT/target}/$T/release"
strip_tool=$(command -v llvm-strip || command -v strip)
tmp=$(mktemp); trap 'rm -f "$tmp"' EXIT
if "$strip_tool" -o "$tmp" "$B" 2>/dev/null; then
  echo "the same binary stripped: $(stat -c %s "$tmp") bytes (with symbols $(stat -c %s "$B"))"
fi
