package station_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"preloadstation/backend/adb/adbtest"
	"preloadstation/backend/install"
	"preloadstation/backend/internal/apktest"
	"preloadstation/backend/internal/simchild"
	"preloadstation/backend/station"
	"preloadstation/backend/store"
)

// stationChildEnv makes this test binary the station's child process; its
// value is a stationChildConfig as JSON.
const stationChildEnv = "PRELOAD_STATIONCHILD"

// stationChildConfig is what the station's child process needs: the data
// dir (store, library, cache) a parent has set up, and the adb server.
type stationChildConfig struct {
	DataDir string `json:"dataDir"`
	ADBPort int    `json:"adbPort"`
}

// stationStopWait bounds a station's graceful stop.
const stationStopWait = 60 * time.Second

// stationChild runs the real station (station.New + Serve, auto mode) on the
// data dir until its stdin closes, then stops it as the app does, prints
// each phone's transport (serial → "agent" or "exec") as one JSON line and
// exits 0. The kill -9 test kills it before that, the first time.
func stationChild(cfgJSON string) int {
	var cfg stationChildConfig
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "station child:", err)
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := store.Open(ctx, filepath.Join(cfg.DataDir, "station.db"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "station child:", err)
		return 1
	}
	defer st.Close()
	s, err := station.New(ctx, station.Config{DataDir: cfg.DataDir, Store: st, ADBPort: cfg.ADBPort, Getenv: func(string) string { return "" },
		Log:     slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Install: &install.Config{Auto: true, Backoff: 300 * time.Millisecond, Plan: install.PlanOptions{PipelineOrder: true}}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "station child:", err)
		return 1
	}
	s.SetOperator(func() string { return "op" })
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()
	_, _ = io.Copy(io.Discard, bufio.NewReader(os.Stdin))
	cancel()
	select {
	case <-served:
		// What each phone's last session installed over, for the parent.
		transports := map[string]string{}
		for _, ps := range s.Engine().Status() {
			transports[ps.Serial] = ps.Transport
		}
		if err := json.NewEncoder(os.Stdout).Encode(transports); err != nil {
			return 1
		}
		return 0
	case <-time.After(stationStopWait):
		fmt.Fprintf(os.Stderr, "station child: the station did not stop within %s\n", stationStopWait)
		return 3
	}
}

// stationProc is one run of the station's child process.
type stationProc struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout bytes.Buffer  // read once exited is closed
	exited chan struct{} // closed once the process has exited; err is then set
	err    error
}

func startStationChild(t *testing.T, cfg stationChildConfig) *stationProc {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), stationChildEnv+"="+string(b))
	p := &stationProc{cmd: cmd, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &p.stdout, os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.stdin = stdin
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// stop closes the child's stdin (the station stops as the app stops it),
// waits for a clean exit and returns each phone's transport.
func (p *stationProc) stop(t *testing.T) map[string]string {
	t.Helper()
	p.stdin.Close()
	select {
	case <-p.exited:
	case <-time.After(stationStopWait + 30*time.Second):
		t.Fatal("restarted station's child did not exit")
	}
	transports := map[string]string{}
	if p.err != nil || json.Unmarshal(p.stdout.Bytes(), &transports) != nil {
		t.Errorf("restarted station's child: %v, output %q", p.err, p.stdout.String())
	}
	return transports
}

// TestStationKill9AndRestart: kill -9 of the real station (in a child
// process) mid-run, then a restart on the same data dir. The history written
// before the kill is intact (readable, unique, counters and outbox in step
// with the records), the sessions the kill left running are marked
// interrupted at start, and the installs resume until every phone has every
// app, none installed twice. The phones, running the real agent, live in
// another child process and stay plugged throughout.
func TestStationKill9AndRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("virtual phones: not in -short")
	}
	if err := apktest.Available(); err != nil {
		t.Skip("aapt/apksigner needed: ", err)
	}
	port := adbtest.StartServer(t)
	const n = 4
	ph := simchild.Start(t, simchild.Config{Phones: n, Hubs: 2, Profile: "mixed", ADB: fmt.Sprintf("127.0.0.1:%d", port), Agent: true})
	serials := ph.Serials()

	// The data dir as the app leaves it: set up, the apps in the library, a
	// list active. This process keeps the store open to read the history
	// (WAL: the child writes, this reads).
	ctx := context.Background()
	dir := t.TempDir()
	st := openStore(ctx, t, dir, "Kill 9")
	defer st.Close()
	setup, err := station.New(ctx, station.Config{DataDir: dir, Store: st, ADBPort: port, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	apps := activateApps(ctx, t, setup.Library(), "stkill", []int{400_000, 900_000, 1_400_000, 600_000, 1_100_000, 200_000})
	count := func(model any, q string, args ...any) int64 {
		var c int64
		if err := st.DB.Model(model).Where(q, args...).Count(&c).Error; err != nil {
			t.Errorf("count: %v", err)
		}
		return c
	}
	cfg := stationChildConfig{DataDir: dir, ADBPort: port}

	first := startStationChild(t, cfg)
	waitFor(t, 90*time.Second, "five apps installed by the first station", func() bool {
		return count(&store.InstallRecord{}, "result = ?", store.ResultInstalled) >= 5
	}, stringer("see the child's stderr"))
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.exited
	killedAt := time.Now().UTC()

	// The history as the kill left it.
	var check string
	if err := st.DB.Raw("PRAGMA integrity_check").Scan(&check).Error; err != nil || check != "ok" {
		t.Errorf("database after kill -9: integrity_check %q, %v", check, err)
	}
	var before []store.InstallRecord
	if err := st.DB.Order("uuid").Find(&before).Error; err != nil {
		t.Fatalf("records after kill -9: %v", err)
	}
	var atKill []store.InstallSession
	if err := st.DB.Order("id").Find(&atKill).Error; err != nil {
		t.Fatalf("sessions after kill -9: %v", err)
	}
	var running []uint
	for _, sess := range atKill {
		if sess.Outcome == store.OutcomeRunning {
			running = append(running, sess.ID)
		}
		// Records and counters are written in one transaction: whatever the
		// kill interrupted, a session's counters match its records.
		got, err := setup.History().Session(ctx, sess.UUID)
		if err != nil {
			t.Errorf("session %s unreadable after kill -9: %v", sess.UUID, err)
			continue
		}
		counted := map[string]int{}
		for _, r := range got.Records {
			counted[r.Result]++
		}
		if counted[store.ResultInstalled] != sess.Installed || counted[store.ResultSkipped] != sess.Skipped || counted[store.ResultFailed] != sess.Failed {
			t.Errorf("session %s: counters installed %d skipped %d failed %d, records %v", sess.UUID, sess.Installed, sess.Skipped, sess.Failed, counted)
		}
	}
	if len(running) == 0 || len(before) >= n*len(apps) {
		t.Fatalf("%d records, %d sessions running at the kill: the test killed too late", len(before), len(running))
	}
	seen := map[string]bool{}
	for _, r := range before {
		k := fmt.Sprintf("%d|%s", r.SessionID, r.Package)
		if seen[k] {
			t.Errorf("two records for %s in session %d", r.Package, r.SessionID)
		}
		seen[k] = true
	}
	if items := count(&store.OutboxItem{}, "1 = 1"); items != int64(len(before)) {
		t.Errorf("%d outbox items for %d records at the kill: a record without its outbox item (or the reverse)", items, len(before))
	}
	t.Logf("killed with %d records, %d of %d sessions running", len(before), len(running), len(atKill))

	// Restart on the same data dir, the phones still plugged.
	second := startStationChild(t, cfg)
	restarted := time.Now().UTC()
	hasAll := func(i int) bool {
		got := ph.Packages(i)
		for _, a := range apps {
			if got[a.Package] != a.VersionCode {
				return false
			}
		}
		return true
	}
	waitFor(t, 2*time.Minute, "every phone to get every app from the restarted station", func() bool {
		if count(&store.InstallSession{}, "outcome = ?", store.OutcomeRunning) > 0 {
			return false
		}
		for i, serial := range serials {
			if count(&store.InstallSession{}, "serial = ? AND started_at > ?", serial, restarted) == 0 || !hasAll(i) {
				return false
			}
		}
		return true
	}, stringer("see the child's stderr"))
	// The restarted station found the agents the killed one had started
	// and still installed over their channels.
	transports := second.stop(t)
	if len(transports) != n {
		t.Errorf("the restarted station reports %d phones' transports, want %d: %v", len(transports), n, transports)
	}
	for serial, tr := range transports {
		if tr != "agent" {
			t.Errorf("%s: the restarted station installed over %q, want the agent channel", serial, tr)
		}
	}

	// History intact: every record from before the kill is still there, unchanged.
	for _, r := range before {
		var now store.InstallRecord
		if err := st.DB.Where("uuid = ?", r.UUID).Take(&now).Error; err != nil || now.Result != r.Result || now.Package != r.Package ||
			now.SessionID != r.SessionID || now.Attempts != r.Attempts || !now.EndedAt.Equal(r.EndedAt) {
			t.Errorf("record %s changed or lost after the restart: %+v (%v), was %+v", r.UUID, now, err, r)
		}
	}
	// The sessions the kill left running were closed at the restart; every
	// session since ran to its end.
	for _, id := range running {
		var sess store.InstallSession
		if err := st.DB.Take(&sess, id).Error; err != nil {
			t.Errorf("session %d: %v", id, err)
			continue
		}
		if sess.Outcome != store.OutcomeInterrupted || sess.EndedAt == nil || sess.EndedAt.Before(killedAt) {
			t.Errorf("session %s of %s, running at the kill: %s, ended %v; want interrupted at the restart", sess.UUID, sess.Serial, sess.Outcome, sess.EndedAt)
		}
	}
	var after []store.InstallSession
	if err := st.DB.Where("started_at > ?", killedAt).Find(&after).Error; err != nil {
		t.Fatal(err)
	}
	for _, sess := range after {
		if sess.Outcome != store.OutcomeDone {
			t.Errorf("session %s of %s after the restart: %s, want done", sess.UUID, sess.Serial, sess.Outcome)
		}
	}
	// Installs resumed: nothing installed twice on a phone, and every record
	// still has its outbox item.
	type pair struct{ serial, pkg string }
	installed := map[pair]int{}
	var recs []store.InstallRecord
	if err := st.DB.Find(&recs).Error; err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.Result == store.ResultInstalled {
			installed[pair{r.Serial, r.Package}]++
		}
	}
	for p, c := range installed {
		if c > 1 {
			t.Errorf("%s installed %d times on %s", p.pkg, c, p.serial)
		}
	}
	if items := count(&store.OutboxItem{}, "1 = 1"); items != int64(len(recs)) {
		t.Errorf("%d outbox items for %d records", items, len(recs))
	}
	t.Logf("after the restart: %d sessions, %d records", len(after), len(recs)-len(before))
}

// stringer is a fixed text where waitFor wants a log.
type stringer string

func (s stringer) String() string { return string(s) }
