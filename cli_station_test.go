package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"preloadstation/backend/adb/adbtest"
	"preloadstation/backend/sim"
	"preloadstation/backend/sim/simreal"
)

// TestServeRunsTheStation starts `serve` against a private adb server with
// two virtual phones attached and checks, through the same HTTP bridge the
// browser uses, that the station is wired: discovery sees the phones, their
// agent channels come up, and the install engine has taken them.
func TestServeRunsTheStation(t *testing.T) {
	if _, err := frontendAssets(); err != nil {
		t.Skip("serve needs the built frontend (make frontend): ", err)
	}
	port := adbtest.StartServer(t)
	t.Setenv("ANDROID_ADB_SERVER_PORT", fmt.Sprint(port))
	listen := fmt.Sprintf("127.0.0.1:%d", adbtest.FreePort(t))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- runServe(ctx, []string{"--listen", listen, "--data", t.TempDir()}) }()

	phones, err := sim.New(sim.Options{Phones: 2, Profile: "pixel7", ADBServer: fmt.Sprintf("127.0.0.1:%d", port),
		Dir: t.TempDir(), InspectAPK: simreal.InspectAPK, RunAgentLog: simreal.RunAgent})
	if err != nil {
		t.Fatal(err)
	}
	defer phones.Close()
	if err := phones.Start(ctx); err != nil {
		t.Fatal(err)
	}

	call := func(service, method string, out any) error {
		body := fmt.Sprintf(`{"service":%q,"method":%q,"args":[]}`, service, method)
		res, err := http.Post("http://"+listen+"/api/call", "application/json", strings.NewReader(body))
		if err != nil {
			return err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		var r struct {
			Result json.RawMessage `json:"result"`
			Error  any             `json:"error"`
		}
		if err := json.Unmarshal(b, &r); err != nil || r.Error != nil {
			return fmt.Errorf("%s.%s: %v %s", service, method, err, b)
		}
		return json.Unmarshal(r.Result, out)
	}

	var last string
	deadline := time.Now().Add(60 * time.Second)
	for {
		var devs []struct{ Serial, State string }
		var agents []struct{ Serial, State string }
		var installs []struct{ Serial, State string }
		err1 := call("DeviceService", "List", &devs)
		err2 := call("AgentService", "States", &agents)
		err3 := call("InstallService", "Status", &installs)
		ready := 0
		for _, a := range agents {
			if a.State == "ready" {
				ready++
			}
		}
		if err1 == nil && err2 == nil && err3 == nil && len(devs) == 2 && ready == 2 && len(installs) == 2 {
			break
		}
		last = fmt.Sprintf("devices %v agents %v installs %v errs %v %v %v", devs, agents, installs, err1, err2, err3)
		if time.Now().After(deadline) {
			t.Fatalf("station not wired after 60 s: %s", last)
		}
		time.Sleep(200 * time.Millisecond)
	}

	_ = phones.Close()
	cancel()
	select {
	case err := <-served:
		if err != nil && err != context.Canceled {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not stop")
	}
}
