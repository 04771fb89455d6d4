# Preload Station. `make run` and `make test` are all a fresh Debian/Ubuntu machine needs.
SHELL := /bin/bash
.DEFAULT_GOAL := build

VERSION ?= $(shell cat VERSION 2>/dev/null || git describe --tags --always 2>/dev/null || echo dev)
GO      ?= go
TAGS    := desktop,production,webkit2_41
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := build/bin/preload-station
ART     := artifacts
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# System packages the build, the app and the tests need (Debian/Ubuntu names).
APT_PKGS := build-essential pkg-config git ca-certificates \
	libgtk-3-dev libwebkit2gtk-4.1-dev adb aapt apksigner android-framework-res \
	xvfb xauth imagemagick chromium poppler-utils postgresql fonts-noto-cjk \
	qemu-user-static gcc-mingw-w64-x86-64 nsis

.PHONY: deps apt npm frontend agents build run serve bindings demo test vet gotest vitest e2e smoke bench fuzz dist clean

# ---- setup ---------------------------------------------------------------
# Node.js comes from apt only when there is none: a NodeSource nodejs already
# ships npm and conflicts with Debian's npm package.
apt:
	@missing=$$(for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	command -v node >/dev/null || missing="$$missing nodejs"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then echo "installing: $$missing"; \
	  $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y $$missing; fi
	@command -v go >/dev/null || { echo "Go 1.26+ is needed: https://go.dev/dl/"; exit 1; }
	@node -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<20||(a===20&&b<19)) { console.error("Node.js 20.19+ is needed (Vite 7); found "+process.version); process.exit(1) }'

frontend/node_modules/.stamp: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

npm: frontend/node_modules/.stamp

deps: apt npm

# ---- build ---------------------------------------------------------------
# The built frontend is embedded in the binary (app.go); rebuilt when its sources change.
FRONTEND_SRC := $(shell find frontend/src frontend/wailsjs -type f 2>/dev/null) frontend/index.html frontend/vite.config.ts frontend/svelte.config.js frontend/tsconfig.json
frontend/dist/index.html: frontend/node_modules/.stamp $(FRONTEND_SRC)
	cd frontend && npm run build

frontend: frontend/dist/index.html

# The phone agent builds backend/agent embeds; rebuilt only when its sources change.
AGENT_SRC := $(shell find cmd/preload-agent backend/phone backend/agent/wire backend/sim/simos -name '*.go' ! -name '*_test.go' 2>/dev/null) go.mod scripts/build-agents.sh VERSION
backend/agent/bin/.stamp: $(AGENT_SRC)
	bash scripts/build-agents.sh
	touch $@

agents: backend/agent/bin/.stamp

build: frontend agents
	$(GO) build -tags $(TAGS) -ldflags "$(LDFLAGS)" -o $(BIN) .

# The desktop window when there is a display; otherwise the same UI over HTTP
# (serve prints the URL to open).
run: deps build
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then echo "Starting Preload Station…"; exec ./$(BIN); \
	else echo "No display: starting the station UI for a browser instead."; exec ./$(BIN) serve; fi

serve: build
	./$(BIN) serve

# Demo: 8 virtual phones on a private adb server (not your phones on 5037),
# then the station UI on http://127.0.0.1:8620/ using that server, with its own
# data dir (artifacts/demo-data) so it never touches your real station.
DEMO_ADB_PORT ?= 5039
DEMO_PHONES   ?= 8
DEMO_DATA     ?= $(ART)/demo-data
demo: build
	@export ANDROID_ADB_SERVER_PORT=$(DEMO_ADB_PORT); \
	./$(BIN) sim --phones $(DEMO_PHONES) --hubs 2 --profile mixed --control 127.0.0.1:8630 & sim=$$!; \
	trap 'kill $$sim 2>/dev/null; wait $$sim; adb -P $(DEMO_ADB_PORT) kill-server' EXIT INT TERM; \
	sleep 2; ./$(BIN) serve --data $(DEMO_DATA)

# Regenerate frontend/wailsjs after changing a bound service's methods (the
# result is committed, so a fresh clone does not need this).
bindings: frontend agents
	d=$$(mktemp -d); PRELOAD_DATA=$$d $(GO) run github.com/wailsapp/wails/v2/cmd/wails@v2.11.0 generate module -tags $(TAGS); rc=$$?; rm -rf $$d; exit $$rc

# ---- test ----------------------------------------------------------------
test: deps frontend agents vet gotest vitest e2e smoke

vet: agents frontend
	$(GO) vet -tags $(TAGS) ./...
	cd frontend && npx svelte-check --tsconfig ./tsconfig.json --fail-on-warnings

gotest: agents frontend
	$(GO) test -race -tags $(TAGS) -timeout 20m ./...

vitest: npm
	cd frontend && npx vitest run

e2e: build
	mkdir -p $(ART)
	cd frontend && PRELOAD_BIN=$(CURDIR)/$(BIN) ARTIFACTS=$(CURDIR)/$(ART) node e2e/run.mjs
	cd frontend && PRELOAD_BIN=$(CURDIR)/$(BIN) ARTIFACTS=$(CURDIR)/$(ART) node e2e/phones.mjs

smoke: build
	mkdir -p $(ART)
	bash scripts/desktop-smoke.sh $(BIN) $(ART)

bench: frontend agents
	mkdir -p $(ART)
	$(GO) test -tags $(TAGS) -run '^$$' -bench . -benchtime 1x -timeout 120m ./... | tee $(ART)/bench.txt

fuzz: agents
	@for t in $$(grep -rl --include='*_test.go' '^func Fuzz' backend | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' $$t/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "== $$t $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-20s} ./$$t || exit 1; done; done

# ---- installers ------------------------------------------------------------
# dist/: Windows NSIS installer + Linux .deb + SHA256SUMS (scripts/dist.sh; docs/install.md).
dist: frontend agents
	bash scripts/dist.sh

clean:
	rm -rf build/bin frontend/dist $(ART) dist
