package sim

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"preloadstation/backend/phone"
	"preloadstation/backend/sim/simos"
)

// TestRealAgentInProcess starts the real agent code (phone.MainLog) the way
// the station does, and reaches its page through adb forward.
func TestRealAgentInProcess(t *testing.T) {
	a := startADB(t)
	s := startSim(t, a, Options{Phones: 1, Profile: "galaxy-a54",
		RunAgentLog: func(ctx context.Context, osys simos.PhoneOS, args []string, out io.Writer) error {
			return phone.MainLog(ctx, osys, args, out)
		}})
	ph := s.Phones()[0]
	ser := ph.Serial()
	a.must("-s", ser, "push", fakeAgent(t, t.TempDir()), "/data/local/tmp/preload-agent")
	a.must("-s", ser, "shell", "echo 00112233445566778899aabbccddeeff > /data/local/tmp/preload-agent.key && chmod 600 /data/local/tmp/preload-agent.key")
	if out := a.must("-s", ser, "shell", "/data/local/tmp/preload-agent --version"); !strings.Contains(out, "PRELOAD-AGENT-BUILD") {
		t.Errorf("--version in the foreground printed %q", out)
	}
	a.must("-s", ser, "shell", "nohup /data/local/tmp/preload-agent serve --port 27183 --http-port 27184 --key-file /data/local/tmp/preload-agent.key >/dev/null 2>&1 &")
	waitFor(t, 10*time.Second, "the agent's page port", func() bool { _, ok := ph.HostAddr("27184"); return ok })
	if _, ok := ph.HostAddr("27183"); !ok {
		t.Errorf("channel port 27183 not mapped")
	}
	local := strings.TrimSpace(a.must("-s", ser, "forward", "tcp:0", "tcp:27184"))
	resp, err := http.Get("http://127.0.0.1:" + local + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(body) == 0 {
		t.Errorf("agent page through adb forward: %d, %d bytes", resp.StatusCode, len(body))
	}
	a.must("-s", ser, "shell", "pkill preload-agent")
	if ph.Agents() != 0 {
		t.Errorf("agent survived pkill")
	}
}
