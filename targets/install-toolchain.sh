#!/bin/sh
# One-time setup of the cross toolchain on Debian x86_64 (root), no Docker:
# qemu-user-static to run foreign binaries, zig + cargo-zigbuild from PyPI as C compiler
# and linker with a bundled musl, stable aarch64-musl std, nightly + rust-src for the
# targets that need -Zbuild-std (armv7 musl, mips, mipsel). Idempotent: a second run
# only checks.
#   env: ZIGVENV=/opt/zigvenv  where zig + cargo-zigbuild go
#        ZIG_PINS="ziglang==0.17.1 cargo-zigbuild==0.24.0"  the versions seen working
set -eu
ZIGVENV=${ZIGVENV:-/opt/zigvenv}
ZIG_PINS=${ZIG_PINS:-"ziglang==0.17.1 cargo-zigbuild==0.24.0"}
export DEBIAN_FRONTEND=noninteractive

# Debian packages: qemu-user-static (qemu-{aarch64,arm,mipsel,mips}-static), file and
# binutils (readelf: is the binary static?), binutils-multiarch (objcopy that reads MIPS, to
# drop .pdr: targets/build.sh), curl and iproute2 (ss) for the smoke test.
missing=""
for p in qemu-user-static file binutils binutils-multiarch curl iproute2; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "install-toolchain: apt-get install$missing"
  apt-get update -q
  apt-get install -y -q $missing
fi

if [ ! -x "$ZIGVENV/bin/cargo-zigbuild" ] || ! "$ZIGVENV/bin/python3" -m ziglang version >/dev/null 2>&1; then
  echo "install-toolchain: zig + cargo-zigbuild into $ZIGVENV ($ZIG_PINS)"
  python3 -m venv "$ZIGVENV"
  # shellcheck disable=SC2086
  "$ZIGVENV/bin/pip" install -q $ZIG_PINS
fi

# Stable: prebuilt std for the two musl targets rustup serves here.
rustup target add aarch64-unknown-linux-musl x86_64-unknown-linux-musl
# Nightly (on the machine image already; not fetchable everywhere) + rust-src for build-std.
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
rustup component add rust-src --toolchain nightly
# With build-std the nightly sysroot has no lib/rustlib/<target>/lib, and zig's linker then
# warns "unable to open library directory" on every link: give it an empty one.
sysroot=$(rustc +nightly --print sysroot)
for t in armv7-unknown-linux-musleabihf mipsel-unknown-linux-musl mips-unknown-linux-musl; do
  mkdir -p "$sysroot/lib/rustlib/$t/lib"
done

echo "install-toolchain: ok: $("$ZIGVENV/bin/cargo-zigbuild" --version), zig $("$ZIGVENV/bin/python3" -m ziglang version), $(rustc +nightly --version)"
