package device_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"preloadstation/backend/adb"
	"preloadstation/backend/device"
	"preloadstation/backend/sim"
)

// The adb layer against a virtual phone behind the real adb server: forward
// with an adb-chosen port, push (tail-safe) + stat, exec, shell exit codes.
func TestADBLayerAgainstVirtualPhone(t *testing.T) {
	st := startStation(t, 2, sim.Options{Profile: "pixel7,galaxy-j5"}, device.Options{}, true)
	ctx := context.Background()
	for _, ph := range st.sim.Phones() {
		d := st.client.Device(ph.Serial())
		name := ph.Profile().Key

		r, err := d.Shell(ctx, "false")
		if err != nil || r.ExitCode != 1 {
			t.Errorf("%s: shell false = %+v %v", name, r, err)
		}
		r, err = d.Shell(ctx, "getprop "+adb.Quote("ro.product.model"))
		if err != nil || r.ExitCode != 0 || strings.TrimSpace(string(r.Stdout)) != ph.Profile().Model {
			t.Errorf("%s: getprop = %q %v", name, r.Stdout, err)
		}

		data := bytes.Repeat([]byte("0123456789abcdef"), 12_345) // not a multiple of 64 KiB
		var last int64
		err = d.Push(ctx, iotest.DataErrReader(bytes.NewReader(data)), int64(len(data)), "/data/local/tmp/t.bin", 0o640, time.Unix(1_700_000_000, 0),
			func(n int64) { last = n })
		if err != nil || last != int64(len(data)) {
			t.Fatalf("%s: push %v (progress %d)", name, err, last)
		}
		got, err := ph.ReadFile("/data/local/tmp/t.bin")
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: phone has %d bytes, pushed %d (%v)", name, len(got), len(data), err)
		}
		fi, err := d.Stat(ctx, "/data/local/tmp/t.bin")
		if err != nil || fi.Size != int64(len(data)) {
			t.Errorf("%s: stat %+v %v", name, fi, err)
		}
		if _, err := d.Stat(ctx, "/data/local/tmp/missing"); !errors.Is(err, adb.ErrNotExist) {
			t.Errorf("%s: stat missing: %v", name, err)
		}

		var out bytes.Buffer
		if err := d.Exec(ctx, "echo exec-ok", nil, &out); err != nil || out.String() != "exec-ok\n" {
			t.Errorf("%s: exec %q %v", name, out.String(), err)
		}

		port, err := d.Forward(ctx, "tcp:27183")
		if err != nil || port <= 0 {
			t.Fatalf("%s: forward %d %v", name, port, err)
		}
		fs, err := st.client.ListForwards(ctx)
		if err != nil || !hasForward(fs, ph.Serial(), port) {
			t.Errorf("%s: forward list %v %v (port %d)", name, fs, err, port)
		}
		if err := d.RemoveForward(ctx, port); err != nil {
			t.Errorf("%s: remove forward: %v", name, err)
		}
		if fs, _ := st.client.ListForwards(ctx); hasForward(fs, ph.Serial(), port) {
			t.Errorf("%s: forward still listed", name)
		}
		if p, err := d.DevPath(ctx); err != nil || p != "" {
			t.Errorf("%s: devpath of a TCP phone %q %v", name, p, err)
		}
	}
}

func hasForward(fs []adb.Forward, serial string, port int) bool {
	for _, f := range fs {
		if f.Serial == serial && f.Local == "tcp:"+itoa(port) {
			return true
		}
	}
	return false
}

func itoa(n int) string {
	b := []byte{}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
