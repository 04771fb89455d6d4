package device

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"

	"preloadstation/backend/store"
)

// Slots keeps slots and their labels.
type Slots interface {
	// Slot finds the slot for path, creating it (next position) if new.
	Slot(ctx context.Context, path, hub string) (Slot, error)
	SetLabel(ctx context.Context, id uint, label string) (Slot, error)
	List(ctx context.Context) ([]Slot, error)
}

// ErrNoSlot is returned for an unknown slot id.
var ErrNoSlot = errors.New("no such slot")

// StoreSlots keeps slots in the station database (store.Slot), so labels and
// arrival positions survive restarts.
type StoreSlots struct{ DB *gorm.DB }

func toSlot(s store.Slot) Slot {
	return Slot{ID: s.ID, Path: s.Path, Label: s.Label, Hub: s.Hub, Position: s.Position}
}

func (s StoreSlots) Slot(ctx context.Context, path, hub string) (Slot, error) {
	db := s.DB.WithContext(ctx)
	var row store.Slot
	err := db.Where("path = ?", path).First(&row).Error
	if err == nil {
		return toSlot(row), nil
	}
	if !errors.Is(err, gorm.ErrRecordNotFound) {
		return Slot{}, fmt.Errorf("slots: find %s: %w", path, err)
	}
	var maxPos int
	if err := db.Model(&store.Slot{}).Select("COALESCE(MAX(position), 0)").Scan(&maxPos).Error; err != nil {
		return Slot{}, fmt.Errorf("slots: %w", err)
	}
	row = store.Slot{Path: path, Hub: hub, Position: maxPos + 1}
	if err := db.Create(&row).Error; err != nil {
		return Slot{}, fmt.Errorf("slots: create %s: %w", path, err)
	}
	return toSlot(row), nil
}

func (s StoreSlots) SetLabel(ctx context.Context, id uint, label string) (Slot, error) {
	db := s.DB.WithContext(ctx)
	var row store.Slot
	if err := db.First(&row, id).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return Slot{}, ErrNoSlot
		}
		return Slot{}, err
	}
	row.Label = label
	if err := db.Model(&row).Update("label", label).Error; err != nil {
		return Slot{}, err
	}
	return toSlot(row), nil
}

func (s StoreSlots) List(ctx context.Context) ([]Slot, error) {
	var rows []store.Slot
	if err := s.DB.WithContext(ctx).Order("position").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]Slot, 0, len(rows))
	for _, r := range rows {
		out = append(out, toSlot(r))
	}
	return out, nil
}

// SavePhone records a phone's facts in the phones table (seen-before history).
func (s StoreSlots) SavePhone(ctx context.Context, serial string, f Facts, slotID uint) error {
	db := s.DB.WithContext(ctx)
	now := time.Now().UTC()
	var row store.Phone
	err := db.Where("serial = ?", serial).First(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		row = store.Phone{Serial: serial, FirstSeen: now}
	} else if err != nil {
		return err
	}
	row.Brand, row.Manufacturer, row.Model, row.Release, row.SDK = f.Brand, f.Manufacturer, f.Model, f.Release, f.SDK
	row.ABIs = joinComma(f.ABIs)
	row.LastSeen = now
	if slotID != 0 {
		id := slotID
		row.LastSlotID = &id
	}
	return db.Save(&row).Error
}

func joinComma(a []string) string {
	out := ""
	for i, s := range a {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

// MemSlots keeps slots in memory (tools and tests without a database).
type MemSlots struct {
	mu    sync.Mutex
	slots []Slot
}

func (m *MemSlots) Slot(_ context.Context, path, hub string) (Slot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.slots {
		if s.Path == path {
			return s, nil
		}
	}
	s := Slot{ID: uint(len(m.slots) + 1), Path: path, Hub: hub, Position: len(m.slots) + 1}
	m.slots = append(m.slots, s)
	return s, nil
}

func (m *MemSlots) SetLabel(_ context.Context, id uint, label string) (Slot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.slots {
		if m.slots[i].ID == id {
			m.slots[i].Label = label
			return m.slots[i], nil
		}
	}
	return Slot{}, ErrNoSlot
}

func (m *MemSlots) List(context.Context) ([]Slot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Slot(nil), m.slots...), nil
}
