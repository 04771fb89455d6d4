#!/usr/bin/env bash
# ci-dist-check.sh: build the installers and prove they work, on the CI machine
# (Debian, root or sudo). Called from .ci/run after `make test`.
#
# Linux .deb  - `apt-get install ./dist/….deb` pulls in its dependencies; the
#               installed /usr/bin/preload-station reports the right --version,
#               opens its window under Xvfb (screenshot not blank, process alive),
#               and `apt-get remove` takes the binary, desktop entry and icons away.
# Windows     - the installer and the app inside it are valid PE files of the
#               right kind (i386 NSIS stub, amd64 GUI app carrying our version
#               resource); 7-Zip's NSIS reader lists the app, the uninstaller and
#               the WebView2 bootstrapper; signed with a throwaway self-signed
#               certificate, `osslsigncode verify` accepts it, and rejects a copy
#               with one byte changed.
#               What the signature check proves: the installer's PE layout is
#               sound enough for Authenticode (its digest can be computed,
#               embedded and recomputed over the whole file, NSIS payload
#               included). It proves nothing about trust: a real release must be
#               signed with a real code-signing certificate (WINDOWS_SIGN_PFX).
#               Nothing here runs the installer: that needs Windows.
#
# Artifacts (screenshot, file lists, logs) go to $ARTIFACTS/dist (default artifacts/dist).
# SKIP_MAKE_DIST=1 checks what is already in dist/ instead of running `make dist`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
ART=${ARTIFACTS:-$ROOT/artifacts}/dist
mkdir -p "$ART"
TMP=$(mktemp -d)
INSTALLED=""
cleanup() {
  # A failed check must not leave the package behind on a developer's machine.
  if [ -n "$INSTALLED" ] && dpkg -s preload-station 2>/dev/null | grep -q '^Status: install ok installed'; then
    $SUDO apt-get remove -y -q preload-station >/dev/null 2>&1 || true
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT

step() { printf '\n== %s %s\n' "$(date -u +%H:%M:%S)" "$*"; }
fail() { printf 'ci-dist-check: FAIL: %s\n' "$*" >&2; exit 1; }

# Tools this check needs beyond `make apt`.
missing=""
for p in p7zip-full:7z osslsigncode:osslsigncode xvfb:xvfb-run imagemagick:import openssl:openssl python3:python3; do
  command -v "${p#*:}" >/dev/null || missing="$missing ${p%%:*}"
done
if [ -n "$missing" ]; then
  step "installing$missing"
  $SUDO apt-get install -y -q $missing
fi

# ---- build -----------------------------------------------------------------
t0=$(date +%s)
if [ "${SKIP_MAKE_DIST:-}" = 1 ]; then
  step "checking the installers already in dist/ (SKIP_MAKE_DIST=1)"
else
  step "make dist"
  make dist
fi
DIST_SECS=$(( $(date +%s) - t0 ))
VERSION=$(bash scripts/dist.sh --print-version)
deb=$(ls dist/preload-station_*_amd64.deb)
setup=$(ls dist/PreloadStation-*-windows-amd64-setup.exe)
(cd dist && sha256sum -c SHA256SUMS) || fail "SHA256SUMS does not match dist/"

# ---- Linux: install, run, remove ------------------------------------------
step "apt-get install ./$deb"
if dpkg -s preload-station >/dev/null 2>&1; then $SUDO apt-get remove -y -q preload-station; fi
INSTALLED=1
$SUDO apt-get install -y -q -o Dpkg::Use-Pty=0 "./$deb"
dpkg -s preload-station | grep -q '^Status: install ok installed' || fail "preload-station is not installed"
[ -x /usr/bin/preload-station ] || fail "/usr/bin/preload-station missing after install"
for f in /usr/share/applications/preload-station.desktop /usr/share/icons/hicolor/256x256/apps/preload-station.png; do
  [ -f "$f" ] || fail "$f missing after install"
done
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate /usr/share/applications/preload-station.desktop || fail "desktop entry is invalid"
fi

got=$(/usr/bin/preload-station --version)
[ "$got" = "preload-station $VERSION" ] || fail "--version printed '$got', want 'preload-station $VERSION'"
echo "version ok: $got"

step "run the installed app under Xvfb"
# A private HOME and data dir: the check never touches anyone's real settings.
# The screen is larger than the window: with no window manager to fit it, a
# window bigger than the screen stays blank in WebKitGTK.
mkdir -p "$TMP/home" "$TMP/data"
cat > "$TMP/shot.sh" <<'EOF'
#!/usr/bin/env bash
# Runs inside xvfb-run: start the app, screenshot until the UI has drawn.
set -u
shot=$1; log=$2; data=$3
HOME=$(dirname "$data")/home PRELOAD_DATA="$data" /usr/bin/preload-station --data "$data" >"$log" 2>&1 &
pid=$!
colours=0
for i in $(seq 1 45); do
  sleep 2
  kill -0 "$pid" 2>/dev/null || { echo "the app exited early (after ~$((i*2))s)"; wait "$pid"; echo "exit code $?"; exit 1; }
  import -window root "$shot" 2>/dev/null || continue
  colours=$(convert "$shot" -format %k info:)
  # Bare Xvfb is one colour; an empty window adds one or two. Rendered UI
  # (antialiased text, icons) has hundreds.
  if [ "$colours" -ge 64 ]; then
    sleep 3   # let the first data load settle, then take the picture we keep
    import -window root "$shot"; colours=$(convert "$shot" -format %k info:)
    break
  fi
done
alive=yes; kill -0 "$pid" 2>/dev/null || alive=no
kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
echo "colours=$colours alive=$alive"
[ "$colours" -ge 64 ] && [ "$alive" = yes ]
EOF
if ! xvfb-run -a -s "-screen 0 1920x1080x24" bash "$TMP/shot.sh" "$ART/deb-app-screenshot.png" "$ART/deb-app.log" "$TMP/data"; then
  tail -30 "$ART/deb-app.log" >&2 || true
  fail "the installed app did not show its window under Xvfb (see $ART/deb-app-screenshot.png, $ART/deb-app.log)"
fi
echo "screenshot: $ART/deb-app-screenshot.png"

step "apt-get remove preload-station"
$SUDO apt-get remove -y -q -o Dpkg::Use-Pty=0 preload-station
[ ! -e /usr/bin/preload-station ] || fail "/usr/bin/preload-station still there after remove"
for f in /usr/share/applications/preload-station.desktop /usr/share/icons/hicolor/256x256/apps/preload-station.png; do
  [ ! -e "$f" ] || fail "$f still there after remove"
done
if dpkg -s preload-station 2>/dev/null | grep -q '^Status: install ok installed'; then fail "dpkg still lists preload-station as installed"; fi
echo "removed cleanly"

# ---- Windows: PE, contents, signature --------------------------------------
step "check $setup"
python3 build/windows/pecheck.py "$setup" --machine i386 --gui --rsrc-string "$VERSION"
7z l -slt "$setup" > "$ART/windows-installer-files.txt"
grep '^Path = ' "$ART/windows-installer-files.txt" | sed 's/^Path = //' | tee "$TMP/paths"
for want in preload-station.exe uninstall.exe '$PLUGINSDIR/webview2bootstrapper/MicrosoftEdgeWebview2Setup.exe'; do
  grep -qxF "$want" "$TMP/paths" || fail "installer file list lacks $want"
done
7z e -y -o"$TMP/x" "$setup" preload-station.exe >/dev/null
python3 build/windows/pecheck.py "$TMP/x/preload-station.exe" --machine amd64 --gui \
  --rsrc-string "$VERSION" --rsrc-string "Preload Station"
# The installer ships one .exe: it must need no MinGW runtime DLLs
# (libwinpthread-1.dll, libgcc_s_seh-1.dll…) that a shop PC would not have.
if command -v x86_64-w64-mingw32-objdump >/dev/null; then
  dlls=$(x86_64-w64-mingw32-objdump -p "$TMP/x/preload-station.exe" | sed -n 's/^\s*DLL Name: //p' | sort -u | tr '\n' ' ')
  echo "imports: $dlls"
  case " ${dlls,,}" in *" lib"*) fail "preload-station.exe needs non-system DLLs: $dlls" ;; esac
fi

step "sign with a throwaway certificate and verify"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=Preload Station CI throwaway" \
  -addext "extendedKeyUsage=codeSigning" -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null
osslsigncode sign -certs "$TMP/cert.pem" -key "$TMP/key.pem" -n "Preload Station" -h sha256 \
  -in "$setup" -out "$TMP/signed.exe" >/dev/null
osslsigncode verify -CAfile "$TMP/cert.pem" -in "$TMP/signed.exe" > "$ART/windows-signature.txt" 2>&1 \
  || { cat "$ART/windows-signature.txt" >&2; fail "osslsigncode verify rejected the signed installer"; }
grep -q 'Signature verification: ok' "$ART/windows-signature.txt" || fail "no 'Signature verification: ok'"
python3 build/windows/pecheck.py "$TMP/signed.exe" --machine i386 --gui
# The check must be able to fail: one changed byte in the payload breaks the digest.
cp "$TMP/signed.exe" "$TMP/tampered.exe"
off=$(( $(stat -c %s "$setup") / 2 ))
orig=$(od -An -tu1 -j "$off" -N1 "$TMP/tampered.exe" | tr -d ' ')
printf "$(printf '\\%03o' $(( (orig + 1) % 256 )))" | dd of="$TMP/tampered.exe" bs=1 seek="$off" conv=notrunc status=none
if osslsigncode verify -CAfile "$TMP/cert.pem" -in "$TMP/tampered.exe" >/dev/null 2>&1; then
  fail "osslsigncode verify accepted a tampered installer"
fi
echo "signature ok; tampered copy rejected"

step "summary"
{
  echo "version $VERSION; make dist took ${DIST_SECS}s"
  ls -l --block-size=K dist/*.deb dist/*-setup.exe
} | tee "$ART/summary.txt"
echo "ci-dist-check: OK"
