package agent

import (
	"context"
	"testing"
	"time"

	"preloadstation/backend/device"
)

// TestFollowDiscovery wires the real discovery (backend/device) to the agent
// manager: plugged phones get channels, an unplugged one loses its worker.
func TestFollowDiscovery(t *testing.T) {
	r := newRig(t, rigOpts{phones: 2, profile: "pixel7"})
	for _, ph := range r.sim.Phones() { // Follow attaches them itself
		r.m.Detach(ph.Serial())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dm := device.New(device.Options{Client: r.cl})
	dctx, dstop := context.WithCancel(ctx)
	ddone := make(chan struct{})
	go func() { dm.Serve(dctx); close(ddone) }()
	defer func() { dstop(); <-ddone }()
	fdone := make(chan struct{})
	go func() { r.m.Follow(dctx, dm); close(fdone) }()
	defer func() { dstop(); <-fdone }()

	for _, ph := range r.sim.Phones() {
		for r.m.worker(ph.Serial()) == nil {
			if ctx.Err() != nil {
				t.Fatalf("%s never attached", ph.Serial())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if ch, err := r.m.WaitReady(ctx, ph.Serial()); err != nil || ch == nil {
			t.Fatalf("%s: %v", ph.Serial(), err)
		}
	}
	gone := r.sim.Phones()[1]
	gone.Unplug()
	for r.m.worker(gone.Serial()) != nil {
		if ctx.Err() != nil {
			t.Fatal("unplugged phone still has a worker")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ch := r.m.Channel(r.sim.Phones()[0].Serial()); ch == nil {
		t.Fatal("the other phone lost its channel")
	}
}
