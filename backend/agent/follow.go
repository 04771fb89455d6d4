package agent

import (
	"context"
	"strconv"
	"time"

	"preloadstation/backend/adb"
	"preloadstation/backend/device"
	"preloadstation/backend/events"
)

// DeviceSource is what Follow needs from discovery (*device.Manager).
type DeviceSource interface {
	Subscribe(buffer int) (<-chan events.Message, func())
	Phones() []device.Phone
	Device(serial string) (*adb.Device, error)
}

// Follow keeps the agent manager in step with discovery: a phone that is
// online (probing, ready or busy) gets a worker, a phone that is gone,
// offline or unauthorized loses it, and slot labels reach the phone pages.
// Events may be dropped by a busy broadcaster, so it also re-reads the whole
// list every second. It blocks until ctx ends.
func (m *Manager) Follow(ctx context.Context, src DeviceSource) error {
	sub, cancel := src.Subscribe(256)
	defer cancel()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	slots := map[string]string{}
	for {
		m.reconcile(src, slots)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-sub:
		case <-tick.C:
		}
	}
}

func (m *Manager) reconcile(src DeviceSource, slots map[string]string) {
	online := map[string]device.Phone{}
	for _, p := range src.Phones() {
		switch p.State {
		case device.StateProbing, device.StateReady, device.StateBusy:
			online[p.Serial] = p
		}
	}
	for serial, p := range online {
		if m.worker(serial) == nil {
			dev, err := src.Device(serial)
			if err != nil {
				continue
			}
			m.Attach(serial, dev)
		}
		label := p.Slot.Label
		if label == "" && p.Slot.Position > 0 {
			label = "#" + strconv.Itoa(p.Slot.Position)
		}
		if slots[serial] != label {
			slots[serial] = label
			m.SetSlot(serial, label)
		}
	}
	for _, w := range m.workers() {
		if _, ok := online[w.serial]; !ok {
			delete(slots, w.serial)
			go m.Detach(w.serial) // waits for the worker: never hold up the others
		}
	}
}
