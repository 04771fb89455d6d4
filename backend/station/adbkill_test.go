package station_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"preloadstation/backend/adb/adbtest"
	"preloadstation/backend/agent"
	"preloadstation/backend/device"
	"preloadstation/backend/internal/syncbuf"
	"preloadstation/backend/sim"
	"preloadstation/backend/station"
	"preloadstation/backend/store"
)

// TestADBServerKilled: kill -9 of the adb server under a running station.
// The station's keeper starts a new one, discovery re-connects the phones,
// and their agent channels come back (restarted by the station when an agent
// gave up while adb was gone), with nobody touching anything. (The
// station is unconfigured, so the phones also show the agent's page.)
func TestADBServerKilled(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	port := adbtest.StartServer(t)
	dir := t.TempDir()
	logs := &syncbuf.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := openStore(ctx, t, dir, "")
	defer st.Close()
	// FallbackAfter 1: the agent gives up at its first failure, which the
	// dead adb server guarantees; the station must start it again.
	s, err := station.New(ctx, station.Config{DataDir: dir, Store: st, ADBPort: port, ADBEnv: adbtest.Env(t),
		Agent:  agent.Options{FallbackAfter: 1},
		Log:    slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx) }()
	phones := startPhones(ctx, t, port, sim.Options{Phones: 2, Profile: "pixel7"})
	defer phones.Close()
	channels := func(since time.Time) func() bool {
		return func() bool {
			n := 0
			for _, ph := range phones.Phones() {
				as, ok := s.Agents().State(ph.Serial())
				p, pok := s.Devices().Phone(ph.Serial())
				if ok && as.State == "ready" && (as.Since.After(since) || (!since.IsZero() && as.Channels >= 2)) && pok && (p.State == device.StateReady || p.State == device.StateBusy) {
					n++
				}
			}
			return n == 2
		}
	}
	waitFor(t, 30*time.Second, "both phones ready with a channel", channels(time.Time{}), logs)
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

	// First-run setup in the UI: the phones' pages follow without a replug.
	if _, _, err := st.SetupStation(ctx, store.Setup{StationName: "Counter 4", AdminUsername: "admin", AdminPassword: "correct horse 1"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the phones' pages showing the station's name", func() bool {
		for _, ph := range phones.Phones() {
			addr, ok := ph.HostAddr("27184")
			if !ok {
				return false
			}
			res, err := http.Get("http://" + addr + "/state")
			if err != nil {
				return false
			}
			var body struct {
				State struct {
					Station    string `json:"station"`
					Configured bool   `json:"configured"`
				} `json:"state"`
			}
			err = json.NewDecoder(res.Body).Decode(&body)
			res.Body.Close()
			if err != nil || body.State.Station != "Counter 4" || !body.State.Configured {
				return false
			}
		}
		return true
	}, logs)

	pid, err := adbtest.ServerPID(port)
	if err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	proc, _ := os.FindProcess(pid)
	if err := proc.Kill(); err != nil {
		t.Fatal(err)
	}
	_, _ = proc.Wait() // not our child: returns at once; the kill is what matters
	waitFor(t, 30*time.Second, "a new adb server", func() bool {
		p, err := adbtest.ServerPID(port)
		return err == nil && p != pid
	}, logs)
	waitFor(t, 60*time.Second, "both phones back, each on a rebuilt channel", channels(killed), logs)
	if !strings.Contains(logs.String(), "adb server started") {
		t.Error("the new adb server was not started by the station")
	}
	if !strings.Contains(logs.String(), "starting its agent again") {
		t.Error("no agent gave up while adb was down: the test did not exercise the restart")
	}

	_ = phones.Close()
	cancel()
	<-served
	if t.Failed() {
		t.Logf("--- station log ---\n%s", logs)
	}
}
