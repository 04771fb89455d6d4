package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"preloadstation/backend/events"
	"preloadstation/backend/services"
	"preloadstation/backend/station"
	"preloadstation/backend/store"
)

// The built frontend (make frontend). Both the window and `serve` show it.
//
//go:embed all:frontend/dist
var frontendDist embed.FS

func frontendAssets() (fs.FS, error) {
	sub, err := fs.Sub(frontendDist, "frontend/dist")
	if err != nil {
		return nil, err
	}
	if _, err := fs.Stat(sub, "index.html"); err != nil {
		return nil, errors.New("this binary was built without the frontend: run `make build`")
	}
	return sub, nil
}

// dataDirEnv overrides the data directory, like --data.
const dataDirEnv = "PRELOAD_DATA"

// resolveDataDir picks the data directory: --data, then $PRELOAD_DATA, then
// os.UserConfigDir()/PreloadStation.
func resolveDataDir(flagValue string) (string, error) {
	dir := flagValue
	if dir == "" {
		dir = os.Getenv(dataDirEnv)
	}
	if dir == "" {
		cfg, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("no --data given and no user config dir: %w", err)
		}
		dir = filepath.Join(cfg, "PreloadStation")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return "", fmt.Errorf("create data dir: %w", err)
	}
	return abs, nil
}

// App owns everything the station runs: the store, the event fan-out and the
// bound services. It is not bound to the frontend itself; its services are.
type App struct {
	DataDir  string
	Log      *slog.Logger
	Store    *store.Store
	Services *services.Set
	// Station is the domain: phones, agents, installs, library, outbox.
	Station *station.Station

	ctx         context.Context // the app's lifetime; Close cancels it
	cancel      context.CancelFunc
	startOnce   sync.Once
	stationDone chan struct{} // closed when Station.Serve has returned; nil until Start
	closeOnce   sync.Once
	closeErr    error
}

// appConfig is what main hands to NewApp.
type appConfig struct {
	DataDir string
	Log     *slog.Logger
	Emit    events.Emitter // the window's emitter, the SSE broadcaster, or both
}

// NewApp opens the store in cfg.DataDir and builds the services. Close (or
// Shutdown) releases them.
func NewApp(parent context.Context, cfg appConfig) (*App, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	if cfg.Emit == nil {
		cfg.Emit = events.Nop{}
	}
	st, err := store.Open(parent, filepath.Join(cfg.DataDir, "station.db"))
	if err != nil {
		return nil, err
	}
	// The app context outlives single calls and is cancelled by Close, which
	// stops every service call still running before the store closes.
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	stn, err := station.New(ctx, station.Config{DataDir: cfg.DataDir, Store: st, Emit: cfg.Emit, Log: cfg.Log})
	if err != nil {
		cancel()
		st.Close()
		return nil, err
	}
	set := services.New(services.Deps{
		Context: ctx,
		Store:   st,
		Emit:    cfg.Emit,
		Log:     cfg.Log,
		Version: version,
		DataDir: cfg.DataDir,

		Devices:     stn.Devices(),
		Agents:      stn.Agents(),
		AgentConfig: stn.Configurator(),
		Engine:      stn.Engine(),
		Library:     stn.Library(),
		Catalog:     stn.Catalog(),
	})
	stn.SetOperator(func() string {
		if u := set.Session.User(); u != nil {
			return u.Username
		}
		return ""
	})
	cfg.Log.Info("station data", "dir", cfg.DataDir, "version", version)
	return &App{DataDir: cfg.DataDir, Log: cfg.Log, Store: st, Services: set, Station: stn, ctx: ctx, cancel: cancel}, nil
}

// Start runs the station (phones, agents, installs, outbox) under the app's
// lifetime; Close stops it. Safe to call twice.
func (a *App) Start() {
	a.startOnce.Do(func() {
		a.stationDone = make(chan struct{})
		go func() {
			defer close(a.stationDone)
			if err := a.Station.Serve(a.ctx); err != nil && !errors.Is(err, context.Canceled) {
				a.Log.Error("station stopped", "err", err)
			}
		}()
	})
}

// Startup is Wails' OnStartup hook; the window's context arrives here.
func (a *App) Startup(ctx context.Context) {
	a.Log.Info("window started")
	a.Start()
}

// Shutdown is Wails' OnShutdown hook.
func (a *App) Shutdown(ctx context.Context) {
	if err := a.Close(); err != nil {
		a.Log.Error("shutdown", "err", err)
	}
}

// Close cancels running calls and closes the database. Safe to call twice.
func (a *App) Close() error {
	a.closeOnce.Do(func() {
		a.cancel()
		a.startOnce.Do(func() {}) // no Start after Close
		if a.stationDone != nil {
			select {
			case <-a.stationDone:
			case <-time.After(30 * time.Second):
				a.Log.Error("station did not stop within 30 s; closing the database anyway")
			}
		}
		a.closeErr = a.Store.Close()
		a.Log.Info("station closed")
	})
	return a.closeErr
}
