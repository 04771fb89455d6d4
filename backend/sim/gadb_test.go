package sim

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/electricbubble/gadb"

	"preloadstation/backend/adb/adbtest"
)

// TestGadb drives the same phones with gadb v0.1.0, as backend/adb does.
func TestGadb(t *testing.T) {
	a := startADB(t)
	s := startSim(t, a, Options{Phones: 3, Profile: "mixed", RunAgent: echoAgent})
	c, err := gadb.NewClientWith("127.0.0.1", a.port)
	if err != nil {
		t.Fatal(err)
	}
	devs, err := c.DeviceList()
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 3 {
		t.Fatalf("gadb sees %d devices, want 3", len(devs))
	}
	bySerial := map[string]gadb.Device{}
	for _, d := range devs {
		bySerial[d.Serial()] = d
	}
	for _, ph := range s.Phones() {
		d, ok := bySerial[ph.Serial()]
		if !ok {
			t.Fatalf("gadb lacks %s", ph.Serial())
		}
		model, err := d.Model()
		want := strings.NewReplacer("-", "_", " ", "_").Replace(ph.Profile().Model)
		if err != nil || model != want {
			t.Errorf("%s: gadb Model() = %q, %v; want %q", ph.Serial(), model, err, want)
		}
		out, err := d.RunShellCommand("getprop", "ro.build.version.sdk")
		if err != nil || strings.TrimSpace(out) != fmt.Sprint(ph.Profile().SDK) {
			t.Errorf("%s: gadb shell getprop = %q, %v", ph.Serial(), out, err)
		}
		data := make([]byte, 3<<20+17)
		rand.Read(data)
		if err := d.Push(bytes.NewReader(data), "/data/local/tmp/g.bin", time.Now(), 0o644); err != nil {
			t.Fatalf("%s: gadb push: %v", ph.Serial(), err)
		}
		got, err := ph.ReadFile("/data/local/tmp/g.bin")
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: pushed file differs (%d of %d bytes, %v)", ph.Serial(), len(got), len(data), err)
		}
		var pulled bytes.Buffer
		if err := d.Pull("/data/local/tmp/g.bin", &pulled); err != nil || !bytes.Equal(pulled.Bytes(), data) {
			t.Errorf("%s: gadb pull: %d bytes, %v", ph.Serial(), pulled.Len(), err)
		}
	}

	// Forward to an agent started the way the station starts it.
	ph := s.Phones()[2]
	d := bySerial[ph.Serial()]
	agent := fakeAgent(t, t.TempDir())
	a.must("-s", ph.Serial(), "push", agent, "/data/local/tmp/preload-agent")
	if _, err := d.RunShellCommand("nohup /data/local/tmp/preload-agent serve --port 27199 >/dev/null 2>&1 &"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "agent port", func() bool { _, ok := ph.HostAddr("27199"); return ok })
	local := adbtest.FreePort(t)
	if err := d.Forward(local, 27199); err != nil {
		t.Fatalf("gadb forward: %v", err)
	}
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", local), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintln(conn, "ping")
	line, err := bufio.NewReader(conn).ReadString('\n')
	if want := ph.Profile().Model + " says ping\n"; err != nil || line != want {
		t.Errorf("gadb forward round trip: %q, %v; want %q", line, err, want)
	}
}
