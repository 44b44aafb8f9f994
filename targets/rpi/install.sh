#!/bin/sh
# targets/rpi/install.sh: install leither as a systemd service on Raspberry Pi OS or Debian
# (arm64, armhf, amd64), for people who keep their OS instead of flashing the image.
#
#   sudo sh install.sh [BINARY]      BINARY: a leither static binary (default: the one in
#                                    target/dist/ for this machine's architecture, or ./leither)
#   sudo sh install.sh --uninstall   stop and remove the service and binary; keeps
#                                    /var/lib/leither (the node's key and data)
#   env: PORT=4800  BOOTSTRAP=""   written by `leither init` on first install only
# Installs /usr/local/bin/leither, creates the `leither` system user, makes the home
# /var/lib/leither with `leither init`, installs /etc/systemd/system/leither.service and
# enables and starts it. Running it again upgrades the binary and restarts the node.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
UNIT=/etc/systemd/system/leither.service
HOME_DIR=/var/lib/leither

[ "$(id -u)" = 0 ] || { echo "run as root (sudo sh $0)" >&2; exit 1; }
command -v systemctl >/dev/null || { echo "systemd is needed (systemctl not found)" >&2; exit 1; }

if [ "${1:-}" = --uninstall ]; then
	systemctl disable --now leither.service 2>/dev/null || true
	rm -f "$UNIT" /usr/local/bin/leither
	systemctl daemon-reload
	echo "leither removed; its home $HOME_DIR (node key, data) is kept: delete it yourself if you want"
	exit 0
fi

case "$(uname -m)" in
aarch64|arm64) triple=aarch64-unknown-linux-musl ;;
armv7l|armv6l|armhf) triple=armv7-unknown-linux-musleabihf ;;
x86_64|amd64) triple=x86_64-unknown-linux-musl ;;
*) triple= ;;
esac
bin=${1:-}
if [ -z "$bin" ]; then
	for c in "$HERE/../../target/dist/leither-$triple" "$HERE/leither-$triple" "./leither"; do
		[ -f "$c" ] && { bin=$c; break; }
	done
fi
if [ -z "$bin" ] || [ ! -f "$bin" ]; then
	echo "no leither binary given or found (for $(uname -m): leither-$triple)" >&2; exit 1
fi
"$bin" version >/dev/null 2>&1 || { echo "$bin does not run on this machine ($(uname -m))" >&2; exit 1; }

id leither >/dev/null 2>&1 ||
	useradd --system --home-dir "$HOME_DIR" --no-create-home --shell /usr/sbin/nologin leither
install -d -m 0700 -o leither -g leither "$HOME_DIR"
was_active=0
systemctl is-active --quiet leither.service 2>/dev/null && was_active=1
install -m 0755 "$bin" /usr/local/bin/leither.new
mv -f /usr/local/bin/leither.new /usr/local/bin/leither
if [ ! -f "$HOME_DIR/SystemVars.json" ]; then
	su -s /bin/sh leither -c "/usr/local/bin/leither --home $HOME_DIR init -p ${PORT:-4800} -b '${BOOTSTRAP:-}'"
fi
install -m 0644 "$HERE/leither.service" "$UNIT"
systemctl daemon-reload
systemctl enable leither.service >/dev/null
if [ $was_active = 1 ]; then systemctl restart leither.service; else systemctl start leither.service; fi
sleep 1
systemctl --no-pager --lines=5 status leither.service || true
echo "leither installed: http://$(hostname -I 2>/dev/null | cut -d' ' -f1):$(sed -n 's/.*"ServicePort": *\([0-9]*\).*/\1/p' "$HOME_DIR/SystemVars.json")/"
