#!/usr/bin/env bash
# tests/packages/mini-opkg.sh: a stand-in for the steps of opkg that the package tests need
# (it is not opkg: no registry ships opkg). Offline install into a root, the way OpenWrt's
# image builder runs opkg with IPKG_INSTROOT set:
#   mini-opkg.sh install ROOT FILE.ipk   refuse a package that is an ar archive, whose
#       Architecture is not in ROOT/etc/opkg/arch.conf, or whose Installed-Size does not fit
#       in ROOT's free space (opkg's checks); on upgrade run the old prerm with PKG_UPGRADE=1
#       and keep a conffile the user changed (the new one goes beside it as NAME-opkg); copy
#       the files in, undoing them all if the copy fails (a full overlay); record
#       usr/lib/opkg/info/PKG.{control,list,conffiles,postinst,prerm}; run postinst.
#       (MINI_OPKG_NO_SPACE_CHECK=1 skips the space check, to show the undo)
#   mini-opkg.sh remove ROOT PKG        run prerm, delete the package's files but keep
#       changed conffiles and everything the package did not install (the node's data).
set -euo pipefail
cmd=$1 root=$2
info=$root/usr/lib/opkg/info
die() { echo "mini-opkg: $*" >&2; exit 1; }
md5() { md5sum < "$1" | cut -d' ' -f1; }

install_pkg() {
  local ipk=$1 w pkg arch size avail f upgrade=0
  ! head -c 7 "$ipk" | grep -q '^!<arch>' || die "$ipk: ar archive: not an OpenWrt package (opkg wants a gzip'd tar)"
  w=$(mktemp -d)
  trap 'rm -rf "$w"' RETURN
  mkdir "$w/ctl" "$w/data"
  tar -xzf "$ipk" -C "$w" ./debian-binary ./control.tar.gz ./data.tar.gz || die "$ipk: not a gzip'd tar with the three members"
  [[ "$(cat "$w/debian-binary")" == 2.0 ]] || die "$ipk: debian-binary is not 2.0"
  tar -xzf "$w/control.tar.gz" -C "$w/ctl"
  pkg=$(sed -n 's/^Package: //p' "$w/ctl/control")
  arch=$(sed -n 's/^Architecture: //p' "$w/ctl/control")
  size=$(sed -n 's/^Installed-Size: //p' "$w/ctl/control")
  if ! awk -v a="$arch" '$1 == "arch" && $2 == a { found = 1 } END { exit !found }' "$root/etc/opkg/arch.conf"; then
    die "package $pkg wants architecture $arch, incompatible with the architectures configured"
  fi
  avail=$(df -B1 --output=avail "$root" | tail -1 | tr -d ' ')
  if [[ -z "${MINI_OPKG_NO_SPACE_CHECK:-}" ]] && (( size > avail )); then
    die "only have $((avail / 1024))kb available on filesystem $root, pkg $pkg needs $(( (size + 1023) / 1024 ))"
  fi
  tar -xzf "$w/data.tar.gz" -C "$w/data"
  if [[ -f "$info/$pkg.control" ]]; then
    upgrade=1
    if [[ -x "$info/$pkg.prerm" ]]; then
      PKG_UPGRADE=1 IPKG_INSTROOT=$root "$info/$pkg.prerm" upgrade || die "old prerm failed"
    fi
  fi
  # copy in, remembering what was written so a failure can be undone
  local written=() conf
  ( cd "$w/data" && find . -type d ) | while read -r d; do mkdir -p "$root/${d#./}"; done
  while read -r f; do
    f=${f#./}
    conf=0
    grep -qx "/$f" "$w/ctl/conffiles" 2>/dev/null && conf=1
    if [[ $conf == 1 && -f "$root/$f" && -f "$info/$pkg.conffiles_md5" ]] &&
       ! grep -qx "$(md5 "$root/$f")  /$f" "$info/$pkg.conffiles_md5"; then
      echo "mini-opkg: existing conffile /$f is different from the package's: keeping it, new one as /$f-opkg"
      f_dst=$root/$f-opkg
    else
      f_dst=$root/$f
    fi
    if ! cp -p "$w/data/$f" "$f_dst.tmp-opkg" 2>/dev/null || ! mv -f "$f_dst.tmp-opkg" "$f_dst"; then
      rm -f "$f_dst.tmp-opkg"
      for g in "${written[@]}"; do [[ $upgrade == 1 ]] || rm -f "$g"; done
      die "cannot write $f_dst (no space left?): install of $pkg undone"
    fi
    written+=("$f_dst")
  done < <(cd "$w/data" && find . -type f -o -type l | LC_ALL=C sort)
  mkdir -p "$info"
  cp "$w/ctl/control" "$info/$pkg.control"
  for s in conffiles postinst prerm; do [[ -f "$w/ctl/$s" ]] && cp -p "$w/ctl/$s" "$info/$pkg.$s"; done
  ( cd "$w/data" && find . -type f -o -type l | sed 's|^\.||' | LC_ALL=C sort ) > "$info/$pkg.list"
  : > "$info/$pkg.conffiles_md5"
  if [[ -f "$w/ctl/conffiles" ]]; then
    while read -r c; do echo "$(md5 "$w/data$c")  $c" >> "$info/$pkg.conffiles_md5"; done < "$w/ctl/conffiles"
  fi
  if [[ -x "$info/$pkg.postinst" ]]; then
    PKG_UPGRADE=$upgrade IPKG_INSTROOT=$root "$info/$pkg.postinst" configure || die "postinst failed"
  fi
  echo "mini-opkg: installed $pkg ($arch) into $root"
}

remove_pkg() {
  local pkg=$1 f
  [[ -f "$info/$pkg.control" ]] || die "$pkg is not installed"
  [[ -x "$info/$pkg.prerm" ]] && IPKG_INSTROOT=$root "$info/$pkg.prerm" remove
  while read -r f; do
    if grep -q "  $f\$" "$info/$pkg.conffiles_md5" 2>/dev/null &&
       ! grep -qx "$(md5 "$root$f")  $f" "$info/$pkg.conffiles_md5"; then
      echo "mini-opkg: not deleting modified conffile $f"
      continue
    fi
    rm -f "$root$f"
  done < "$info/$pkg.list"
  rm -f "$info/$pkg".*
  echo "mini-opkg: removed $pkg"
}

case $cmd in
  install) install_pkg "$3" ;;
  remove) remove_pkg "$3" ;;
  *) die "usage: mini-opkg.sh install ROOT FILE.ipk | remove ROOT PKG" ;;
esac
