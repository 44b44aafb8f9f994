################################################################################
#
# leither
#
# From source (default): Buildroot's cargo-package infrastructure on a local copy of the
# repository this tree lives in (LEITHER_SITE_METHOD = local). Buildroot vendors the crates
# of Cargo.lock when it prepares the source, so that step needs crates.io once.
# BR2_PACKAGE_LEITHER_PREBUILT: install leither-<triple> from a directory of binaries made
# by targets/build.sh (static musl: runs on any libc Buildroot picks).
#
################################################################################

LEITHER_VERSION = 0.1.0
LEITHER_LICENSE = MIT or Apache-2.0
LEITHER_HOME = $(call qstrip,$(BR2_PACKAGE_LEITHER_HOME))

ifeq ($(BR2_PACKAGE_LEITHER_PREBUILT),y)

LEITHER_SITE = $(call qstrip,$(BR2_PACKAGE_LEITHER_PREBUILT_DIR))
LEITHER_SITE_METHOD = local
LEITHER_TRIPLE = $(strip \
	$(if $(BR2_aarch64),aarch64-unknown-linux-musl) \
	$(if $(BR2_arm),armv7-unknown-linux-musleabihf) \
	$(if $(BR2_mipsel),mipsel-unknown-linux-musl) \
	$(if $(BR2_mips),mips-unknown-linux-musl) \
	$(if $(BR2_x86_64),x86_64-unknown-linux-musl))

define LEITHER_INSTALL_TARGET_CMDS
	test -f $(@D)/leither-$(LEITHER_TRIPLE) || \
		{ echo "leither: no $(@D)/leither-$(LEITHER_TRIPLE): run targets/build.sh" >&2; exit 1; }
	$(INSTALL) -D -m 0755 $(@D)/leither-$(LEITHER_TRIPLE) $(TARGET_DIR)/usr/bin/leither
endef

else

LEITHER_SITE = $(BR2_EXTERNAL_LEITHER_PATH)/..
LEITHER_SITE_METHOD = local
LEITHER_LICENSE_FILES =
# keep the copy small: no build output or release files
LEITHER_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = --exclude target --exclude dist --exclude fuzz/target

endif

define LEITHER_INSTALL_INIT_SYSV
	$(INSTALL) -D -m 0755 $(LEITHER_PKGDIR)/S99leither $(TARGET_DIR)/etc/init.d/S99leither
	$(SED) 's|^HOME_DIR=.*|HOME_DIR=$(LEITHER_HOME)|; s|^PORT=.*|PORT=$(BR2_PACKAGE_LEITHER_PORT)|' \
		$(TARGET_DIR)/etc/init.d/S99leither
endef

ifeq ($(BR2_PACKAGE_LEITHER_PREBUILT),y)
$(eval $(generic-package))
else
$(eval $(cargo-package))
endif
