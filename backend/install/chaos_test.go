package install_test

import (
	"context"
	"math/rand"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"preloadstation/backend/install"
	"preloadstation/backend/internal/historytest"
	"preloadstation/backend/store"
)

// TestChaos: 32 virtual phones on 4 hubs × 8 apps with random unplug/replug,
// one hung phone and one injected INSTALL_FAILED_INSUFFICIENT_STORAGE.
// Every phone that stayed ends with every planned app at its version, every
// attempt has exactly one terminal record, healthy phones keep their pace
// whatever their neighbours do, and the station leaks no goroutine.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("virtual phones: not in -short")
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent(), goleak.IgnoreTopFunction("database/sql.(*DB).connectionOpener"))
	port := startADB(t)
	set := buildApps(t, "chaos", []int{1_500_000, 300_000, 3_000_000, 800_000, 2_200_000, 500_000, 2_600_000, 1_100_000})
	const n, hubs = 32, 4
	ph := startChildPhones(t, simConfig{Phones: n, Hubs: hubs, Profile: "mixed", ADB: "127.0.0.1:" + itoa(port)})
	const hung, full = 5, 9
	storagePkg := set.apps[3].Package
	ph.FailInstall(full, storagePkg, "INSTALL_FAILED_INSUFFICIENT_STORAGE")

	ctx, cancel := context.WithCancel(context.Background())
	st, err := newStation(ctx, stationOpts{adbPort: port, apps: set, dbPath: filepath.Join(t.TempDir(), "station.db"), logf: t.Logf,
		cfg: install.Config{Auto: true, Station: "chaos", StallTimeout: 3 * time.Second, Backoff: 300 * time.Millisecond,
			Plan: install.PlanOptions{PipelineOrder: true}}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = st.Serve(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	defer stop()

	seed := time.Now().UnixNano()
	t.Logf("chaos seed %d", seed)
	rng := rand.New(rand.NewSource(seed))
	perm := rng.Perm(n)
	var flappers, leavers []int
	for _, i := range perm {
		if i == hung || i == full {
			continue
		}
		switch {
		case len(flappers) < 8:
			flappers = append(flappers, i)
		case len(leavers) < 2:
			leavers = append(leavers, i)
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
		at := time.Duration(500+rng.Intn(7500)) * time.Millisecond
		away := time.Duration(300+rng.Intn(1700)) * time.Millisecond
		twice := k < 2
		leave := gone[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(at)
			for round := 0; round < 2; round++ {
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
	wg.Add(1)
	go func() { defer wg.Done(); time.Sleep(2 * time.Second); ph.Hang(hung, true) }()
	wg.Wait()

	serials := ph.Serials()
	stateOf := func() map[string]install.PhoneStatus {
		m := map[string]install.PhoneStatus{}
		for _, s := range st.eng.Status() {
			m[s.Serial] = s
		}
		return m
	}
	t0 := time.Now()
	waitUntil(t, 3*time.Minute, "every phone that stayed to finish", func() bool {
		m := stateOf()
		for i, s := range serials {
			if gone[i] || i == hung {
				continue // the hung phone is checked in the records below
			}
			if state := m[s].State; state != install.StateDone && state != install.StateFailed {
				return false
			}
		}
		return true
	})
	final := stateOf()
	t.Logf("chaos over; all phones that stayed finished %v later", time.Since(t0))
	// The hung phone's session may still be stalling: give the watchdog its time.
	waitUntil(t, time.Minute, "hung phone's session to fail", func() bool {
		var c int64
		st.st.DB.Model(&store.InstallSession{}).Where("serial = ? AND outcome = ?", serials[hung], store.OutcomeFailed).Count(&c)
		return c > 0
	})
	stop()

	// Every phone that stayed has every planned app at the planned version
	// (the hung one cannot; the full one lacks exactly the refused app).
	for i, s := range serials {
		if gone[i] || i == hung {
			continue
		}
		got := ph.Packages(i)
		for _, a := range set.apps {
			want := a.VersionCode
			if i == full && a.Package == storagePkg {
				want = 0
			}
			if got[a.Package] != want {
				t.Errorf("phone %d (%s, unplugged %d×): %s at %d, want %d", i, s, unplugs[i], a.Package, got[a.Package], want)
			}
		}
		wantState := install.StateDone
		if i == full {
			wantState = install.StateFailed
		}
		if final[s].State != wantState {
			t.Errorf("phone %d: state %s, want %s", i, final[s].State, wantState)
		}
	}

	db, err := store.Open(context.Background(), st.st.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sessions, recs := historytest.Check(t, db.DB)
	interrupted := 0
	for _, s := range sessions {
		if s.Outcome == store.OutcomeInterrupted {
			interrupted++
		}
		if s.Installed+s.Failed+s.Skipped > s.Planned+8 {
			t.Errorf("session %s counters %d+%d+%d", s.UUID, s.Installed, s.Failed, s.Skipped)
		}
	}
	// The hung phone: its first session ended failed on the stall watchdog.
	stalled := false
	for _, r := range recs {
		if r.Serial == serials[hung] && r.Code == install.ErrStalled && r.Result == store.ResultFailed {
			stalled = true
		}
	}
	hungFailed := false
	for _, s := range sessions {
		if s.Serial == serials[hung] && s.Outcome == store.OutcomeFailed {
			hungFailed = true
		}
	}
	if !stalled || !hungFailed {
		t.Errorf("hung phone: stalled record %v, failed session %v; want both", stalled, hungFailed)
	}
	var storageRec *store.InstallRecord
	for i := range recs {
		if recs[i].Serial == serials[full] && recs[i].Package == storagePkg && recs[i].Result == store.ResultFailed {
			storageRec = &recs[i]
		}
	}
	if storageRec == nil || storageRec.Code != "INSTALL_FAILED_INSUFFICIENT_STORAGE" || storageRec.Attempts != 1 ||
		!strings.Contains(storageRec.Message, "storage") {
		t.Errorf("storage failure record: %+v", storageRec)
	}
	t.Logf("%d sessions (%d interrupted), %d records, unplugs %v, leavers %v, hung %d, full %d", len(sessions), interrupted, len(recs), unplugs, leavers, hung, full)

	// Throughput of phones nobody touched, per hub: the hung phone's
	// neighbours must keep the pace of everyone else.
	touched := map[int]bool{hung: true, full: true}
	for _, i := range flappers {
		touched[i] = true
	}
	for _, i := range leavers {
		touched[i] = true
	}
	perHub := map[int][]float64{}
	for i, s := range serials {
		if touched[i] {
			continue
		}
		p := final[s]
		d := p.EndedAt.Sub(p.StartedAt).Seconds()
		perHub[ph.Hub(i)] = append(perHub[ph.Hub(i)], float64(p.Bytes)/1e6/d)
	}
	median := func(v []float64) float64 { sort.Float64s(v); return v[len(v)/2] }
	var others []float64
	for h, v := range perHub {
		t.Logf("hub %d: untouched phones' throughput MB/s %v (median %.2f)", h, fmtF(v), median(v))
		if h != ph.Hub(hung) {
			others = append(others, v...)
		}
	}
	if hv := perHub[ph.Hub(hung)]; len(hv) > 0 && len(others) > 0 {
		if median(hv) < 0.75*median(others) {
			t.Errorf("phones sharing a hub with the hung phone ran at %.2f MB/s, others %.2f MB/s", median(hv), median(others))
		}
	}
}

func fmtF(v []float64) []string {
	var out []string
	for _, x := range v {
		out = append(out, strings.TrimRight(strings.TrimRight(strconvF(x), "0"), "."))
	}
	return out
}

func strconvF(x float64) string { return strings.TrimSpace(fmtFloat(x)) }
