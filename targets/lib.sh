# shellcheck shell=bash disable=SC2034  # T_* tables are used by the scripts that source this file
# Sourced by targets/build.sh, targets/smoke.sh and benches/footprint.sh (bash).
# Reads targets/targets.tsv (the one place that says which toolchain and qemu a target uses)
# and resolves short names (mips, mipsel, armv7, aarch64, x86_64) to triples.

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
ZIGVENV=${ZIGVENV:-/opt/zigvenv}
export PATH="$ZIGVENV/bin:$HOME/.cargo/bin:$PATH"   # cargo-zigbuild finds zig via `python3 -m ziglang`
BIN_NAME=leither
DEFAULT_TARGETS=(aarch64-unknown-linux-musl armv7-unknown-linux-musleabihf
                 mipsel-unknown-linux-musl mips-unknown-linux-musl)

declare -A T_TOOLCHAIN=() T_QEMU=() T_ENDIAN=() T_BITS=() T_OPENWRT=()
ALL_TARGETS=()
while IFS=$'\t' read -r triple toolchain qemu endian bits openwrt; do
  [[ -z "$triple" || "$triple" == \#* ]] && continue
  ALL_TARGETS+=("$triple")
  T_TOOLCHAIN[$triple]=$toolchain; T_QEMU[$triple]=$qemu
  T_ENDIAN[$triple]=$endian; T_BITS[$triple]=$bits; T_OPENWRT[$triple]=$openwrt
done < "$ROOT/targets/targets.tsv"

# resolve_targets ARG... -> sets TARGETS (defaults when no ARG; "all" = every row of the table)
resolve_targets() {
  TARGETS=()
  [[ $# -eq 0 ]] && { TARGETS=("${DEFAULT_TARGETS[@]}"); return 0; }
  local a t found
  for a in "$@"; do
    if [[ "$a" == all ]]; then TARGETS+=("${ALL_TARGETS[@]}"); continue; fi
    found=
    for t in "${ALL_TARGETS[@]}"; do
      if [[ "$a" == "$t" || "${t%%-*}" == "$a" ]]; then found=$t; break; fi
    done
    if [[ -z "$found" ]]; then
      echo "unknown target '$a' (known: ${ALL_TARGETS[*]}, or their first word, or 'all')" >&2
      return 2
    fi
    TARGETS+=("$found")
  done
}

# runner_for TRIPLE -> prints the command prefix to run a binary of that target ("" = native)
runner_for() {
  local q=${T_QEMU[$1]}
  [[ "$q" == native ]] && return 0
  command -v "$q" >/dev/null 2>&1 || { echo "missing $q (apt-get install qemu-user-static)" >&2; return 1; }
  echo "$q"
}

# Where built binaries are copied (DIST_DIR overrides it, e.g. for one variant of many).
DIST_DIR=${DIST_DIR:-$ROOT/target/dist}
dist_bin() { echo "$DIST_DIR/$BIN_NAME-$1"; }

mib() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1048576 }'; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
