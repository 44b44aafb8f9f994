#!/usr/bin/env bash
# openwrt/mkpkg.sh: make leither's OpenWrt packages without the OpenWrt SDK, from the static
# binaries of targets/build.sh: an .ipk (opkg, OpenWrt 23.05/24.10) laid out exactly as
# OpenWrt's scripts/ipkg-build does, and an .apk (apk-tools v3 ADB, OpenWrt 25+) written by
# openwrt/apkv3.py the way `apk mkpkg` and OpenWrt's include/package-pack.mk do.
#
#   openwrt/mkpkg.sh [-o OUTDIR] [OPENWRT_ARCH...]
#     default archs: mipsel_24kc mips_24kc arm_cortex-a7_neon-vfpv4 aarch64_cortex-a53
#                    aarch64_generic x86_64 (any name from targets/targets.tsv works)
#   env: BIN_DIR=target/dist   where leither-<triple> binaries are
#        SOURCE_DATE_EPOCH     fixed mtime (default: the last commit's time)
#        PKG_RELEASE=1         OpenWrt package release (version is Cargo.toml's + "-r" release)
#        FORMATS="ipk apk"     which formats to make
# An arch whose binary is missing is reported and skipped (exit 1 at the end).
#
# .ipk: gzip'd tar (not ar) of ./debian-binary ("2.0"), ./data.tar.gz, ./control.tar.gz
# (in that order), GNU format, owners 0:0, names sorted, mtime SOURCE_DATE_EPOCH, gzip -n.
# control.tar.gz: ./control (fields in OpenWrt's order), ./conffiles, ./postinst, ./prerm
# (OpenWrt's generated scripts: default_postinst / default_prerm from /lib/functions.sh).
# .apk: the same files, plus /lib/apk/packages/leither.{list,conffiles,conffiles_static} as
# OpenWrt 25 packages carry them; scripts post-install, post-upgrade, pre-deinstall.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
source "$ROOT/targets/lib.sh"

OUT=$ROOT/dist
while getopts "o:" opt; do
  case $opt in
    o) OUT=$OPTARG ;;
    *) echo "usage: $0 [-o OUTDIR] [OPENWRT_ARCH...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
ARCHS=("$@")
[[ ${#ARCHS[@]} -gt 0 ]] || ARCHS=(mipsel_24kc mips_24kc arm_cortex-a7_neon-vfpv4
                                   aarch64_cortex-a53 aarch64_generic x86_64)
BIN_DIR=${BIN_DIR:-$ROOT/target/dist}
read -r -a FORMATS <<< "${FORMATS:-ipk apk}"
PKG=leither
VERSION=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)-r${PKG_RELEASE:-1}
if [[ -z "${SOURCE_DATE_EPOCH:-}" ]]; then
  SOURCE_DATE_EPOCH=$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || echo 0)
fi
export SOURCE_DATE_EPOCH
LICENSE="MIT OR Apache-2.0"
MAINTAINER="leither developers"
DESCRIPTION="One small static binary that makes this router a node of a decentralized cloud (HTTP API and gateway, apps, storage, peer-to-peer). UCI: /etc/config/leither; procd: /etc/init.d/leither."
mkdir -p "$OUT"

# triple_for OPENWRT_ARCH -> the Rust triple whose binary runs there (targets.tsv column 6)
triple_for() {
  local t a
  for t in "${ALL_TARGETS[@]}"; do
    IFS=, read -r -a arr <<< "${T_OPENWRT[$t]}"
    for a in "${arr[@]}"; do [[ "$a" == "$1" ]] && { echo "$t"; return 0; }; done
  done
  return 1
}

TAR=(tar --format=gnu --numeric-owner --owner=0 --group=0 --sort=name
     --mtime="@$SOURCE_DATE_EPOCH")

# stage DIR BINARY: the installed files, with the modes OpenWrt's INSTALL_* give them
stage() {
  local d=$1
  install -d -m 0755 "$d/usr/bin" "$d/etc/init.d" "$d/etc/config"
  install -m 0755 "$2" "$d/usr/bin/leither"
  install -m 0755 "$HERE/files/leither.init" "$d/etc/init.d/leither"
  install -m 0644 "$HERE/files/leither.config" "$d/etc/config/leither"
}

postinst_script() {
  cat <<'S'
#!/bin/sh
[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_postinst $0 $@
S
}
prerm_script() {
  cat <<'S'
#!/bin/sh
[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
. ${IPKG_INSTROOT}/lib/functions.sh
default_prerm $0 $@
S
}

make_ipk() {
  local arch=$1 bin=$2 w data ctl size
  w=$(mktemp -d)
  data=$w/data; ctl=$w/CONTROL
  stage "$data" "$bin"
  mkdir -p "$ctl" "$w/pkg"
  "${TAR[@]}" -C "$data" -cpf - . | gzip -n > "$w/pkg/data.tar.gz"
  size=$(zcat < "$w/pkg/data.tar.gz" | wc -c)
  cat > "$ctl/control" <<C
Package: $PKG
Version: $VERSION
Depends: libc
Source: feeds/leither/leither
SourceName: $PKG
License: $LICENSE
Section: net
SourceDateEpoch: $SOURCE_DATE_EPOCH
Maintainer: $MAINTAINER
Architecture: $arch
Installed-Size: $size
Description:  $DESCRIPTION
C
  echo /etc/config/leither > "$ctl/conffiles"
  postinst_script > "$ctl/postinst"
  prerm_script > "$ctl/prerm"
  chmod 0644 "$ctl/control" "$ctl/conffiles"
  chmod 0755 "$ctl/postinst" "$ctl/prerm"
  "${TAR[@]}" -C "$ctl" -cf - . | gzip -n > "$w/pkg/control.tar.gz"
  echo "2.0" > "$w/pkg/debian-binary"
  local f="$OUT/${PKG}_${VERSION}_${arch}.ipk"
  ( cd "$w/pkg" && "${TAR[@]}" -cf - ./debian-binary ./data.tar.gz ./control.tar.gz ) \
    | gzip -n > "$f.tmp"
  mv -f "$f.tmp" "$f"
  rm -rf "$w"
  echo "$f"
}

make_apk() {
  local arch=$1 bin=$2 w root meta
  w=$(mktemp -d)
  root=$w/root; meta=$root/lib/apk/packages
  stage "$root" "$bin"
  install -d -m 0755 "$meta"
  echo /etc/config/leither > "$meta/$PKG.conffiles"
  echo "/etc/config/leither $(sha256sum < "$root/etc/config/leither" | cut -d' ' -f1)" \
    > "$meta/$PKG.conffiles_static"
  ( cd "$root" && find . -type f -printf '/%P\n' | LC_ALL=C sort ) > "$w/list"
  mv "$w/list" "$meta/$PKG.list"
  chmod 0644 "$meta"/*
  { echo '#!/bin/sh'
    echo '[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0'
    echo '[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0'
    echo '. ${IPKG_INSTROOT}/lib/functions.sh'
    echo 'export root="${IPKG_INSTROOT}"'
    echo "export pkgname=\"$PKG\""
    echo 'add_group_and_user'
    echo 'default_postinst'; } > "$w/post-install"
  { echo '#!/bin/sh'; echo 'export PKG_UPGRADE=1'; cat "$w/post-install"; } > "$w/post-upgrade"
  { echo '#!/bin/sh'
    echo '[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0'
    echo '. ${IPKG_INSTROOT}/lib/functions.sh'
    echo 'export root="${IPKG_INSTROOT}"'
    echo "export pkgname=\"$PKG\""
    echo 'default_prerm'; } > "$w/pre-deinstall"
  local f="$OUT/${PKG}-${VERSION}_${arch}.apk"
  python3 "$HERE/apkv3.py" --root "$root" --out "$f" --mtime "$SOURCE_DATE_EPOCH" \
    --info "name:$PKG" --info "version:$VERSION" --info "arch:$arch" \
    --info "description:$DESCRIPTION" --info "license:$LICENSE" --info "origin:$PKG" \
    --info "maintainer:$MAINTAINER" \
    --script "post-install:$w/post-install" --script "post-upgrade:$w/post-upgrade" \
    --script "pre-deinstall:$w/pre-deinstall"
  rm -rf "$w"
  echo "$f"
}

fail=0
for arch in "${ARCHS[@]}"; do
  if ! triple=$(triple_for "$arch"); then
    echo "mkpkg: unknown OpenWrt arch '$arch' (see targets/targets.tsv)" >&2; fail=1; continue
  fi
  bin=$BIN_DIR/leither-$triple
  if [[ ! -f "$bin" ]]; then
    echo "mkpkg: $arch: missing $bin (targets/build.sh ${triple%%-*})" >&2; fail=1; continue
  fi
  for fmt in "${FORMATS[@]}"; do
    case $fmt in
      ipk) make_ipk "$arch" "$bin" ;;
      apk) make_apk "$arch" "$bin" ;;
      *) echo "mkpkg: unknown format $fmt" >&2; fail=1 ;;
    esac
  done
done
exit $fail
