package station_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"go.uber.org/goleak"

	"preloadstation/backend/adb/adbtest"
	"preloadstation/backend/install"
	"preloadstation/backend/internal/apktest"
	"preloadstation/backend/internal/syncbuf"
	"preloadstation/backend/sim"
	"preloadstation/backend/station"
	"preloadstation/backend/store"
)

// TestActivatingAListInstallsIt: phones plugged before any list is active
// get an empty session; in auto mode, activating a list then installs it on
// them without anyone pressing start. The direct-ADB path (no agent) is used
// here, so both transports are covered by the package's tests.
func TestActivatingAListInstallsIt(t *testing.T) {
	if err := apktest.Available(); err != nil {
		t.Skip("aapt/apksigner needed: ", err)
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	port := adbtest.StartServer(t)
	dir := t.TempDir()
	logs := &syncbuf.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := openStore(ctx, t, dir, "")
	defer st.Close()
	s, err := station.New(ctx, station.Config{
		DataDir: dir, Store: st, ADBPort: port, NoAgent: true,
		Log:     slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Getenv:  func(string) string { return "" },
		Install: &install.Config{Auto: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()

	phones := startPhones(ctx, t, port, sim.Options{Phones: 2, Profile: "pixel7"})
	defer phones.Close()
	ended := func(n int) func() bool {
		return func() bool {
			var c int64
			st.DB.Model(&store.InstallSession{}).Where("outcome <> ?", store.OutcomeRunning).Count(&c)
			return c == int64(n)
		}
	}
	waitFor(t, 30*time.Second, "an empty session per phone", ended(2), logs)

	lib := s.Library()
	list, err := lib.CreateList(ctx, "late list")
	if err != nil {
		t.Fatal(err)
	}
	var ids []uint
	for i := range 2 {
		p := apktest.Build(t, t.TempDir(), apktest.Spec{Package: fmt.Sprintf("com.preload.late%d", i), VersionCode: 5})
		res, err := lib.AddFile(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.App.ID)
	}
	if err := lib.SetListItems(ctx, list.ID, ids); err != nil {
		t.Fatal(err)
	}
	if err := lib.ActivateList(ctx, list.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "a second session per phone", ended(4), logs)
	for _, ph := range phones.Phones() {
		for i := range 2 {
			if p, ok := ph.Package(fmt.Sprintf("com.preload.late%d", i)); !ok || p.VersionCode != 5 {
				t.Errorf("%s: com.preload.late%d not installed (%+v)", ph.Serial(), i, p)
			}
		}
		var ss []store.InstallSession
		st.DB.Where("serial = ?", ph.Serial()).Order("id").Find(&ss)
		if len(ss) != 2 || ss[0].Planned != 0 || ss[1].Installed != 2 || ss[1].ListName != "late list" {
			t.Errorf("%s: sessions %+v", ph.Serial(), ss)
		}
	}
	for _, es := range s.Engine().Status() {
		if es.Transport != "exec" {
			t.Errorf("%s: transport %q, want exec (NoAgent)", es.Serial, es.Transport)
		}
	}
	// The operator's switch to manual survives a restart.
	s.Engine().SetAuto(false)
	waitFor(t, 10*time.Second, "auto mode off in the settings", func() bool {
		v, err := store.GetSetting(ctx, st, install.SettingAuto, true)
		return err == nil && !v
	}, logs)

	_ = phones.Close()
	cancel()
	<-served
	if t.Failed() {
		t.Logf("--- station log ---\n%s", logs)
	}
}
