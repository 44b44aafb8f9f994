#!/bin/sh
# The test command: installs the reference clients the black-box tests use (idempotent),
# then runs the whole test suite.
set -e
cd "$(dirname "$0")/.."
command -v curl >/dev/null 2>&1 || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q curl; }
bash tests/peers/install.sh
cargo test --no-fail-fast "$@"
