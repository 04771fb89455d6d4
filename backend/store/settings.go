package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Setting values are stored as JSON text so one table holds every type.

// GetSetting decodes the setting key into T, returning def when it is not set.
func GetSetting[T any](ctx context.Context, s *Store, key string, def T) (T, error) {
	var row Setting
	err := s.DB.WithContext(ctx).Where("key = ?", key).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return def, nil
	}
	if err != nil {
		return def, fmt.Errorf("store: read setting %q: %w", key, err)
	}
	var v T
	if err := json.Unmarshal([]byte(row.Value), &v); err != nil {
		return def, fmt.Errorf("store: setting %q holds %q, not a %T: %w", key, row.Value, v, err)
	}
	return v, nil
}

// SetSetting stores v (JSON-encoded) under key, replacing any earlier value.
func SetSetting[T any](ctx context.Context, s *Store, key string, v T) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: encode setting %q: %w", key, err)
	}
	row := Setting{Key: key, Value: string(b)}
	err = s.DB.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "key"}},
		DoUpdates: clause.AssignmentColumns([]string{"value", "updated_at"}),
	}).Create(&row).Error
	if err != nil {
		return fmt.Errorf("store: write setting %q: %w", key, err)
	}
	return nil
}

// Settings returns every stored setting as raw JSON, by key.
func (s *Store) Settings(ctx context.Context) (map[string]json.RawMessage, error) {
	var rows []Setting
	if err := s.DB.WithContext(ctx).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("store: list settings: %w", err)
	}
	out := make(map[string]json.RawMessage, len(rows))
	for _, r := range rows {
		out[r.Key] = json.RawMessage(r.Value)
	}
	return out, nil
}
