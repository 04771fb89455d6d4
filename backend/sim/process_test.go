package sim

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAgentProcessMode runs a pushed host-built agent as a real process that
// reaches its phone over the simos bridge.
func TestAgentProcessMode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "preload-agent")
	build := exec.Command("go", "build", "-o", bin, "./testdata/echoagent")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build echoagent: %v\n%s", err, out)
	}
	a := startADB(t)
	s := startSim(t, a, Options{Phones: 1, Profile: "redmi-note12", AgentProcess: true})
	ph := s.Phones()[0]
	ser := ph.Serial()
	a.must("-s", ser, "push", bin, "/data/local/tmp/preload-agent")
	a.must("-s", ser, "shell", "chmod 755 /data/local/tmp/preload-agent && (setsid /data/local/tmp/preload-agent serve --port 27190 >/dev/null 2>&1 &)")
	waitFor(t, 20*time.Second, "the agent process to listen", func() bool { _, ok := ph.HostAddr("27190"); return ok })
	local := strings.TrimSpace(a.must("-s", ser, "forward", "tcp:0", "tcp:27190"))
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+local, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintln(c, "hi")
	line, err := bufio.NewReader(c).ReadString('\n')
	want := "23021RAAEG: hi (PRELOAD-AGENT-BUILD 23021RAAEG stdin-ok)\n"
	if err != nil || line != want {
		t.Fatalf("process agent via bridge: %q, %v; want %q", line, err, want)
	}
	a.must("-s", ser, "shell", "pkill -f preload-agent")
	waitFor(t, 5*time.Second, "the process to end", func() bool { return ph.Agents() == 0 })
	if _, ok := ph.HostAddr("27190"); ok {
		t.Errorf("port still mapped after the process ended")
	}
}
