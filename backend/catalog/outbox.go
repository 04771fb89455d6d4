package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"preloadstation/backend/events"
	"preloadstation/backend/store"
)

// KindInstallRecord is the outbox kind of install records.
const KindInstallRecord = "install_record"

// rejectedAt marks an item the server refused for good: it stays for the
// operator to see but is never sent again.
var rejectedAt = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// Outbox delivers install records to the catalog exactly once: items are
// queued in the station store by record UUID, sent in batches, and marked
// delivered only after the server answered (the server ignores UUIDs it has,
// so a batch resent after a lost answer is harmless). Failures back off
// exponentially with jitter.
type Outbox struct {
	Store *store.Store
	Send  func(ctx context.Context, recs []ReportIn) (IngestResult, error)
	Emit  events.Emitter
	Batch int           // records per request; 0 = 200
	Min   time.Duration // first retry delay; 0 = 1 s
	Max   time.Duration // longest retry delay; 0 = 5 min
	Idle  time.Duration // re-check when idle; 0 = 30 s
	Now   func() time.Time

	kick chan struct{}
}

// NewOutbox makes an outbox that sends through the client.
func NewOutbox(st *store.Store, c *Client, emit events.Emitter) *Outbox {
	return &Outbox{Store: st, Send: c.SendReports, Emit: emit, kick: make(chan struct{}, 1)}
}

func (o *Outbox) now() time.Time {
	if o.Now != nil {
		return o.Now().UTC()
	}
	return time.Now().UTC()
}

func (o *Outbox) wake() {
	if o.kick == nil {
		return
	}
	select {
	case o.kick <- struct{}{}:
	default:
	}
}

// RecordFrom turns a station install record and its session into what the catalog receives.
func RecordFrom(r store.InstallRecord, s store.InstallSession) ReportIn {
	return ReportIn{UUID: r.UUID, SessionUUID: s.UUID, Operator: s.Operator, Serial: r.Serial, Model: s.Model,
		Package: r.Package, VersionCode: r.VersionCode, SHA256: r.SHA256, Bytes: r.Bytes, TransferMS: r.TransferMS,
		CommitMS: r.CommitMS, Result: r.Result, Code: r.Code, Message: r.Message, Attempts: r.Attempts,
		StartedAt: r.StartedAt, EndedAt: r.EndedAt}
}

// Enqueue queues a record; queuing the same UUID twice keeps one item.
func (o *Outbox) Enqueue(ctx context.Context, rec ReportIn) error {
	if msg := validateReport(rec); msg != "" {
		return fmt.Errorf("catalog: outbox: record %s: %s", rec.UUID, msg)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	item := store.OutboxItem{Kind: KindInstallRecord, RefUUID: rec.UUID, Payload: string(b), NextAttempt: o.now()}
	if err := o.Store.DB.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&item).Error; err != nil {
		return fmt.Errorf("catalog: outbox: queue %s: %w", rec.UUID, err)
	}
	o.wake()
	return nil
}

// OutboxStatus is the payload of events.OutboxStatus.
type OutboxStatus struct {
	Pending   int64      `json:"pending"`
	Delivered int64      `json:"delivered"`
	Rejected  int64      `json:"rejected"`
	Failures  int        `json:"failures"` // consecutive failed deliveries
	LastError string     `json:"lastError,omitempty"`
	NextTry   *time.Time `json:"nextTry,omitempty"`
}

// Status counts the outbox.
func (o *Outbox) Status(ctx context.Context) (OutboxStatus, error) {
	var s OutboxStatus
	db := o.Store.DB.WithContext(ctx).Model(&store.OutboxItem{})
	if err := db.Where("delivered_at IS NULL AND next_attempt < ?", rejectedAt).Count(&s.Pending).Error; err != nil {
		return s, err
	}
	db = o.Store.DB.WithContext(ctx).Model(&store.OutboxItem{})
	if err := db.Where("delivered_at IS NOT NULL").Count(&s.Delivered).Error; err != nil {
		return s, err
	}
	db = o.Store.DB.WithContext(ctx).Model(&store.OutboxItem{})
	if err := db.Where("delivered_at IS NULL AND next_attempt >= ?", rejectedAt).Count(&s.Rejected).Error; err != nil {
		return s, err
	}
	return s, nil
}

// Flush sends every item that is due, batch by batch, and stops at the first
// failed batch. It returns how many items were settled (delivered or rejected).
func (o *Outbox) Flush(ctx context.Context) (int, error) {
	batch := o.Batch
	if batch <= 0 {
		batch = 200
	}
	settled := 0
	for {
		var items []store.OutboxItem
		err := o.Store.DB.WithContext(ctx).Where("kind = ? AND delivered_at IS NULL AND next_attempt <= ?", KindInstallRecord, o.now()).
			Order("id").Limit(batch).Find(&items).Error
		if err != nil {
			return settled, fmt.Errorf("catalog: outbox: read: %w", err)
		}
		if len(items) == 0 {
			return settled, nil
		}
		recs := make([]ReportIn, 0, len(items))
		ids := make([]uint, 0, len(items))
		for _, it := range items {
			var r ReportIn
			if err := json.Unmarshal([]byte(it.Payload), &r); err != nil {
				o.reject(ctx, it.ID, "unreadable payload: "+err.Error())
				settled++
				continue
			}
			recs = append(recs, r)
			ids = append(ids, it.ID)
		}
		if len(recs) == 0 {
			continue
		}
		res, err := o.Send(ctx, recs)
		if err != nil {
			o.Store.DB.WithContext(context.WithoutCancel(ctx)).Model(&store.OutboxItem{}).Where("id IN ?", ids).
				Updates(map[string]any{"attempts": gorm.Expr("attempts + 1"), "last_error": err.Error()})
			return settled, err
		}
		rejected := map[string]string{}
		for _, r := range res.Rejected {
			rejected[r.UUID] = r.Message
		}
		now := o.now()
		// Marking must survive a cancel that lands right after the server answered.
		db := o.Store.DB.WithContext(context.WithoutCancel(ctx))
		err = db.Transaction(func(tx *gorm.DB) error {
			var ok []uint
			for i, r := range recs {
				if msg, bad := rejected[r.UUID]; bad {
					if err := tx.Model(&store.OutboxItem{}).Where("id = ?", ids[i]).
						Updates(map[string]any{"next_attempt": rejectedAt, "last_error": "rejected by the catalog: " + msg}).Error; err != nil {
						return err
					}
					continue
				}
				ok = append(ok, ids[i])
			}
			if len(ok) == 0 {
				return nil
			}
			return tx.Model(&store.OutboxItem{}).Where("id IN ?", ok).
				Updates(map[string]any{"delivered_at": now, "attempts": gorm.Expr("attempts + 1"), "last_error": ""}).Error
		})
		if err != nil {
			return settled, fmt.Errorf("catalog: outbox: mark delivered: %w", err)
		}
		settled += len(recs)
	}
}

func (o *Outbox) reject(ctx context.Context, id uint, msg string) {
	o.Store.DB.WithContext(ctx).Model(&store.OutboxItem{}).Where("id = ?", id).
		Updates(map[string]any{"next_attempt": rejectedAt, "last_error": msg})
}

// backoff is the delay after n consecutive failures: Min·2^(n-1), capped at
// Max, plus up to 50% jitter so stations do not retry in step after an outage.
func (o *Outbox) backoff(n int) time.Duration {
	min, max := o.Min, o.Max
	if min <= 0 {
		min = time.Second
	}
	if max <= 0 {
		max = 5 * time.Minute
	}
	d := min
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return d + rand.N(d/2+1)
}

// Serve delivers the outbox until ctx is cancelled; Enqueue wakes it at once
// unless it is backing off after a failure.
func (o *Outbox) Serve(ctx context.Context) error {
	if o.kick == nil {
		o.kick = make(chan struct{}, 1)
	}
	idle := o.Idle
	if idle <= 0 {
		idle = 30 * time.Second
	}
	failures := 0
	for {
		_, err := o.Flush(ctx)
		if ctx.Err() != nil {
			return nil
		}
		wait := idle
		st, _ := o.Status(ctx)
		if err != nil {
			failures++
			wait = o.backoff(failures)
			next := o.now().Add(wait)
			st.LastError, st.NextTry = err.Error(), &next
		} else {
			failures = 0
		}
		st.Failures = failures
		if o.Emit != nil {
			o.Emit.Emit(events.OutboxStatus, st)
		}
		t := time.NewTimer(wait)
		kick := o.kick
		if failures > 0 {
			kick = nil // backing off: new records wait for the next try
		}
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		case <-kick:
			t.Stop()
		}
	}
}
