// Package adbtest starts real adb servers on free ports for tests, never on
// 5037, and finds their process ids (for kill -9 tests).
package adbtest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Bin returns the adb binary or skips the test when there is none.
func Bin(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("adb")
	if err != nil {
		t.Skip("adb not installed (apt-get install adb): skipping tests against the real adb server")
	}
	return p
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// StartServer starts a real adb server on a free port and kills it when the
// test ends. It returns the port. A port free a moment ago can be taken by
// another test (a virtual phone, another server) before adb binds it; adb
// then talks to that listener and fails ("protocol fault"), so it tries
// again on a fresh port, up to startTries times.
func StartServer(t testing.TB) int {
	t.Helper()
	bin := Bin(t)
	env := Env(t)
	var errs []string
	for range startTries {
		port := FreePort(t)
		cmd := exec.Command(bin, "-P", strconv.Itoa(port), "start-server")
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Cleanup(func() { KillServer(bin, port) })
			return port
		}
		errs = append(errs, fmt.Sprintf("port %d: %v: %s", port, err, bytes.TrimSpace(out)))
	}
	t.Fatalf("adb start-server failed %d times:\n%s", startTries, strings.Join(errs, "\n"))
	return 0
}

const startTries = 5

// Env is the environment for a test's adb server: HOME and ANDROID_SDK_HOME
// in a temp dir, so the server never writes keys into the user's ~/.android.
func Env(t testing.TB) []string {
	home := t.TempDir()
	return append(os.Environ(), "HOME="+home, "ANDROID_SDK_HOME="+home, "ANDROID_USER_HOME="+home+"/.android")
}

// KillServer stops the adb server on port (adb kill-server), and kill -9s it
// if it is still there.
func KillServer(bin string, port int) {
	_ = exec.Command(bin, "-P", strconv.Itoa(port), "kill-server").Run()
	if pid, err := ServerPID(port); err == nil {
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
		}
	}
}

// ServerPID finds the process of the adb server listening on port: adb runs
// its daemon as `adb -L tcp:PORT fork-server server …`.
func ServerPID(port int) (int, error) {
	want := []byte("tcp:" + strconv.Itoa(port) + "\x00")
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmd, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil {
			continue
		}
		if bytes.Contains(cmd, []byte("fork-server")) && bytes.Contains(cmd, want) {
			return strconv.Atoi(filepath.Base(d))
		}
	}
	return 0, fmt.Errorf("no adb server process for port %d", port)
}
