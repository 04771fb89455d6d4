package agent

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"preloadstation/backend/sim"
)

// BenchmarkAgentBuildSizes prints the size of every embedded agent build:
// each one crosses USB on a phone's first plug.
func BenchmarkAgentBuildSizes(b *testing.B) {
	bs := Builds()
	if len(bs) != 4 {
		b.Fatalf("%d embedded builds, want 4 (run make agents)", len(bs))
	}
	for i := 0; i < b.N; i++ {
		for _, bl := range bs {
			fmt.Printf("agent build %-14s %9d bytes (%.2f MiB)\n", bl.Name, bl.Size, float64(bl.Size)/(1<<20))
			b.ReportMetric(float64(bl.Size), bl.Name+"-bytes")
		}
	}
}

// BenchmarkPlugToChannelReady measures attach → channel ready for fresh
// phones (push + start + forward + handshake) behind the real adb server with
// the sim's default USB model, against the floor of moving the agent build
// over USB (hub-shared), and the replug case where the agent is already there.
func BenchmarkPlugToChannelReady(b *testing.B) {
	for _, n := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("phones=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				plugToReady(b, n)
			}
		})
	}
}

func plugToReady(b *testing.B, n int) {
	r := newRig(b, rigOpts{phones: n, profile: "pixel7"})
	defer r.close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	lat := make([]float64, 0, n)
	for _, ph := range r.sim.Phones() {
		if ch, err := r.m.WaitReady(ctx, ph.Serial()); err != nil || ch == nil {
			b.Fatalf("%s: %v", ph.Serial(), err)
		}
		lat = append(lat, mustState(r, ph.Serial()).ReadyAfter)
	}
	all := time.Since(r.start)
	sort.Float64s(lat)
	build, _ := BuildForABI("arm64-v8a")
	usb := sim.DefaultUSB()
	// Floor: every phone's copy of the agent through one shared hub, or one
	// phone's copy at the per-phone rate, whichever is longer.
	floor := max(float64(int64(n)*build.Size)/usb.HubBytesPerSec, float64(build.Size)/usb.PhoneBytesPerSec) * 1000
	fmt.Printf("plug-to-channel-ready phones=%d: median %.0f ms, slowest %.0f ms (all ready %.0f ms); USB floor for %d × %.1f MiB agent = %.0f ms (%.2f× floor)\n",
		n, lat[len(lat)/2], lat[len(lat)-1], float64(all.Milliseconds()), n, float64(build.Size)/(1<<20), floor, lat[len(lat)-1]/floor)
	b.ReportMetric(lat[len(lat)/2], "median-ms")
	b.ReportMetric(lat[len(lat)-1], "slowest-ms")
	b.ReportMetric(floor, "floor-ms")

	// Replug: the agent is still on the phone (and running): no push.
	ph := r.sim.Phones()[0]
	r.m.Detach(ph.Serial())
	t0 := time.Now()
	r.m.Attach(ph.Serial(), r.cl.Device(ph.Serial()))
	if ch, err := r.m.WaitReady(ctx, ph.Serial()); err != nil || ch == nil {
		b.Fatalf("replug: %v", err)
	}
	re := float64(time.Since(t0).Microseconds()) / 1000
	fmt.Printf("plug-to-channel-ready replug (agent already on the phone) phones=%d: %.1f ms\n", n, re)
	b.ReportMetric(re, "replug-ms")
}
