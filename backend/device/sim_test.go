package device_test

// Integration tests: virtual phones (backend/sim) behind the real adb server,
// discovered by the Manager through our adb layer, exactly as USB phones are.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"preloadstation/backend/adb"
	"preloadstation/backend/adb/adbtest"
	"preloadstation/backend/device"
	"preloadstation/backend/events"
	"preloadstation/backend/sim"
)

// recorder keeps every event with its arrival time.
type recorder struct {
	mu  sync.Mutex
	evs []rec
}

type rec struct {
	name string
	p    device.Phone
	at   time.Time
}

func (r *recorder) Emit(name string, payload any) {
	p, ok := payload.(device.Phone)
	if !ok {
		return
	}
	r.mu.Lock()
	r.evs = append(r.evs, rec{name, p, time.Now()})
	r.mu.Unlock()
}

func (r *recorder) all() []rec {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]rec(nil), r.evs...)
}

// first returns the first event for serial after t matching ok.
func (r *recorder) first(serial string, after time.Time, ok func(rec) bool) (rec, bool) {
	for _, e := range r.all() {
		if e.p.Serial == serial && !e.at.Before(after) && ok(e) {
			return e, true
		}
	}
	return rec{}, false
}

type station struct {
	addr   string
	port   int
	client *adb.Client
	sim    *sim.Sim
	m      *device.Manager
	rec    *recorder
	stop   func() error // stops the manager and returns Serve's error
}

// startStation starts a private adb server, n virtual phones (not yet
// attached unless attach), and a Manager watching that server.
func startStation(t testing.TB, n int, so sim.Options, mo device.Options, attach bool) *station {
	t.Helper()
	port := adbtest.StartServer(t)
	st := &station{port: port, addr: fmt.Sprintf("127.0.0.1:%d", port), rec: &recorder{}}
	st.client = adb.NewClient(st.addr)
	so.Phones = n
	if attach {
		so.ADBServer = st.addr
	}
	s, err := sim.New(so)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	st.sim = s
	t.Cleanup(func() { s.Close() })
	mo.Client = st.client
	mo.Emitter = st.rec
	st.m = device.New(mo)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.m.Serve(ctx) }()
	var once sync.Once
	var serr error
	st.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case serr = <-done:
			case <-time.After(10 * time.Second):
				serr = errors.New("Manager.Serve did not return within 10 s of cancel")
			}
		})
		return serr
	}
	t.Cleanup(func() { st.stop() })
	return st
}

// waitAll waits until every serial is in state want.
func (st *station) waitAll(t testing.TB, serials []string, want device.State, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var missing []string
		for _, s := range serials {
			if p, ok := st.m.Phone(s); !ok || p.State != want {
				missing = append(missing, fmt.Sprintf("%s=%v", s, p.State))
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, %d phones not %s: %v", timeout, len(missing), want, missing)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func serials(s *sim.Sim) []string {
	var out []string
	for _, ph := range s.Phones() {
		out = append(out, ph.Serial())
	}
	return out
}

// plugAll attaches every phone at once (as 32 cables plugged together) and
// returns each phone's plug time (before adb's connect handshake).
func plugAll(t testing.TB, st *station) map[string]time.Time {
	plugged, _ := plugAllTimes(t, st)
	return plugged
}

// plugAllTimes also returns when adb knew each phone (its connect returned).
func plugAllTimes(t testing.TB, st *station) (plugged, known map[string]time.Time) {
	t.Helper()
	plugged, known = map[string]time.Time{}, map[string]time.Time{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, ph := range st.sim.Phones() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			if err := st.client.Connect(context.Background(), ph.Serial()); err != nil {
				t.Errorf("connect %s: %v", ph.Serial(), err)
			}
			t1 := time.Now()
			mu.Lock()
			plugged[ph.Serial()], known[ph.Serial()] = t0, t1
			mu.Unlock()
		}()
	}
	wg.Wait()
	return plugged, known
}

// checkFacts compares what the station read with what the phone is.
func checkFacts(t testing.TB, p device.Phone, ph *sim.Phone) {
	t.Helper()
	prof := ph.Profile()
	f := p.Facts
	if f == nil {
		t.Errorf("%s: no facts", p.Serial)
		return
	}
	if f.Brand != prof.Brand || f.Manufacturer != prof.Manufacturer || f.Model != prof.Model || f.Device != prof.Device ||
		f.Release != prof.Release || f.SDK != prof.SDK || !slices.Equal(f.ABIs, prof.ABIs) || f.Battery != prof.Battery {
		t.Errorf("%s: facts %+v\nprofile %+v", p.Serial, *f, prof)
	}
	st := ph.Status()
	_ = st
	pk := ph.Packages()
	if len(f.Packages) != len(pk) {
		t.Errorf("%s: %d packages read, phone has %d", p.Serial, len(f.Packages), len(pk))
	}
	for _, x := range pk {
		if v, ok := f.Packages[x.Name]; !ok || v != x.VersionCode {
			t.Errorf("%s: package %s versionCode %d read as %d (%v)", p.Serial, x.Name, x.VersionCode, v, ok)
			break
		}
	}
	// Free space: the phone reports 1K blocks (toybox) or 0.1G steps (old toolbox).
	want := prof.FreeBytes
	tol := int64(1024)
	if prof.SDK < 26 {
		tol = 1 << 27
	}
	if d := f.FreeData - want; d < -tol || d > tol {
		t.Errorf("%s: free %d, phone has %d", p.Serial, f.FreeData, want)
	}
}

// Done when: 32 phones plugged at once, all ready with correct facts.
func Test32PhonesReady(t *testing.T) {
	st := startStation(t, 32, sim.Options{Profile: "mixed", Hubs: 4}, device.Options{}, false)
	plugged, known := plugAllTimes(t, st)
	st.waitAll(t, serials(st.sim), device.StateReady, 60*time.Second)
	var lat []time.Duration
	for _, ph := range st.sim.Phones() {
		p, _ := st.m.Phone(ph.Serial())
		checkFacts(t, p, ph)
		if !strings.HasPrefix(p.Slot.Path, "serial:") || p.Slot.ID == 0 {
			t.Errorf("%s: slot %+v", p.Serial, p.Slot)
		}
		lat = append(lat, p.ReadyAt.Sub(plugged[ph.Serial()]))
	}
	slices.Sort(lat)
	t.Logf("32 phones: plug-to-ready median %s, max %s", lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	// Attached events within 500 ms of adb knowing the phone (its connect
	// handshake done: on a real hub, USB enumeration and the handshake).
	var worst time.Duration
	for _, s := range serials(st.sim) {
		e, ok := st.rec.first(s, time.Time{}, func(r rec) bool { return r.name == events.DeviceAttached })
		if !ok {
			t.Errorf("%s: no attached event", s)
			continue
		}
		d := e.at.Sub(known[s])
		worst = max(worst, d)
		if d > 500*time.Millisecond {
			t.Errorf("%s: attached %s after adb knew it (%s after plug)", s, d, e.at.Sub(plugged[s]))
		}
	}
	t.Logf("slowest attached event after adb knew the phone: %s", worst.Round(time.Millisecond))
}

// BenchmarkPlugToReady32 reports the median plug-to-ready time of 32 phones
// plugged at once (virtual phones: adb handshake + facts; no USB enumeration).
func BenchmarkPlugToReady32(b *testing.B) {
	var all []time.Duration
	for i := 0; i < b.N; i++ {
		st := startStation(b, 32, sim.Options{Profile: "mixed", Hubs: 4}, device.Options{}, false)
		plugged := plugAll(b, st)
		st.waitAll(b, serials(st.sim), device.StateReady, 60*time.Second)
		for _, ph := range st.sim.Phones() {
			p, _ := st.m.Phone(ph.Serial())
			all = append(all, p.ReadyAt.Sub(plugged[ph.Serial()]))
		}
		st.stop()
		st.sim.Close()
	}
	slices.Sort(all)
	med := all[len(all)/2]
	b.ReportMetric(float64(med.Milliseconds()), "ms-median-plug-to-ready")
	b.ReportMetric(float64(all[len(all)*95/100].Milliseconds()), "ms-p95")
	b.Logf("32 phones at once: plug-to-ready median %s, p95 %s, max %s (target: discovery within 500 ms; no floor for facts)",
		med.Round(time.Millisecond), all[len(all)*95/100].Round(time.Millisecond), all[len(all)-1].Round(time.Millisecond))
}
