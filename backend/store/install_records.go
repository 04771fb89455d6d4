package store

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// InsertInstallRecord inserts rec unless a record with its UUID exists already,
// so a retried upload or a replayed outbox item never makes a second row.
// It reports whether this call inserted the row.
func (s *Store) InsertInstallRecord(ctx context.Context, rec *InstallRecord) (bool, error) {
	if rec.UUID == "" {
		return false, errors.New("store: install record without UUID")
	}
	res := s.DB.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(rec)
	if res.Error != nil {
		return false, fmt.Errorf("store: insert install record %s: %w", rec.UUID, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// InstallRecordByUUID returns one record or ErrNotFound.
func (s *Store) InstallRecordByUUID(ctx context.Context, id string) (*InstallRecord, error) {
	var r InstallRecord
	err := s.DB.WithContext(ctx).Where("uuid = ?", id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: install record %s: %w", id, err)
	}
	return &r, nil
}
