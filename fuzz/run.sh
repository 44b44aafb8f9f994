#!/bin/sh
# Runs every fuzz target of fuzz/Cargo.toml for SECONDS each (default 20) with cargo-fuzz
# (libFuzzer, nightly). Installs cargo-fuzz if missing. A crash fails the run: its output
# is printed and the input is left in fuzz/artifacts/<target>/.
set -e
cd "$(dirname "$0")"
SECONDS_EACH=${1:-20}
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in $(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^leither-fuzz$'); do
  echo "=== fuzz $t (${SECONDS_EACH}s)"
  if cargo +nightly fuzz run "$t" -- -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 \
      -print_final_stats=1 >"$log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^Done' "$log" || true
  else
    tail -n 60 "$log"
    echo "fuzz target $t FAILED"
    exit 1
  fi
done
echo "fuzz: all targets ran clean"
