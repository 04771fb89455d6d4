package install

import (
	"context"
	"testing"
	"time"

	"preloadstation/backend/adb"
	"preloadstation/backend/device"
	"preloadstation/backend/events"
)

type fakeDevices struct {
	bc     *events.Broadcaster
	phones []device.Phone
}

func (f *fakeDevices) Subscribe(n int) (<-chan events.Message, func()) { return f.bc.Subscribe(n) }
func (f *fakeDevices) Phones() []device.Phone                          { return f.phones }
func (f *fakeDevices) Device(serial string) (*adb.Device, error) {
	return adb.NewClient("127.0.0.1:1").Device(serial), nil
}
func (f *fakeDevices) RefreshFacts(ctx context.Context, serial string) (device.Facts, error) {
	return device.Facts{SDK: 34}, nil
}

func TestFeeder(t *testing.T) {
	rig := startEngine(t, Config{Auto: false}, nil)
	facts := &device.Facts{Brand: "Xiaomi", SDK: 34, ABIs: []string{"arm64-v8a"}, FreeData: 1e9, Packages: map[string]int64{"com.x": 3}}
	src := &fakeDevices{bc: events.NewBroadcaster(),
		phones: []device.Phone{{Serial: "A", State: device.StateReady, Facts: facts, Slot: device.Slot{Path: "usb:1-4.3", Label: "A7", Hub: "usb:1-4"}}}}
	f := &Feeder{Devices: src, Engine: rig.e}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Serve(ctx) }()
	defer func() { cancel(); <-done }()

	present := func(serial string) bool {
		for _, s := range rig.e.Status() {
			if s.Serial == serial {
				return s.Present
			}
		}
		return false
	}
	waitFor(t, time.Second, "A fed", func() bool { return present("A") })
	rig.e.mu.Lock()
	p := rig.e.phones["A"].phone
	rig.e.mu.Unlock()
	if p.Hub != "usb:1-4" || p.SlotLabel != "A7" || p.Facts.Installed["com.x"].VersionCode != 3 || p.Transport.Name() != "exec" || p.Ping == nil {
		t.Errorf("fed phone %+v", p)
	}
	// Probing (no facts yet) is not ready; then ready; then offline = gone.
	src.bc.Emit(events.DeviceAttached, device.Phone{Serial: "B", State: device.StateProbing})
	time.Sleep(20 * time.Millisecond)
	if present("B") {
		t.Error("a probing phone was fed")
	}
	src.bc.Emit(events.DeviceUpdated, device.Phone{Serial: "B", State: device.StateReady, Facts: facts})
	waitFor(t, time.Second, "B fed", func() bool { return present("B") })
	src.bc.Emit(events.DeviceUpdated, device.Phone{Serial: "B", State: device.StateOffline})
	waitFor(t, time.Second, "B gone", func() bool { return !present("B") })
	src.bc.Emit(events.DeviceDetached, device.Phone{Serial: "A", State: device.StateGone})
	waitFor(t, time.Second, "A gone", func() bool { return !present("A") })
}
