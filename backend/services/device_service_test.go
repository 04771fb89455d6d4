package services

import (
	"context"
	"errors"
	"testing"
	"time"

	"preloadstation/backend/adb"
	"preloadstation/backend/device"
	"preloadstation/backend/store"
)

func TestDeviceServiceErrors(t *testing.T) {
	slots := &device.MemSlots{}
	sl, _ := slots.Slot(context.Background(), "usb:1-1.2", "usb:1-1")
	m := device.New(device.Options{Client: adb.NewClient("127.0.0.1:1"), Slots: slots})
	sess := &Session{}
	s := NewDeviceService(Deps{Context: context.Background(), CallTimeout: 5 * time.Second}, sess, m)

	code := func(err error) string {
		var e *Error
		if errors.As(err, &e) {
			return e.Code
		}
		return "?"
	}
	if got, err := s.List(); err != nil || len(got) != 0 {
		t.Fatalf("List = %v %v", got, err)
	}
	if err := s.Identify("nope"); code(err) != CodeNotFound {
		t.Errorf("Identify unknown: %v", err)
	}
	if _, err := s.SetSlotLabel(sl.ID, "A1"); code(err) != CodeUnauthenticated {
		t.Errorf("label without login: %v", err)
	}
	sess.set(&store.User{Username: "op", Role: store.RoleOperator})
	if _, err := s.SetSlotLabel(sl.ID, "this label is far too long"); code(err) != CodeInvalid {
		t.Errorf("long label: %v", err)
	}
	if _, err := s.SetSlotLabel(99, "A1"); code(err) != CodeNotFound {
		t.Errorf("unknown slot: %v", err)
	}
	got, err := s.SetSlotLabel(sl.ID, "  A1 ")
	if err != nil || got.Label != "A1" {
		t.Errorf("label: %+v %v", got, err)
	}
	if all, _ := s.Slots(); len(all) != 1 || all[0].Label != "A1" {
		t.Errorf("slots %+v", all)
	}
	if err := wrapDevice(&adb.Error{Op: "push", Code: adb.ErrStalled}); code(err) != "stalled" {
		t.Errorf("stalled maps to %q", code(err))
	}
	if r, _ := s.Reasons(); r[device.ReasonAllowDebugging].ZH == "" {
		t.Error("reasons lack Chinese")
	}
}
