package install

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"preloadstation/backend/events"
	"preloadstation/backend/store"
)

type engineRig struct {
	e      *Engine
	s      *store.Store
	cancel context.CancelFunc
	done   chan error
	evMu   sync.Mutex
	evs    map[string]int
}

func startEngine(t *testing.T, cfg Config, apps []App) *engineRig {
	t.Helper()
	r := &engineRig{s: openStore(t), done: make(chan error, 1), evs: map[string]int{}}
	em := events.Func(func(name string, _ any) { r.evMu.Lock(); r.evs[name]++; r.evMu.Unlock() })
	r.e = NewEngine(cfg, Deps{List: staticList{List{Name: "test", Operator: "op", Apps: apps}},
		APKs: apkSource(apps), History: HistoryStore{S: r.s}, Events: em})
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.e.Serve(ctx) }()
	waitFor(t, time.Second, "engine serving", func() bool { r.e.mu.Lock(); defer r.e.mu.Unlock(); return r.e.ctx != nil })
	t.Cleanup(r.stop)
	return r
}

func (r *engineRig) stop() {
	r.cancel()
	<-r.done
	r.done <- nil // make stop idempotent
}

func TestEngineInstallsEveryPhoneAndRecordsIt(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(), goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
	apps := testApps(5, func(i int) int64 { return int64(100_000 + 50_000*i) })
	rig := startEngine(t, Config{Auto: true, Station: "st1"}, apps)
	var phones []*fakePhone
	for i := 0; i < 3; i++ {
		f := newFakePhone("P"+string(rune('A'+i)), 20e6, 10*time.Millisecond, apps)
		phones = append(phones, f)
		rig.e.PhoneReady(f.phone("hub1"))
	}
	for _, f := range phones {
		waitFor(t, 10*time.Second, f.serial+" done", func() bool { return phoneState(rig.e, f.serial) == StateDone })
		for _, a := range apps {
			if vc, ok, _ := f.InstalledVersion(context.Background(), a.Package); !ok || vc != a.VersionCode {
				t.Errorf("%s: %s at %d (present %v), want %d", f.serial, a.Package, vc, ok, a.VersionCode)
			}
		}
		recs := records(t, rig.s, f.serial)
		if len(recs) != len(apps) {
			t.Fatalf("%s: %d records, want %d", f.serial, len(recs), len(apps))
		}
		for _, r := range recs {
			if r.Result != store.ResultInstalled || r.Attempts != 1 || r.Bytes == 0 || r.SHA256 == "" {
				t.Errorf("%s: record %+v", f.serial, r)
			}
		}
		if f.maxCom > 1 {
			t.Errorf("%s: %d commits at once; Android allows one", f.serial, f.maxCom)
		}
		if f.maxIn > 2 {
			t.Errorf("%s: %d installs in flight; the pipeline has two stages", f.serial, f.maxIn)
		}
	}
	var sessions []store.InstallSession
	rig.s.DB.Find(&sessions)
	if len(sessions) != 3 {
		t.Fatalf("%d sessions, want 3", len(sessions))
	}
	for _, s := range sessions {
		if s.Outcome != store.OutcomeDone || s.Installed != 5 || s.Planned != 5 || s.EndedAt == nil || s.Station != "st1" || s.Operator != "op" {
			t.Errorf("session %+v", s)
		}
	}
	var outbox int64
	rig.s.DB.Model(&store.OutboxItem{}).Where("kind = ?", OutboxKindInstallRecord).Count(&outbox)
	if outbox != 15 {
		t.Errorf("%d outbox items, want 15", outbox)
	}
	rig.evMu.Lock()
	if rig.evs[events.InstallProgress] == 0 || rig.evs[events.InstallDone] != 3 {
		t.Errorf("events %v", rig.evs)
	}
	rig.evMu.Unlock()
	rig.stop()
}

func TestPipelineStreamsNextWhileCommitting(t *testing.T) {
	apps := testApps(4, func(int) int64 { return 200_000 })
	rig := startEngine(t, Config{Auto: true}, apps)
	// 200 kB at 2 MB/s = 100 ms transfer, 150 ms commit: the next transfer
	// must run while the previous package commits.
	f := newFakePhone("P1", 2e6, 150*time.Millisecond, apps)
	start := time.Now()
	rig.e.PhoneReady(f.phone(""))
	waitFor(t, 10*time.Second, "done", func() bool { return phoneState(rig.e, "P1") == StateDone })
	took := time.Since(start)
	if !f.overlap {
		t.Errorf("no transfer overlapped a commit: the pipeline is sequential")
	}
	if f.maxIn != 2 || f.maxCom != 1 {
		t.Errorf("max in flight %d (want 2), max commits %d (want 1)", f.maxIn, f.maxCom)
	}
	t.Logf("4 apps, t=100ms c=150ms: %v (sequential would be 1000ms, pipelined floor 700ms)", took)
}

func TestFailuresAreClassified(t *testing.T) {
	apps := testApps(4, func(int) int64 { return 10_000 })
	rig := startEngine(t, Config{Auto: true, Backoff: 10 * time.Millisecond}, apps)
	f := newFakePhone("P1", 0, time.Millisecond, apps)
	f.outputs["com.example.app0"] = []string{"Failure [INSTALL_FAILED_INTERNAL_ERROR: Session relinquished]"}
	f.outputs["com.example.app1"] = []string{"Failure [INSTALL_FAILED_USER_RESTRICTED: Install canceled by user]"}
	f.outputs["com.example.app2"] = []string{"Failure [INSTALL_FAILED_NO_MATCHING_ABIS: Failed to extract native libraries, res=-113]"}
	f.wrongVC["com.example.app3"] = 1
	rig.e.PhoneReady(f.phone(""))
	waitFor(t, 10*time.Second, "session end", func() bool { return phoneState(rig.e, "P1") == StateFailed })
	want := map[string]struct {
		result, code string
		attempts     int
		hint         string
	}{
		"com.example.app0": {store.ResultInstalled, "", 2, ""},
		"com.example.app1": {store.ResultFailed, "INSTALL_FAILED_USER_RESTRICTED", 1, "Install via USB"},
		"com.example.app2": {store.ResultFailed, "INSTALL_FAILED_NO_MATCHING_ABIS", 1, "native code"},
		"com.example.app3": {store.ResultFailed, ErrVerify, 1, "versionCode 1"},
	}
	recs := records(t, rig.s, "P1")
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d: %+v", len(recs), len(want), recs)
	}
	for _, r := range recs {
		w := want[r.Package]
		if r.Result != w.result || r.Code != w.code || r.Attempts != w.attempts || !strings.Contains(r.Message, w.hint) {
			t.Errorf("%s: %s %s attempts=%d %q; want %s %s attempts=%d containing %q",
				r.Package, r.Result, r.Code, r.Attempts, r.Message, w.result, w.code, w.attempts, w.hint)
		}
	}
}

func TestHungPhoneStallsAloneAndFailsFast(t *testing.T) {
	apps := testApps(6, func(int) int64 { return 500_000 })
	rig := startEngine(t, Config{Auto: true, StallTimeout: 200 * time.Millisecond, MaxAttempts: 2, Backoff: 10 * time.Millisecond}, apps)
	hung := newFakePhone("HUNG", 10e6, 5*time.Millisecond, apps)
	hung.hangAt = 100_000
	ok := newFakePhone("OK", 10e6, 5*time.Millisecond, apps)
	// Same hub: the hung phone must not hold the hub for the other.
	rig.e.PhoneReady(hung.phone("hub"))
	rig.e.PhoneReady(ok.phone("hub"))
	waitFor(t, 10*time.Second, "OK done", func() bool { return phoneState(rig.e, "OK") == StateDone })
	waitFor(t, 10*time.Second, "HUNG failed", func() bool { return phoneState(rig.e, "HUNG") == StateFailed })
	recs := records(t, rig.s, "HUNG")
	// The APK in flight and at most the one streaming behind it stall; then
	// the phone is given up on instead of stalling once per app.
	if len(recs) == 0 || len(recs) > 2 {
		t.Fatalf("hung phone: %d records, want 1 or 2: %+v", len(recs), recs)
	}
	for _, r := range recs {
		if r.Code != ErrStalled || r.Attempts != 2 || r.Result != store.ResultFailed {
			t.Errorf("hung phone record %s: %s %s after %d attempts; want failed STALLED after 2", r.Package, r.Result, r.Code, r.Attempts)
		}
	}
	if n := len(records(t, rig.s, "OK")); n != 6 {
		t.Errorf("OK phone: %d records, want 6", n)
	}
}

func TestUnplugInterruptsAndReplugResumes(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(), goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
	apps := testApps(6, func(int) int64 { return 400_000 })
	rig := startEngine(t, Config{Auto: true}, apps)
	f := newFakePhone("P1", 4e6, 20*time.Millisecond, apps) // 100 ms per APK
	rig.e.PhoneReady(f.phone(""))
	waitFor(t, 5*time.Second, "two installed", func() bool { n, _ := f.installedCount(); return n >= 2 })
	f.setDropped(true)
	rig.e.PhoneGone("P1")
	waitFor(t, 5*time.Second, "interrupted", func() bool { return phoneState(rig.e, "P1") == StateInterrupted })
	var s1 store.InstallSession
	rig.s.DB.Where("serial = ?", "P1").Take(&s1)
	if s1.Outcome != store.OutcomeInterrupted {
		t.Fatalf("first session outcome %q", s1.Outcome)
	}
	before, _ := f.installedCount()
	f.setDropped(false)
	rig.e.PhoneReady(f.phone(""))
	waitFor(t, 5*time.Second, "done after replug", func() bool { return phoneState(rig.e, "P1") == StateDone })
	n, _ := f.installedCount()
	if n != len(apps) {
		t.Fatalf("%d of %d apps installed after replug", n, len(apps))
	}
	var s2 store.InstallSession
	rig.s.DB.Where("serial = ? AND id <> ?", "P1", s1.ID).Take(&s2)
	if s2.Planned != len(apps)-before || s2.Skipped != before || s2.Installed != s2.Planned {
		t.Errorf("second session planned %d skipped %d installed %d; %d were on the phone", s2.Planned, s2.Skipped, s2.Installed, before)
	}
	// Exactly one terminal record per attempted app per session.
	seen := map[string]bool{}
	for _, r := range records(t, rig.s, "P1") {
		k := r.Package + "/" + string(rune(r.SessionID))
		if seen[k] {
			t.Errorf("two records for %s in session %d", r.Package, r.SessionID)
		}
		seen[k] = true
		if r.SessionID == s1.ID && r.Result == store.ResultCancelled && r.Code != ErrInterrupted {
			t.Errorf("cancelled record with code %q", r.Code)
		}
	}
	rig.stop()
}

func TestStopCancelsMidAPK(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(), goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
	apps := testApps(2, func(int) int64 { return 5_000_000 })
	rig := startEngine(t, Config{Auto: false}, apps)
	f := newFakePhone("P1", 2e6, time.Millisecond, apps) // 2.5 s per APK
	rig.e.PhoneReady(f.phone(""))
	if st := phoneState(rig.e, "P1"); st != StateIdle {
		t.Fatalf("manual mode: state %q before Start", st)
	}
	if err := rig.e.Start("P1"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "bytes moving", func() bool {
		for _, s := range rig.e.Status() {
			if !s.FirstByteAt.IsZero() {
				return true
			}
		}
		return false
	})
	t0 := time.Now()
	if err := rig.e.Stop("P1"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("Stop took %v", d)
	}
	if st := phoneState(rig.e, "P1"); st != StateCancelled {
		t.Errorf("state %q after Stop", st)
	}
	recs := records(t, rig.s, "P1")
	if len(recs) != 1 || recs[0].Result != store.ResultCancelled {
		t.Errorf("records %+v, want one cancelled", recs)
	}
	rig.stop()
}

func TestHubConcurrencyCapKeepsHubFull(t *testing.T) {
	apps := testApps(3, func(int) int64 { return 200_000 })
	rig := startEngine(t, Config{Auto: true, HubConcurrency: 2}, apps)
	var phones []*fakePhone
	for i := 0; i < 5; i++ {
		f := newFakePhone(string(rune('A'+i)), 4e6, time.Millisecond, apps)
		phones = append(phones, f)
		rig.e.PhoneReady(f.phone("hub"))
	}
	for _, f := range phones {
		waitFor(t, 10*time.Second, f.serial, func() bool { return phoneState(rig.e, f.serial) == StateDone })
	}
	sem := rig.e.sched.hub("hub").sem
	sem.mu.Lock()
	peak, n, waiting := sem.peak, sem.n, len(sem.waiters)
	sem.mu.Unlock()
	if peak != 2 {
		t.Errorf("peak %d transfers on a hub capped at 2 (want exactly 2: full, never over)", peak)
	}
	if n != 0 || waiting != 0 {
		t.Errorf("permits leaked: %d out, %d waiting", n, waiting)
	}
}

func TestFIFOSemGrantsInOrder(t *testing.T) {
	s := &fifoSem{max: 1}
	ctx := context.Background()
	if err := s.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	var order []int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.acquire(ctx); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			s.release()
		}()
		waitFor(t, time.Second, "queued", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return len(s.waiters) == i+1 })
	}
	// A waiter that gives up must not take a permit with it.
	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- s.acquire(cctx) }()
	waitFor(t, time.Second, "queued", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return len(s.waiters) == 6 })
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("cancelled acquire succeeded")
	}
	s.release()
	wg.Wait()
	for i, v := range order {
		if v != i {
			t.Fatalf("grant order %v, want arrival order", order)
		}
	}
	if s.n != 0 {
		t.Errorf("%d permits out after all released", s.n)
	}
}

func TestLimiterRate(t *testing.T) {
	l := NewLimiter(10e6)
	start := time.Now()
	for i := 0; i < 20; i++ {
		if err := waitAll(context.Background(), 100_000, l); err != nil {
			t.Fatal(err)
		}
	}
	// 2 MB at 10 MB/s = 200 ms (minus one burst of 50 ms).
	if d := time.Since(start); d < 140*time.Millisecond {
		t.Errorf("2 MB through a 10 MB/s limiter in %v", d)
	}
	var unlimited *Limiter
	if err := waitAll(context.Background(), 1<<30, unlimited, NewLimiter(0)); err != nil {
		t.Fatal(err)
	}
}

func TestHangDuringCommitIsCaughtByPing(t *testing.T) {
	apps := testApps(3, func(int) int64 { return 100_000 })
	// Commits may legitimately take minutes: only the ping tells a hung phone.
	rig := startEngine(t, Config{Auto: true, StallTimeout: 200 * time.Millisecond, CommitTimeout: time.Hour, MaxAttempts: 2, Backoff: 10 * time.Millisecond}, apps)
	f := newFakePhone("P1", 0, 300*time.Millisecond, apps)
	f.hangCommit = true
	p := f.phone("")
	p.Ping = f.ping
	start := time.Now()
	rig.e.PhoneReady(p)
	waitFor(t, 10*time.Second, "failed", func() bool { return phoneState(rig.e, "P1") == StateFailed })
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("hung commit detected after %v", d)
	}
	recs := records(t, rig.s, "P1")
	if len(recs) == 0 || recs[0].Code != ErrStalled {
		t.Errorf("records %+v, want STALLED", recs)
	}
	// And a slow commit on a phone that answers is left alone.
	slow := newFakePhone("P2", 0, 600*time.Millisecond, apps) // 3× the stall time per commit
	p2 := slow.phone("")
	p2.Ping = slow.ping
	rig.e.PhoneReady(p2)
	waitFor(t, 10*time.Second, "slow phone done", func() bool { return phoneState(rig.e, "P2") == StateDone })
}

func TestQuickReplugStartsANewSession(t *testing.T) {
	apps := testApps(4, func(int) int64 { return 400_000 })
	rig := startEngine(t, Config{Auto: true}, apps)
	f := newFakePhone("P1", 4e6, 20*time.Millisecond, apps)
	rig.e.PhoneReady(f.phone(""))
	waitFor(t, 5*time.Second, "one installed", func() bool { n, _ := f.installedCount(); return n >= 1 })
	// Unplug and replug before the first session has had time to end.
	rig.e.PhoneGone("P1")
	rig.e.PhoneReady(f.phone(""))
	waitFor(t, 10*time.Second, "done after quick replug", func() bool { return phoneState(rig.e, "P1") == StateDone })
	if n, _ := f.installedCount(); n != len(apps) {
		t.Fatalf("%d of %d installed", n, len(apps))
	}
}

// TestFIFOSemSetMax: raising the cap lets waiters in at once, in order;
// lowering it lets permits already out finish, and grants no new one until
// fewer than the new cap are out.
func TestFIFOSemSetMax(t *testing.T) {
	s := &fifoSem{max: 1}
	ctx := context.Background()
	if err := s.acquire(ctx); err != nil {
		t.Fatal(err)
	}
	granted := make(chan int, 4)
	for i := range 4 {
		go func() {
			if err := s.acquire(ctx); err != nil {
				t.Error(err)
				return
			}
			granted <- i
		}()
		waitFor(t, time.Second, "queued", func() bool { s.mu.Lock(); defer s.mu.Unlock(); return len(s.waiters) == i+1 })
	}
	s.setMax(3)
	// The first two to arrive are let in (they report in either order).
	if a, b := <-granted, <-granted; min(a, b) != 0 || max(a, b) != 1 {
		t.Fatalf("granted %d and %d, want 0 and 1 (arrival order)", a, b)
	}
	s.setMax(1) // 3 out, 2 waiting
	s.release()
	s.release()
	select {
	case g := <-granted:
		t.Fatalf("waiter %d granted with %d permits out and a cap of 1", g, s.n+1)
	case <-time.After(50 * time.Millisecond):
	}
	s.release() // 0 out: the next waiter gets one
	if got := <-granted; got != 2 {
		t.Fatalf("granted %d, want 2", got)
	}
	s.setMax(0) // unlimited
	if got := <-granted; got != 3 {
		t.Fatalf("granted %d, want 3", got)
	}
	if s.n != 2 {
		t.Errorf("%d permits out, want 2", s.n)
	}
}

// TestSchedulerSetCaps: new caps reach hubs already in use.
func TestSchedulerSetCaps(t *testing.T) {
	s := NewScheduler(0, 1)
	ctx := context.Background()
	lim, release, err := s.Acquire(ctx, "hub1")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	second := make(chan func(), 1)
	go func() {
		_, rel, err := s.Acquire(ctx, "hub1")
		if err != nil {
			t.Error(err)
			return
		}
		second <- rel
	}()
	select {
	case <-second:
		t.Fatal("a second transfer started on a hub capped at one")
	case <-time.After(50 * time.Millisecond):
	}
	s.SetCaps(8e6, 2)
	select {
	case rel := <-second:
		rel()
	case <-time.After(5 * time.Second):
		t.Fatal("raising the hub's cap to 2 did not let the waiting transfer start")
	}
	lim.mu.Lock()
	rate := lim.rate
	lim.mu.Unlock()
	if rate != 8e6 {
		t.Errorf("hub rate %v after SetCaps, want 8e6", rate)
	}
}
