package station

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"preloadstation/backend/adb"
	"preloadstation/backend/agent"
	"preloadstation/backend/catalog"
	"preloadstation/backend/device"
	"preloadstation/backend/events"
	"preloadstation/backend/install"
	"preloadstation/backend/library"
	"preloadstation/backend/store"
)

// Settings the station reads at start (store.GetSetting); the install
// engine's own (install.auto, caps, reserve, timeouts) are install.LoadConfig's.
const (
	SettingADBPath  = "adb.path"              // string: the adb binary, before PATH and ANDROID_HOME
	SettingCacheMax = "library.cacheMaxBytes" // int64, default 0 (no cap)
)

// Config is what the station is built from. Zero values take the defaults
// noted; only DataDir and Store are required.
type Config struct {
	DataDir string
	Store   *store.Store
	Emit    events.Emitter // [events.Nop]
	Log     *slog.Logger   // [discard]

	// ADBPath is the adb binary; empty: the adb.path setting, then PATH,
	// $ANDROID_HOME/platform-tools, next to the station's binary.
	ADBPath string
	// ADBPort is the adb server's port; 0: $ANDROID_ADB_SERVER_PORT or 5037.
	ADBPort int
	// ADBEnv is the environment `adb start-server` runs with; nil: the station's own.
	ADBEnv []string
	Getenv func(string) string // [os.Getenv]

	// CacheMaxBytes caps the APK cache; 0: the library.cacheMaxBytes setting (0 = no cap).
	CacheMaxBytes int64

	// Install configures the engine; nil: install.LoadConfig, the engine's
	// settings in the store (auto mode on by default).
	Install *install.Config

	// NoAgent installs over adb only: no agent is pushed (phones without the
	// agent builds, tools, tests of the direct path).
	NoAgent bool
	// AgentWait is how long a ready phone waits for its channel before it is
	// handed to the engine anyway (installs then go over adb until the
	// channel is up) [20 s].
	AgentWait time.Duration
	// Agent tunes the agent manager; Log, Emit, Key and Config are filled in.
	Agent agent.Options
	// NoPhonePage keeps the agent's page closed on phones while the station is
	// unconfigured (flow 4 opens it there so the station can be configured
	// from the phone); for tools and tests.
	NoPhonePage bool
	// Device tunes discovery; Client, Slots, Emitter and Log are filled in.
	Device device.Options

	// Reconcile is how often the coordinator compares its phones with
	// discovery's truth, in case it missed an event [1 s].
	Reconcile time.Duration
	// Restart bounds how fast a failed part is restarted [200 ms … 30 s].
	Restart backoff
}

// Station is every domain part of one station, built and wired.
type Station struct {
	cfg Config
	log *slog.Logger

	adbBin  string
	adbPort int
	adbErr  error // why no adb binary was found (the keeper retries)
	client  *adb.Client

	cache   *library.Cache
	lib     *library.Library
	cl      *catalog.Client
	outbox  *catalog.Outbox
	devices *device.Manager
	config  *agent.StoreConfigurator
	agents  *agent.Manager
	engine  *install.Engine
	history *history

	opMu     sync.RWMutex
	operator func() string

	serveMu sync.Mutex
	serving bool

	coord *coordinator
}

// New builds the station's parts; nothing runs until Serve.
func New(ctx context.Context, cfg Config) (*Station, error) {
	if cfg.Store == nil || cfg.DataDir == "" {
		return nil, errors.New("station: Config needs a Store and a DataDir")
	}
	if cfg.Emit == nil {
		cfg.Emit = events.Nop{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	if cfg.AgentWait <= 0 {
		cfg.AgentWait = 20 * time.Second
	}
	if cfg.Reconcile <= 0 {
		cfg.Reconcile = time.Second
	}
	if cfg.Restart.Min <= 0 {
		cfg.Restart.Min = 200 * time.Millisecond
	}
	if cfg.Restart.Max <= 0 {
		cfg.Restart.Max = 30 * time.Second
	}
	if cfg.Restart.Healthy <= 0 {
		cfg.Restart.Healthy = time.Minute
	}
	s := &Station{cfg: cfg, log: cfg.Log}
	st := cfg.Store

	// Library, cache, catalog client and outbox, as backend/library asks.
	capBytes := cfg.CacheMaxBytes
	if capBytes == 0 {
		v, err := store.GetSetting[int64](ctx, st, SettingCacheMax, 0)
		if err != nil {
			return nil, err
		}
		capBytes = v
	}
	cache, err := library.OpenCache(filepath.Join(cfg.DataDir, "cache"), capBytes, nil)
	if err != nil {
		return nil, fmt.Errorf("station: open the APK cache: %w", err)
	}
	s.cache = cache
	// The coordinator hears of active-list changes through the library's and
	// the catalog client's events (auto mode installs a newly active list).
	s.coord = newCoordinator(s)
	s.lib = library.New(st, cache, events.Func(s.coord.listEvent))
	s.cl = catalog.NewClient(st, s.lib, events.Func(s.coord.listEvent))
	s.outbox = catalog.NewOutbox(st, s.cl, cfg.Emit)

	// adb: the binary and the port as adb itself would pick them.
	port := cfg.ADBPort
	if port == 0 {
		if port, err = adb.PortFromEnv(cfg.Getenv); err != nil {
			return nil, fmt.Errorf("station: %w", err)
		}
	}
	s.adbPort = port
	s.adbBin, s.adbErr = s.locateADB(ctx)
	s.client = adb.NewClient("127.0.0.1:" + strconv.Itoa(port))

	dopts := cfg.Device
	dopts.Client, dopts.Slots, dopts.Emitter, dopts.Log = s.client, device.StoreSlots{DB: st.DB}, cfg.Emit, cfg.Log
	s.devices = device.New(dopts)

	s.config = &agent.StoreConfigurator{Store: st, Catalog: s.cl}
	aopts := cfg.Agent
	aopts.Log, aopts.Emit, aopts.Key, aopts.Config = cfg.Log, cfg.Emit, agent.StoreKey(st), s.config
	aopts.OpenPage = !cfg.NoPhonePage
	s.agents = agent.NewManager(aopts)
	s.devices.SetIdentifier(s.identify)

	var icfg install.Config
	if cfg.Install != nil {
		icfg = *cfg.Install
	} else if icfg, err = install.LoadConfig(ctx, st, ""); err != nil {
		return nil, fmt.Errorf("station: install settings: %w", err)
	}
	s.history = newHistory(st, s.outbox, cfg.Log)
	s.engine = install.NewEngine(icfg, install.Deps{
		List:    activeList{lib: s.lib, operator: s.currentOperator, wait: 10 * time.Minute},
		APKs:    install.CacheAPKs{Cache: cache},
		History: s.history,
		Events:  events.Func(s.coord.engineEvent),
		Log:     cfg.Log,
	})
	return s, nil
}

// identifyFor is how long a phone shows its slot label full-screen.
const identifyFor = 5 * time.Second

// identify makes a phone show itself: its agent page shows the slot label
// full-screen for identifyFor (when the channel is up), and the screen is
// woken and flashed over adb, which works without the agent too.
func (s *Station) identify(ctx context.Context, serial string) error {
	if s.agents.Identify(serial, true) == nil {
		time.AfterFunc(identifyFor, func() { _ = s.agents.Identify(serial, false) })
	}
	return s.devices.Flash(ctx, serial)
}

func (s *Station) locateADB(ctx context.Context) (string, error) {
	setting := s.cfg.ADBPath
	if setting == "" {
		setting, _ = store.GetSetting(ctx, s.cfg.Store, SettingADBPath, "")
	}
	exeDir := ""
	if exe, err := os.Executable(); err == nil {
		exeDir = filepath.Dir(exe)
	}
	return adb.Locate(setting, s.cfg.Getenv, exeDir)
}

// SetOperator tells the station who is logged in (the services' session);
// sessions and records carry that name. Without one, the operator a phone's
// configuration form logged in (agent.SettingOperator) is used.
func (s *Station) SetOperator(f func() string) {
	s.opMu.Lock()
	s.operator = f
	s.opMu.Unlock()
}

func (s *Station) currentOperator(ctx context.Context) string {
	s.opMu.RLock()
	f := s.operator
	s.opMu.RUnlock()
	if f != nil {
		if op := f(); op != "" {
			return op
		}
	}
	op, _ := store.GetSetting(ctx, s.cfg.Store, agent.SettingOperator, "")
	return op
}

// Parts for the bound services.
func (s *Station) ADB() *adb.Client                       { return s.client }
func (s *Station) ADBPort() int                           { return s.adbPort }
func (s *Station) Devices() *device.Manager               { return s.devices }
func (s *Station) Agents() *agent.Manager                 { return s.agents }
func (s *Station) Configurator() *agent.StoreConfigurator { return s.config }
func (s *Station) Engine() *install.Engine                { return s.engine }
func (s *Station) Library() *library.Library              { return s.lib }
func (s *Station) Cache() *library.Cache                  { return s.cache }
func (s *Station) Catalog() *catalog.Client               { return s.cl }
func (s *Station) Outbox() *catalog.Outbox                { return s.outbox }
func (s *Station) History() install.HistoryStore          { return s.history.h }

// Serve runs every part until ctx ends and returns once all have stopped.
// Sessions a killed station left running are closed as interrupted first.
func (s *Station) Serve(ctx context.Context) error {
	s.serveMu.Lock()
	if s.serving {
		s.serveMu.Unlock()
		return errors.New("station: already serving")
	}
	s.serving = true
	s.serveMu.Unlock()
	defer func() {
		s.serveMu.Lock()
		s.serving = false
		s.serveMu.Unlock()
	}()

	if n, err := s.history.h.MarkInterrupted(ctx, time.Now().UTC()); err != nil {
		s.log.Error("station: cannot close sessions left running", "err", err)
	} else if n > 0 {
		s.log.Info("station: sessions left running by the last run marked interrupted", "count", n)
	}
	if s.adbErr != nil {
		s.log.Warn("station: no adb binary found; using a server already on the port if any / 未找到 adb",
			"port", s.adbPort, "err", s.adbErr)
	}
	children := []child{
		{"adb server", s.serveADB},
		{"discovery", s.devices.Serve},
		{"agents", s.agents.Serve},
		{"install engine", s.engine.Serve},
		{"outbox", s.outbox.Serve},
		{"phones", s.coord.serve},
	}
	var wg sync.WaitGroup
	for _, c := range children {
		wg.Add(1)
		go func() {
			defer wg.Done()
			supervise(ctx, s.log, s.cfg.Restart, c)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

// serveADB keeps an adb server answering on the port: it starts one when
// none does and restarts it when it dies. Without an adb binary it only
// waits (and retries finding one), since a server may already be running.
func (s *Station) serveADB(ctx context.Context) error {
	bin := s.adbBin
	if bin == "" {
		var err error
		if bin, err = s.locateADB(ctx); err != nil {
			if _, verr := s.client.ServerVersion(ctx); verr == nil {
				<-ctx.Done() // someone else's server answers: nothing to keep
				return ctx.Err()
			}
			return fmt.Errorf("adb not found and no adb server on port %d: %w", s.adbPort, err)
		}
		s.adbBin = bin
	}
	srv := adb.NewServer(bin, s.adbPort, s.log)
	srv.Env = s.cfg.ADBEnv
	if err := srv.Start(ctx); err != nil {
		return err
	}
	return srv.Serve(ctx)
}
