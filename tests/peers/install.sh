#!/usr/bin/env bash
# Installs the third-party Hprose clients that tests/peers.rs runs against a real node:
#   PyPI hprose==1.4.3          -> tests/peers/.venv   (fallback: tests/peers/.pylib)
#   npm  hprose@2.0.51, @hprose/rpc-core@3, @hprose/rpc-node@3, ws, hprose-html5@2.0.36
#        (the browser client the Leither web app in tests/leither_examples/webapp/ loads)
#        -> tests/peers/node_modules
# Idempotent: does nothing (quickly) when everything is already in place.
# Needs python3 (3.8+) and node (18+) with npm; reaches only PyPI and the npm registry.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

PY_HPROSE=1.4.3
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1

have_py() {
    local py="$1"; shift
    "$py" - "$@" <<'EOF' >/dev/null 2>&1
import sys, os
sys.path.insert(0, os.path.join(sys.argv[1], '.pylib'))
import hprose.httpclient
from importlib.metadata import version, PackageNotFoundError
try:
    v = version('hprose')
except PackageNotFoundError:
    v = getattr(hprose, '__version__', '')
sys.exit(0 if v in ('', sys.argv[2]) else 1)
EOF
}

# --- Python: hprose 1.4.3 (2.0-style wire) ------------------------------------------------------
if [ -x .venv/bin/python ] && have_py .venv/bin/python "$here" "$PY_HPROSE"; then
    echo "python hprose $PY_HPROSE: already installed in tests/peers/.venv"
elif [ -d .pylib ] && have_py python3 "$here" "$PY_HPROSE"; then
    echo "python hprose $PY_HPROSE: already installed in tests/peers/.pylib"
else
    rm -rf .venv
    if python3 -m venv .venv >/dev/null 2>&1 && [ -x .venv/bin/pip ]; then
        .venv/bin/pip install --disable-pip-version-check -q "hprose==$PY_HPROSE"
        have_py .venv/bin/python "$here" "$PY_HPROSE"
        echo "python hprose $PY_HPROSE: installed in tests/peers/.venv"
    else
        # No venv module (e.g. Debian without python3-venv): install into a plain directory
        # that py_hprose2.py puts on sys.path itself.
        rm -rf .venv .pylib
        python3 -m pip install --disable-pip-version-check -q --target .pylib "hprose==$PY_HPROSE"
        have_py python3 "$here" "$PY_HPROSE"
        echo "python hprose $PY_HPROSE: installed in tests/peers/.pylib"
    fi
fi

# --- Node: hprose 2.0 and 3.0 from the committed lockfile ---------------------------------------
# `npm ci` reinstalls from scratch; skip it when node_modules already matches the lockfile
# (npm writes node_modules/.package-lock.json as the record of what it installed).
if [ -f node_modules/.package-lock.json ] \
    && [ node_modules/.package-lock.json -nt package-lock.json ] \
    && [ -f node_modules/hprose/package.json ] \
    && [ -f node_modules/@hprose/rpc-node/package.json ] \
    && [ -f node_modules/ws/package.json ] \
    && [ -f node_modules/hprose-html5/package.json ]; then
    echo "npm hprose clients: already installed in tests/peers/node_modules"
else
    npm ci --no-audit --no-fund --loglevel=error
    echo "npm hprose clients: installed in tests/peers/node_modules"
fi
