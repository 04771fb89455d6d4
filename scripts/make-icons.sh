#!/usr/bin/env bash
# make-icons.sh draws the Preload Station app icon with ImageMagick and writes
# every size the packages need. The outputs are committed, so a build never
# needs ImageMagick; run this again only when the design changes.
#
#   build/appicon.png               1024x1024 master (Wails' conventional name)
#   build/icons/<N>x<N>.png         hicolor sizes for the Linux desktop entry
#   build/windows/icon.ico          16..256 px, embedded in the .exe and installer
#
# Design: a stack of phones on a teal-to-blue tile; the front phone shows a
# download arrow into a tray (apps going onto many phones at once).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v convert >/dev/null || { echo "make-icons: ImageMagick 'convert' is needed" >&2; exit 1; }

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
S=1024

# Tile: a diagonal gradient square; the rounded corners are cut at the end so
# the shadow is clipped with everything else.
convert -size ${S}x${S} xc: -sparse-color barycentric "0,0 #22c3a6 $((S-1)),$((S-1)) #1d4fd8" "$tmp/grad.png"
convert -size ${S}x${S} xc:none -fill white -draw "roundrectangle 40,40 983,983 200,200" "$tmp/mask.png"

# One phone: body, screen, speaker slit, home dot. Drawn once, placed three times.
phone() { # out fill-body fill-screen
  convert -size 380x660 xc:none \
    -fill "$2" -draw "roundrectangle 0,0 379,659 60,60" \
    -fill "$3" -draw "roundrectangle 26,70 353,589 22,22" \
    -fill "$3" -draw "roundrectangle 145,30 234,42 6,6" \
    -fill "$3" -draw "circle 190,624 190,639" "$1"
}
phone "$tmp/back.png"  'rgba(255,255,255,0.35)' 'rgba(255,255,255,0.20)'
phone "$tmp/mid.png"   'rgba(255,255,255,0.62)' 'rgba(255,255,255,0.40)'
phone "$tmp/front.png" '#ffffff' '#e6f4ff'

# Download arrow into a tray on the front phone's screen.
convert "$tmp/front.png" \
  -fill '#1d4fd8' -draw "roundrectangle 160,160 220,380 20,20" \
  -fill '#1d4fd8' -draw "polygon 92,345 288,345 190,465" \
  -fill '#22c3a6' -draw "roundrectangle 85,500 295,536 18,18" \
  "$tmp/front.png"

# Soft shadow under the front phone (-shadow pads by 2*sigma on each side).
convert "$tmp/front.png" -background black -shadow 40x16+0+12 "$tmp/shadow.png"

convert "$tmp/grad.png" \
  "$tmp/back.png"   -geometry +422+132 -composite \
  "$tmp/mid.png"    -geometry +322+182 -composite \
  "$tmp/shadow.png" -geometry +$((222-32))+$((232-32+12)) -composite \
  "$tmp/front.png"  -geometry +222+232 -composite \
  "$tmp/mask.png" -compose DstIn -composite \
  -depth 8 -strip build/appicon.png

mkdir -p build/icons build/windows
for n in 16 24 32 48 64 128 256 512; do
  convert build/appicon.png -filter Lanczos -resize ${n}x${n} -depth 8 -strip "build/icons/${n}x${n}.png"
done
cp build/appicon.png build/icons/1024x1024.png
convert build/icons/16x16.png build/icons/24x24.png build/icons/32x32.png build/icons/48x48.png \
  build/icons/64x64.png build/icons/128x128.png build/icons/256x256.png build/windows/icon.ico
echo "make-icons: wrote build/appicon.png, build/icons/*.png, build/windows/icon.ico"
