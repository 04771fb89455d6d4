package main

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRunSim runs `preload-station sim` against a private adb server and
// checks it attaches the phones, then detaches them when stopped.
func TestRunSim(t *testing.T) {
	if _, err := exec.LookPath("adb"); err != nil {
		t.Skip("adb is not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("ANDROID_SDK_HOME", home)
	t.Setenv("ANDROID_ADB_SERVER_PORT", port)
	if out, err := exec.Command("adb", "-P", port, "start-server").CombinedOutput(); err != nil {
		t.Fatalf("adb start-server: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("adb", "-P", port, "kill-server").Run() })
	devices := func() string {
		out, _ := exec.Command("adb", "-P", port, "devices").CombinedOutput()
		return string(out)
	}

	if err := runSim(context.Background(), []string{"--phones", "2", "--control", "0.0.0.0:1"}); err == nil {
		t.Errorf("a non-loopback control address was accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runSim(ctx, []string{"--phones", "3", "--hubs", "2", "--profile", "pixel7,galaxy-j5", "--fault", "2:offline"})
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out := devices()
		if strings.Count(out, "\tdevice\n") == 2 && strings.Count(out, "\toffline\n") == 1 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("runSim ended early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("want 2 devices and 1 offline phone, adb says:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runSim: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("runSim did not stop")
	}
	if out := devices(); strings.Contains(out, "127.0.0.1:") {
		t.Errorf("phones still attached after stop:\n%s", out)
	}
}
