package adb

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestParseDevices(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []DeviceInfo
	}{
		{"empty", "", nil},
		{"usb", "0123456789ABCDEF       device usb:1-4.3 product:sailfish model:Pixel device:sailfish transport_id:7\n",
			[]DeviceInfo{{Serial: "0123456789ABCDEF", State: "device", DevPath: "usb:1-4.3", Product: "sailfish", Model: "Pixel", Device: "sailfish", TransportID: 7}}},
		{"tcp and unauthorized", "127.0.0.1:40001 device product:p model:M device:d transport_id:1\nXYZ unauthorized usb:2-1 transport_id:2\n",
			[]DeviceInfo{
				{Serial: "127.0.0.1:40001", State: "device", Product: "p", Model: "M", Device: "d", TransportID: 1},
				{Serial: "XYZ", State: "unauthorized", DevPath: "usb:2-1", TransportID: 2}}},
		{"offline no attrs", "emulator-5554\toffline\n", []DeviceInfo{{Serial: "emulator-5554", State: "offline"}}},
		{"no permissions", "ABC no permissions (user in plugdev group; are your udev rules wrong?); see [http://developer.android.com/tools/device.html] usb:1-1 transport_id:3\n",
			[]DeviceInfo{{Serial: "ABC", State: "no permissions", DevPath: "usb:1-1", TransportID: 3}}},
		{"authorizing", "S1 authorizing usb:3-2 transport_id:4", []DeviceInfo{{Serial: "S1", State: "authorizing", DevPath: "usb:3-2", TransportID: 4}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseDevices(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseDevices(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestQuoteRoundTripsThroughSh(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	args := []string{"", "plain", "with space", "it's", `"double"`, "$(reboot)", "`id`", "a;b&c|d", "new\nline",
		"back\\slash", "*glob?", "'", "''", "-rf /", "com.example.app", "日本語", "$HOME", "a=b"}
	for _, a := range args {
		out, err := exec.Command(sh, "-c", "printf %s "+Quote(a)).Output()
		if err != nil {
			t.Fatalf("sh -c with %q: %v", Quote(a), err)
		}
		if string(out) != a {
			t.Errorf("Quote(%q) = %s; sh printed %q", a, Quote(a), out)
		}
	}
	if got := Command("pm", "list", "packages", "x y"); got != "pm list packages 'x y'" {
		t.Errorf("Command = %q", got)
	}
}

func TestDevicesAndFailCodes(t *testing.T) {
	f := newFakeServer(t)
	c := f.client()
	f.queue(func(c *fakeConn) {
		c.req()
		c.okayHex("S1 device usb:1-1 product:p model:m device:d transport_id:1\n")
	})
	ds, err := c.Devices(context.Background())
	if err != nil || len(ds) != 1 || ds[0].DevPath != "usb:1-1" {
		t.Fatalf("Devices = %+v, %v", ds, err)
	}
	cases := []struct {
		msg  string
		want error
	}{
		{"device 'S9' not found", ErrDeviceNotFound},
		{"device unauthorized.\nThis adb server's $ADB_VENDOR_KEYS is not set", ErrUnauthorized},
		{"device offline", ErrOffline},
		{"device still authorizing", ErrAuthorizing},
		{"something else", ErrFailed},
	}
	for _, tc := range cases {
		f.queue(func(c *fakeConn) { c.req(); c.fail(tc.msg) })
		_, err := c.Device("S9").State(context.Background())
		if !errors.Is(err, tc.want) {
			t.Errorf("FAIL %q: err = %v, want %v", tc.msg, err, tc.want)
		}
		var ae *Error
		if !errors.As(err, &ae) || ae.Serial != "S9" {
			t.Errorf("FAIL %q: not an *Error with serial: %#v", tc.msg, err)
		}
	}
	if got := f.reqs(); got[0] != "host:devices-l" || got[1] != "host-serial:S9:get-state" {
		t.Errorf("requests = %q", got)
	}
}

func TestServerDown(t *testing.T) {
	f := newFakeServer(t)
	addr := f.addr()
	f.ln.Close()
	_, err := NewClient(addr).Devices(context.Background())
	if !errors.Is(err, ErrServerDown) || Code(err) != "adb_server_down" {
		t.Fatalf("err = %v (code %q), want ErrServerDown", err, Code(err))
	}
}

func TestShellV2ExitCodeAndStderr(t *testing.T) {
	f := newFakeServer(t)
	f.queue(features("shell_v2,cmd"), func(c *fakeConn) {
		svc := c.transport()
		if svc != "shell,v2,raw:ls /nope" {
			c.fail("unexpected " + svc)
			return
		}
		c.v2(v2Stdout, "out1\n")
		c.v2(v2Stderr, "ls: /nope: No such file or directory\n")
		c.v2(v2Stdout, "out2\n")
		c.v2(v2Exit, "\x01")
	})
	r, err := f.client().Device("S1").Shell(context.Background(), "ls /nope")
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Stdout) != "out1\nout2\n" || !strings.Contains(string(r.Stderr), "No such file") || r.ExitCode != 1 {
		t.Fatalf("got %+v", r)
	}
}

func TestShellLegacyFallback(t *testing.T) {
	f := newFakeServer(t)
	f.queue(features("cmd"), func(c *fakeConn) {
		svc := c.transport()
		if !strings.HasPrefix(svc, "shell:false\n") {
			c.write("unexpected")
			return
		}
		// Old adbd: pty, CRLF, exit status printed by our marker.
		c.write("some output\r\n" + exitMarker + "1\r\n")
	})
	r, err := f.client().Device("S1").Shell(context.Background(), "false")
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Stdout) != "some output\n" || r.ExitCode != 1 {
		t.Fatalf("got %+v", r)
	}
	if got := f.reqs()[2]; got != "shell:false\necho \""+exitMarker+"$?\"" {
		t.Errorf("service = %q", got)
	}
}

func TestShellCancel(t *testing.T) {
	f := newFakeServer(t)
	hold := make(chan struct{})
	defer close(hold)
	f.queue(features("shell_v2"), func(c *fakeConn) { c.transport(); <-hold })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := f.client().Device("S1").Shell(ctx, "sleep 1000")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("cancel took %s", d)
	}
}

func TestShellIdleWatchdog(t *testing.T) {
	f := newFakeServer(t)
	hold := make(chan struct{})
	defer close(hold)
	f.queue(features("shell_v2"), func(c *fakeConn) { c.transport(); <-hold })
	ctx := WithIdleTimeout(context.Background(), 200*time.Millisecond)
	_, err := f.client().Device("S1").Shell(ctx, "sleep 1000")
	if !errors.Is(err, ErrStalled) {
		t.Fatalf("err = %v, want ErrStalled", err)
	}
}

// pushRecorder accepts a push and records the file it received.
func pushRecorder(got chan<- []byte) func(*fakeConn) {
	return func(c *fakeConn) {
		c.transport()
		var file bytes.Buffer
		for {
			id, b, err := c.syncFrame()
			if err != nil {
				got <- nil
				return
			}
			switch id {
			case "DATA":
				file.Write(b)
			case "DONE":
				c.write("OKAY\x00\x00\x00\x00")
				got <- file.Bytes()
				return
			}
		}
	}
}

func testPayload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func TestPushProgressAndContent(t *testing.T) {
	f := newFakeServer(t)
	got := make(chan []byte, 1)
	f.queue(pushRecorder(got))
	data := testPayload(200_000)
	var last int64
	var calls int
	err := f.client().Device("S1").Push(context.Background(), bytes.NewReader(data), int64(len(data)), "/data/local/tmp/x", 0o644, time.Unix(1700000000, 0),
		func(sent int64) { calls++; last = sent })
	if err != nil {
		t.Fatal(err)
	}
	if b := <-got; !bytes.Equal(b, data) {
		t.Fatalf("received %d bytes, want %d identical", len(b), len(data))
	}
	if last != int64(len(data)) || calls < 4 {
		t.Errorf("progress: last=%d calls=%d", last, calls)
	}
	if r := f.reqs(); r[1] != "sync:" {
		t.Errorf("requests %q", r)
	}
}

func TestPushShortSourceFails(t *testing.T) {
	f := newFakeServer(t)
	got := make(chan []byte, 1)
	f.queue(pushRecorder(got))
	err := f.client().Device("S1").Push(context.Background(), bytes.NewReader(make([]byte, 10)), 20, "/x", 0o644, time.Now(), nil)
	if !errors.Is(err, ErrShortWrite) {
		t.Fatalf("err = %v, want ErrShortWrite", err)
	}
}

// A device that stops acknowledging: the server stops reading our push.
func TestPushStallDetected(t *testing.T) {
	f := newFakeServer(t)
	hold := make(chan struct{})
	defer close(hold)
	f.queue(func(c *fakeConn) { c.transport(); <-hold })
	ctx := WithIdleTimeout(context.Background(), 300*time.Millisecond)
	start := time.Now()
	endless := io.LimitReader(zeroReader{}, 1<<40)
	err := f.client().Device("S1").Push(ctx, endless, -1, "/x", 0o644, time.Now(), nil)
	if !errors.Is(err, ErrStalled) || Code(err) != "stalled" {
		t.Fatalf("err = %v, want ErrStalled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("stall detected after %s", d)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestStatV1AndV2(t *testing.T) {
	f := newFakeServer(t)
	// v1: mode 0100644, size 1234, mtime 1700000000
	f.queue(features("shell_v2"), func(c *fakeConn) {
		c.transport()
		c.syncFrame()
		b := make([]byte, 16)
		copy(b, "STAT")
		putU32(b[4:], 0o100644)
		putU32(b[8:], 1234)
		putU32(b[12:], 1700000000)
		c.c.Write(b)
		c.syncFrame()
	})
	fi, err := f.client().Device("S1").Stat(context.Background(), "/data/local/tmp/a")
	if err != nil || fi.Size != 1234 || fi.Mode != 0o644 || fi.ModTime.Unix() != 1700000000 {
		t.Fatalf("stat v1 = %+v, %v", fi, err)
	}
	f.queue(features("stat_v2"), func(c *fakeConn) {
		c.transport()
		c.syncFrame()
		b := make([]byte, 72)
		copy(b, "STA2")
		putU32(b[4:], 2) // ENOENT
		c.c.Write(b)
	})
	_, err = f.client().Device("S2").Stat(context.Background(), "/nope")
	if !errors.Is(err, ErrNotExist) {
		t.Fatalf("stat v2 missing: %v", err)
	}
}

func putU32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

func TestForwardReplies(t *testing.T) {
	for _, reply := range []string{"OKAYOKAY" + hex("41234"), "OKAY" + hex("41234")} {
		f := newFakeServer(t)
		f.queue(func(c *fakeConn) { c.req(); c.write(reply) })
		port, err := f.client().Device("S1").Forward(context.Background(), "tcp:27183")
		if err != nil || port != 41234 {
			t.Fatalf("reply %q: port=%d err=%v", reply, port, err)
		}
		if r := f.reqs()[0]; r != "host-serial:S1:forward:tcp:0;tcp:27183" {
			t.Errorf("request %q", r)
		}
	}
}

func TestExecStreams(t *testing.T) {
	f := newFakeServer(t)
	f.queue(func(c *fakeConn) {
		svc := c.transport()
		if svc != "exec:cmd package install -S 100000" {
			return
		}
		b := make([]byte, 100000)
		if _, err := io.ReadFull(c.r, b); err != nil {
			return
		}
		if !bytes.Equal(b, testPayload(100000)) {
			c.write("Failure [corrupt]\n")
			return
		}
		c.write("Success\n")
	})
	var out bytes.Buffer
	err := f.client().Device("S1").Exec(context.Background(), "cmd package install -S 100000", bytes.NewReader(testPayload(100000)), &out)
	if err != nil || out.String() != "Success\n" {
		t.Fatalf("exec: %q, %v", out.String(), err)
	}
}

func TestWatchdogProgressKeepsAlive(t *testing.T) {
	ctx, wd := NewWatchdog(context.Background(), 100*time.Millisecond, ErrStalled)
	defer wd.Stop()
	for i := 0; i < 10; i++ {
		time.Sleep(30 * time.Millisecond)
		wd.Progress()
	}
	if ctx.Err() != nil {
		t.Fatal("watchdog fired despite progress")
	}
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
		t.Fatal("watchdog did not fire without progress")
	}
	if !errors.Is(context.Cause(ctx), ErrStalled) || !wd.Fired() {
		t.Fatalf("cause = %v", context.Cause(ctx))
	}
}

func TestPortFromEnvAndLocate(t *testing.T) {
	env := map[string]string{}
	get := func(k string) string { return env[k] }
	if p, err := PortFromEnv(get); p != 5037 || err != nil {
		t.Fatalf("default port %d %v", p, err)
	}
	env["ANDROID_ADB_SERVER_PORT"] = "6000"
	if p, _ := PortFromEnv(get); p != 6000 {
		t.Fatalf("port %d", p)
	}
	env["ANDROID_ADB_SERVER_PORT"] = "x"
	if _, err := PortFromEnv(get); err == nil {
		t.Fatal("bad port accepted")
	}
	dir := t.TempDir()
	fake := dir + "/platform-tools/adb"
	os.MkdirAll(dir+"/platform-tools", 0o755)
	os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755)
	if p, err := Locate(fake, get, ""); p != fake || err != nil {
		t.Fatalf("setting: %q %v", p, err)
	}
	if _, err := Locate(dir+"/missing", get, ""); err == nil {
		t.Fatal("missing setting accepted")
	}
	t.Setenv("PATH", t.TempDir())
	env["ANDROID_HOME"] = dir
	if p, err := Locate("", get, ""); p != fake || err != nil {
		t.Fatalf("ANDROID_HOME: %q %v", p, err)
	}
	delete(env, "ANDROID_HOME")
	if p, err := Locate("", get, dir+"/platform-tools"); p != fake || err != nil {
		t.Fatalf("exe dir: %q %v", p, err)
	}
}

func TestExecEarlyCloseAndSourceError(t *testing.T) {
	f := newFakeServer(t)
	// The device refuses after 10 bytes of a 50 MB stream and closes.
	f.queue(func(c *fakeConn) {
		c.transport()
		io.ReadFull(c.r, make([]byte, 10))
		c.write("Failure [INSTALL_FAILED_INSUFFICIENT_STORAGE]\n")
	})
	var out bytes.Buffer
	err := f.client().Device("S1").Exec(context.Background(), "cmd package install -S 50000000",
		io.LimitReader(zeroReader{}, 50_000_000), &out)
	if err != nil || !strings.Contains(out.String(), "INSUFFICIENT_STORAGE") {
		t.Fatalf("early close: %q %v", out.String(), err)
	}
	// The source fails mid-stream: the call ends at once with that error.
	hold := make(chan struct{})
	defer close(hold)
	f.queue(func(c *fakeConn) { c.transport(); io.Copy(io.Discard, c.r); <-hold })
	boom := errors.New("disk read error")
	start := time.Now()
	err = f.client().Device("S1").Exec(context.Background(), "cmd package install -S 100",
		io.MultiReader(bytes.NewReader(make([]byte, 50)), iotest.ErrReader(boom)), nil)
	if !errors.Is(err, boom) || time.Since(start) > 2*time.Second {
		t.Fatalf("source error: %v after %s", err, time.Since(start))
	}
}
