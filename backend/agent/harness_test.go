package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"preloadstation/backend/adb"
	"preloadstation/backend/adb/adbtest"
	"preloadstation/backend/internal/syncbuf"
	"preloadstation/backend/sim"
	"preloadstation/backend/sim/simos"
	"preloadstation/backend/sim/simreal"
)

// adbServer is a private adb server for one test or benchmark, never 5037.
type adbServer struct {
	port int
	env  []string
}

func startADB(t testing.TB) *adbServer {
	t.Helper()
	a := &adbServer{port: adbtest.StartServer(t)}
	a.env = append(adbtest.Env(t), "ANDROID_ADB_SERVER_PORT="+strconv.Itoa(a.port))
	return a
}

func (a *adbServer) addr() string { return "127.0.0.1:" + strconv.Itoa(a.port) }

func (a *adbServer) run(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "adb", append([]string{"-P", strconv.Itoa(a.port)}, args...)...)
	cmd.Env = a.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// rig is virtual phones behind a real adb server, with a manager serving them.
type rig struct {
	adb   *adbServer
	sim   *sim.Sim
	cl    *adb.Client
	m     *Manager
	log   *syncbuf.Buffer
	stop  context.CancelFunc
	done  chan error
	start time.Time
}

type rigOpts struct {
	phones  int
	profile string
	process bool // run host-arch pushed agents as real processes
	mopts   Options
	// runAgent replaces the in-process agent (tests of misbehaving agents).
	runAgent func(ctx context.Context, osys simos.PhoneOS, args []string, out io.Writer) error
}

func newRig(t testing.TB, ro rigOpts) *rig {
	t.Helper()
	r := &rig{adb: startADB(t), log: &syncbuf.Buffer{}}
	so := sim.Options{Phones: ro.phones, Profile: ro.profile, ADBServer: r.adb.addr(), Dir: t.TempDir(),
		InspectAPK: simreal.InspectAPK, AgentProcess: ro.process, USB: sim.DefaultUSB(),
		Logf:        func(f string, a ...any) { r.log.Write([]byte("sim: " + sprintf(f, a...) + "\n")) },
		RunAgentLog: simreal.RunAgent}
	if ro.runAgent != nil {
		so.RunAgentLog = ro.runAgent
	}
	s, err := sim.New(so)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	r.sim = s
	r.cl = adb.NewClient(r.adb.addr())
	waitDevices(t, r.cl, ro.phones)
	mo := ro.mopts
	mo.Log = slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if mo.Key == nil {
		mo.Key = func(context.Context) ([]byte, error) { return []byte("test station key"), nil }
	}
	r.m = NewManager(mo)
	ctx, cancel := context.WithCancel(context.Background())
	r.stop, r.done = cancel, make(chan error, 1)
	go func() { r.done <- r.m.Serve(ctx) }()
	t.Cleanup(func() {
		r.close()
		if f := os.Getenv("PRELOAD_TEST_LOG"); f != "" {
			os.WriteFile(f, []byte(r.log.String()), 0o644)
		}
		if t.Failed() {
			t.Logf("log:\n%s", tail(r.log.String(), 30000))
		}
	})
	r.start = time.Now()
	for _, ph := range s.Phones() {
		r.m.Attach(ph.Serial(), r.cl.Device(ph.Serial()))
	}
	return r
}

func (r *rig) close() {
	if r.stop != nil {
		r.stop()
		<-r.done
		r.stop = nil
		r.sim.Close()
	}
}

func waitDevices(t testing.TB, cl *adb.Client, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ds, err := cl.Devices(context.Background())
		ready := 0
		for _, d := range ds {
			if d.State == "device" {
				ready++
			}
		}
		if err == nil && ready >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d phones online in adb: %v %v", ready, n, ds, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func sprintf(f string, a ...any) string { return fmt.Sprintf(f, a...) }
