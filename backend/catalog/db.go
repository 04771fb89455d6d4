package catalog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// OpenDB opens the catalog database and migrates it. dsn is "sqlite:PATH"
// (or a bare path) or a "postgres://…" URL.
func OpenDB(ctx context.Context, dsn string) (*gorm.DB, error) {
	cfg := &gorm.Config{
		Logger:                 logger.Default.LogMode(logger.Silent),
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
	}
	var (
		db  *gorm.DB
		err error
	)
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		db, err = gorm.Open(postgres.Open(dsn), cfg)
		if err != nil {
			return nil, fmt.Errorf("catalog: open PostgreSQL: %w", err)
		}
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.SetMaxOpenConns(16)
		}
	default:
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			return nil, fmt.Errorf("catalog: empty database path")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("catalog: create database dir: %w", err)
		}
		db, err = gorm.Open(sqlite.Open("file:"+path+"?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_synchronous=NORMAL&_txlock=immediate"), cfg)
		if err != nil {
			return nil, fmt.Errorf("catalog: open SQLite %s: %w", path, err)
		}
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.SetMaxOpenConns(4)
		}
	}
	if err := db.WithContext(ctx).AutoMigrate(allModels()...); err != nil {
		CloseDB(db)
		return nil, fmt.Errorf("catalog: migrate: %w", err)
	}
	return db, nil
}

// CloseDB closes the database's connections.
func CloseDB(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}
