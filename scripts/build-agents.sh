#!/usr/bin/env bash
# Builds the phone agent for every ABI the station serves into backend/agent/bin/,
# which backend/agent embeds. Static (CGO_ENABLED=0), stripped, reproducible paths.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
OUT=backend/agent/bin
VERSION=${VERSION:-$(cat VERSION 2>/dev/null || echo dev)}
mkdir -p "$OUT"
# name goos goarch goarm
targets=(
  "android-arm64 android arm64 "
  "linux-arm linux arm 7"
  "linux-386 linux 386 "
  "linux-amd64 linux amd64 "
)
for t in "${targets[@]}"; do
  read -r name goos goarch goarm <<<"$t"
  CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch GOARM=${goarm:-} $GO build -trimpath \
    -ldflags "-s -w -X preloadstation/backend/phone.Version=$VERSION" \
    -o "$OUT/preload-agent-$name.tmp" ./cmd/preload-agent
  mv -f "$OUT/preload-agent-$name.tmp" "$OUT/preload-agent-$name"
done
ls -l "$OUT" | awk 'NR>1 {printf "agent %-28s %8.1f KiB\n", $9, $5/1024}'
