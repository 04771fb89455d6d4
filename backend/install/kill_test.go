package install_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"preloadstation/backend/install"
	"preloadstation/backend/library"
	"preloadstation/backend/store"
)

// childStationConfig is what a station child process needs.
type childStationConfig struct {
	ADBPort  int           `json:"adbPort"`
	DB       string        `json:"db"`
	CacheDir string        `json:"cacheDir"`
	Apps     []install.App `json:"apps"`
	Phones   int           `json:"phones"`
}

// stationChildMain runs a station until every expected phone's session has
// ended, then exits 0 (the kill -9 test kills it before that, the first time).
func stationChildMain(cfgJSON string) int {
	var cfg childStationConfig
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	c, err := library.OpenCache(cfg.CacheDir, 0, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := newStation(ctx, stationOpts{adbPort: cfg.ADBPort, dbPath: cfg.DB, apps: appSet{apps: cfg.Apps, cache: c},
		cfg: install.Config{Auto: true, Station: "kill9", Plan: install.PlanOptions{PipelineOrder: true}}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = st.Serve(ctx) }()
	for !allEnded(st.eng, cfg.Phones) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	return 0
}

// TestKill9AndRestart: kill -9 of the station mid-run, then a restart: the
// history written before the kill is intact, the sessions it left running
// are marked interrupted, and the installs resume where they stopped.
func TestKill9AndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("virtual phones: not in -short")
	}
	port := startADB(t)
	set := buildApps(t, "kill", []int{400_000, 900_000, 1_400_000, 600_000, 1_100_000, 200_000})
	const n = 4
	ph := startInProcPhones(t, simConfig{Phones: n, Hubs: 2, Profile: "mixed", ADB: "127.0.0.1:" + itoa(port)})
	dir := t.TempDir()
	cfg := childStationConfig{ADBPort: port, DB: filepath.Join(dir, "station.db"), CacheDir: set.cache.Dir(), Apps: set.apps, Phones: n}
	b, _ := json.Marshal(cfg)
	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "PRELOAD_STATIONCHILD="+string(b))
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	count := func(db *store.Store, q string, args ...any) int64 {
		var c int64
		db.DB.Model(&store.InstallRecord{}).Where(q, args...).Count(&c)
		return c
	}

	// The test's own connection migrates first: two processes migrating one
	// fresh file at once is not what this test is about.
	db, err := store.Open(context.Background(), cfg.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	first := start()
	defer func() { _ = first.Process.Kill() }()
	// Kill once a few apps are installed, well before the end.
	waitUntil(t, 60*time.Second, "installs under way", func() bool { return count(db, "result = ?", store.ResultInstalled) >= 5 })
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	var before []store.InstallRecord
	db.DB.Order("uuid").Find(&before)
	var running int64
	db.DB.Model(&store.InstallSession{}).Where("outcome = ?", store.OutcomeRunning).Count(&running)
	if running == 0 {
		t.Fatalf("no session was running at the kill: the test killed too late")
	}
	var outboxBefore int64
	db.DB.Model(&store.OutboxItem{}).Count(&outboxBefore)
	if outboxBefore != int64(len(before)) {
		t.Errorf("%d outbox items for %d records at the kill: a record without its outbox item (or the reverse)", outboxBefore, len(before))
	}
	t.Logf("killed with %d records, %d sessions running", len(before), running)

	second := start()
	errc := make(chan error, 1)
	go func() { errc <- second.Wait() }()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("restarted station: %v", err)
		}
	case <-time.After(2 * time.Minute):
		_ = second.Process.Kill()
		t.Fatal("restarted station did not finish")
	}

	// History intact: every record from before the kill is still there, unchanged.
	for _, r := range before {
		var now store.InstallRecord
		if err := db.DB.Where("uuid = ?", r.UUID).Take(&now).Error; err != nil || now.Result != r.Result || now.Package != r.Package {
			t.Errorf("record %s changed or lost after restart: %+v (%v)", r.UUID, now, err)
		}
	}
	var sessions []store.InstallSession
	db.DB.Order("id").Find(&sessions)
	interrupted := 0
	for _, s := range sessions {
		switch s.Outcome {
		case store.OutcomeInterrupted:
			interrupted++
		case store.OutcomeDone:
		default:
			t.Errorf("session %s of %s: %s", s.UUID, s.Serial, s.Outcome)
		}
	}
	if int64(interrupted) != running {
		t.Errorf("%d sessions interrupted, %d were running at the kill", interrupted, running)
	}
	// Installs resumed: every phone has every app, and nothing installed
	// before the kill was installed again.
	for i := 0; i < n; i++ {
		got := ph.Packages(i)
		for _, a := range set.apps {
			if got[a.Package] != a.VersionCode {
				t.Errorf("phone %d: %s at %d after restart, want %d", i, a.Package, got[a.Package], a.VersionCode)
			}
		}
	}
	for _, r := range before {
		if r.Result == store.ResultInstalled {
			if c := count(db, "serial = ? AND package = ? AND result = ?", r.Serial, r.Package, store.ResultInstalled); c != 1 {
				t.Errorf("%s on %s installed %d times", r.Package, r.Serial, c)
			}
		}
	}
	var outbox, recs int64
	db.DB.Model(&store.OutboxItem{}).Count(&outbox)
	db.DB.Model(&store.InstallRecord{}).Count(&recs)
	if outbox != recs {
		t.Errorf("%d outbox items for %d records", outbox, recs)
	}
}
