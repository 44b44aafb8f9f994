# benches/lib.sh: what the benches that run nodes and peers share. Source it after setting
# WORK (a temp dir), BIN (the leither binary) and the arrays PIDS (processes to stop) and
# HOMES (node homes to `leither stop`). It stops them all and removes WORK on exit, and
# defines need COMMAND PACKAGE (apt-get install PACKAGE when COMMAND is missing, as root,
# without letting the package start a system-wide service; a COMMAND with a / is a file that
# must exist, such as a module the package ships).
# shellcheck shell=bash

# shellcheck disable=SC2317  # called by trap
cleanup() {
  local h p
  for h in "${HOMES[@]}"; do
    if [[ -s "$h/leither.addr" ]]; then "$BIN" --home "$h" stop > /dev/null 2>&1 || true; fi
  done
  for p in "${PIDS[@]}"; do
    if kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p" 2>/dev/null || true; sleep 0.5; kill -KILL "$p" 2>/dev/null || true
    fi
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need() {  # need COMMAND PACKAGE   (or need /path/to/file PACKAGE)
  if [[ $1 == */* ]]; then [[ -e $1 ]] && return 0; else command -v "$1" > /dev/null && return 0; fi
  if [[ $(id -u) -ne 0 ]] || ! command -v apt-get > /dev/null; then
    echo "missing $1: install $2" >&2; exit 1
  fi
  echo "installing $2" >&2
  # RUNLEVEL=1: the package must not start a system-wide service (redis on 6379, nginx on 80)
  RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" > "$WORK/apt.log" 2>&1 ||
    { apt-get update -q > /dev/null 2>&1 &&
      RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" > "$WORK/apt.log" 2>&1; } ||
    { echo "apt-get install $2 failed: $(tail -c 400 "$WORK/apt.log")" >&2; exit 1; }
}
