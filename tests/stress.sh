#!/usr/bin/env bash
# The suite under load, to find timing-, order- and port-dependent tests (issue 19): runs the
# README's test command N times while `stress-ng --cpu 2 --io 1` (Debian's, installed here if
# missing) keeps the machine busy, then prints how often each test failed and exits non-zero
# if any did. Not part of CI (a run of N=5 takes about an hour on 2 cores).
#   usage: bash tests/stress.sh [N]      (default 5; extra cargo test arguments after N)
#   env:   STRESS="--cpu 2 --io 1"       the load; STRESS=none runs without stress-ng and
#          instead runs two suites at once (the other kind of busy machine)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
N=${1:-5}
shift || true
STRESS=${STRESS:---cpu 2 --io 1}
LOGS=$(mktemp -d /tmp/leither-stress.XXXXXX)

# Build once, so the load falls on the tests, not on the compiler.
bash tests/run.sh --no-run "$@" > "$LOGS/build.log" 2>&1 || { cat "$LOGS/build.log"; exit 2; }

load=""
if [[ $STRESS != none ]]; then
  if ! command -v stress-ng > /dev/null 2>&1; then
    apt-get update -q > /dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q stress-ng > /dev/null
  fi
  # shellcheck disable=SC2086
  stress-ng $STRESS --timeout 0 --quiet &
  load=$!
fi
trap '[[ -n $load ]] && kill "$load" 2> /dev/null; wait 2> /dev/null' EXIT

start=$(date +%s)
for i in $(seq 1 "$N"); do
  s=$(date +%s)
  if [[ $STRESS == none ]]; then
    # Two suites at once; their cargo locks serialize the (finished) build, not the tests.
    cargo test --no-fail-fast "$@" > "$LOGS/run$i.log" 2>&1 &
    cargo test --no-fail-fast "$@" > "$LOGS/run$i.b.log" 2>&1
    wait
  else
    cargo test --no-fail-fast "$@" > "$LOGS/run$i.log" 2>&1
  fi
  f=$(cat "$LOGS"/run"$i"*.log | grep -c ' \.\.\. FAILED$')
  p=$(cat "$LOGS"/run"$i"*.log | grep -c ' \.\.\. ok$')
  echo "run $i/$N: $p passed, $f failed in $(( $(date +%s) - s ))s"
done

echo
echo "=== failures per test ($N runs, load: $STRESS, total $(( $(date +%s) - start ))s)"
fails=$(cat "$LOGS"/run*.log | sed -n 's/^test \(.*\) \.\.\. FAILED$/\1/p' | sort | uniq -c | sort -rn)
if [[ -z $fails ]]; then
  echo "none"
  rm -rf "$LOGS"
  exit 0
fi
echo "$fails"
# A test binary that did not even report (a crash, a build failure) shows as "error:".
grep -h '^error: test failed' "$LOGS"/run*.log | sort | uniq -c
echo "logs kept in $LOGS"
exit 1
