package adb_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"preloadstation/backend/adb"
	"preloadstation/backend/adb/adbtest"
)

// Host-level commands against the real adb server (no devices needed).
func TestRealServerHostCommands(t *testing.T) {
	port := adbtest.StartServer(t)
	c := adb.NewClient(fmt.Sprintf("127.0.0.1:%d", port))
	ctx := context.Background()
	v, err := c.ServerVersion(ctx)
	if err != nil || v < 30 {
		t.Fatalf("version %d %v", v, err)
	}
	ds, err := c.Devices(ctx)
	if err != nil || len(ds) != 0 {
		t.Fatalf("devices %v %v", ds, err)
	}
	tctx, cancel := context.WithCancel(ctx)
	ch, err := c.Track(tctx)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case first := <-ch:
		if len(first) != 0 {
			t.Fatalf("first track list %v", first)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no initial track list")
	}
	if _, err := c.Device("nope").DevPath(ctx); !errors.Is(err, adb.ErrDeviceNotFound) {
		t.Fatalf("devpath of unknown device: %v", err)
	}
	fs, err := c.ListForwards(ctx)
	if err != nil || len(fs) != 0 {
		t.Fatalf("forwards %v %v", fs, err)
	}
	cancel()
	for range ch { // closes after cancel
	}
	if err := c.Connect(ctx, "127.0.0.1:1"); err == nil {
		t.Fatal("connect to a closed port succeeded")
	}
}

// Server starts a missing server, and Serve restarts it after kill -9.
func TestRealServerLifecycleKill9(t *testing.T) {
	bin := adbtest.Bin(t)
	port := adbtest.FreePort(t)
	t.Cleanup(func() { adbtest.KillServer(bin, port) })
	s := adb.NewServer(bin, port, nil)
	s.Check = 100 * time.Millisecond
	s.Env = adbtest.Env(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	pid, err := adbtest.ServerPID(port)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := os.FindProcess(pid)
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	for {
		if _, err := s.Client().ServerVersion(ctx); err == nil && s.Restarts() == 1 {
			break
		}
		if time.Since(killed) > 10*time.Second {
			t.Fatalf("server not restarted (restarts=%d)", s.Restarts())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("adb server back %s after kill -9", time.Since(killed).Round(time.Millisecond))
	if pid2, err := adbtest.ServerPID(port); err != nil || pid2 == pid {
		t.Fatalf("new pid %d (old %d) %v", pid2, pid, err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve returned %v", err)
	}
}
