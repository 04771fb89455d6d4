#!/usr/bin/env bash
# Screenshots of the real desktop window (Wails + WebKitGTK) under Xvfb with
# 8 virtual phones: the board, a failed phone's drawer, the library (and a
# file added with its file picker), a
# receipt, the "saved" note of a PDF export and window.print()'s GTK dialog.
# The station is prepared through `serve` (setup, 4 APKs, an active list),
# then the window signs in and auto mode installs on every phone.
#   frontend/e2e/desktop-shots.sh build/bin/preload-station artifacts
# Clicks are at fixed points of a 1440x900 window centred on a 1920x1080
# screen (no window manager): re-check them after a layout change.
set -euo pipefail
BIN=$(realpath "${1:-build/bin/preload-station}")
ART=$(realpath -m "${2:-artifacts}")
HERE=$(cd "$(dirname "$0")" && pwd)
for t in Xvfb xdotool import adb curl node; do command -v $t >/dev/null || { echo "desktop-shots: $t missing"; exit 1; }; done
mkdir -p "$ART"
W=$(mktemp -d)
free() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
ADB=$(free); HTTP=$(free); DISP=$((90 + RANDOM % 400))
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 2
  adb -P "$ADB" kill-server >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT
adb -P "$ADB" start-server >/dev/null 2>&1
mkdir "$W/apks"
node -e "import('$HERE/lib/apks.mjs').then(m => { for (const a of m.shopApps) m.buildApk('$W/apks', a) })"

ANDROID_ADB_SERVER_PORT=$ADB "$BIN" serve --data "$W/data" --listen "127.0.0.1:$HTTP" >"$W/serve.log" 2>&1 &
spid=$!
for _ in $(seq 1 50); do curl -s "http://127.0.0.1:$HTTP/" >/dev/null && break; sleep 0.2; done
c() { curl -sf -H 'Content-Type: application/json' -d "{\"service\":\"$1\",\"method\":\"$2\",\"args\":$3}" "http://127.0.0.1:$HTTP/api/call" >/dev/null; }
c StationService Setup '[{"stationName":"华强北 3号店 · Shop 12","adminUsername":"admin","adminPassword":"password1"}]'
for p in com.tencent.mm com.eg.android.AlipayGphone com.ss.android.ugc.aweme org.example.notes; do c LibraryService AddFile "[\"$W/apks/$p.apk\"]"; done
c LibraryService CreateList '["标准装机 Standard"]'
c LibraryService SetListItems '[1,[1,2,3,4]]'
c LibraryService ActivateList '[1]'
kill "$spid"; wait "$spid" || true

Xvfb ":$DISP" -screen 0 1920x1080x24 -nolisten tcp >/dev/null 2>&1 &
pids+=($!)
export DISPLAY=":$DISP" WEBKIT_DISABLE_COMPOSITING_MODE=1 WEBKIT_DISABLE_DMABUF_RENDERER=1 LIBGL_ALWAYS_SOFTWARE=1 GDK_BACKEND=x11 NO_AT_BRIDGE=1
sleep 1
ANDROID_ADB_SERVER_PORT=$ADB "$BIN" --data "$W/data" >"$W/desktop.log" 2>&1 &
pids+=($!)
sleep 9
shot() { import -window root -crop 1440x900+240+90 +repage "$ART/$1"; echo "desktop-shots: $ART/$1"; }
click() { xdotool mousemove "$1" "$2" click 1; sleep "${3:-1.5}"; }
click 1233 514 0.3              # username
xdotool type admin; xdotool key Tab; xdotool type password1; xdotool key Return; sleep 2
"$BIN" sim --phones 8 --adb-port "$ADB" --fault 5:fail=*:INSTALL_FAILED_USER_RESTRICTED >"$W/sim.log" 2>&1 &
pids+=($!)
sleep 25
shot desktop-board.png
click 667 800 2                 # the failed card (2nd row, 1st column)
shot desktop-drawer.png
xdotool key Escape; sleep 0.5
click 345 349                   # Library
shot desktop-library.png
# The file picker: GTK's chooser gives the page a File, which goes to the
# window's asset server in ArrayBuffer pieces (a Blob body crashes WebKitGTK).
click 1530 380 2                # Choose files…
xdotool key ctrl+l; sleep 0.5; xdotool type "$W/apks/com.ss.android.ugc.aweme.apk"; sleep 1; xdotool key Return; sleep 4
shot desktop-library-picked.png
grep -q 'msg=upload file=com.ss.android.ugc.aweme.apk' "$W/desktop.log" || { echo "desktop-shots: the picked file was not uploaded"; tail -40 "$W/desktop.log"; exit 1; }
click 345 284                   # Hub
click 667 536 2                 # first card
click 1455 329 2.5              # Print receipt
shot desktop-receipt.png
click 1515 350 2                # PDF export (saved under data/exports)
shot desktop-receipt-pdf-saved.png
ls "$W/data/exports"/*.pdf >/dev/null || { echo "desktop-shots: no PDF saved"; exit 1; }
click 1417 392 4                # Print → GTK print dialog
import -window root "$ART/desktop-print-dialog.png"
xdotool search --name '^Print$' >/dev/null || { echo "desktop-shots: window.print() opened no print dialog"; exit 1; }
xdotool key Escape
echo "desktop-shots: done"
