#!/usr/bin/env bash
# Desktop smoke test: the real desktop binary under Xvfb with a temp data dir.
# Passes when a screenshot shows the app's first-run setup screen (not a blank
# window) and the app then exits cleanly on SIGTERM.
#   scripts/desktop-smoke.sh build/bin/preload-station artifacts
set -euo pipefail
BIN=$(realpath "${1:-build/bin/preload-station}")
ART=$(realpath -m "${2:-artifacts}")
TIMEOUT=${SMOKE_TIMEOUT:-60}
mkdir -p "$ART"
for tool in xvfb-run import convert; do
  command -v "$tool" >/dev/null || { echo "smoke: $tool is missing (apt-get install xvfb imagemagick)"; exit 1; }
done
[ -x "$BIN" ] || { echo "smoke: $BIN not built (make build)"; exit 1; }

DATA=$(mktemp -d)
# The station starts an adb server when none answers: a private port, stopped at the end.
export ANDROID_ADB_SERVER_PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
trap 'adb -P "$ANDROID_ADB_SERVER_PORT" kill-server >/dev/null 2>&1; rm -rf "$DATA"' EXIT

# Inside the X server: start the app, screenshot until it has drawn, stop it.
cat >"$DATA/inner.sh" <<'INNER'
set -uo pipefail
BIN=$1; ART=$2; DATA=$3; TIMEOUT=$4
# Software rendering: Xvfb has no GPU, and WebKit's compositor draws nothing without one.
export WEBKIT_DISABLE_COMPOSITING_MODE=1 WEBKIT_DISABLE_DMABUF_RENDERER=1 LIBGL_ALWAYS_SOFTWARE=1
export GDK_BACKEND=x11 NO_AT_BRIDGE=1
"$BIN" --data "$DATA/station" >"$ART/desktop-smoke.log" 2>&1 &
pid=$!
shot="$ART/desktop-smoke.png"
colours=0; accent=0
for i in $(seq 1 "$TIMEOUT"); do
  sleep 1
  if ! kill -0 $pid 2>/dev/null; then echo "smoke: the app exited early:"; cat "$ART/desktop-smoke.log"; exit 1; fi
  import -window root "$shot" 2>/dev/null || continue
  colours=$(convert "$shot" -format %k info:)
  # The setup screen's primary button is the accent colour (light or dark theme).
  # Paint accent pixels red, everything else black, then count the red ones.
  accent=$(convert "$shot" -fuzz 4% -fill '#FF0000' -opaque '#0B5FD1' -opaque '#4C9AFF' \
    -fuzz 0 -fill black +opaque '#FF0000' -fill white -opaque '#FF0000' -colorspace Gray \
    -format '%[fx:int(mean*w*h+0.5)]' info:)
  if [ "$colours" -gt 200 ] && [ "$accent" -gt 10000 ]; then break; fi
done
echo "smoke: after ${i}s: $colours distinct colours, $accent accent-coloured pixels"
kill -TERM $pid
for _ in $(seq 1 15); do kill -0 $pid 2>/dev/null || break; sleep 1; done
if kill -0 $pid 2>/dev/null; then echo "smoke: the app did not exit within 15 s of SIGTERM"; kill -KILL $pid; exit 1; fi
wait $pid; rc=$?
[ "$rc" = 0 ] || { echo "smoke: the app exited with $rc after SIGTERM"; cat "$ART/desktop-smoke.log"; exit 1; }
[ "$colours" -gt 200 ] || { echo "smoke: the window looks blank ($colours colours)"; exit 1; }
[ "$accent" -gt 10000 ] || { echo "smoke: the setup screen is not showing (no primary button)"; exit 1; }
grep -q "station closed" "$ART/desktop-smoke.log" || { echo "smoke: the store was not closed on exit"; cat "$ART/desktop-smoke.log"; exit 1; }
[ -s "$DATA/station/station.db" ] || { echo "smoke: no database in the data dir"; exit 1; }
exit 0
INNER

if xvfb-run -a -s "-screen 0 1920x1080x24 -nolisten tcp" bash "$DATA/inner.sh" "$BIN" "$ART" "$DATA" "$TIMEOUT"; then
  echo "smoke: 1 passed, 0 failed (screenshot: $ART/desktop-smoke.png)"
else
  echo "smoke: 0 passed, 1 failed (screenshot: $ART/desktop-smoke.png, log: $ART/desktop-smoke.log)"
  exit 1
fi
