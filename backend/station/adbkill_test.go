package station_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"preloadstation/backend/adb/adbtest"
	"preloadstation/backend/device"
	"preloadstation/backend/phone"
	"preloadstation/backend/sim"
	"preloadstation/backend/sim/simos"
	"preloadstation/backend/station"
	"preloadstation/backend/store"
)

// TestADBServerKilled: kill -9 of the adb server under a running station.
// The station's keeper starts a new one, discovery re-connects the phones,
// and their agent channels come back, with nobody touching anything. (The
// station is unconfigured, so the phones also show the agent's page.)
func TestADBServerKilled(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	port := adbtest.StartServer(t)
	dir := t.TempDir()
	logs := &lockedBuf{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := store.Open(ctx, filepath.Join(dir, "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	s, err := station.New(ctx, station.Config{DataDir: dir, Store: st, ADBPort: port, ADBEnv: adbtest.Env(t),
		Log:    slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()
	phones, err := sim.New(sim.Options{Phones: 2, Profile: "pixel7", ADBServer: fmt.Sprintf("127.0.0.1:%d", port),
		Dir: t.TempDir(), InspectAPK: inspectForSim,
		RunAgentLog: func(ctx context.Context, osys simos.PhoneOS, args []string, out io.Writer) error {
			return phone.MainLog(ctx, osys, args, out)
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer phones.Close()
	if err := phones.Start(ctx); err != nil {
		t.Fatal(err)
	}
	channels := func(min int) func() bool {
		return func() bool {
			n := 0
			for _, ph := range phones.Phones() {
				as, ok := s.Agents().State(ph.Serial())
				p, pok := s.Devices().Phone(ph.Serial())
				if ok && as.State == "ready" && as.Channels >= min && pok && (p.State == device.StateReady || p.State == device.StateBusy) {
					n++
				}
			}
			return n == 2
		}
	}
	waitFor(t, 30*time.Second, "both phones ready with a channel", channels(1), logs)
	// The station is not set up: each phone's browser shows the agent's
	// page, where the station can be configured (flow 4).
	waitFor(t, 10*time.Second, "the agent's page open on both phones", func() bool {
		for _, ph := range phones.Phones() {
			seen := false
			for _, in := range ph.Intents() {
				seen = seen || (strings.Contains(in.Action, "VIEW") && strings.HasPrefix(in.Data, "http://127.0.0.1:"))
			}
			if !seen {
				return false
			}
		}
		return true
	}, logs)

	pid, err := adbtest.ServerPID(port)
	if err != nil {
		t.Fatal(err)
	}
	proc, _ := os.FindProcess(pid)
	if err := proc.Kill(); err != nil {
		t.Fatal(err)
	}
	_, _ = proc.Wait() // not our child: returns at once; the kill is what matters
	waitFor(t, 30*time.Second, "a new adb server", func() bool {
		p, err := adbtest.ServerPID(port)
		return err == nil && p != pid
	}, logs)
	waitFor(t, 60*time.Second, "both phones back, each on a rebuilt channel", channels(2), logs)
	if !strings.Contains(logs.String(), "adb server started") {
		t.Error("the new adb server was not started by the station")
	}

	_ = phones.Close()
	cancel()
	<-served
	if t.Failed() {
		t.Logf("--- station log ---\n%s", logs)
	}
}
