package install

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"preloadstation/backend/store"
)

func TestHistoryStore(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	h := HistoryStore{S: s}
	base := time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC)
	for i := 0; i < 7; i++ {
		sess := &store.InstallSession{UUID: fmt.Sprintf("s%d", i), Serial: fmt.Sprintf("SER%d", i%3), Model: "M" + fmt.Sprint(i%2),
			Operator: "op", Outcome: store.OutcomeRunning, StartedAt: base.Add(time.Duration(i) * time.Hour), SlotLabel: fmt.Sprintf("A%d", i)}
		if err := h.BeginSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		for _, res := range []string{store.ResultInstalled, store.ResultSkipped, store.ResultFailed} {
			rec := &store.InstallRecord{UUID: fmt.Sprintf("r%d-%s", i, res), SessionID: sess.ID, Serial: sess.Serial,
				Package: "com." + res, Result: res, StartedAt: sess.StartedAt, EndedAt: sess.StartedAt}
			if err := h.Record(ctx, rec); err != nil {
				t.Fatal(err)
			}
		}
		if i < 4 {
			if err := h.EndSession(ctx, sess.ID, store.OutcomeDone, sess.StartedAt.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A record and its outbox item share a transaction: a duplicate UUID rolls both back.
	var first store.InstallSession
	s.DB.Where("uuid = ?", "s0").Take(&first)
	if err := h.Record(ctx, &store.InstallRecord{UUID: "r0-installed", SessionID: first.ID, Result: store.ResultInstalled}); err == nil {
		t.Fatal("duplicate record UUID accepted")
	}
	var sess0 store.InstallSession
	s.DB.Where("uuid = ?", "s0").Take(&sess0)
	if sess0.Installed != 1 || sess0.Skipped != 1 || sess0.Failed != 1 {
		t.Errorf("counters %d/%d/%d after a rolled-back record, want 1/1/1", sess0.Installed, sess0.Skipped, sess0.Failed)
	}
	var outbox []store.OutboxItem
	s.DB.Order("id").Find(&outbox)
	if len(outbox) != 21 {
		t.Fatalf("%d outbox items, want 21", len(outbox))
	}
	var payload OutboxRecord
	if err := json.Unmarshal([]byte(outbox[0].Payload), &payload); err != nil || payload.Record.UUID != outbox[0].RefUUID || payload.Session.UUID != "s0" {
		t.Errorf("outbox payload %s (%v)", outbox[0].Payload, err)
	}

	n, err := h.MarkInterrupted(ctx, base.Add(24*time.Hour))
	if err != nil || n != 3 {
		t.Fatalf("MarkInterrupted = %d, %v; want 3", n, err)
	}
	full, err := h.Session(ctx, "s2")
	if err != nil || len(full.Records) != 3 {
		t.Fatalf("Session(s2) = %d records, %v", len(full.Records), err)
	}
	if _, err := h.Session(ctx, "nope"); err != store.ErrNotFound {
		t.Errorf("missing session: %v", err)
	}
}

func TestLoadConfig(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	c, err := LoadConfig(ctx, s, "st")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Auto || !c.Plan.PipelineOrder || c.Plan.ReserveBytes != 500e6 || c.HubRate != 0 || c.StallTimeout != 15*time.Second || c.MaxAttempts != 3 {
		t.Errorf("defaults %+v", c)
	}
	_ = store.SetSetting(ctx, s, SettingHubRateMBps, 30.5)
	_ = store.SetSetting(ctx, s, SettingAuto, false)
	_ = store.SetSetting(ctx, s, SettingHubConcurrency, 4)
	c, err = LoadConfig(ctx, s, "st")
	if err != nil || c.Auto || c.HubRate != 30.5e6 || c.HubConcurrency != 4 {
		t.Errorf("stored %+v %v", c, err)
	}
	_ = store.SetSetting(ctx, s, SettingMaxAttempts, "three")
	if _, err := LoadConfig(ctx, s, "st"); err == nil {
		t.Error("a setting of the wrong type was accepted")
	}
}
