package install_test

// The harness runs the install engine as a station does, against virtual
// phones behind a real adb server: discovery (adb track + poll), facts with
// backend/device, APKs from the library cache, records in SQLite. The
// virtual phones run in-process, or in a child process (this test binary
// re-executed, backend/internal/simchild) so the station's goroutines, RSS
// and CPU are its own.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"preloadstation/backend/adb"
	"preloadstation/backend/adb/adbtest"
	"preloadstation/backend/apk"
	"preloadstation/backend/device"
	"preloadstation/backend/install"
	"preloadstation/backend/internal/apktest"
	"preloadstation/backend/internal/simchild"
	"preloadstation/backend/library"
	"preloadstation/backend/sim"
	"preloadstation/backend/sim/simreal"
	"preloadstation/backend/store"
)

func TestMain(m *testing.M) {
	simchild.Main()
	if cfg := os.Getenv("PRELOAD_STATIONCHILD"); cfg != "" {
		os.Exit(stationChild(cfg))
	}
	os.Exit(m.Run())
}

// ---- APKs ----

type appSet struct {
	apps  []install.App
	paths []string
	cache *library.Cache
}

// buildApps builds one real signed APK per size (bytes of payload) and puts
// them in a library cache.
func buildApps(t testing.TB, prefix string, sizes []int) appSet {
	t.Helper()
	dir := t.TempDir()
	c, err := library.OpenCache(dir+"/cache", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	set := appSet{cache: c}
	for i, sz := range sizes {
		p := apktest.Build(t, dir, apktest.Spec{Package: fmt.Sprintf("com.preload.%s%d", prefix, i), VersionCode: int64(10 + i),
			VersionName: "1." + strconv.Itoa(i), MinSDK: 21, TargetSDK: 33, Label: fmt.Sprintf("App %d", i), PayloadBytes: sz})
		info, err := apk.Inspect(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		err = c.Put(info.SHA256, info.Size, f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		set.paths = append(set.paths, p)
		set.apps = append(set.apps, install.App{Package: info.Package, Label: info.Label, VersionCode: info.VersionCode,
			VersionName: info.VersionName, MinSDK: info.MinSDK, TargetSDK: info.TargetSDK, ABIs: info.ABIs,
			Signer: info.SignerSHA256, Size: info.Size, SHA256: info.SHA256, Position: i})
	}
	return set
}

func inspectForSim(r io.ReaderAt, size int64) (sim.APKFacts, error) {
	return simreal.InspectAPK(r, size)
}

// ---- virtual phones ----

// phones controls a farm of virtual phones, in-process or in a child.
type phones interface {
	Serials() []string
	Hub(i int) int
	Unplug(i int)
	Replug(i int)
	Hang(i int, on bool)
	FailInstall(i int, pkg, code string)
	Packages(i int) map[string]int64 // third-party package -> versionCode
	Close()
}

type simConfig = simchild.Config

type inProcPhones struct{ s *sim.Sim }

func startInProcPhones(t testing.TB, cfg simConfig) *inProcPhones {
	t.Helper()
	s, err := sim.New(sim.Options{Phones: cfg.Phones, Hubs: cfg.Hubs, Profile: cfg.Profile, USB: sim.DefaultUSB(),
		ADBServer: cfg.ADB, InspectAPK: inspectForSim, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := &inProcPhones{s: s}
	t.Cleanup(p.Close)
	return p
}

func (p *inProcPhones) Serials() []string {
	var out []string
	for _, ph := range p.s.Phones() {
		out = append(out, ph.Serial())
	}
	return out
}
func (p *inProcPhones) Hub(i int) int                       { return p.s.Phones()[i].HubIndex() }
func (p *inProcPhones) Unplug(i int)                        { p.s.Phones()[i].Unplug() }
func (p *inProcPhones) Replug(i int)                        { _ = p.s.Phones()[i].Replug() }
func (p *inProcPhones) Hang(i int, on bool)                 { p.s.Phones()[i].Hang(on) }
func (p *inProcPhones) FailInstall(i int, pkg, code string) { p.s.Phones()[i].FailInstall(pkg, code) }
func (p *inProcPhones) Close()                              { _ = p.s.Close() }
func (p *inProcPhones) Packages(i int) map[string]int64     { return simchild.ThirdParty(p.s.Phones()[i]) }

// childPhones are virtual phones in a child process (simchild.Phones);
// plugged is when they were about to attach to the adb server.
type childPhones struct {
	*simchild.Phones
	plugged time.Time
}

func startChildPhones(t testing.TB, cfg simConfig) *childPhones {
	t.Helper()
	return startChildPhonesAs(t, simchild.Env, cfg)
}

// startChildPhonesAs runs the virtual phones in a child copy of this test
// binary; env names which child main (simchild's plain phones, or phones
// running the pushed agent) the child runs.
func startChildPhonesAs(t testing.TB, env string, cfg simConfig) *childPhones {
	t.Helper()
	p := simchild.StartAs(t, env, cfg)
	return &childPhones{Phones: p, plugged: p.Plugged()}
}

// ---- the station: discovery + engine ----

type station struct {
	client *adb.Client
	eng    *install.Engine
	st     *store.Store
	log    func(string, ...any)

	mu      sync.Mutex
	present map[string]context.CancelFunc
	ready   map[string]time.Time
}

type stationOpts struct {
	adbPort int
	cfg     install.Config
	apps    appSet
	dbPath  string
	logf    func(string, ...any)
}

func newStation(ctx context.Context, o stationOpts) (*station, error) {
	st, err := store.Open(ctx, o.dbPath)
	if err != nil {
		return nil, err
	}
	if _, err := (install.HistoryStore{S: st}).MarkInterrupted(ctx, time.Now().UTC()); err != nil {
		return nil, err
	}
	client := adb.NewClient("127.0.0.1:" + strconv.Itoa(o.adbPort))
	eng := install.NewEngine(o.cfg, install.Deps{
		List:    install.StaticList{Name: "bench", Operator: "op", Apps: o.apps.apps},
		APKs:    install.CacheAPKs{Cache: o.apps.cache},
		History: install.HistoryStore{S: st},
		Log:     slog.New(slog.NewTextHandler(logWriter(o.logf), &slog.HandlerOptions{Level: logLevel()})),
	})
	logf := o.logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return &station{client: client, eng: eng, st: st, log: logf, present: map[string]context.CancelFunc{}, ready: map[string]time.Time{}}, nil
}

// Serve runs discovery and the engine until ctx ends.
func (s *station) Serve(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = s.eng.Serve(ctx) }()
	track, err := s.client.Track(ctx)
	if err != nil {
		track = nil
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		var list []adb.DeviceInfo
		select {
		case <-ctx.Done():
			s.mu.Lock()
			for _, c := range s.present {
				c()
			}
			s.mu.Unlock()
			wg.Wait()
			s.st.Close()
			return nil
		case l, ok := <-track:
			if !ok {
				track = nil
				continue
			}
			list = l
		case <-tick.C:
			l, err := s.client.Devices(ctx)
			if err != nil {
				continue
			}
			list = l
		}
		s.diff(ctx, list, &wg)
	}
}

func (s *station) diff(ctx context.Context, list []adb.DeviceInfo, wg *sync.WaitGroup) {
	seen := map[string]bool{}
	for _, d := range list {
		if d.State != "device" {
			continue
		}
		seen[d.Serial] = true
		s.mu.Lock()
		_, known := s.present[d.Serial]
		if !known {
			pctx, cancel := context.WithCancel(ctx)
			s.present[d.Serial] = cancel
			serial := d.Serial
			wg.Add(1)
			go func() { defer wg.Done(); s.attach(pctx, serial) }()
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	for serial, cancel := range s.present {
		if !seen[serial] {
			cancel()
			delete(s.present, serial)
			delete(s.ready, serial)
			s.eng.PhoneGone(serial)
		}
	}
	s.mu.Unlock()
}

func toFacts(serial string, f device.Facts) install.Facts {
	inst := map[string]install.Installed{}
	for p, vc := range f.Packages {
		inst[p] = install.Installed{VersionCode: vc}
	}
	return install.Facts{Serial: serial, Brand: f.Brand, Model: f.Model, Release: f.Release, SDK: f.SDK,
		ABIs: f.ABIs, FreeBytes: f.FreeData, Installed: inst}
}

func (s *station) attach(ctx context.Context, serial string) {
	dev := s.client.Device(serial)
	var f device.Facts
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		if f, err = device.ReadFacts(ctx, dev, 10*time.Second); err == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		s.log("facts %s: %v", serial, err)
		return
	}
	s.mu.Lock()
	if _, still := s.present[serial]; !still {
		s.mu.Unlock()
		return
	}
	s.ready[serial] = time.Now()
	s.mu.Unlock()
	s.eng.PhoneReady(install.Phone{Serial: serial, SlotPath: "serial:" + serial, Facts: toFacts(serial, f), FactsAt: f.ReadAt,
		Transport: install.ExecTransport{Dev: dev, SDK: f.SDK}, Verifier: install.ADBVerifier{Dev: dev, SDK: f.SDK},
		Ping: install.ShellPing(dev),
		Refresh: func(ctx context.Context) (install.Facts, error) {
			f, err := device.ReadFacts(ctx, dev, 10*time.Second)
			return toFacts(serial, f), err
		}})
}

func (s *station) readyCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ready)
}

// startADB starts a private adb server (never 5037) and returns its port.
func startADB(t testing.TB) int {
	t.Helper()
	return adbtest.StartServer(t)
}

var _ = store.OutcomeDone

func itoa(n int) string { return strconv.Itoa(n) }

// stationChild is filled in by the kill -9 test.
func stationChild(cfg string) int { return stationChildMain(cfg) }

func fmtFloat(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }

type logFunc func(string, ...any)

func (f logFunc) Write(p []byte) (int, error) {
	if f != nil {
		f("%s", strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func logWriter(f func(string, ...any)) io.Writer { return logFunc(f) }

func logLevel() slog.Level {
	if os.Getenv("PRELOAD_TEST_LOG") == "info" {
		return slog.LevelInfo
	}
	return slog.LevelWarn
}
