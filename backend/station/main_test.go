package station_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"preloadstation/backend/internal/apktest"
	"preloadstation/backend/internal/simchild"
	"preloadstation/backend/library"
	"preloadstation/backend/sim"
	"preloadstation/backend/sim/simreal"
	"preloadstation/backend/store"
)

// TestMain lets this test binary be re-executed as the virtual phones' child
// (simchild) or as the station's child (the kill -9 test).
func TestMain(m *testing.M) {
	simchild.Main()
	if cfg := os.Getenv(stationChildEnv); cfg != "" {
		os.Exit(stationChild(cfg))
	}
	os.Exit(m.Run())
}

// plannedApp is one app of a test's active list, as a phone must end up with it.
type plannedApp struct {
	Package     string
	VersionCode int64
}

// activateApps builds one real signed APK per payload size, adds them to the
// station's library and makes them its active list.
func activateApps(ctx context.Context, t testing.TB, lib *library.Library, prefix string, sizes []int) []plannedApp {
	t.Helper()
	list, err := lib.CreateList(ctx, prefix+" list")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var ids []uint
	var apps []plannedApp
	for i, size := range sizes {
		p := apktest.Build(t, dir, apktest.Spec{Package: fmt.Sprintf("com.preload.%s%d", prefix, i), VersionCode: int64(10 + i),
			VersionName: fmt.Sprintf("1.%d", i), MinSDK: 21, TargetSDK: 33, Label: fmt.Sprintf("App %d", i), PayloadBytes: size})
		res, err := lib.AddFile(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.App.ID)
		apps = append(apps, plannedApp{Package: res.App.Package, VersionCode: res.App.VersionCode})
	}
	if err := lib.SetListItems(ctx, list.ID, ids); err != nil {
		t.Fatal(err)
	}
	if err := lib.ActivateList(ctx, list.ID); err != nil {
		t.Fatal(err)
	}
	return apps
}

// openStore opens the station's database in dir and, when name is not empty,
// sets the station up (name, admin "admin"). The caller closes it (after the
// station has stopped, before goleak looks).
func openStore(ctx context.Context, t testing.TB, dir, name string) *store.Store {
	t.Helper()
	st, err := store.Open(ctx, filepath.Join(dir, "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	if name != "" {
		if _, _, err := st.SetupStation(ctx, store.Setup{StationName: name, AdminUsername: "admin", AdminPassword: "correct horse 1"}); err != nil {
			st.Close()
			t.Fatal(err)
		}
	}
	return st
}

// startPhones starts in-process virtual phones that run the real agent code,
// attached to the adb server on port; the caller closes them.
func startPhones(ctx context.Context, t testing.TB, port int, opts sim.Options) *sim.Sim {
	t.Helper()
	opts.ADBServer, opts.Dir = fmt.Sprintf("127.0.0.1:%d", port), t.TempDir()
	opts.InspectAPK, opts.RunAgentLog = simreal.InspectAPK, simreal.RunAgent
	s, err := sim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		s.Close()
		t.Fatal(err)
	}
	return s
}
