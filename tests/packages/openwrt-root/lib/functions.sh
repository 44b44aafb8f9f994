# tests/packages/openwrt-root/lib/functions.sh: a minimal stand-in for OpenWrt's
# /lib/functions.sh (package/base-files), written for the package tests, not copied from it.
# It has what our package's scripts and init script use, with the same behaviour:
#   default_postinst / default_prerm: walk the package's file list
#     (usr/lib/opkg/info/<pkg>.list, or lib/apk/packages/<pkg>.list), and for each
#     /etc/init.d/ script: with IPKG_INSTROOT set (offline install into a root), run
#     `sh $root/etc/rc.common $root$script enable` (or disable); on the device itself,
#     `$script enable` unless PKG_UPGRADE=1, then `$script start` (or disable and stop);
#   add_group_and_user: nothing to do (the package needs no user);
#   config_load / config_get / config_get_bool / config_list_foreach: UCI files are read as
#     the shell statements `config`, `option` and `list` they are, from $UCI_CONFIG_DIR
#     (default /etc/config), instead of through the uci binary.

_pkg_filelist() {
	local root="$1" pkg="$2"
	if [ -f "$root/lib/apk/packages/$pkg.list" ]; then echo "$root/lib/apk/packages/$pkg.list"
	else echo "$root/usr/lib/opkg/info/$pkg.list"; fi
}

_pkg_initscripts() {
	local root="${IPKG_INSTROOT}" action="$1" pkg="$2" i
	for i in $(grep -s "^/etc/init.d/" "$(_pkg_filelist "$root" "$pkg")"); do
		if [ -n "$root" ]; then
			/bin/sh "$root/etc/rc.common" "$root$i" "$action"
		elif [ "$action" = enable ]; then
			[ "$PKG_UPGRADE" = 1 ] || "$i" enable
			"$i" start
		else
			[ "$PKG_UPGRADE" = 1 ] || "$i" disable
			"$i" stop
		fi
	done
}

default_postinst() {
	[ -z "$pkgname" ] && local pkgname="$(basename "${1%.*}")"
	_pkg_initscripts enable "$pkgname"
}

default_prerm() {
	[ -z "$pkgname" ] && local pkgname="$(basename "${1%.*}")"
	_pkg_initscripts disable "$pkgname"
}

add_group_and_user() { :; }

config() { _SECTION="$2"; _SECTIONS="$_SECTIONS $2"; eval "CONFIG_${2}_TYPE=\$1"; }
option() { eval "CONFIG_${_SECTION}_${1}=\$2"; }
list() {
	local n
	eval "n=\${CONFIG_${_SECTION}_${1}_LENGTH:-0}"
	n=$((n + 1))
	eval "CONFIG_${_SECTION}_${1}_ITEM$n=\$2; CONFIG_${_SECTION}_${1}_LENGTH=$n"
}
config_load() { _SECTIONS=; . "${UCI_CONFIG_DIR:-/etc/config}/$1"; }
config_get() {
	if [ $# -ge 3 ]; then eval "$1=\${CONFIG_${2}_${3}:-\$4}"; else eval "echo \"\${CONFIG_${1}_${2}}\""; fi
}
config_get_bool() {
	local v
	config_get v "$2" "$3" "$4"
	case "$v" in
	1|on|true|yes|enabled) v=1 ;;
	0|off|false|no|disabled) v=0 ;;
	*) v="$4" ;;
	esac
	eval "$1=\$v"
}
config_list_foreach() {
	local s="$1" o="$2" f="$3" n i=1 v
	shift 3
	eval "n=\${CONFIG_${s}_${o}_LENGTH:-0}"
	while [ $i -le "$n" ]; do
		eval "v=\$CONFIG_${s}_${o}_ITEM$i"
		"$f" "$v" "$@"
		i=$((i + 1))
	done
}
