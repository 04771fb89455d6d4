package install

import (
	"context"
	"time"

	"preloadstation/backend/adb"
	"preloadstation/backend/device"
	"preloadstation/backend/events"
)

// DeviceSource is what the feeder needs from the device manager
// (*device.Manager has it).
type DeviceSource interface {
	Subscribe(buffer int) (<-chan events.Message, func())
	Phones() []device.Phone
	Device(serial string) (*adb.Device, error)
	RefreshFacts(ctx context.Context, serial string) (device.Facts, error)
}

// Feeder turns the device manager's phones into engine phones: ready with
// facts → PhoneReady (once per stay), gone or offline → PhoneGone. It is
// the only glue between discovery and installing.
type Feeder struct {
	Devices DeviceSource
	Engine  *Engine
	// Agent, if set, carries installs over the phone's channel, with the
	// direct exec transport as fallback when the channel is down.
	Agent     AgentInstaller
	NoChannel error
}

// Serve feeds the engine until ctx ends.
func (f *Feeder) Serve(ctx context.Context) error {
	ch, unsubscribe := f.Devices.Subscribe(1024)
	defer unsubscribe()
	fed := map[string]bool{}
	for _, p := range f.Devices.Phones() {
		f.handle(fed, p)
	}
	// The manager drops events for a subscriber that falls behind: reconcile
	// with its current truth now and then.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			seen := map[string]bool{}
			for _, p := range f.Devices.Phones() {
				seen[p.Serial] = true
				f.handle(fed, p)
			}
			for serial := range fed {
				if !seen[serial] {
					f.handle(fed, device.Phone{Serial: serial, State: device.StateGone})
				}
			}
		case m, ok := <-ch:
			if !ok {
				return nil
			}
			if p, ok := m.Payload.(device.Phone); ok {
				f.handle(fed, p)
			}
		}
	}
}

func (f *Feeder) handle(fed map[string]bool, p device.Phone) {
	switch p.State {
	case device.StateGone, device.StateOffline, device.StateUnauthorized:
		if fed[p.Serial] {
			delete(fed, p.Serial)
			f.Engine.PhoneGone(p.Serial)
		}
	case device.StateReady, device.StateBusy:
		if fed[p.Serial] || p.Facts == nil {
			return
		}
		dev, err := f.Devices.Device(p.Serial)
		if err != nil {
			return
		}
		fed[p.Serial] = true
		f.Engine.PhoneReady(f.phone(p, dev))
	}
}

// FactsFromDevice converts the device layer's facts.
func FactsFromDevice(serial string, d device.Facts) Facts {
	inst := make(map[string]Installed, len(d.Packages))
	for p, vc := range d.Packages {
		inst[p] = Installed{VersionCode: vc}
	}
	return Facts{Serial: serial, Brand: d.Brand, Model: d.Model, Release: d.Release, SDK: d.SDK,
		ABIs: d.ABIs, FreeBytes: d.FreeData, Installed: inst}
}

func (f *Feeder) phone(p device.Phone, dev *adb.Device) Phone {
	serial, sdk := p.Serial, p.Facts.SDK
	var tr Transport = ExecTransport{Dev: dev, SDK: sdk}
	if f.Agent != nil {
		tr = AgentTransport{Agent: f.Agent, Serial: serial, Fallback: tr, NoChannel: f.NoChannel}
	}
	return Phone{
		Serial: serial, SlotPath: p.Slot.Path, SlotLabel: p.Slot.Label, Hub: p.Slot.Hub,
		Facts:     FactsFromDevice(serial, *p.Facts),
		FactsAt:   p.Facts.ReadAt,
		Transport: tr, Verifier: ADBVerifier{Dev: dev, SDK: sdk},
		Refresh: func(ctx context.Context) (Facts, error) {
			d, err := f.Devices.RefreshFacts(ctx, serial)
			return FactsFromDevice(serial, d), err
		},
		Ping: func(ctx context.Context) error {
			_, err := dev.Shell(ctx, "echo ok")
			return err
		},
	}
}
