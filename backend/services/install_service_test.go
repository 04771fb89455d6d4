package services

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"preloadstation/backend/install"
	"preloadstation/backend/report"
	"preloadstation/backend/store"
)

// instantPhone takes whatever it is sent at once and reports versionCode 7.
type instantPhone struct{}

func (p *instantPhone) Name() string { return "fake" }
func (p *instantPhone) Install(ctx context.Context, r io.Reader, size int64) (string, error) {
	n, err := io.Copy(io.Discard, r)
	if err != nil || n != size {
		return "", errors.New("short stream")
	}
	return "Success\n", nil
}
func (p *instantPhone) InstalledVersion(ctx context.Context, pkg string) (int64, bool, error) {
	return 7, true, nil // every test app has versionCode 7
}

type zeroAPKs struct{}

func (zeroAPKs) OpenAPK(ctx context.Context, sha string) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(make([]byte, 1000))), nil
}

func installCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestInstallService(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	apps := []install.App{
		{Package: "com.a", VersionCode: 7, MinSDK: 21, Size: 1000, SHA256: "a"},
		{Package: "com.b", VersionCode: 7, MinSDK: 21, Size: 1000, SHA256: "b", Position: 1},
		{Package: "com.new", VersionCode: 7, MinSDK: 35, Size: 1000, SHA256: "c", Position: 2},
	}
	eng := install.NewEngine(install.Config{Station: "s"}, install.Deps{List: install.StaticList{Name: "L", Apps: apps},
		APKs: zeroAPKs{}, History: install.HistoryStore{S: st}})
	svc := NewInstallService(Deps{Context: context.Background(), Store: st, CallTimeout: 5 * time.Second}, eng)

	if c := installCode(svc.Start("X")); c != CodeEngineDown {
		t.Errorf("Start before Serve: %q", c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = eng.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(time.Second); installCode(svc.Start("X")) == CodeEngineDown && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if c := installCode(svc.Start("X")); c != CodePhoneUnknown {
		t.Errorf("Start unknown phone: %q", c)
	}
	ph := &instantPhone{}
	eng.PhoneReady(install.Phone{Serial: "P1", Facts: install.Facts{Serial: "P1", SDK: 30, FreeBytes: -1}, Transport: ph, Verifier: ph})
	if auto, _ := svc.Auto(); auto {
		t.Fatal("auto mode on by default in this config")
	}
	plan, err := svc.Plan("P1")
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Install) != 2 || len(plan.Reasons) != 1 || plan.Reasons[0].Code != install.SkipMinSDK || plan.Reasons[0].ZH == "" {
		t.Fatalf("plan %+v", plan)
	}
	if err := svc.Start("P1"); err != nil {
		t.Fatal(err)
	}
	// History pages come from the report package (ReportService.Sessions), the one query the UI uses.
	var page report.Page
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		page, err = report.Sessions(context.Background(), svc.deps.Store.DB, report.Filter{Outcome: store.OutcomeDone})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total == 1 {
			break
		}
	}
	if page.Total != 1 || page.Items[0].Installed != 2 || page.Items[0].Skipped != 1 {
		t.Fatalf("sessions %+v", page)
	}
	sess, err := svc.Session(page.Items[0].UUID)
	if err != nil || len(sess.Records) != 3 {
		t.Fatalf("session: %v, %d records", err, len(sess.Records))
	}
	if _, err := svc.Session("nope"); installCode(err) != CodeNotFound {
		t.Errorf("unknown session: %v", err)
	}
	if errs, _ := svc.StopAll(); len(errs) != 0 {
		t.Errorf("StopAll: %v", errs)
	}
	if err := svc.SetAuto(true); err != nil {
		t.Fatal(err)
	}
	if auto, _ := svc.Auto(); !auto {
		t.Error("SetAuto(true) did not stick")
	}
	if h, err := svc.Hint("INSTALL_FAILED_USER_RESTRICTED", "Redmi"); err != nil || h.ZH == "" {
		t.Errorf("hint: %v %+v", err, h)
	}
	if _, err := svc.Hint("INSTALL_FAILED_INTERNAL_ERROR", ""); installCode(err) != CodeNotFound {
		t.Errorf("no-hint code: %v", err)
	}
}
