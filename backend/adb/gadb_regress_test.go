package adb

// Regression tests for the three gadb v0.1.0 faults the station must not
// inherit. Each test first shows the fault in gadb against the same scripted
// server (so the test proves its setup really triggers it), then shows our
// layer is not affected.

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/electricbubble/gadb"
)

func gadbClient(t testing.TB, f *fakeServer) gadb.Client {
	t.Helper()
	f.queue(func(*fakeConn) {}) // gadb dials once in NewClientWith
	host, ps, _ := net.SplitHostPort(f.addr())
	port, _ := strconv.Atoi(ps)
	gc, err := gadb.NewClientWith(host, port)
	if err != nil {
		t.Fatal(err)
	}
	return gc
}

func gadbDevice(t testing.TB, gc gadb.Client, f *fakeServer, serial string) gadb.Device {
	t.Helper()
	f.queue(func(c *fakeConn) { c.req(); c.okayHex(serial + "\tdevice product:p model:m device:d transport_id:1\n") })
	ds, err := gc.DeviceList()
	if err != nil || len(ds) != 1 {
		t.Fatalf("gadb DeviceList: %v %v", ds, err)
	}
	return ds[0]
}

// gadb's SendStream drops the bytes of a Read that returns them with io.EOF.
func TestRegressionGadbPushTail(t *testing.T) {
	data := testPayload(200_000) // 3 full 64 KiB chunks + a 3392-byte tail
	f := newFakeServer(t)
	gc := gadbClient(t, f)
	dev := gadbDevice(t, gc, f, "S1")

	got := make(chan []byte, 1)
	f.queue(pushRecorder(got))
	if err := dev.Push(iotest.DataErrReader(bytes.NewReader(data)), "/data/local/tmp/x", time.Now()); err != nil {
		t.Fatalf("gadb push: %v", err)
	}
	if b := <-got; len(b) >= len(data) {
		t.Fatalf("gadb received %d of %d bytes: the tail bug did not show, so this test proves nothing", len(b), len(data))
	} else {
		t.Logf("gadb v0.1.0 delivered %d of %d bytes (lost %d)", len(b), len(data), len(data)-len(b))
	}

	f.queue(pushRecorder(got))
	err := f.client().Device("S1").Push(context.Background(), iotest.DataErrReader(bytes.NewReader(data)), int64(len(data)),
		"/data/local/tmp/x", 0o644, time.Now(), nil)
	if err != nil {
		t.Fatalf("our push: %v", err)
	}
	if b := <-got; !bytes.Equal(b, data) {
		t.Fatalf("our push delivered %d of %d bytes", len(b), len(data))
	}
	// Every chunk size boundary, with and without data-with-EOF readers.
	for _, n := range []int{0, 1, syncChunk - 1, syncChunk, syncChunk + 1, 2 * syncChunk} {
		d := testPayload(n)
		f.queue(pushRecorder(got))
		r := iotest.OneByteReader(iotest.DataErrReader(bytes.NewReader(d)))
		if err := f.client().Device("S1").Push(context.Background(), r, int64(n), "/x", 0o644, time.Now(), nil); err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if b := <-got; !bytes.Equal(b, d) {
			t.Fatalf("n=%d: delivered %d bytes", n, len(b))
		}
	}
}

// gadb's shell returns output only: a failing command looks like success.
func TestRegressionGadbNoExitCode(t *testing.T) {
	f := newFakeServer(t)
	gc := gadbClient(t, f)
	dev := gadbDevice(t, gc, f, "S1")
	// gadb opens plain shell: and reads to EOF; the command printed nothing
	// and exited 1 (what `pm path com.missing` does).
	f.queue(func(c *fakeConn) { c.transport() })
	out, err := dev.RunShellCommand("pm path com.missing")
	if err != nil || out != "" {
		t.Fatalf("gadb: %q %v", out, err)
	}
	// gadb has no way to report the exit status: its caller sees success.

	// Ours, on a shell_v2 device:
	f.queue(features("shell_v2"), func(c *fakeConn) { c.transport(); c.v2(v2Exit, "\x01") })
	r, err := f.client().Device("S1").Shell(context.Background(), "pm path com.missing")
	if err != nil || r.ExitCode != 1 {
		t.Fatalf("ours (v2): %+v %v", r, err)
	}
	// Ours, on a device without shell_v2 (plain shell: like gadb, plus a marker):
	f.queue(features(""), func(c *fakeConn) {
		svc := c.transport()
		if strings.HasSuffix(svc, "echo \""+exitMarker+"$?\"") {
			c.write(exitMarker + "1\n")
		}
	})
	r, err = f.client().Device("S2").Shell(context.Background(), "pm path com.missing")
	if err != nil || r.ExitCode != 1 {
		t.Fatalf("ours (legacy): %+v %v", r, err)
	}
}

// silentShell answers a shell request, says nothing for quiet, then prints
// and exits (in both shell protocols).
func silentShell(quiet time.Duration) func(*fakeConn) {
	return func(c *fakeConn) {
		svc := c.transport()
		time.Sleep(quiet)
		if strings.HasPrefix(svc, "shell,v2") {
			c.v2(v2Stdout, "Success\n")
			c.v2(v2Exit, "\x00")
			return
		}
		c.write("Success\n")
	}
}

// gadb sets a read deadline of DefaultAdbReadTimeout seconds (60) on the
// socket when the server says OKAY and never extends it, so any shell command
// silent for 60 s fails (a long install). Here the deadline is scaled down to
// 1 s, the mechanism is the same; BenchmarkShellSilent65s runs the real 65 s.
func TestRegressionGadbShellReadLimit(t *testing.T) {
	saved := gadb.DefaultAdbReadTimeout
	gadb.DefaultAdbReadTimeout = 1 // unit: seconds, as gadb multiplies it
	defer func() { gadb.DefaultAdbReadTimeout = saved }()

	f := newFakeServer(t)
	gc := gadbClient(t, f)
	dev := gadbDevice(t, gc, f, "S1")
	f.queue(silentShell(1500 * time.Millisecond))
	if out, err := dev.RunShellCommand("cmd package install -S 1"); err == nil {
		t.Fatalf("gadb survived a silence longer than its read deadline (%q): the test proves nothing", out)
	} else {
		t.Logf("gadb: %v", err)
	}

	// Ours: no fixed read deadline. Only the context and the no-progress
	// watchdog end a call, and the caller chooses the watchdog's timeout.
	f.queue(features("shell_v2"), silentShell(1500*time.Millisecond))
	ctx := WithIdleTimeout(context.Background(), 5*time.Second)
	r, err := f.client().Device("S1").Shell(ctx, "cmd package install -S 1")
	if err != nil || string(r.Stdout) != "Success\n" {
		t.Fatalf("ours: %+v %v", r, err)
	}
}

// BenchmarkShellSilent65s is the unscaled version: a shell command silent for
// 65 s, through gadb (default 60 s deadline) and through our layer at once.
func BenchmarkShellSilent65s(b *testing.B) {
	f := newFakeServer(b)
	gc := gadbClient(b, f)
	dev := gadbDevice(b, gc, f, "S1")
	f.queue(silentShell(65 * time.Second))
	gerr := make(chan error, 1)
	go func() { _, err := dev.RunShellCommand("sleep 65; echo Success"); gerr <- err }()
	time.Sleep(100 * time.Millisecond)
	f.queue(features("shell_v2"), silentShell(65*time.Second))
	start := time.Now()
	r, err := f.client().Device("S1").Shell(context.Background(), "sleep 65; echo Success")
	if err != nil || string(r.Stdout) != "Success\n" {
		b.Fatalf("ours after %s: %+v %v", time.Since(start), r, err)
	}
	b.Logf("ours: Success after %s (default shell idle %s); gadb: %v", time.Since(start).Round(time.Second), DefaultShellIdle, <-gerr)
}
