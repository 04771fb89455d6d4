package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// Errors of first-run setup.
var (
	ErrAlreadySetUp       = errors.New("the station is already set up")
	ErrInvalidStationName = errors.New("station name must be 1-64 characters")
)

// Station returns the station row, or ErrNotFound before first-run setup.
func (s *Store) Station(ctx context.Context) (*Station, error) {
	var st Station
	err := s.DB.WithContext(ctx).Order("id").Take(&st).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: read station: %w", err)
	}
	return &st, nil
}

// Setup is first-run setup: the station's name and its first admin.
type Setup struct {
	StationName   string
	AdminUsername string
	AdminPassword string
}

// SetupStation creates the station (with a random local key) and its admin user
// in one transaction: either both exist afterwards or neither does. A second call
// returns ErrAlreadySetUp.
func (s *Store) SetupStation(ctx context.Context, in Setup) (*Station, *User, error) {
	name := strings.TrimSpace(in.StationName)
	if name == "" || len([]rune(name)) > 64 {
		return nil, nil, ErrInvalidStationName
	}
	key, err := NewStationKey()
	if err != nil {
		return nil, nil, err
	}
	st := &Station{UUID: uuid.NewString(), Name: name, Key: key}
	var admin *User
	// _txlock=immediate makes this BEGIN IMMEDIATE: two concurrent setups serialize
	// and the second sees the first one's station.
	err = s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&Station{}).Count(&n).Error; err != nil {
			return fmt.Errorf("store: count stations: %w", err)
		}
		if n > 0 {
			return ErrAlreadySetUp
		}
		if err := tx.Create(st).Error; err != nil {
			return fmt.Errorf("store: create station: %w", err)
		}
		u, err := createUser(ctx, tx, NewUser{Username: in.AdminUsername, Password: in.AdminPassword, Role: RoleAdmin}, s.hashCost())
		if err != nil {
			return err
		}
		admin = u
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return st, admin, nil
}

// RenameStation changes the station's display name.
func (s *Store) RenameStation(ctx context.Context, name string) (*Station, error) {
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > 64 {
		return nil, ErrInvalidStationName
	}
	st, err := s.Station(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.DB.WithContext(ctx).Model(st).Update("name", name).Error; err != nil {
		return nil, fmt.Errorf("store: rename station: %w", err)
	}
	return st, nil
}

// NewStationKey returns 32 random bytes, hex-encoded: the station's local secret
// until a catalog server issues one.
func NewStationKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("store: station key: %w", err)
	}
	return hex.EncodeToString(b), nil
}
