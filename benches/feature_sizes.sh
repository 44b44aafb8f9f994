#!/usr/bin/env bash
# What each default feature costs in the shipped binary of one target: builds the default
# set, then "default minus F" for each feature F of Cargo.toml's default set (minus every
# feature that needs F too: resp, lever and net need files, so "minus files" is ws + tls),
# then the spine (--no-default-features), all with targets/build.sh (static musl, fat LTO,
# stripped), and prints one table: bytes, and the difference from the default build.
#
#   benches/feature_sizes.sh [TARGET]      default: mips (the router target)
#   env: BUDGET_S=N   start no variant that would end after N seconds, judged by the longest
#                     variant built so far, or VARIANT_S before one is timed (CI passes what
#                     is left of its budget); skipped variants are listed as such
#        VARIANT_S=N  what one variant is expected to take until one is timed (default 0)
#        BASE=FILE    the default build of this tree, already built (e.g. target/dist/leither-
#                     TRIPLE): its size is the default's, and the default is not rebuilt
#        ONLY="tls lever spine"  the variants to build, in this order after the default
#                     (a feature's name stands for "minus" it)
#        OUT=FILE     also write the table there (CI prints it again in its summary)
#        CARGO_ARGS, CARGO_TARGET_DIR, TINY, TOOLCHAIN: as for targets/build.sh
#
# Cost: the dependencies are built once (the default build's, or a few crates again when a
# feature changes a dependency's features); each variant recompiles leither and redoes the
# fat-LTO link, about as long as a build of the default after a one-line change (docs/
# performance.md has the figures). The binaries go to target/sizes/features-TARGET/VARIANT/,
# so target/dist/ (what the smoke tests and packages use) is left as it was.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../targets/lib.sh"
cd "$ROOT"
[[ $# -le 1 ]] || { echo "usage: benches/feature_sizes.sh [TARGET]" >&2; exit 2; }
resolve_targets "${1:-mips}" || exit 2
T=${TARGETS[0]}
START=$(date +%s)

# name<TAB>features for each variant (ROWS: "(none)" for no feature, as read collapses
# empty fields between tabs), from Cargo.toml's [features] (python3's tomllib).
mapfile -t VARIANTS < <(python3 - "$ROOT/Cargo.toml" <<'EOF'
import sys, tomllib
features = tomllib.load(open(sys.argv[1], "rb")).get("features", {})
default = features.get("default", [])

def needs(f, seen=None):
    """Every feature that turning on f turns on (f included)."""
    seen = set() if seen is None else seen
    if f in seen or f not in features:
        return seen
    seen.add(f)
    for g in features[f]:
        if "/" not in g and not g.startswith("dep:"):
            needs(g, seen)
    return seen

print("default\t" + ",".join(default))
for f in default:
    keep = [g for g in default if f not in needs(g)]
    print(f"-{f}\t" + ",".join(keep))
print("spine\t")
EOF
)

# ONLY picks variants and their order (the default first, so the deltas have a base).
if [[ -n "${ONLY:-}" ]]; then
  declare -a PICKED=()
  for want in default $ONLY; do
    for v in "${VARIANTS[@]}"; do
      name=${v%%$'\t'*}
      if [[ $name == "$want" || $name == "-$want" ]] && [[ " ${PICKED[*]:-} " != *" $name"$'\t'* ]]; then PICKED+=("$v"); fi
    done
  done
  VARIANTS=("${PICKED[@]}")
fi

declare -a ROWS=()
longest=${VARIANT_S:-0} default_bytes=""
for v in "${VARIANTS[@]}"; do
  IFS=$'\t' read -r name feats <<< "$v"
  if [[ $name == default && -n "${BASE:-}" && -f "${BASE:-}" ]]; then
    default_bytes=$(stat -c %s "$BASE")
    ROWS+=("$name	${feats:-(none)}	$default_bytes	0	$BASE"); continue
  fi
  if [[ -n "${BUDGET_S:-}" && $name != default ]] && (( $(date +%s) - START + longest > BUDGET_S )); then
    ROWS+=("$name	${feats:-(none)}	-	-	skipped (time budget)"); continue
  fi
  dir=target/sizes/features-$T/${name#-}
  [[ $name == -* ]] && dir=target/sizes/features-$T/minus-${name#-}
  echo "=== $T $name: --no-default-features --features '$feats'"
  s=$(date +%s)
  if ! CARGO_ARGS="${CARGO_ARGS:-} --no-default-features${feats:+ --features $feats}" DIST_DIR="$ROOT/$dir" \
       bash targets/build.sh "$T"; then
    ROWS+=("$name	${feats:-(none)}	-	-	BUILD FAILED"); continue
  fi
  secs=$(( $(date +%s) - s ))
  # the default is usually there already (no compile): it says nothing of a variant's time
  if [[ $name != default ]] && (( secs > longest )); then longest=$secs; fi
  bytes=$(stat -c %s "$dir/$BIN_NAME-$T")
  [[ $name == default ]] && default_bytes=$bytes
  ROWS+=("$name	${feats:-(none)}	$bytes	$secs	")
done

table() {
  echo "=== feature sizes, $T (stripped, targets/build.sh${TINY:+, TINY=$TINY}), delta against the default build"
  printf '%-10s %-32s %10s %8s %11s %8s %6s  %s\n' variant features bytes MiB delta "delta MiB" secs note
  local row name feats bytes secs note d dm m
  for row in "${ROWS[@]}"; do
    IFS=$'\t' read -r name feats bytes secs note <<< "$row"
    d=- dm=- m=-
    if [[ $bytes =~ ^[0-9]+$ ]]; then
      m=$(mib "$bytes")
      if [[ -n $default_bytes ]]; then d=$(( bytes - default_bytes )); dm=$(awk -v b="$d" 'BEGIN { printf "%+.2f", b / 1048576 }'); fi
    fi
    printf '%-10s %-32s %10s %8s %11s %8s %6s  %s\n' "$name" "$feats" "$bytes" "$m" "$d" "$dm" "$secs" "$note"
  done
}
table
if [[ -n "${OUT:-}" ]]; then table > "$OUT"; fi
for row in "${ROWS[@]}"; do [[ $row == *"BUILD FAILED"* ]] && exit 1; done
exit 0
