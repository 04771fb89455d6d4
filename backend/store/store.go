package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// ErrNotFound is returned by repositories when a row does not exist.
var ErrNotFound = errors.New("not found")

// Store is the station database.
type Store struct {
	DB   *gorm.DB
	Path string
	// HashCost is the bcrypt cost for new password hashes; 0 means bcrypt.DefaultCost.
	// Tests lower it to keep -race runs fast.
	HashCost int
}

// Open opens (creating if needed) the database at path and runs migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: create data dir: %w", err)
	}
	// WAL keeps readers and the writer apart; synchronous=NORMAL in WAL mode loses
	// nothing that was committed when the process is killed (only on power loss).
	dsn := "file:" + path + "?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_synchronous=NORMAL&_txlock=immediate"
	db, err := gorm.Open(sqlite.Open(dsn), &gorm.Config{
		Logger:                 logger.Default.LogMode(logger.Silent),
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	// One writer at a time is SQLite's rule anyway; a small pool lets readers run beside it.
	sqlDB.SetMaxOpenConns(4)
	s := &Store{DB: db, Path: path}
	if err := s.migrate(ctx); err != nil {
		sqlDB.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	sqlDB, err := s.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// migrations run in order; each runs once and is recorded in schema_versions.
// Append only: never edit a migration that has shipped.
var migrations = []func(tx *gorm.DB) error{
	// 1: the initial schema.
	func(tx *gorm.DB) error {
		return tx.AutoMigrate(&User{}, &Station{}, &Setting{}, &Slot{}, &Phone{},
			&App{}, &AppList{}, &AppListItem{}, &InstallSession{}, &InstallRecord{}, &OutboxItem{})
	},
	// 2: list item priority is the operator's "install first" mark, no
	// longer derived from the position (which still holds the order):
	// every item of an existing list becomes normal priority, so the
	// station may pick the fastest order among them.
	func(tx *gorm.DB) error {
		return tx.Model(&AppListItem{}).Where("1 = 1").Update("priority", PriorityNormal).Error
	},
}

// SchemaVersionLatest is the version a fully migrated database has.
func SchemaVersionLatest() int { return len(migrations) }

func (s *Store) migrate(ctx context.Context) error {
	db := s.DB.WithContext(ctx)
	// Plain IF NOT EXISTS, not AutoMigrate: two processes opening a new database
	// at once must not both try to create it.
	if err := db.Exec(`CREATE TABLE IF NOT EXISTS schema_versions (version integer PRIMARY KEY, applied_at datetime)`).Error; err != nil {
		return fmt.Errorf("store: schema table: %w", err)
	}
	var current int
	if err := db.Model(&SchemaVersion{}).Select("COALESCE(MAX(version), 0)").Scan(&current).Error; err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}
	if current > len(migrations) {
		return fmt.Errorf("store: database schema %d is newer than this program (%d): upgrade Preload Station", current, len(migrations))
	}
	for v := current + 1; v <= len(migrations); v++ {
		err := db.Transaction(func(tx *gorm.DB) error {
			// Another process may have opened the same database a moment earlier and
			// run this migration; the transaction holds the write lock
			// (_txlock=immediate), so the re-check here is race-free.
			var done int64
			if err := tx.Model(&SchemaVersion{}).Where("version = ?", v).Count(&done).Error; err != nil {
				return err
			}
			if done > 0 {
				return nil
			}
			if err := migrations[v-1](tx); err != nil {
				return err
			}
			return tx.Create(&SchemaVersion{Version: v, AppliedAt: time.Now().UTC()}).Error
		})
		if err != nil {
			return fmt.Errorf("store: migration %d: %w", v, err)
		}
	}
	return nil
}

// SchemaVersion returns the recorded schema version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.DB.WithContext(ctx).Model(&SchemaVersion{}).Select("COALESCE(MAX(version), 0)").Scan(&v).Error
	return v, err
}
