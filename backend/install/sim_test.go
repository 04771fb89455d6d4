package install_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"preloadstation/backend/install"
	"preloadstation/backend/store"
)

func runStation(t *testing.T, o stationOpts) *station {
	t.Helper()
	if o.dbPath == "" {
		o.dbPath = filepath.Join(t.TempDir(), "station.db")
	}
	o.logf = t.Logf
	ctx, cancel := context.WithCancel(context.Background())
	s, err := newStation(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func allEnded(e *install.Engine, n int) bool {
	st := e.Status()
	if len(st) < n {
		return false
	}
	for _, s := range st {
		if s.State == install.StateRunning || s.State == install.StateIdle {
			return false
		}
	}
	return true
}

func TestVirtualPhonesEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("virtual phones: not in -short")
	}
	port := startADB(t)
	apps := buildApps(t, "e2e", []int{200_000, 1_000_000, 50_000})
	ph := startInProcPhones(t, simConfig{Phones: 3, Hubs: 1, Profile: "mixed", ADB: "127.0.0.1:" + itoa(port)})
	st := runStation(t, stationOpts{adbPort: port, cfg: install.Config{Auto: true, Station: "e2e", Plan: install.PlanOptions{PipelineOrder: true}}, apps: apps})
	waitUntil(t, 60*time.Second, "sessions end", func() bool { return allEnded(st.eng, 3) })
	for i := range ph.Serials() {
		got := ph.Packages(i)
		for _, a := range apps.apps {
			if got[a.Package] != a.VersionCode {
				t.Errorf("phone %d: %s at %d, want %d", i, a.Package, got[a.Package], a.VersionCode)
			}
		}
	}
	var recs []store.InstallRecord
	st.st.DB.Find(&recs)
	if len(recs) != 9 {
		t.Errorf("%d records, want 9", len(recs))
	}
	for _, r := range recs {
		if r.Result != store.ResultInstalled || r.Attempts != 1 || r.TransferMS < 0 || r.CommitMS <= 0 {
			t.Errorf("record %+v", r)
		}
	}
	for _, s := range st.eng.Status() {
		t.Logf("%s: %s via %s, %d installed", s.Serial, s.State, s.Transport, s.Installed)
	}
}

func TestHungVirtualPhone(t *testing.T) {
	if testing.Short() {
		t.Skip("virtual phones: not in -short")
	}
	port := startADB(t)
	apps := buildApps(t, "hung", []int{2_000_000, 1_000_000, 3_000_000})
	ph := startChildPhones(t, simConfig{Phones: 2, Hubs: 1, Profile: "pixel7", ADB: "127.0.0.1:" + itoa(port)})
	st := runStation(t, stationOpts{adbPort: port, apps: apps,
		cfg: install.Config{Auto: true, Station: "hung", StallTimeout: 2 * time.Second, Backoff: 200 * time.Millisecond}})
	time.Sleep(1500 * time.Millisecond)
	ph.Hang(0, true)
	start := time.Now()
	hungSerial := ph.Serials()[0]
	waitUntil(t, 60*time.Second, "hung phone's session to fail", func() bool {
		var c int64
		st.st.DB.Model(&store.InstallSession{}).Where("serial = ? AND outcome = ?", hungSerial, store.OutcomeFailed).Count(&c)
		return c > 0
	})
	t.Logf("hung phone failed %v after the hang", time.Since(start))
	var recs []store.InstallRecord
	st.st.DB.Where("serial = ?", hungSerial).Find(&recs)
	for _, r := range recs {
		t.Logf("%s %s %s attempts=%d %s", r.Package, r.Result, r.Code, r.Attempts, r.Message)
	}
	waitUntil(t, 30*time.Second, "other phone done", func() bool {
		for _, s := range st.eng.Status() {
			if s.Serial == ph.Serials()[1] {
				return s.State == install.StateDone
			}
		}
		return false
	})
}
