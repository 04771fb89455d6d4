package device_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"preloadstation/backend/adb"
	"preloadstation/backend/adb/adbtest"
	"preloadstation/backend/device"
	"preloadstation/backend/events"
	"preloadstation/backend/sim"
	"preloadstation/backend/store"
)

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkEventOrder checks each serial's events read attached, updated*,
// detached, attached, …: nothing before attached or after detached.
func checkEventOrder(t *testing.T, evs []rec) {
	t.Helper()
	present := map[string]bool{}
	for i, e := range evs {
		s := e.p.Serial
		switch e.name {
		case events.DeviceAttached:
			if present[s] {
				t.Errorf("event %d: %s attached twice", i, s)
			}
			present[s] = true
		case events.DeviceUpdated:
			if !present[s] {
				t.Errorf("event %d: %s updated while not attached", i, s)
			}
		case events.DeviceDetached:
			if !present[s] {
				t.Errorf("event %d: %s detached while not attached", i, s)
			}
			if e.p.State != device.StateGone {
				t.Errorf("event %d: detached with state %s", i, e.p.State)
			}
			present[s] = false
		}
	}
}

// Done when: unplug/replug of random phones during activity: events in
// order, detach within 500 ms, no goroutine leak, slots stable.
func TestUnplugReplugDuringActivity(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	st := startStation(t, 8, sim.Options{Profile: "mixed"}, device.Options{}, true)
	all := serials(st.sim)
	st.waitAll(t, all, device.StateReady, 30*time.Second)
	slotOf := map[string]uint{}
	for _, p := range st.m.Phones() {
		slotOf[p.Serial] = p.Slot.ID
	}

	// Activity: every phone runs shell commands and small pushes nonstop.
	actx, stopActivity := context.WithCancel(context.Background())
	var okOps, failedOps atomic.Int64
	var wg sync.WaitGroup
	payload := bytes.Repeat([]byte("preload"), 40_000)
	for _, s := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := st.client.Device(s)
			for actx.Err() == nil {
				cctx, cancel := context.WithTimeout(adb.WithIdleTimeout(actx, time.Second), 3*time.Second)
				_, err1 := d.Shell(cctx, "getprop ro.product.model")
				err2 := d.Push(cctx, bytes.NewReader(payload), int64(len(payload)), "/data/local/tmp/chaos", 0o644, time.Now(), nil)
				cancel()
				if err1 == nil && err2 == nil {
					okOps.Add(1)
				} else {
					failedOps.Add(1)
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}

	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewSource(seed))
	// A plug change starts with the sim's call and is known to adb when the
	// call returns (Replug includes adb's connect handshake, which USB
	// enumeration would be on a real hub): the 500 ms count from there.
	type plugEvent struct {
		serial      string
		unplug      bool
		start, done time.Time
	}
	var chaos []plugEvent
	change := func(ph *sim.Phone) {
		c := plugEvent{serial: ph.Serial(), unplug: ph.Plugged(), start: time.Now()}
		if c.unplug {
			ph.Unplug()
		} else if err := ph.Replug(); err != nil {
			t.Fatal(err)
		}
		c.done = time.Now()
		chaos = append(chaos, c)
	}
	for round := 0; round < 16; round++ {
		change(st.sim.Phones()[rng.Intn(len(all))])
		time.Sleep(time.Duration(150+rng.Intn(300)) * time.Millisecond)
	}
	for _, ph := range st.sim.Phones() {
		if !ph.Plugged() {
			change(ph)
		}
	}
	st.waitAll(t, all, device.StateReady, 30*time.Second)
	stopActivity()
	wg.Wait()
	t.Logf("seed %d: %d plug changes; activity: %d ok, %d failed (on unplugged phones)", seed, len(chaos), okOps.Load(), failedOps.Load())

	evs := st.rec.all()
	checkEventOrder(t, evs)
	var worst time.Duration
	for _, c := range chaos {
		want := events.DeviceAttached
		if c.unplug {
			want = events.DeviceDetached
		}
		e, ok := st.rec.first(c.serial, c.start, func(r rec) bool { return r.name == want })
		if !ok {
			t.Errorf("%s: no %s event after the plug change at %s", c.serial, want, c.start.Format(time.StampMilli))
			continue
		}
		d := e.at.Sub(c.done)
		worst = max(worst, d)
		if d > 500*time.Millisecond {
			t.Errorf("%s: %s %s after the plug change (limit 500 ms)", c.serial, want, d)
		}
	}
	t.Logf("slowest attach/detach event after a plug change: %s", worst.Round(time.Millisecond))
	for _, p := range st.m.Phones() {
		if slotOf[p.Serial] != p.Slot.ID {
			t.Errorf("%s moved from slot %d to %d", p.Serial, slotOf[p.Serial], p.Slot.ID)
		}
	}
	if okOps.Load() == 0 {
		t.Error("no activity succeeded")
	}

	if err := st.stop(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve returned %v", err)
	}
	st.sim.Close()
	goleak.VerifyNone(t, ignore)
}

// Done when: kill -9 of the adb server: the station restarts it and every
// phone is back to ready without user action.
func TestAdbServerKill9Recovery(t *testing.T) {
	st := startStation(t, 6, sim.Options{Profile: "mixed"}, device.Options{}, true)
	all := serials(st.sim)
	st.waitAll(t, all, device.StateReady, 30*time.Second)

	srv := adb.NewServer(adbtest.Bin(t), st.port, nil)
	srv.Env = adbtest.Env(t)
	srv.Check = 200 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()

	pid, err := adbtest.ServerPID(st.port)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := os.FindProcess(pid)
	killed := time.Now()
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	// The station notices…
	waitFor(t, 5*time.Second, "a phone to leave ready", func() bool {
		_, ok := st.rec.first(all[0], killed, func(r rec) bool { return r.p.State != device.StateReady })
		return ok
	})
	// …and every phone comes back by itself.
	st.waitAll(t, all, device.StateReady, 30*time.Second)
	back := time.Since(killed)
	if srv.Restarts() < 1 {
		t.Fatalf("server restarts = %d", srv.Restarts())
	}
	devs, err := st.client.Devices(context.Background())
	if err != nil || len(devs) != len(all) {
		t.Fatalf("after recovery adb lists %v (%v)", devs, err)
	}
	for _, d := range devs {
		if d.State != "device" {
			t.Errorf("%s: adb state %s", d.Serial, d.State)
		}
	}
	// Nobody detached: the phones stayed in their slots through the restart.
	for _, e := range st.rec.all() {
		if e.name == events.DeviceDetached && e.at.After(killed) {
			t.Errorf("%s detached during the restart", e.p.Serial)
		}
	}
	t.Logf("kill -9 of the adb server: all %d phones ready again %s later (server restarts: %d)", len(all), back.Round(time.Millisecond), srv.Restarts())
	cancel()
	<-served
}

// Done when: a hung phone is detected by the watchdog while 8 others keep
// working at full speed. Each phone is alone on its USB hub (38 MB/s model).
// Speed: rounds of 16 MiB pushes to the 8 others alternate between "alone"
// and "beside a hung phone with a push blocked on it" (so machine load hits
// both alike); the best round of each kind is compared. Then the watchdog:
// the hung phone's push fails with ErrStalled while the others push again.
func TestHungPhoneWhileOthersWork(t *testing.T) { hungPhoneScenario(t) }

// BenchmarkHungPhone runs the same scenario outside -race (make bench), where
// the pushes are bound by the USB model rather than by the CPU.
func BenchmarkHungPhone(b *testing.B) {
	for i := 0; i < b.N; i++ {
		b.ReportMetric(hungPhoneScenario(b), "slowdown-beside-hung")
	}
}

func hungPhoneScenario(t testing.TB) float64 {
	so := sim.Options{Profile: "pixel7", Hubs: 9, USB: sim.DefaultUSB()}
	st := startStation(t, 9, so, device.Options{FactsIdle: time.Second, RetryMax: time.Second}, true)
	all := serials(st.sim)
	st.waitAll(t, all, device.StateReady, 30*time.Second)
	hung, others := all[0], all[1:]
	hungPhone := st.sim.Phones()[0]
	// 16 MiB: long enough that the sim's 100 ms burst credit is noise.
	payload := bytes.Repeat([]byte{0x5a}, 16<<20)

	var hungProgress atomic.Int64 // unix nanos of the hung phone's last progress
	var hangMidPush atomic.Bool   // hang the phone once 2 MiB of its push have moved
	push := func(s string, stall time.Duration) error {
		ctx := adb.WithIdleTimeout(context.Background(), stall)
		progress := func(sent int64) {
			if s == hung {
				hungProgress.Store(time.Now().UnixNano())
				if sent >= 2<<20 && hangMidPush.CompareAndSwap(true, false) {
					hungPhone.Hang(true)
				}
			}
		}
		err := st.client.Device(s).Push(ctx, bytes.NewReader(payload), int64(len(payload)), "/data/local/tmp/big", 0o644, time.Now(), progress)
		if errors.Is(err, adb.ErrStalled) {
			st.m.Stalled(s, err)
		}
		return err
	}
	// round pushes to every other phone at once and returns the median time.
	round := func() time.Duration {
		var mu sync.Mutex
		var took []time.Duration
		var wg sync.WaitGroup
		for _, s := range others {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				if err := push(s, 5*time.Second); err != nil {
					t.Errorf("%s: %v", s, err)
				}
				mu.Lock()
				took = append(took, time.Since(t0))
				mu.Unlock()
			}()
		}
		wg.Wait()
		slices.Sort(took)
		return took[len(took)/2]
	}

	alone, beside := time.Duration(1<<62), time.Duration(1<<62)
	var log []string
	for pair := 0; pair < 3; pair++ {
		a := round()
		hungPhone.Hang(true)
		blocked := make(chan error, 1)
		go func() { blocked <- push(hung, time.Minute) }()
		time.Sleep(200 * time.Millisecond) // its push is in flight, blocked
		b := round()
		hungPhone.Hang(false)
		// Released, the blocked push goes through: nothing was lost.
		if err := <-blocked; err != nil {
			t.Errorf("push to the released phone: %v", err)
		}
		alone, beside = min(alone, a), min(beside, b)
		log = append(log, fmt.Sprintf("%s/%s", a.Round(time.Millisecond), b.Round(time.Millisecond)))
	}

	// The watchdog: the phone hangs in the middle of a push (after 2 MiB);
	// the push fails after the stall timeout while the others push on.
	const stall = 1500 * time.Millisecond
	hangMidPush.Store(true)
	t0 := time.Now()
	hungProgress.Store(t0.UnixNano())
	hungErr := make(chan error, 1)
	var failedAt time.Time
	go func() {
		err := push(hung, stall)
		failedAt = time.Now()
		hungErr <- err
	}()
	round()
	err := <-hungErr
	hungTook := failedAt.Sub(t0)
	// Socket buffers may take our first megabytes before the push blocks:
	// the watchdog counts from the last byte that moved.
	sinceProgress := failedAt.Sub(time.Unix(0, hungProgress.Load()))
	if !errors.Is(err, adb.ErrStalled) {
		t.Fatalf("hung phone: err = %v, want ErrStalled", err)
	}
	if hangMidPush.Load() {
		t.Fatal("the push never reached 2 MiB: the phone was not hung mid-push")
	}
	if sinceProgress > stall+time.Second {
		t.Errorf("hung phone detected %s after its last progress (watchdog %s)", sinceProgress, stall)
	}
	// The hung phone shows as not responding; the others stay ready and answer.
	waitFor(t, 3*time.Second, "hung phone marked not responding", func() bool {
		p, _ := st.m.Phone(hung)
		return p.State == device.StateOffline && p.Reason == device.ReasonNotResponding
	})
	for _, s := range others {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if _, err := st.m.RefreshFacts(ctx, s); err != nil {
			t.Errorf("refresh %s beside the hung phone: %v", s, err)
		}
		cancel()
		if p, _ := st.m.Phone(s); p.State != device.StateReady {
			t.Errorf("%s is %s", s, p.State)
		}
	}
	// Released, it comes back by itself (the worker keeps probing).
	hungPhone.Hang(false)
	st.waitAll(t, []string{hung}, device.StateReady, 15*time.Second)

	ratio := float64(beside) / float64(alone)
	mbps := float64(len(payload)) / alone.Seconds() / 1e6
	t.Logf("8 phones × %d MiB, rounds alone/beside a hung phone: %v; best %s alone (%.1f MB/s per phone), %s beside (×%.2f); hung phone failed %s after its last progress (%s after its push began): %v",
		len(payload)>>20, log, alone.Round(time.Millisecond), mbps, beside.Round(time.Millisecond), ratio, sinceProgress.Round(time.Millisecond), hungTook.Round(time.Millisecond), err)
	// Speed is only comparable when the pushes run at the USB model's speed
	// (38 MB/s per phone). Starved of CPU (-race on a busy 2-core machine:
	// 6–13 MB/s measured) rounds vary ×1.7 with no hung phone at all.
	// 1.5: even unstarved, rounds with no hung phone vary ±30 % under load.
	if mbps < 19 {
		t.Logf("CPU-bound (%.1f MB/s per phone alone, under half the USB model): speed comparison not meaningful here; see BenchmarkHungPhone", mbps)
	} else if ratio > 1.5 {
		t.Errorf("others slowed down ×%.2f by the hung phone", ratio)
	}
	return ratio
}

// Done when: an unauthorized phone shows as such and becomes ready once allowed.
// The phone is plugged in never having been allowed, as a new phone is.
func TestUnauthorizedThenAllowed(t *testing.T) {
	st := startStation(t, 2, sim.Options{Profile: "galaxy-a54"}, device.Options{}, false)
	all := serials(st.sim)
	ph := st.sim.Phones()[0]
	ph.SetUnauthorized()
	for _, s := range all {
		// adb answers "failed to authenticate" for the unauthorized one.
		_ = st.client.Connect(context.Background(), s)
	}
	defer func() {
		if t.Failed() {
			devs, err := st.client.Devices(context.Background())
			t.Logf("adb devices: %+v %v", devs, err)
			for _, e := range st.rec.all() {
				t.Logf("%s %s %s %s", e.at.Format(time.StampMicro), e.name, e.p.Serial, e.p.State)
			}
		}
	}()
	st.waitAll(t, all[1:], device.StateReady, 10*time.Second)
	st.waitAll(t, all[:1], device.StateUnauthorized, 10*time.Second)
	p, _ := st.m.Phone(all[0])
	if p.Reason != device.ReasonAllowDebugging || device.Reasons[p.Reason].ZH == "" {
		t.Errorf("unauthorized phone reason %q", p.Reason)
	}
	if p.Facts != nil {
		t.Errorf("facts read from an unauthorized phone")
	}
	allowed := time.Now()
	ph.Allow()
	st.waitAll(t, all[:1], device.StateReady, 10*time.Second)
	p, _ = st.m.Phone(all[0])
	checkFacts(t, p, ph)
	t.Logf("ready %s after Allow", time.Since(allowed).Round(time.Millisecond))
}

// Slots keep their labels in the store, across replugs and station restarts;
// Identify and RefreshFacts work on a virtual phone.
func TestSlotLabelsIdentifyRefresh(t *testing.T) {
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	slots := device.StoreSlots{DB: db.DB}
	st := startStation(t, 3, sim.Options{Profile: "mixed"}, device.Options{Slots: slots}, true)
	all := serials(st.sim)
	st.waitAll(t, all, device.StateReady, 30*time.Second)
	p, _ := st.m.Phone(all[1])
	if _, err := st.m.SetSlotLabel(context.Background(), p.Slot.ID, "A7"); err != nil {
		t.Fatal(err)
	}
	if p, _ = st.m.Phone(all[1]); p.Slot.Label != "A7" {
		t.Fatalf("label not shown: %+v", p.Slot)
	}
	ph := st.sim.Phones()[1]
	ph.Unplug()
	waitFor(t, 2*time.Second, "detach", func() bool { _, ok := st.m.Phone(all[1]); return !ok })
	if err := ph.Replug(); err != nil {
		t.Fatal(err)
	}
	st.waitAll(t, all[1:2], device.StateReady, 10*time.Second)
	q, _ := st.m.Phone(all[1])
	if q.Slot.ID != p.Slot.ID || q.Slot.Label != "A7" || q.Slot.Position != p.Slot.Position {
		t.Fatalf("after replug slot %+v, before %+v", q.Slot, p.Slot)
	}
	// A second station run on the same database finds the same slots.
	m2 := device.New(device.Options{Client: st.client, Slots: slots})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m2.Serve(ctx) }()
	waitFor(t, 10*time.Second, "second manager sees the phones", func() bool {
		r, ok := m2.Phone(all[1])
		return ok && r.Slot.ID == p.Slot.ID && r.Slot.Label == "A7"
	})
	cancel()
	<-done
	var row store.Phone
	if err := db.DB.Where("serial = ?", all[0]).First(&row).Error; err != nil || row.SDK == 0 {
		t.Errorf("phone record %+v %v", row, err)
	}

	if err := st.m.Identify(context.Background(), all[0]); err != nil {
		t.Errorf("identify: %v", err)
	}
	st.sim.Phones()[0].SetFreeStorage(1 << 30)
	f, err := st.m.RefreshFacts(context.Background(), all[0])
	if err != nil || f.FreeData > 1<<30 || f.FreeData < (1<<30)-(1<<27) {
		t.Errorf("refresh: free %d, %v", f.FreeData, err)
	}
	if p, _ := st.m.Phone(all[0]); p.Facts == nil || p.Facts.FreeData != f.FreeData {
		t.Errorf("refreshed facts not published")
	}
}
