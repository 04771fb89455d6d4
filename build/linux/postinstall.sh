#!/bin/sh
# postinstall for the preload-station .deb (nfpm). Refresh menus and icons, and
# let udev apply the phone rules android-sdk-platform-tools-common just installed.
set -e
if command -v update-desktop-database >/dev/null 2>&1; then
  update-desktop-database -q /usr/share/applications || true
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -d /usr/share/icons/hicolor ]; then
  gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor || true
fi
if command -v udevadm >/dev/null 2>&1 && [ -d /run/udev ]; then
  udevadm control --reload-rules >/dev/null 2>&1 || true
  udevadm trigger --subsystem-match=usb --action=add >/dev/null 2>&1 || true
fi
cat <<'MSG'
Preload Station is installed. For USB phones, add your user to the plugdev group,
then log out and back in:   sudo usermod -aG plugdev "$USER"
预装工作站已安装。使用 USB 手机前，请把当前用户加入 plugdev 组，然后注销并重新登录：
    sudo usermod -aG plugdev "$USER"
MSG
exit 0
