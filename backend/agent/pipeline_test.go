package agent

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"preloadstation/backend/agent/wire"
	"preloadstation/backend/internal/apktest"
)

// stamps records when an install's stream started and ended (from the agent's
// progress notes) and when its call returned (after the commit).
type stamps struct {
	mu                 sync.Mutex
	first, last, reply time.Time
}

func (s *stamps) progress(size int64) func(int64) {
	return func(n int64) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.first.IsZero() {
			s.first = time.Now()
		}
		if n == size {
			s.last = time.Now()
		}
	}
}

func (s *stamps) get() (first, last, reply time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first, s.last, s.reply
}

// TestAgentInstallOverlapsCommit: over the agent channel, APK 2 streams
// while the virtual phone's package manager is still committing APK 1, as on
// the exec path. With one lock held over stream + commit, APK 2's first byte
// would only go out after APK 1's reply.
func TestAgentInstallOverlapsCommit(t *testing.T) {
	if err := apktest.Available(); err != nil {
		t.Skip(err)
	}
	r := newRig(t, rigOpts{phones: 1, mopts: Options{Heartbeat: 500 * time.Millisecond, Timeout: 5 * time.Second}})
	ph := r.sim.Phones()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if ch, err := r.m.WaitReady(ctx, ph.Serial()); err != nil || ch == nil {
		t.Fatalf("no channel: %v", err)
	}

	// 4 MB each: ~0.1 s on the virtual USB, ~1.7 s of commit (sim.DefaultUSB).
	dir := t.TempDir()
	pkgs := []string{"com.preload.pipe.one", "com.preload.pipe.two"}
	var files []*os.File
	var sizes []int64
	for _, p := range pkgs {
		f, err := os.Open(apktest.Build(t, dir, apktest.Spec{Package: p, VersionCode: 1, PayloadBytes: 4 << 20}))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fi, _ := f.Stat()
		files, sizes = append(files, f), append(sizes, fi.Size())
	}

	st := []*stamps{{}, {}}
	errs := make([]error, 2)
	install := func(i int, wg *sync.WaitGroup) {
		defer wg.Done()
		_, err := r.m.Install(ctx, ph.Serial(), wire.InstallRequest{Name: pkgs[i], Package: pkgs[i], Size: sizes[i]},
			files[i], st[i].progress(sizes[i]))
		st[i].mu.Lock()
		st[i].reply = time.Now()
		st[i].mu.Unlock()
		errs[i] = err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go install(0, &wg)
	// The engine hands the stream token on at APK 1's last byte; do the same.
	for {
		if _, last, reply := st[0].get(); !last.IsZero() || !reply.IsZero() {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("APK 1 never finished streaming")
		}
		time.Sleep(time.Millisecond)
	}
	wg.Add(1)
	go install(1, &wg)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("install %s: %v", pkgs[i], err)
		}
	}

	p1, ok1 := ph.Package(pkgs[0])
	p2, ok2 := ph.Package(pkgs[1])
	if !ok1 || !ok2 {
		t.Fatalf("virtual phone is missing an install: %v %v", ok1, ok2)
	}
	a1, aLast, aReply := st[0].get()
	bFirst, bLast, bReply := st[1].get()
	ms := func(x time.Time) float64 { return float64(x.Sub(a1).Microseconds()) / 1000 }
	t.Logf("APK 1: stream %.0f→%.0f ms, committed %.0f ms, reply %.0f ms", 0.0, ms(aLast), ms(p1.Installed), ms(aReply))
	t.Logf("APK 2: stream %.0f→%.0f ms, committed %.0f ms, reply %.0f ms", ms(bFirst), ms(bLast), ms(p2.Installed), ms(bReply))
	if bFirst.IsZero() || bLast.IsZero() {
		t.Fatal("no progress notes for APK 2")
	}
	// The phone's commit of APK 1 ends at p1.Installed; APK 2's whole
	// transfer must fit before it.
	if !bLast.Before(p1.Installed) || !bLast.Before(aReply) {
		t.Fatalf("APK 2 finished streaming %.0f ms after APK 1's start, APK 1 committed at %.0f ms (reply %.0f ms): the transfer did not overlap the commit",
			ms(bLast), ms(p1.Installed), ms(aReply))
	}
	if !p1.Installed.Before(p2.Installed) {
		t.Fatalf("commits out of order: APK 1 %v, APK 2 %v", p1.Installed, p2.Installed)
	}
}

// TestProgressRouting: with two installs on the channel, the agent's notes
// go to the oldest stream still sending, and a stale note of another size
// goes nowhere.
func TestProgressRouting(t *testing.T) {
	var got [2][]int64
	c := &Channel{}
	for i, size := range []int64{100, 50} {
		c.streams = append(c.streams, &streamProgress{size: size, f: func(n int64) { got[i] = append(got[i], n) }})
	}
	for _, p := range []wire.Progress{{Received: 40, Size: 100}, {Received: 100, Size: 100}, {Received: 7, Size: 999},
		{Received: 20, Size: 50}, {Received: 50, Size: 50}, {Received: 50, Size: 50}} {
		if f := c.progressFor(p); f != nil {
			f(p.Received)
		}
	}
	if fmt.Sprint(got) != "[[40 100] [20 50]]" {
		t.Fatalf("routed %v, want [[40 100] [20 50]]", got)
	}
}

// TestAgentInstallStoppedOnHungPhone: a phone that hangs mid-stream takes no
// more bytes, so the stream's write blocks. Stopping the install (the
// engine's stall watchdog, or the operator) must end it about writeGrace
// later, not when the channel's heartbeat times out (60 s here).
func TestAgentInstallStoppedOnHungPhone(t *testing.T) {
	if err := apktest.Available(); err != nil {
		t.Skip(err)
	}
	r := newRig(t, rigOpts{phones: 1, mopts: Options{Heartbeat: 20 * time.Second, Timeout: 60 * time.Second}})
	ph := r.sim.Phones()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if ch, err := r.m.WaitReady(ctx, ph.Serial()); err != nil || ch == nil {
		t.Fatalf("no channel: %v", err)
	}
	f, err := os.Open(apktest.Build(t, t.TempDir(), apktest.Spec{Package: "com.preload.hang", VersionCode: 1, PayloadBytes: 48 << 20}))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	ictx, stopInstall := context.WithCancel(ctx)
	defer stopInstall()
	var hungOnce sync.Once
	hung := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		_, err := r.m.Install(ictx, ph.Serial(), wire.InstallRequest{Name: "hang", Package: "com.preload.hang", Size: fi.Size()}, f,
			func(n int64) {
				if n > 1<<20 {
					hungOnce.Do(func() { ph.Hang(true); close(hung) })
				}
			})
		done <- err
	}()
	select {
	case <-hung:
	case err := <-done:
		t.Fatalf("the install ended before the phone hung: %v", err)
	case <-ctx.Done():
		t.Fatal("no progress")
	}
	defer ph.Hang(false)
	time.Sleep(2 * time.Second) // the host's buffers fill; the write blocks
	stopped := time.Now()
	stopInstall()
	select {
	case err := <-done:
		took := time.Since(stopped)
		t.Logf("stopped install returned after %v: %v", took.Round(time.Millisecond), err)
		if err == nil {
			t.Fatal("an install to a hung phone succeeded")
		}
		if took > 15*time.Second {
			t.Errorf("the install ended %v after it was stopped, want about %v", took, writeGrace)
		}
	case <-time.After(45 * time.Second):
		t.Fatal("the stopped install is still blocked 45 s later")
	}
}
