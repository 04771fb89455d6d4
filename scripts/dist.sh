#!/usr/bin/env bash
# dist.sh builds the installers into dist/ (run by `make dist`, after the frontend
# and the phone agents are built):
#   dist/preload-station_<ver>_amd64.deb                 Linux, nfpm (pinned below)
#   dist/PreloadStation-<ver>-windows-amd64-setup.exe    Windows, NSIS (Debian's makensis)
#   dist/SHA256SUMS
#
# Version: $VERSION if set, else an exact git tag on HEAD (v1.2.3 -> 1.2.3), else the
# VERSION file, else `git describe`, else "dev".
#
# Environment (all optional):
#   LINUX_BIN / WINDOWS_EXE   package these prebuilt binaries instead of building
#   WINDOWS_SIGN_PFX (+ WINDOWS_SIGN_PASS)  sign the .exe and the installer with this
#                             PKCS#12 certificate (osslsigncode); unsigned otherwise
#   WINDOWS_SIGN_TIMESTAMP    RFC 3161 timestamp URL for that signature
#   SKIP_WINDOWS=1 / SKIP_LINUX=1   build only one of the two
#
# `dist.sh --print-version` prints the version it would use and exits.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

NFPM="github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.43.0"
GO=${GO:-go}
TAGS_LINUX=desktop,production,webkit2_41
TAGS_WINDOWS=desktop,production
MINGW_CC=${MINGW_CC:-x86_64-w64-mingw32-gcc}
WINDRES=${WINDRES:-x86_64-w64-mingw32-windres}

say() { printf '%s dist: %s\n' "$(date -u +%H:%M:%S)" "$*"; }
die() { printf 'dist: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || die "'$1' is missing: $2"; }

# ---- version -------------------------------------------------------------
if [ -z "${VERSION:-}" ]; then
  if tag=$(git describe --tags --exact-match 2>/dev/null); then VERSION=${tag#v}
  elif [ -s VERSION ]; then VERSION=$(tr -d ' \n\r' < VERSION)
  elif d=$(git describe --tags 2>/dev/null); then VERSION=${d#v}
  else VERSION=dev; fi
fi
VERSION=${VERSION#v}
# Windows wants a numeric a.b.c(.d); Debian wants a leading digit.
NUMVER=$(printf '%s' "$VERSION" | grep -oE '^[0-9]+(\.[0-9]+){0,2}' || true)
[ -n "$NUMVER" ] || NUMVER=0.0.0
while [ "$(printf '%s' "$NUMVER" | tr -cd . | wc -c)" -lt 2 ]; do NUMVER=$NUMVER.0; done
case $VERSION in [0-9]*) DEB_VERSION=$VERSION ;; *) DEB_VERSION=0.0.0~$VERSION ;; esac
# git describe's 0.1.0-3-gabc sorts after 0.1.0 (+); a pre-release 0.1.0-rc1 before it (~).
DEB_VERSION=$(printf '%s' "$DEB_VERSION" | sed -E 's/-([0-9]+)-g([0-9a-f]+)$/+\1.g\2/; s/-/~/')
export DEB_VERSION
if [ "${1:-}" = --print-version ]; then echo "$VERSION"; exit 0; fi
say "version $VERSION (windows $NUMVER.0, deb $DEB_VERSION)"

OUT=$ROOT/dist
STAGE=$OUT/.stage
rm -rf "$STAGE"
mkdir -p "$STAGE/linux" "$STAGE/windows"
rm -f "$OUT"/*.deb "$OUT"/*-setup.exe "$OUT"/SHA256SUMS
LDFLAGS="-s -w -X main.version=$VERSION"
T0=$(date +%s)
declare -a built=()

sign_exe() { # file: sign in place when a certificate is configured
  [ -n "${WINDOWS_SIGN_PFX:-}" ] || return 0
  need osslsigncode "apt-get install osslsigncode"
  local ts=()
  [ -z "${WINDOWS_SIGN_TIMESTAMP:-}" ] || ts=(-ts "$WINDOWS_SIGN_TIMESTAMP")
  osslsigncode sign -pkcs12 "$WINDOWS_SIGN_PFX" -pass "${WINDOWS_SIGN_PASS:-}" \
    -n "Preload Station" -h sha256 "${ts[@]}" -in "$1" -out "$1.signed"
  mv "$1.signed" "$1"
}

# ---- Linux ---------------------------------------------------------------
if [ "${SKIP_LINUX:-}" != 1 ]; then
  t=$(date +%s)
  if [ -n "${LINUX_BIN:-}" ]; then
    cp "$LINUX_BIN" "$STAGE/linux/preload-station"
  else
    say "building linux/amd64 binary"
    "$GO" build -tags "$TAGS_LINUX" -ldflags "$LDFLAGS" -o "$STAGE/linux/preload-station" .
  fi
  chmod 755 "$STAGE/linux/preload-station"
  say "packaging .deb with nfpm"
  "$GO" run "$NFPM" pkg --config build/linux/nfpm.yaml --packager deb --target "$OUT/"
  deb=$(ls "$OUT"/preload-station_*_amd64.deb)
  built+=("$deb")
  say "linux done in $(( $(date +%s) - t ))s: $(basename "$deb")"
fi

# ---- Windows -------------------------------------------------------------
if [ "${SKIP_WINDOWS:-}" != 1 ]; then
  t=$(date +%s)
  need makensis "apt-get install nsis"
  W=$STAGE/windows
  exe=$W/preload-station.exe
  if [ -n "${WINDOWS_EXE:-}" ]; then
    cp "$WINDOWS_EXE" "$exe"
  else
    need "$MINGW_CC" "apt-get install gcc-mingw-w64-x86-64"
    need "$WINDRES" "apt-get install binutils-mingw-w64-x86-64"
    # Icon (group id 3, which Wails loads for the window), manifest and version
    # info, compiled to a COFF .syso the Go linker links into the .exe.
    cp build/windows/icon.ico "$W/icon.ico"
    sed "s/{{.Info.ProductVersion}}/$NUMVER/g" build/windows/wails.exe.manifest > "$W/wails.exe.manifest.out"
    sed -e "s/@VERSION_COMMA@/${NUMVER//./,},0/g" -e "s/@VERSION@/$VERSION/g" build/windows/app.rc.in > "$W/app.rc"
    (cd "$W" && "$WINDRES" --codepage=65001 -O coff -i app.rc -o rsrc_windows_amd64.syso)
    # The .syso must sit in the main package's directory for this build only
    # (`go build -overlay` cannot add .syso files). Its _windows_amd64 suffix keeps
    # every other build from seeing it meanwhile; the trap removes it.
    syso=$ROOT/zz_dist_rsrc_windows_amd64.syso
    trap 'rm -f "$syso"' EXIT
    cp "$W/rsrc_windows_amd64.syso" "$syso"
    say "cross-building windows/amd64 binary (cgo, mingw-w64)"
    CGO_ENABLED=1 CC="$MINGW_CC" GOOS=windows GOARCH=amd64 \
      "$GO" build -tags "$TAGS_WINDOWS" -ldflags "-H windowsgui $LDFLAGS" -o "$exe" .
    rm -f "$syso"
  fi
  sign_exe "$exe"

  # Stage the NSIS project as `wails build --nsis` lays it out: installer/,
  # ../icon.ico, and installer/tmp/ with the WebView2 bootstrapper from the Wails module.
  mkdir -p "$W/nsis/installer/tmp"
  cp build/windows/installer/* "$W/nsis/installer/"
  cp build/windows/icon.ico "$W/nsis/icon.ico"
  wails_dir=$("$GO" list -m -f '{{.Dir}}' github.com/wailsapp/wails/v2)
  [ -n "$wails_dir" ] && [ -d "$wails_dir" ] || { "$GO" mod download github.com/wailsapp/wails/v2; wails_dir=$("$GO" list -m -f '{{.Dir}}' github.com/wailsapp/wails/v2); }
  cp "$wails_dir/internal/webview2runtime/MicrosoftEdgeWebview2Setup.exe" "$W/nsis/installer/tmp/"
  setup=$OUT/PreloadStation-$VERSION-windows-amd64-setup.exe
  say "building the NSIS installer"
  makensis -V2 -INPUTCHARSET UTF8 \
    -DINFO_PRODUCTVERSION="$NUMVER" -DINFO_VERSION_TEXT="$VERSION" \
    -DARG_WAILS_AMD64_BINARY="$exe" -DOUTFILE="$setup" \
    "$W/nsis/installer/project.nsi"
  sign_exe "$setup"
  built+=("$setup")
  say "windows done in $(( $(date +%s) - t ))s: $(basename "$setup")"
fi

# ---- checksums -----------------------------------------------------------
[ ${#built[@]} -gt 0 ] || die "nothing built"
(cd "$OUT" && for f in "${built[@]}"; do sha256sum "$(basename "$f")"; done > SHA256SUMS)
rm -rf "$STAGE"
say "all done in $(( $(date +%s) - T0 ))s:"
(cd "$OUT" && ls -l --block-size=K "${built[@]##*/}" SHA256SUMS)
