package services

import (
	"bytes"
	"os"
	"testing"
	"time"

	"preloadstation/backend/report"
	"preloadstation/backend/store"
)

func TestReportService(t *testing.T) {
	s, _ := newSet(t)
	st := s.Auth.deps.Store
	deps := s.Auth.deps
	deps.DataDir = t.TempDir()
	rs := NewReportService(deps, s.Session)
	if _, err := rs.Sessions(report.Filter{}); code(err) != CodeUnauthenticated {
		t.Fatalf("logged out: %v", err)
	}
	if _, err := s.Station.Setup(SetupRequest{StationName: "Shop", AdminUsername: "admin", AdminPassword: "secret-pass"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	end := now.Add(time.Minute)
	sess := store.InstallSession{UUID: "s-1", Serial: "SIM-01", Operator: "admin", Outcome: store.OutcomeDone, StartedAt: now, EndedAt: &end,
		Records: []store.InstallRecord{{UUID: "r-1", Package: "com.tencent.mm", Label: "微信", Result: store.ResultInstalled}}}
	if err := st.DB.Create(&sess).Error; err != nil {
		t.Fatal(err)
	}
	p, err := rs.Sessions(report.Filter{Package: "com.tencent.mm"})
	if err != nil || p.Total != 1 {
		t.Fatalf("sessions %+v %v", p, err)
	}
	if _, err := rs.Receipt("nope"); code(err) != CodeNotFound {
		t.Fatalf("unknown receipt: code %q", code(err))
	}
	ex, err := rs.ExportReceipt("s-1", "pdf", "zh-CN")
	if err != nil || !bytes.HasPrefix(ex.Data, []byte("%PDF")) {
		t.Fatalf("export %v", err)
	}
	if b, err := os.ReadFile(ex.Path); err != nil || len(b) != len(ex.Data) {
		t.Fatalf("saved copy %v", err)
	}
	if _, err := rs.ExportReceipt("s-1", "docx", "en"); code(err) != CodeInvalid {
		t.Fatalf("bad format: code %q", code(err))
	}
	ex, err = rs.ExportSummary("app", report.Filter{}, "csv", "en")
	if err != nil || !bytes.Contains(ex.Data, []byte("com.tencent.mm")) {
		t.Fatalf("summary csv %s %v", ex.Data, err)
	}
}

func TestAppIcon(t *testing.T) {
	s, _ := newSet(t)
	st := s.Auth.deps.Store
	rs := NewReportService(s.Auth.deps, s.Session)
	app := store.App{SHA256: "ab", Package: "p", Icon: []byte("\x89PNG")}
	if err := st.DB.Create(&app).Error; err != nil {
		t.Fatal(err)
	}
	b, err := rs.AppIcon(app.ID)
	if err != nil || string(b) != "\x89PNG" {
		t.Fatalf("icon %q %v", b, err)
	}
	if _, err := rs.AppIcon(999); code(err) != CodeNotFound {
		t.Fatalf("missing: %v", err)
	}
}
