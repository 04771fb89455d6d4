package install

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"preloadstation/backend/store"
)

// OutboxKindInstallRecord is the outbox kind of install records.
const OutboxKindInstallRecord = "install_record"

// HistoryStore writes sessions and records to the station database. Every
// record goes in one transaction with its outbox item and its session's
// counters, so a record is either fully there (and queued for the catalog)
// or not at all, whatever happens to the process.
type HistoryStore struct {
	S *store.Store
	// Payload, if set, is what the outbox item of a record carries (the
	// station sets catalog.RecordFrom, the catalog outbox's format); nil
	// queues an OutboxRecord.
	Payload func(rec store.InstallRecord, s store.InstallSession) any
}

// BeginSession inserts a running session.
func (h HistoryStore) BeginSession(ctx context.Context, s *store.InstallSession) error {
	db := h.S.DB.WithContext(ctx)
	if s.PhoneID == 0 {
		var ph store.Phone
		if err := db.Where("serial = ?", s.Serial).Limit(1).Find(&ph).Error; err == nil {
			s.PhoneID = ph.ID
		}
	}
	if err := db.Create(s).Error; err != nil {
		return fmt.Errorf("install: begin session for %s: %w", s.Serial, err)
	}
	return nil
}

// OutboxRecord is the payload queued for the catalog: the record and the
// session facts the catalog needs to file it.
type OutboxRecord struct {
	Record  store.InstallRecord `json:"record"`
	Session struct {
		UUID     string    `json:"uuid"`
		Station  string    `json:"station"`
		Operator string    `json:"operator"`
		Serial   string    `json:"serial"`
		Brand    string    `json:"brand"`
		Model    string    `json:"model"`
		Release  string    `json:"release"`
		Slot     string    `json:"slot"`
		ListName string    `json:"listName"`
		Started  time.Time `json:"startedAt"`
	} `json:"session"`
}

// Record writes rec, its outbox item and its session's counters in one transaction.
func (h HistoryStore) Record(ctx context.Context, rec *store.InstallRecord) error {
	err := h.S.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var s store.InstallSession
		if err := tx.Take(&s, rec.SessionID).Error; err != nil {
			return err
		}
		if err := tx.Create(rec).Error; err != nil {
			return err
		}
		col := ""
		switch rec.Result {
		case store.ResultInstalled:
			col = "installed"
		case store.ResultFailed:
			col = "failed"
		case store.ResultSkipped:
			col = "skipped"
		}
		if col != "" {
			if err := tx.Model(&store.InstallSession{}).Where("id = ?", s.ID).
				UpdateColumn(col, gorm.Expr(col+" + 1")).Error; err != nil {
				return err
			}
		}
		var p OutboxRecord
		p.Record = *rec
		p.Session.UUID, p.Session.Station, p.Session.Operator = s.UUID, s.Station, s.Operator
		p.Session.Serial, p.Session.Brand, p.Session.Model, p.Session.Release = s.Serial, s.Brand, s.Model, s.Release
		p.Session.Slot, p.Session.ListName, p.Session.Started = s.SlotLabel, s.ListName, s.StartedAt
		var payload any = p
		if h.Payload != nil {
			payload = h.Payload(*rec, s)
		}
		b, err := json.Marshal(payload)
		if err != nil {
			return err
		}
		return tx.Create(&store.OutboxItem{Kind: OutboxKindInstallRecord, RefUUID: rec.UUID, Payload: string(b),
			NextAttempt: time.Now().UTC()}).Error
	})
	if err != nil {
		return fmt.Errorf("install: write record %s/%s: %w", rec.Serial, rec.Package, err)
	}
	return nil
}

// EndSession sets a session's outcome and end time.
func (h HistoryStore) EndSession(ctx context.Context, id uint, outcome string, endedAt time.Time) error {
	err := h.S.DB.WithContext(ctx).Model(&store.InstallSession{}).Where("id = ?", id).
		Updates(map[string]any{"outcome": outcome, "ended_at": endedAt}).Error
	if err != nil {
		return fmt.Errorf("install: end session %d: %w", id, err)
	}
	return nil
}

// MarkInterrupted closes every session a killed station left running; call
// it once at start-up, before the engine serves. It returns how many it closed.
func (h HistoryStore) MarkInterrupted(ctx context.Context, now time.Time) (int64, error) {
	res := h.S.DB.WithContext(ctx).Model(&store.InstallSession{}).Where("outcome = ?", store.OutcomeRunning).
		Updates(map[string]any{"outcome": store.OutcomeInterrupted, "ended_at": now})
	if res.Error != nil {
		return 0, fmt.Errorf("install: mark interrupted sessions: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// Session returns one session with its records, in the order they ended.
func (h HistoryStore) Session(ctx context.Context, uuid string) (store.InstallSession, error) {
	var s store.InstallSession
	err := h.S.DB.WithContext(ctx).Where("uuid = ?", uuid).
		Preload("Records", func(db *gorm.DB) *gorm.DB { return db.Order("ended_at, package") }).Take(&s).Error
	if err == gorm.ErrRecordNotFound {
		return s, store.ErrNotFound
	}
	if err != nil {
		return s, fmt.Errorf("install: session %s: %w", uuid, err)
	}
	return s, nil
}
