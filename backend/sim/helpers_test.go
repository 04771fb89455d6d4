package sim

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"preloadstation/backend/adb/adbtest"
)

// adbServer is a private adb server for one test, never the user's 5037.
type adbServer struct {
	t    testing.TB
	port int
	env  []string
}

func startADB(t *testing.T) *adbServer { return startADBB(t) }

func startADBB(t testing.TB) *adbServer {
	t.Helper()
	a := &adbServer{t: t, port: adbtest.StartServer(t)}
	a.env = append(adbtest.Env(t), "ANDROID_ADB_SERVER_PORT="+strconv.Itoa(a.port))
	return a
}

func (a *adbServer) addr() string { return "127.0.0.1:" + strconv.Itoa(a.port) }

// run runs the real adb client against this server.
func (a *adbServer) run(timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "adb", append([]string{"-P", strconv.Itoa(a.port)}, args...)...)
	cmd.Env = a.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (a *adbServer) must(args ...string) string {
	a.t.Helper()
	out, err := a.run(60*time.Second, args...)
	if err != nil {
		a.t.Fatalf("adb %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func startSim(t *testing.T, a *adbServer, opts Options) *Sim {
	t.Helper()
	if a != nil {
		opts.ADBServer = a.addr()
	}
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
