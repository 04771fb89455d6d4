#!/bin/sh
# postremove for the preload-station .deb (nfpm). Refresh menus and icons.
# User data (~/.local/share/… or the --data folder) is never touched: it belongs to the user.
set -e
if command -v update-desktop-database >/dev/null 2>&1; then
  update-desktop-database -q /usr/share/applications || true
fi
if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -d /usr/share/icons/hicolor ]; then
  gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor || true
fi
exit 0
