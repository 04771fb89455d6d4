package sim

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// adbServer is a private adb server for one test, never the user's 5037.
type adbServer struct {
	t    testing.TB
	port int
	env  []string
}

func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startADB(t *testing.T) *adbServer { return startADBB(t) }

func startADBB(t testing.TB) *adbServer {
	t.Helper()
	if _, err := exec.LookPath("adb"); err != nil {
		t.Skip("adb is not installed (apt install adb)")
	}
	home := t.TempDir()
	a := &adbServer{t: t, port: freePort(t)}
	a.env = append(os.Environ(), "HOME="+home, "ANDROID_SDK_HOME="+home,
		"ANDROID_ADB_SERVER_PORT="+strconv.Itoa(a.port))
	if out, err := a.run(20*time.Second, "start-server"); err != nil {
		t.Fatalf("adb start-server: %v\n%s", err, out)
	}
	t.Cleanup(func() { a.run(10*time.Second, "kill-server") })
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
