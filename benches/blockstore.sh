#!/usr/bin/env bash
# Block store layouts on this machine: MIB (256) MiB of 256 KiB blocks written, then read back
# with every check, through
#   pieces         the layout leither uses: Blocks::put_many, 16 blocks (4 MiB) per transaction
#   pieces-single  the same, one transaction per block (blocks arriving one by one)
#   whole          each block as one redb value of 256 KiB + its check
#   files-fsync    one file per block (written, fsynced, renamed; directories fsynced) and
#                  the index in redb, one transaction per 16 blocks
#   files          the same without fsync (not crash safe: a lower bound for files)
# and BLAKE3 against SHA-256 on this CPU. Per layout: write and read MiB/s (reads from a warm
# page cache), disk used (st_blocks) and apparent size, bytes the process wrote (/proc/self/io
# write_bytes, so write amplification shows), peak RSS (VmHWM, which includes the bench's own
# 4 MiB batch for `pieces`).
#
# The layouts are an ignored test of a release build of the library's unit tests
# (store::blocks::tests::bench::layout_bench), run once per layout in its own process.
#
#   benches/blockstore.sh        env: MIB=256, DIR=<a directory on the disk to measure>
#                                (default: a fresh one under /tmp, removed after)
# docs/storage.md ("Block layout") has the figures and the decision they support.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MIB=${MIB:-256}
OWN_DIR=0
if [[ -z ${DIR:-} ]]; then DIR=$(mktemp -d /tmp/leither-blockstore.XXXXXX); OWN_DIR=1; fi
# shellcheck disable=SC2317  # called by trap
cleanup() { if [[ $OWN_DIR == 1 ]]; then rm -rf "$DIR"; fi; }
trap cleanup EXIT

echo "building the release unit tests..." >&2
BIN=$(cargo test --release --lib --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
[[ -x $BIN ]] || { echo "no test binary built" >&2; exit 1; }

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "disk: $(df -T "$DIR" | awk 'NR==2 {print $2 " on " $1}')"
for layout in hash pieces pieces-single whole files-fsync files; do
  LEITHER_BENCH_DIR="$DIR/$layout" LEITHER_BENCH_LAYOUT=$layout LEITHER_BENCH_MIB=$MIB \
    "$BIN" --exact store::blocks::tests::bench::layout_bench --ignored --nocapture \
    --test-threads=1 | sed -n 's/.*RESULT //p'
done
