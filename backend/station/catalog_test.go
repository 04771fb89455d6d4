package station_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"

	"preloadstation/backend/adb/adbtest"
	"preloadstation/backend/catalog"
	"preloadstation/backend/install"
	"preloadstation/backend/internal/apktest"
	"preloadstation/backend/internal/syncbuf"
	"preloadstation/backend/sim"
	"preloadstation/backend/station"
	"preloadstation/backend/store"
)

// TestCatalogFlow is the patent's whole loop on one station: phones wait on
// the hub; the station registers at a catalog server, the operator logs in,
// the operator's list is fetched and pre-downloaded into the cache; auto
// mode installs it on the waiting phones only once it is cached (no failed
// attempt), and every install record reaches the catalog exactly once.
func TestCatalogFlow(t *testing.T) {
	if err := apktest.Available(); err != nil {
		t.Skip("aapt/apksigner needed: ", err)
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	// The catalog server, with two apps on alice's list.
	cdb, err := catalog.OpenDB(ctx, "sqlite:"+filepath.Join(t.TempDir(), "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer catalog.CloseDB(cdb)
	cat, err := catalog.NewCatalog(cdb, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cat.BcryptCost = bcrypt.MinCost
	var pkgs []string
	for i := range 2 {
		p := apktest.Build(t, t.TempDir(), apktest.Spec{Package: fmt.Sprintf("com.preload.cat%d", i), VersionCode: 3, PayloadBytes: 64 << 10})
		app, _, err := cat.AddAppFile(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, app.Package)
	}
	if _, err := cat.AddUser(ctx, "alice", "alicepass1", "operator", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.SetList(ctx, "alice's list", catalog.ListSpec{Operator: "alice", Apps: pkgs}); err != nil {
		t.Fatal(err)
	}
	code, err := cat.NewStationCode(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(catalog.NewServer(cat, log).Handler())
	defer hs.Close()

	// The station: registered, alice logged in, her list fetched and cached.
	port := adbtest.StartServer(t)
	dir := t.TempDir()
	st := openStore(ctx, t, dir, "")
	defer st.Close()
	s, err := station.New(ctx, station.Config{DataDir: dir, Store: st, Log: log, ADBPort: port,
		Getenv: func(string) string { return "" }, Install: &install.Config{Auto: true}})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()

	// Phones first: plugged before any list, they get an empty session.
	phones := startPhones(ctx, t, port, sim.Options{Phones: 2, Profile: "galaxy-a54"})
	defer phones.Close()
	waitFor(t, 60*time.Second, "an empty session per phone", func() bool {
		var n int64
		st.DB.Model(&store.InstallSession{}).Where("outcome = ? AND planned = 0", store.OutcomeDone).Count(&n)
		return n == 2
	}, logs)

	// Registered, alice logs in, her list is fetched: auto mode waits for
	// the pre-download, then installs it on the phones already plugged.
	cl := s.Catalog()
	if _, err := cl.Register(ctx, hs.URL, code, "Counter 3"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Login(ctx, "alice", "alicepass1"); err != nil {
		t.Fatal(err)
	}
	lr, err := cl.FetchList(ctx, "alice")
	if err != nil || lr.Offline || len(lr.List.Items) != 2 {
		t.Fatalf("fetch list: %+v %v", lr, err)
	}
	time.Sleep(300 * time.Millisecond) // long enough for a wrong early start to show as failed records
	if res, err := cl.Predownload(ctx, lr.List.ID); err != nil || res.Downloaded != 2 {
		t.Fatalf("pre-download: %+v %v", res, err)
	}

	var records int64
	waitFor(t, 60*time.Second, "both phones' sessions done", func() bool {
		var done int64
		st.DB.Model(&store.InstallSession{}).Where("outcome = ? AND installed = 2", store.OutcomeDone).Count(&done)
		st.DB.Model(&store.InstallRecord{}).Count(&records)
		return done == 2
	}, logs)
	waitFor(t, 30*time.Second, "the records at the catalog", func() bool {
		var n int64
		cdb.Model(&catalog.Report{}).Count(&n)
		return n == records
	}, logs)
	if records != 4 {
		t.Errorf("%d records, want 4 (2 phones x 2 apps, nothing failed or retried)", records)
	}
	ob, err := s.Outbox().Status(ctx)
	if err != nil || ob.Delivered != records || ob.Pending != 0 || ob.Rejected != 0 {
		t.Errorf("outbox %+v %v; want %d delivered", ob, err, records)
	}
	var reps []catalog.Report
	cdb.Find(&reps)
	for _, r := range reps {
		if r.Operator != "alice" || r.Result != store.ResultInstalled {
			t.Errorf("report %+v: want alice, installed", r)
		}
	}
	for _, ph := range phones.Phones() {
		for _, pkg := range pkgs {
			if p, ok := ph.Package(pkg); !ok || p.VersionCode != 3 {
				t.Errorf("%s: %s missing", ph.Serial(), pkg)
			}
		}
	}
	_ = phones.Close()
	cancel()
	<-served
	if t.Failed() {
		t.Logf("--- station log ---\n%s", logs)
	}
}
