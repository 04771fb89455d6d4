package report

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"preloadstation/backend/store"
)

// BenchmarkHistory100k: one page of history over 100 000 sessions (200 000
// install records) in SQLite, as the History page asks for it: newest first,
// then filtered by operator, by package (EXISTS over records), by serial
// search, and a deep page. Floor: the page must come back well under the
// 100 ms an operator notices; figures are printed per query.
func BenchmarkHistory100k(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "station.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	const n = 100_000
	t0 := time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC)
	start := time.Now()
	batch := make([]store.InstallSession, 0, 1000)
	for i := 0; i < n; i++ {
		end := t0.Add(time.Duration(i)*time.Minute + 90*time.Second)
		outcome := store.OutcomeDone
		if i%17 == 0 {
			outcome = store.OutcomeFailed
		}
		batch = append(batch, store.InstallSession{
			UUID: fmt.Sprintf("s-%06d", i), Serial: fmt.Sprintf("SER%06d", i), Operator: fmt.Sprintf("op%d", i%12),
			Model: fmt.Sprintf("M%d", i%40), Brand: "Xiaomi", Outcome: outcome, StartedAt: t0.Add(time.Duration(i) * time.Minute), EndedAt: &end,
			Records: []store.InstallRecord{
				{UUID: fmt.Sprintf("r-%06d-a", i), Package: fmt.Sprintf("com.app%d", i%30), Result: store.ResultInstalled, TransferMS: 3000, CommitMS: 2000},
				{UUID: fmt.Sprintf("r-%06d-b", i), Package: fmt.Sprintf("com.app%d", (i+7)%30), Result: store.ResultInstalled, TransferMS: 2000, CommitMS: 1000},
			},
		})
		if len(batch) == cap(batch) {
			if err := st.DB.CreateInBatches(batch, 200).Error; err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	b.Logf("seeded %d sessions in %v", n, time.Since(start).Round(time.Millisecond))
	queries := []struct {
		name string
		f    Filter
	}{
		{"newest page", Filter{PageSize: 50}},
		{"page 1500", Filter{PageSize: 50, Page: 1500}},
		{"operator", Filter{Operator: "op3", PageSize: 50}},
		{"outcome failed", Filter{Outcome: store.OutcomeFailed, PageSize: 50}},
		{"package", Filter{Package: "com.app7", PageSize: 50}},
		{"serial search", Filter{Serial: "0423", PageSize: 50}},
		{"date range", Filter{From: t0.Add(24 * time.Hour), To: t0.Add(48 * time.Hour), PageSize: 50}},
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, q := range queries {
			s := time.Now()
			p, err := Sessions(ctx, st.DB, q.f)
			if err != nil || len(p.Items) == 0 {
				b.Fatalf("%s: %v (%d items)", q.name, err, len(p.Items))
			}
			b.Logf("%-15s %7.1f ms (total %d)  floor 100 ms", q.name, float64(time.Since(s).Microseconds())/1000, p.Total)
		}
		s := time.Now()
		if _, err := Summarize(ctx, st.DB, ByApp, Filter{}, time.UTC); err != nil {
			b.Fatal(err)
		}
		b.Logf("summary by app over all %d sessions: %v", n, time.Since(s).Round(time.Millisecond))
	}
}
