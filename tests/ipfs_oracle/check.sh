#!/usr/bin/env bash
# Re-checks leither's committed IPFS CID vectors (oracle-cids.tsv, used by
# src/ipfs/importer_tests.rs) against the independent JS importer, ipfs-unixfs-importer@17
# set up as kubo's `ipfs add` (oracle.mjs). Needs node (20+) and npm; reaches only the npm
# registry. Installs into and generates inputs under a work directory outside the repo
# ($IPFS_ORACLE_DIR, default /tmp/leither-ipfs-oracle): about 250 MB of inputs, 1-2 minutes.
#   bash tests/ipfs_oracle/check.sh           compare, print "N passed, N failed", exit 1 on any failure
#   bash tests/ipfs_oracle/check.sh --write   rewrite oracle-cids.tsv from the oracle's answers
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="${IPFS_ORACLE_DIR:-/tmp/leither-ipfs-oracle}"
mkdir -p "$work/inputs"
cp "$here/package.json" "$here/package-lock.json" "$here/oracle.mjs" "$here/gen.mjs" "$work/"
cd "$work"
if ! cmp -s package-lock.json node_modules/.package-lock.json 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

tsv="$here/oracle-cids.tsv"
names=$(grep -v '^#' "$tsv" | cut -f2 | grep -E '^(rand|big|edge)-' | sort -u | tr '\n' ' ')
# shellcheck disable=SC2086
node gen.mjs inputs $names

pass=0 fail=0 out=()
while IFS= read -r line; do
  [[ -z $line || $line == \#* ]] && { out+=("$line"); continue; }
  IFS=$'\t' read -r want input flags <<< "$line"
  # shellcheck disable=SC2086
  got=$(node oracle.mjs $flags "inputs/$input")
  out+=("$got	$input	$flags")
  if [[ $got == "$want" ]]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "MISMATCH $input $flags: committed $want, oracle $got"
  fi
done < "$tsv"

if [[ ${1:-} == --write ]]; then
  printf '%s\n' "${out[@]}" > "$tsv"
  echo "wrote $tsv"
fi
echo "ipfs-oracle: $pass passed, $fail failed"
[[ $fail -eq 0 || ${1:-} == --write ]]
