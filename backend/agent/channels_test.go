package agent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Test32PhonesIndependent: 32 virtual phones behind the real adb server, each
// with its own forwarded port and channel. One phone's agent is killed and
// another phone is unplugged and replugged (its forward vanishes): both are
// rebuilt by their own workers while the other 30 keep streaming round trips
// without a single channel rebuild.
func Test32PhonesIndependent(t *testing.T) {
	const n = 32
	r := newRig(t, rigOpts{phones: n, mopts: Options{Heartbeat: 500 * time.Millisecond, Timeout: 5 * time.Second}})
	phones := r.sim.Phones()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()

	ports := map[int]string{}
	var readyMax float64
	for _, ph := range phones {
		ch, err := r.m.WaitReady(ctx, ph.Serial())
		if err != nil || ch == nil {
			t.Fatalf("%s: no channel: %v (state %+v)", ph.Serial(), err, mustState(r, ph.Serial()))
		}
		st := mustState(r, ph.Serial())
		if st.LocalPort == 0 || ports[st.LocalPort] != "" {
			t.Fatalf("%s: local port %d not unique (also %s)", ph.Serial(), st.LocalPort, ports[st.LocalPort])
		}
		ports[st.LocalPort] = ph.Serial()
		readyMax = max(readyMax, st.ReadyAfter)
	}
	t.Logf("%d phones: every channel ready %.0f ms after attach (slowest), %d distinct forwarded ports", n, readyMax, len(ports))

	// Stream round trips on every phone.
	var okCount [n]atomic.Int64
	var errCount [n]atomic.Int64
	sctx, stopStream := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i, ph := range phones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sctx.Err() == nil {
				ch := r.m.Channel(ph.Serial())
				if ch == nil {
					time.Sleep(20 * time.Millisecond)
					continue
				}
				cctx, c := context.WithTimeout(sctx, 3*time.Second)
				got, err := ch.Echo(cctx, fmt.Sprint(i))
				c()
				if err == nil && got == fmt.Sprint(i) {
					okCount[i].Add(1)
				} else if sctx.Err() == nil {
					errCount[i].Add(1)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	before := make([]int64, n)
	for i := range before {
		before[i] = okCount[i].Load()
	}

	const killed, unplugged = 3, 17
	// Watch both phones from the moment they are hit, each on its own.
	rebuilt := make(chan string, 2)
	watch := func(i int, since time.Time) {
		deadline := time.Now().Add(60 * time.Second)
		for {
			st := mustState(r, phones[i].Serial())
			if st.Channels >= 2 && st.State == StateReady {
				rebuilt <- fmt.Sprintf("%s rebuilt %.0f ms after being hit (port %d)", phones[i].Serial(), float64(time.Since(since).Milliseconds()), st.LocalPort)
				return
			}
			if time.Now().After(deadline) {
				rebuilt <- fmt.Sprintf("FAIL %s not rebuilt: %+v", phones[i].Serial(), st)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	kctx, kc := context.WithTimeout(ctx, 10*time.Second)
	hit := time.Now()
	res, err := r.cl.Device(phones[killed].Serial()).Shell(kctx, "pkill preload-agent")
	kc()
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("kill agent: %v %+v", err, res)
	}
	go watch(killed, hit)
	oldPort := mustState(r, phones[unplugged].Serial()).LocalPort
	phones[unplugged].Unplug()
	time.Sleep(time.Second)
	replugged := time.Now()
	if err := phones[unplugged].Replug(); err != nil {
		t.Fatal(err)
	}
	go watch(unplugged, replugged)
	for range 2 {
		msg := <-rebuilt
		if strings.HasPrefix(msg, "FAIL") {
			t.Fatal(msg)
		}
		t.Log(msg)
	}
	if p := mustState(r, phones[unplugged].Serial()).LocalPort; p == oldPort {
		t.Logf("note: adb gave the replugged phone the same port %d again", p)
	}
	time.Sleep(500 * time.Millisecond)
	stopStream()
	wg.Wait()

	for i, ph := range phones {
		st := mustState(r, ph.Serial())
		if i == killed || i == unplugged {
			if okCount[i].Load() <= before[i] {
				t.Errorf("%s: no round trips after the rebuild", ph.Serial())
			}
			continue
		}
		if st.Channels != 1 {
			t.Errorf("%s: channel rebuilt %d times; another phone's trouble touched it", ph.Serial(), st.Channels-1)
		}
		if errCount[i].Load() != 0 {
			t.Errorf("%s: %d failed round trips", ph.Serial(), errCount[i].Load())
		}
		if okCount[i].Load()-before[i] < 5 {
			t.Errorf("%s: only %d round trips during the disruption", ph.Serial(), okCount[i].Load()-before[i])
		}
	}
}

func mustState(r *rig, serial string) PhoneState {
	st, _ := r.m.State(serial)
	return st
}
