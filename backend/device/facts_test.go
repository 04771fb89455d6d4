package device

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"preloadstation/backend/adb"
)

func TestParseProps(t *testing.T) {
	in := "[ro.product.brand]: [Redmi]\n[ro.build.version.sdk]: [33]\n[empty]: []\n[weird]: [a]: [b]\ngarbage\n[ro.product.model]: [Pixel 7]\r\n"
	got := ParseProps([]byte(in))
	want := map[string]string{"ro.product.brand": "Redmi", "ro.build.version.sdk": "33", "empty": "", "weird": "a]: [b", "ro.product.model": "Pixel 7"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q", got)
	}
}

func TestParsePackages(t *testing.T) {
	in := "package:com.android.settings versionCode:34000\npackage:com.x.y versionCode:7\r\npackage:old.android\njunk\n"
	got := ParsePackages([]byte(in))
	want := map[string]int64{"com.android.settings": 34000, "com.x.y": 7, "old.android": 0}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v", got)
	}
}

func TestParseDfAvailable(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int64
		ok   bool
	}{
		{"toybox", "Filesystem      1K-blocks    Used Available Use% Mounted on\n/dev/block/dm-5 121833756 25000000  96833756  21% /data\n", 96833756 * 1024, true},
		{"wrapped", "Filesystem 1K-blocks Used Available Use% Mounted on\n/dev/block/bootdevice/by-name/userdata\n 100 50 25 50% /data\n", 25 * 1024, true},
		{"toolbox", "Filesystem               Size     Used     Free   Blksize\n/data                   12.5G     3.1G     9.4G   4096\n", 10093173145, true},
		{"empty", "", 0, false},
		{"no column", "a b c\n1 2 3\n", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseDfAvailable([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: got %d %v, want %d %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseBattery(t *testing.T) {
	in := "Current Battery Service state:\n  AC powered: false\n  level: 64\n  scale: 100\n"
	if n, ok := ParseBatteryLevel([]byte(in)); n != 64 || !ok {
		t.Fatalf("%d %v", n, ok)
	}
	if _, ok := ParseBatteryLevel([]byte("nothing")); ok {
		t.Fatal("ok on garbage")
	}
}

func TestHubOfAndSlotPath(t *testing.T) {
	for in, want := range map[string]string{"usb:1-4.3": "usb:1-4", "usb:1-4": "usb:1", "usb:2-1.4.2": "usb:2-1.4", "serial:x": ""} {
		if got := HubOf(in); got != want {
			t.Errorf("HubOf(%q) = %q want %q", in, got, want)
		}
	}
	if SlotPath("127.0.0.1:5555", "") != "serial:127.0.0.1:5555" || SlotPath("S", "usb:1-1") != "usb:1-1" {
		t.Fatal("SlotPath")
	}
}

// fakeShell answers facts commands from a table; hang makes one command block.
type fakeShell struct {
	out  map[string]string
	hang string
}

func (f fakeShell) Shell(ctx context.Context, cmd string) (adb.ShellResult, error) {
	if cmd == f.hang {
		<-ctx.Done()
		return adb.ShellResult{}, ctx.Err()
	}
	s, ok := f.out[cmd]
	if !ok {
		return adb.ShellResult{Stderr: []byte("not found"), ExitCode: 127}, nil
	}
	return adb.ShellResult{Stdout: []byte(s)}, nil
}

var pixelOut = map[string]string{
	"getprop": "[ro.product.brand]: [google]\n[ro.product.manufacturer]: [Google]\n[ro.product.model]: [Pixel 7]\n" +
		"[ro.product.device]: [panther]\n[ro.build.version.release]: [14]\n[ro.build.version.sdk]: [34]\n[ro.product.cpu.abilist]: [arm64-v8a]\n",
	"df /data":                            "Filesystem 1K-blocks Used Available Use% Mounted on\n/dev/dm-5 1000 10 990 1% /data\n",
	"dumpsys battery":                     "  level: 92\n",
	"pm list packages --show-versioncode": "package:com.android.chrome versionCode:5\n",
}

func TestReadFacts(t *testing.T) {
	f, err := ReadFacts(context.Background(), fakeShell{out: pixelOut}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if f.Brand != "google" || f.Model != "Pixel 7" || f.SDK != 34 || f.Release != "14" || !reflect.DeepEqual(f.ABIs, []string{"arm64-v8a"}) ||
		f.FreeData != 990*1024 || f.Battery != 92 || f.Packages["com.android.chrome"] != 5 || f.PackageCount != 1 {
		t.Fatalf("facts %+v", f)
	}
	// Battery missing: facts still read, battery unknown.
	out := map[string]string{}
	for k, v := range pixelOut {
		if !strings.HasPrefix(k, "dumpsys") {
			out[k] = v
		}
	}
	if f, err := ReadFacts(context.Background(), fakeShell{out: out}, time.Second); err != nil || f.Battery != -1 {
		t.Fatalf("no battery: %+v %v", f, err)
	}
	// getprop failing fails the read.
	delete(out, "getprop")
	if _, err := ReadFacts(context.Background(), fakeShell{out: out}, time.Second); err == nil {
		t.Fatal("facts without getprop")
	}
}

func TestReadFactsCancelled(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := ReadFacts(ctx, fakeShell{out: pixelOut, hang: "pm list packages --show-versioncode"}, time.Minute)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
}

func TestStateFromADB(t *testing.T) {
	for in, want := range map[string]State{"device": StateProbing, "unauthorized": StateUnauthorized, "authorizing": StateAuthorizing,
		"offline": StateOffline, "no permissions": StateOffline, "recovery": StateOffline} {
		if got, _ := stateFromADB(in); got != want {
			t.Errorf("%s → %s want %s", in, got, want)
		}
	}
	for code := range map[string]bool{ReasonAllowDebugging: true, ReasonNotResponding: true, ReasonServerDown: true, ReasonReconnecting: true, ReasonOffline: true, ReasonNoPermissions: true} {
		if r := Reasons[code]; r.EN == "" || r.ZH == "" {
			t.Errorf("reason %s lacks a translation", code)
		}
	}
}
