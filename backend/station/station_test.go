package station_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"preloadstation/backend/adb/adbtest"
	"preloadstation/backend/catalog"
	"preloadstation/backend/install"
	"preloadstation/backend/internal/apktest"
	"preloadstation/backend/internal/syncbuf"
	"preloadstation/backend/sim"
	"preloadstation/backend/sim/simreal"
	"preloadstation/backend/station"
	"preloadstation/backend/store"
)

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool, log fmt.Stringer) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s\n--- station log ---\n%s", d, what, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestStationEndToEnd runs the whole station (adb server keeper, discovery,
// agents, install engine, library, outbox) against virtual phones behind a
// real adb server: 4 phones, an active list of 3 APKs, auto mode. One phone
// is unplugged mid-run: its session ends interrupted while the others finish;
// replugged, it resumes and gets the rest.
func TestStationEndToEnd(t *testing.T) {
	if err := apktest.Available(); err != nil {
		t.Skip("aapt/apksigner needed: ", err)
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	port := adbtest.StartServer(t)
	dir := t.TempDir()
	logs := &syncbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	st := openStore(ctx, t, dir, "Counter 1")
	defer st.Close()

	s, err := station.New(ctx, station.Config{
		DataDir: dir, Store: st, Log: log, ADBPort: port,
		Getenv:  func(string) string { return "" },
		Install: &install.Config{Auto: true, Backoff: 100 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}

	// The active list: three real signed APKs dropped in as custom apps.
	lib := s.Library()
	list, err := lib.CreateList(ctx, "shop default")
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint
	want := map[string]int64{}
	for i := range 3 {
		p := apktest.Build(t, t.TempDir(), apktest.Spec{Package: fmt.Sprintf("com.preload.station%d", i),
			VersionCode: int64(100 + i), VersionName: fmt.Sprintf("1.%d", i), Label: fmt.Sprintf("Station app %d", i),
			PayloadBytes: 256 << 10})
		res, err := lib.AddFile(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.App.ID)
		want[res.App.Package] = res.App.VersionCode
	}
	if err := lib.SetListItems(ctx, list.ID, ids); err != nil {
		t.Fatal(err)
	}
	if err := lib.ActivateList(ctx, list.ID); err != nil {
		t.Fatal(err)
	}

	s.SetOperator(func() string { return "alice" })
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()

	// Four virtual phones on the real adb server, running the real agent code in-process.
	// The USB model is fast, but commits take a while, so "mid-run" exists.
	phones, err := sim.New(sim.Options{Phones: 4, Hubs: 2, Profile: "pixel7,galaxy-a54",
		ADBServer: fmt.Sprintf("127.0.0.1:%d", port), Dir: t.TempDir(), InspectAPK: simreal.InspectAPK,
		USB:         sim.USBModel{CommitFixed: 200 * time.Millisecond},
		RunAgentLog: simreal.RunAgent})
	if err != nil {
		t.Fatal(err)
	}
	closePhones := sync.OnceFunc(func() { _ = phones.Close() })
	defer closePhones()
	victim := phones.Phones()[0]
	victim.SetSlow(8) // its commits take 1.6 s: it is still installing when it is pulled
	if err := phones.Start(ctx); err != nil {
		t.Fatal(err)
	}

	thirdParty := func(ph *sim.Phone) map[string]int64 {
		out := map[string]int64{}
		for _, p := range ph.Packages() {
			if !p.System {
				out[p.Name] = p.VersionCode
			}
		}
		return out
	}
	hasAll := func(ph *sim.Phone) bool {
		got := thirdParty(ph)
		for pkg, vc := range want {
			if got[pkg] != vc {
				return false
			}
		}
		return true
	}

	// Mid-run: pull the slow phone once it has its first app, not all.
	waitFor(t, 60*time.Second, "the slow phone's first app", func() bool { return len(thirdParty(victim)) >= 1 }, logs)
	if hasAll(victim) {
		t.Fatal("the slow phone finished before it could be unplugged mid-run")
	}
	victim.Unplug()

	others := phones.Phones()[1:]
	waitFor(t, 60*time.Second, "every app on the three phones left plugged", func() bool {
		for _, ph := range others {
			if !hasAll(ph) {
				return false
			}
		}
		return true
	}, logs)

	// Identify: the agent page shows the slot label full-screen, the screen
	// is flashed over adb, and the label goes away by itself.
	if err := s.Devices().Identify(ctx, others[0].Serial()); err != nil {
		t.Errorf("identify: %v", err)
	}
	if !s.Agents().Identifying(others[0].Serial()) {
		t.Errorf("identify did not reach the phone's agent page")
	}
	waitFor(t, 15*time.Second, "the identify label to go away", func() bool { return !s.Agents().Identifying(others[0].Serial()) }, logs)
	if err := s.Devices().Identify(ctx, victim.Serial()); err == nil {
		t.Errorf("identify of an unplugged phone succeeded")
	}

	sessionsOf := func(serial string) []store.InstallSession {
		var out []store.InstallSession
		if err := st.DB.Preload("Records").Where("serial = ?", serial).Order("id").Find(&out).Error; err != nil {
			t.Fatal(err)
		}
		return out
	}
	waitFor(t, 30*time.Second, "the sessions to end", func() bool {
		for _, ph := range phones.Phones() {
			ss := sessionsOf(ph.Serial())
			if len(ss) != 1 || ss[0].Outcome == store.OutcomeRunning {
				return false
			}
		}
		return true
	}, logs)

	for _, ph := range others {
		ss := sessionsOf(ph.Serial())
		if ss[0].Outcome != store.OutcomeDone || ss[0].Installed != 3 || len(ss[0].Records) != 3 {
			t.Errorf("%s: session %s installed %d, %d records; want done, 3, 3", ph.Serial(), ss[0].Outcome, ss[0].Installed, len(ss[0].Records))
		}
		for _, r := range ss[0].Records {
			if r.Result != store.ResultInstalled || r.Attempts != 1 {
				t.Errorf("%s: %s %s after %d attempts: the unplug touched another phone", ph.Serial(), r.Package, r.Result, r.Attempts)
			}
		}
		if ss[0].Station != "Counter 1" || ss[0].Operator != "alice" || ss[0].ListName != "shop default" {
			t.Errorf("%s: session station %q operator %q list %q", ph.Serial(), ss[0].Station, ss[0].Operator, ss[0].ListName)
		}
	}
	vs := sessionsOf(victim.Serial())[0]
	if vs.Outcome != store.OutcomeInterrupted {
		t.Errorf("unplugged phone's session is %q, want interrupted", vs.Outcome)
	}
	// Its first app may have committed after the last record could be
	// written (the phone left before the verify): 0 to 2 recorded installs.
	if vs.Installed >= 3 {
		t.Errorf("unplugged phone's session installed %d, want fewer than 3", vs.Installed)
	}

	// The channels were up and carried the installs.
	for _, ph := range others {
		as, ok := s.Agents().State(ph.Serial())
		if !ok || as.State != "ready" {
			t.Errorf("%s: agent state %+v, want ready", ph.Serial(), as)
		}
	}
	for _, es := range s.Engine().Status() {
		if es.Serial != victim.Serial() && es.Transport != "agent" {
			t.Errorf("%s installed over %q, want the agent channel", es.Serial, es.Transport)
		}
	}

	// Replug: a new session resumes and installs only what is missing.
	if err := victim.Replug(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the replugged phone to get every app", func() bool { return hasAll(victim) }, logs)
	waitFor(t, 30*time.Second, "the replugged phone's second session to end", func() bool {
		ss := sessionsOf(victim.Serial())
		return len(ss) == 2 && ss[1].Outcome != store.OutcomeRunning
	}, logs)
	ss := sessionsOf(victim.Serial())
	already := 0
	for _, r := range ss[1].Records {
		if r.Result == store.ResultSkipped && r.Code == install.SkipAlreadyInstalled {
			already++
		}
	}
	if ss[1].Outcome != store.OutcomeDone || ss[1].Installed+already != 3 || already < 1 {
		t.Errorf("replugged: second session %s installed %d, skipped %d as already there; want done, 3 in all, at least 1 already there",
			ss[1].Outcome, ss[1].Installed, already)
	}

	// Every record is in the outbox, once, in the catalog's format.
	var recs []store.InstallRecord
	if err := st.DB.Find(&recs).Error; err != nil {
		t.Fatal(err)
	}
	var items []store.OutboxItem
	if err := st.DB.Where("kind = ?", catalog.KindInstallRecord).Find(&items).Error; err != nil {
		t.Fatal(err)
	}
	if len(items) != len(recs) || len(recs) < 12 {
		t.Errorf("%d records, %d outbox items; want the same, at least 12", len(recs), len(items))
	}
	for _, it := range items {
		var r catalog.ReportIn
		if err := json.Unmarshal([]byte(it.Payload), &r); err != nil || r.UUID != it.RefUUID || r.Package == "" || r.SessionUUID == "" {
			t.Errorf("outbox item %s is not a catalog report: %v %+v", it.RefUUID, err, r)
		}
	}
	if st, err := s.Outbox().Status(ctx); err != nil || st.Pending+st.Delivered+st.Rejected != int64(len(items)) {
		t.Errorf("outbox status %+v, %v", st, err)
	}

	// Stop: phones first (their agents run in-process), then the station.
	closePhones()
	cancel()
	select {
	case <-served:
	case <-time.After(30 * time.Second):
		t.Fatalf("station did not stop\n%s", logs)
	}
	if t.Failed() {
		t.Logf("--- station log ---\n%s", logs)
	}
}
