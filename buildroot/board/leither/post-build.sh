#!/bin/sh
# buildroot/board/leither/post-build.sh: Buildroot post-build script of the leither
# defconfig (runs after the board's own; $1 is the target directory). Makes /data for the
# node's home (on the writable ext4 root filesystem) and, when BR2_PACKAGE_DROPBEAR is on,
# nothing else: keys are made by dropbear at first start. To keep the node's data on a
# partition of its own, add it to the board's genimage config and an /etc/fstab line for
# /data (see buildroot/README.md).
set -eu
TARGET_DIR=$1
install -d -m 0700 "$TARGET_DIR/data"
