package station_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"preloadstation/backend/adb/adbtest"
	"preloadstation/backend/catalog"
	"preloadstation/backend/install"
	"preloadstation/backend/internal/apktest"
	"preloadstation/backend/internal/historytest"
	"preloadstation/backend/internal/simchild"
	"preloadstation/backend/internal/syncbuf"
	"preloadstation/backend/station"
	"preloadstation/backend/store"
)

// TestStationChaos is install's TestChaos through the real station
// (station.New + Serve: adb server keeper, discovery reading facts, the
// agent pushed, started and connected per phone, the engine over the agent
// channel, library cache, SQLite history, outbox): 32 virtual phones on 4
// hubs × 8 apps with seeded random unplug/replug, one phone that hangs once
// its installs are under way and one that refuses an app for lack of
// storage. Every phone that stayed ends with every planned app at its
// version, every attempt has exactly one terminal record, the hung phone's
// hub neighbours keep everyone else's pace, and nothing leaks. The phones
// run in a child process (simchild) so goleak sees the station alone.
func TestStationChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("virtual phones: not in -short")
	}
	if err := apktest.Available(); err != nil {
		t.Skip("aapt/apksigner needed: ", err)
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	port := adbtest.StartServer(t)
	const n, hubs = 32, 4
	const hung, full = 5, 9
	// The phones attach first, so the storage refusal is in place before the
	// station sees them.
	ph := simchild.Start(t, simchild.Config{Phones: n, Hubs: hubs, Profile: "mixed", ADB: fmt.Sprintf("127.0.0.1:%d", port), Agent: true})
	serials := ph.Serials()

	dir := t.TempDir()
	logs := &syncbuf.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := openStore(ctx, t, dir, "Chaos")
	defer st.Close()
	s, err := station.New(ctx, station.Config{DataDir: dir, Store: st, ADBPort: port, Getenv: func(string) string { return "" },
		Log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Install: &install.Config{Auto: true, StallTimeout: 3 * time.Second, Backoff: 300 * time.Millisecond,
			Plan: install.PlanOptions{PipelineOrder: true}}})
	if err != nil {
		t.Fatal(err)
	}
	apps := activateApps(ctx, t, s.Library(), "stchaos", []int{1_500_000, 300_000, 3_000_000, 800_000, 2_200_000, 500_000, 2_600_000, 1_100_000})
	storagePkg := apps[3].Package
	ph.FailInstall(full, storagePkg, "INSTALL_FAILED_INSUFFICIENT_STORAGE")
	s.SetOperator(func() string { return "op" })

	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-served:
		case <-time.After(60 * time.Second):
			t.Fatalf("the station did not stop within 60 s\n%s", logTail(logs))
		}
	}
	defer stop()
	eng := s.Engine()
	statusOf := func() map[string]install.PhoneStatus {
		m := map[string]install.PhoneStatus{}
		for _, ps := range eng.Status() {
			m[ps.Serial] = ps
		}
		return m
	}

	seed := time.Now().UnixNano()
	if v := os.Getenv("PRELOAD_CHAOS_SEED"); v != "" { // replay a logged run
		if seed, err = strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatalf("PRELOAD_CHAOS_SEED: %v", err)
		}
	}
	t.Logf("chaos seed %d (PRELOAD_CHAOS_SEED replays it)", seed)
	rng := rand.New(rand.NewSource(seed))
	var flappers, leavers []int
	onHungHub := 0
	for _, i := range rng.Perm(n) {
		if i == hung || i == full {
			continue
		}
		// Leave the hung phone's hub at least four untouched phones to
		// compare with the others.
		if ph.Hub(i) == ph.Hub(hung) && onHungHub == 2 {
			continue
		}
		switch {
		case len(flappers) < 8:
			flappers = append(flappers, i)
		case len(leavers) < 2:
			leavers = append(leavers, i)
		default:
			continue
		}
		if ph.Hub(i) == ph.Hub(hung) {
			onHungHub++
		}
	}
	gone := map[int]bool{}
	for _, i := range leavers {
		gone[i] = true
	}
	var wg sync.WaitGroup
	var chaosMu sync.Mutex
	unplugs := map[int]int{}
	for k, i := range append(append([]int{}, flappers...), leavers...) {
		// From before the phone is ready (facts, agent push, channel) to
		// well into its installs.
		at := time.Duration(500+rng.Intn(9500)) * time.Millisecond
		away := time.Duration(300+rng.Intn(1700)) * time.Millisecond
		twice := k < 2
		leave := gone[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(at)
			for range 2 {
				ph.Unplug(i)
				chaosMu.Lock()
				unplugs[i]++
				chaosMu.Unlock()
				if leave {
					return
				}
				time.Sleep(away)
				ph.Replug(i)
				if !twice {
					return
				}
				time.Sleep(2 * time.Second)
			}
		}()
	}
	// The hung phone hangs once its bytes flow: a phone that hangs before
	// it is ready never reaches the engine, which is another test.
	hungAt := make(chan time.Time, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		deadline := time.Now().Add(90 * time.Second)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			if !statusOf()[serials[hung]].FirstByteAt.IsZero() {
				ph.Hang(hung, true)
				hungAt <- time.Now()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	wg.Wait()
	var hangTime time.Time
	select {
	case hangTime = <-hungAt:
	default:
		t.Fatalf("phone %d never got its first byte, so it was never hung\n%s", hung, logTail(logs))
	}

	t0 := time.Now()
	waitFor(t, 3*time.Minute, "every phone that stayed to finish its current stay", func() bool {
		m := statusOf()
		for i, serial := range serials {
			if gone[i] || i == hung {
				continue // the hung phone is checked in the records below
			}
			ps := m[serial]
			if !ps.Present || (ps.State != install.StateDone && ps.State != install.StateFailed) {
				return false
			}
		}
		return true
	}, tailer{logs})
	final := statusOf()
	t.Logf("chaos over; every phone that stayed finished %v later", time.Since(t0).Round(time.Millisecond))
	// The hung phone's session may still be stalling: give the watchdog (and
	// the channel's heartbeat) their time.
	waitFor(t, 90*time.Second, "the hung phone's session to fail", func() bool {
		var c int64
		st.DB.Model(&store.InstallSession{}).Where("serial = ? AND outcome = ?", serials[hung], store.OutcomeFailed).Count(&c)
		return c > 0
	}, tailer{logs})
	t.Logf("the hung phone's session failed %v after the hang", time.Since(hangTime).Round(time.Millisecond))
	stopAt := time.Now()
	stop()
	t.Logf("the station stopped in %v (with a hung phone attached)", time.Since(stopAt).Round(time.Millisecond))

	// Every phone that stayed has every planned app at the planned version
	// (the full one lacks exactly the refused app).
	for i, serial := range serials {
		if gone[i] || i == hung {
			continue
		}
		got := ph.Packages(i)
		for _, a := range apps {
			want := a.VersionCode
			if i == full && a.Package == storagePkg {
				want = 0
			}
			if got[a.Package] != want {
				t.Errorf("phone %d (%s, unplugged %d×): %s at %d, want %d", i, serial, unplugs[i], a.Package, got[a.Package], want)
			}
		}
		want := install.StateDone
		if i == full {
			want = install.StateFailed
		}
		if final[serial].State != want {
			t.Errorf("phone %d (%s): state %s, want %s", i, serial, final[serial].State, want)
		}
	}

	sessions, recs := historytest.Check(t, st.DB)
	interrupted := 0
	for _, sess := range sessions {
		if sess.Outcome == store.OutcomeInterrupted {
			interrupted++
		}
		if sess.Outcome != store.OutcomeDone {
			continue
		}
		// A session that ran to its end accounts for every app of the list.
		got := map[string]string{}
		for _, r := range sess.Records {
			got[r.Package] = r.Result
		}
		for _, a := range apps {
			if r := got[a.Package]; r != store.ResultInstalled && r != store.ResultSkipped {
				t.Errorf("done session %s of %s: %s %q, want installed or skipped", sess.UUID, sess.Serial, a.Package, r)
			}
		}
	}

	// The hung phone: a session ended failed on the stall watchdog.
	stalled, hungFailed := false, false
	for _, sess := range sessions {
		if sess.Serial != serials[hung] {
			continue
		}
		hungFailed = hungFailed || sess.Outcome == store.OutcomeFailed
		for _, r := range sess.Records {
			stalled = stalled || (r.Code == install.ErrStalled && r.Result == store.ResultFailed)
		}
	}
	for _, sess := range sessions {
		if sess.Serial != serials[hung] {
			continue
		}
		for _, r := range sess.Records {
			if r.Result != store.ResultInstalled {
				t.Logf("hung phone, session %s: %s %s %s after %d attempts, %v: %s", sess.Outcome, r.Package, r.Result, r.Code, r.Attempts,
					r.EndedAt.Sub(r.StartedAt).Round(time.Millisecond), r.Message)
			}
		}
	}
	if !stalled || !hungFailed {
		t.Errorf("hung phone: stalled record %v, failed session %v; want both", stalled, hungFailed)
	}
	var storage []store.InstallRecord
	for _, r := range recs {
		if r.Serial == serials[full] && r.Package == storagePkg && r.Result == store.ResultFailed {
			storage = append(storage, r)
		}
	}
	if len(storage) != 1 || storage[0].Code != "INSTALL_FAILED_INSUFFICIENT_STORAGE" || storage[0].Attempts != 1 ||
		!strings.Contains(storage[0].Message, "storage") {
		t.Errorf("storage failure records: %+v; want one, INSTALL_FAILED_INSUFFICIENT_STORAGE after 1 attempt, with the storage hint", storage)
	}

	// Every record is queued for the catalog once.
	var items int64
	st.DB.Model(&store.OutboxItem{}).Where("kind = ?", catalog.KindInstallRecord).Count(&items)
	if items != int64(len(recs)) {
		t.Errorf("%d outbox items for %d records", items, len(recs))
	}
	t.Logf("%d sessions (%d interrupted), %d records, unplugs %v, leavers %v, hung %d, full %d", len(sessions), interrupted, len(recs), unplugs, leavers, hung, full)

	// Phones nobody touched installed over the agent channel, and kept their
	// pace per hub: the hung phone's neighbours as fast as everyone else.
	touched := map[int]bool{hung: true, full: true}
	for _, i := range append(append([]int{}, flappers...), leavers...) {
		touched[i] = true
	}
	perHub := map[int][]float64{}
	transports := map[string]int{}
	for i, serial := range serials {
		if touched[i] {
			continue
		}
		ps := final[serial]
		transports[ps.Transport]++
		perHub[ph.Hub(i)] = append(perHub[ph.Hub(i)], float64(ps.Bytes)/1e6/ps.EndedAt.Sub(ps.StartedAt).Seconds())
	}
	t.Logf("untouched phones' transports: %v", transports)
	if transports["agent"] != n-len(touched) {
		t.Errorf("untouched phones installed over %v, want all %d over the agent channel", transports, n-len(touched))
	}
	median := func(v []float64) float64 {
		v = append([]float64{}, v...)
		sort.Float64s(v)
		return v[len(v)/2]
	}
	var others []float64
	hubIDs := make([]int, 0, len(perHub))
	for h := range perHub {
		hubIDs = append(hubIDs, h)
	}
	sort.Ints(hubIDs)
	for _, h := range hubIDs {
		v := perHub[h]
		mark := ""
		if h == ph.Hub(hung) {
			mark = " (the hung phone's hub)"
		}
		t.Logf("hub %d%s: untouched phones' throughput MB/s %s (median %.2f)", h, mark, fmtMBps(v), median(v))
		if h != ph.Hub(hung) {
			others = append(others, v...)
		}
	}
	if hv := perHub[ph.Hub(hung)]; len(hv) > 0 && len(others) > 0 && median(hv) < 0.75*median(others) {
		t.Errorf("phones sharing a hub with the hung phone ran at %.2f MB/s, others %.2f MB/s", median(hv), median(others))
	}

	ph.Close() // before goleak: the child's pipes are the test's
	if t.Failed() {
		t.Logf("--- station log (tail) ---\n%s", logTail(logs))
	}
}

func fmtMBps(v []float64) string {
	var out []string
	for _, x := range v {
		out = append(out, fmt.Sprintf("%.2f", x))
	}
	return strings.Join(out, " ")
}

// logTail is the end of a station log: enough to see what went wrong
// without flooding CI with 32 phones' worth of it.
func logTail(l *syncbuf.Buffer) string {
	s := l.String()
	const max = 64 << 10
	if len(s) > max {
		return "…\n" + s[len(s)-max:]
	}
	return s
}

// tailer shows logTail where a fmt.Stringer is wanted (waitFor).
type tailer struct{ l *syncbuf.Buffer }

func (t tailer) String() string { return logTail(t.l) }
