// Package historytest checks an install history after a station has
// stopped, as the chaos tests of the engine and of the station need it.
package historytest

import (
	"fmt"
	"testing"

	"gorm.io/gorm"

	"preloadstation/backend/store"
)

// Check reads every session (by id, its records preloaded) and every record
// from db and reports, with t.Errorf, each break of what a stopped station
// must leave: a record whose result is not terminal, an attempt (phone,
// session, package) with other than exactly one record, a session still
// running. It returns what it read, for the test's own checks.
func Check(t testing.TB, db *gorm.DB) ([]store.InstallSession, []store.InstallRecord) {
	t.Helper()
	var sessions []store.InstallSession
	if err := db.Preload("Records").Order("id").Find(&sessions).Error; err != nil {
		t.Fatal(err)
	}
	var recs []store.InstallRecord
	if err := db.Find(&recs).Error; err != nil {
		t.Fatal(err)
	}
	perAttempt := map[string]int{}
	for _, r := range recs {
		perAttempt[fmt.Sprintf("%s|%d|%s", r.Serial, r.SessionID, r.Package)]++
		switch r.Result {
		case store.ResultInstalled, store.ResultSkipped, store.ResultFailed, store.ResultCancelled:
		default:
			t.Errorf("record %s/%s has non-terminal result %q", r.Serial, r.Package, r.Result)
		}
	}
	for k, c := range perAttempt {
		if c != 1 {
			t.Errorf("%s: %d records, want exactly 1", k, c)
		}
	}
	for _, s := range sessions {
		if s.Outcome == store.OutcomeRunning || s.EndedAt == nil {
			t.Errorf("session %s of %s still running after the station stopped", s.UUID, s.Serial)
		}
	}
	return sessions, recs
}
