package services

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"preloadstation/backend/adb"
	"preloadstation/backend/device"
)

// DeviceService shows the phones on the hub and their slots; thin over
// device.Manager.
type DeviceService struct {
	deps    Deps
	session *Session
	m       *device.Manager
}

// NewDeviceService binds m. Wire it into Set/Bindings in registry.go.
func NewDeviceService(deps Deps, session *Session, m *device.Manager) *DeviceService {
	return &DeviceService{deps: deps, session: session, m: m}
}

// List returns every phone on the station, in slot order.
func (s *DeviceService) List() ([]device.Phone, error) {
	return s.m.Phones(), nil
}

// Slots returns every known slot (hub port or serial slot) with its label.
func (s *DeviceService) Slots() ([]device.Slot, error) {
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	sl, err := s.m.Slots(ctx)
	return sl, wrapDevice(err)
}

// SetSlotLabel names a slot ("A7"); an empty label clears it. Needs a login.
func (s *DeviceService) SetSlotLabel(slotID uint, label string) (device.Slot, error) {
	if _, err := requireUser(s.session); err != nil {
		return device.Slot{}, err
	}
	label = strings.TrimSpace(label)
	if utf8.RuneCountInString(label) > 16 {
		return device.Slot{}, &Error{Code: CodeInvalid, Message: "a slot label has at most 16 characters"}
	}
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	sl, err := s.m.SetSlotLabel(ctx, slotID, label)
	return sl, wrapDevice(err)
}

// Identify makes the phone show itself (flashes its screen).
func (s *DeviceService) Identify(serial string) error {
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	return wrapDevice(s.m.Identify(ctx, serial))
}

// Refresh re-reads the phone's facts and returns the phone.
func (s *DeviceService) Refresh(serial string) (device.Phone, error) {
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	if _, err := s.m.RefreshFacts(ctx, serial); err != nil {
		return device.Phone{}, wrapDevice(err)
	}
	p, _ := s.m.Phone(serial)
	return p, nil
}

// Reasons are the texts of the phones' reason codes, in English and Chinese.
func (s *DeviceService) Reasons() (map[string]device.Text, error) {
	return device.Reasons, nil
}

// wrapDevice gives device and adb errors their UI code: not_found for
// unknown phones and slots, the adb code ("stalled", "device_offline", …)
// for adb failures.
func wrapDevice(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, device.ErrUnknownPhone), errors.Is(err, device.ErrNoSlot):
		return newError(CodeNotFound, err)
	case errors.Is(err, context.DeadlineExceeded):
		return newError(CodeTimeout, err)
	}
	if code := adb.Code(err); code != "" {
		return newError(code, err)
	}
	return wrap(err)
}
