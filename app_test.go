package main

import (
	"context"
	"path/filepath"
	"testing"
)

func TestResolveDataDir(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg) // os.UserConfigDir on Linux; never the real one
	t.Setenv(dataDirEnv, "")
	got, err := resolveDataDir("")
	if err != nil || got != filepath.Join(cfg, "PreloadStation") {
		t.Fatalf("default: %q %v", got, err)
	}
	env := filepath.Join(t.TempDir(), "from-env")
	t.Setenv(dataDirEnv, env)
	if got, _ = resolveDataDir(""); got != env {
		t.Fatalf("env: %q, want %q", got, env)
	}
	flag := filepath.Join(t.TempDir(), "from-flag")
	if got, _ = resolveDataDir(flag); got != flag {
		t.Fatalf("flag: %q, want %q", got, flag)
	}
}

func TestAppLifecycle(t *testing.T) {
	dir := t.TempDir()
	app, err := NewApp(context.Background(), appConfig{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	st, err := app.Services.Station.Status()
	if err != nil || st.SetUp {
		t.Fatalf("status %+v %v", st, err)
	}
	if len(app.Services.Bindings()) < 3 {
		t.Fatal("services not bound")
	}
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	if err := app.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Shutdown really closed things: calls now fail instead of touching a closed DB.
	if _, err := app.Services.Station.Status(); err == nil {
		t.Fatal("service call after Close succeeded")
	}
	// The database can be opened again at once (no lock left behind).
	app2, err := NewApp(context.Background(), appConfig{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	app2.Close()
}

func TestFrontendEmbedded(t *testing.T) {
	assets, err := frontendAssets()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := assets.Open("index.html"); err != nil {
		t.Fatal(err)
	}
}
