# BR2_EXTERNAL tree of leither: the packages' makefiles
include $(sort $(wildcard $(BR2_EXTERNAL_LEITHER_PATH)/package/*/*.mk))
