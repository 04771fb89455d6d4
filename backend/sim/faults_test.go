package sim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"preloadstation/backend/internal/apktest"
)

// state is what `adb devices` says about one serial ("" when not listed).
func (a *adbServer) state(serial string) string {
	out, _ := a.run(10*time.Second, "devices")
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && f[0] == serial {
			return f[1]
		}
	}
	return ""
}

func (a *adbServer) waitState(t *testing.T, serial, want string) {
	t.Helper()
	waitFor(t, 15*time.Second, serial+" to be "+strconvQuote(want), func() bool { return a.state(serial) == want })
}

func strconvQuote(s string) string { return `"` + s + `"` }

func TestFaultUnplugReplug(t *testing.T) {
	a := startADB(t)
	s := startSim(t, a, Options{Phones: 2})
	ph := s.Phones()[0]
	ser := ph.Serial()
	a.must("-s", ser, "shell", "echo kept > /data/local/tmp/f")
	ph.Unplug()
	a.waitState(t, ser, "")
	out, err := a.run(10*time.Second, "-s", ser, "shell", "echo hi")
	if err == nil || !strings.Contains(out, "not found") {
		t.Errorf("shell on an unplugged phone: err=%v %q", err, out)
	}
	if a.state(s.Phones()[1].Serial()) != "device" {
		t.Errorf("the other phone was disturbed")
	}
	if err := ph.Replug(); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, ser, "device")
	if out := a.must("-s", ser, "shell", "cat /data/local/tmp/f"); out != "kept\n" {
		t.Errorf("file after replug: %q", out)
	}
}

func TestFaultCutMidTransfer(t *testing.T) {
	a := startADB(t)
	s := startSim(t, a, Options{Phones: 1, ReenumerateDelay: 200 * time.Millisecond})
	ph := s.Phones()[0]
	ser := ph.Serial()
	src := filepath.Join(t.TempDir(), "f.bin")
	writeRandom(t, src, 8<<20)
	ph.CutAfter(2 << 20)
	out, err := a.run(30*time.Second, "-s", ser, "push", src, "/data/local/tmp/f.bin")
	t.Logf("adb push with the cable cut after 2 MB: err=%v\n%s", err, out)
	if err == nil {
		t.Fatalf("push survived a cut cable")
	}
	a.waitState(t, ser, "device")
	if _, err := ph.ReadFile("/data/local/tmp/f.bin"); err == nil {
		t.Errorf("a partial file was left behind")
	}
	// The fault is one-shot: the next push goes through.
	a.must("-s", ser, "push", src, "/data/local/tmp/f.bin")
}

func TestFaultHang(t *testing.T) {
	a := startADB(t)
	s := startSim(t, a, Options{Phones: 1})
	ph := s.Phones()[0]
	ser := ph.Serial()
	src := filepath.Join(t.TempDir(), "f.bin")
	writeRandom(t, src, 4<<20)
	ph.Hang(true)
	start := time.Now()
	out, err := a.run(3*time.Second, "-s", ser, "push", src, "/data/local/tmp/f.bin")
	t.Logf("adb push to a hung phone: killed after %v, err=%v %q", time.Since(start).Round(time.Millisecond), err, out)
	if err == nil {
		t.Fatalf("push to a hung phone finished: %q", out)
	}
	if st := a.state(ser); st != "device" {
		t.Errorf("a hung phone still looks %q to adb devices, want device (nothing tells adb it is stuck)", st)
	}
	ph.Hang(false)
	waitFor(t, 15*time.Second, "the phone to answer again", func() bool {
		out, err := a.run(5*time.Second, "-s", ser, "shell", "echo back")
		return err == nil && out == "back\n"
	})
}

func TestFaultUnauthorized(t *testing.T) {
	a := startADB(t)
	s := startSim(t, a, Options{Phones: 1})
	ph := s.Phones()[0]
	ser := ph.Serial()
	ph.SetUnauthorized()
	a.waitState(t, ser, "unauthorized")
	out, err := a.run(10*time.Second, "-s", ser, "shell", "echo hi")
	if err == nil || !strings.Contains(out, "device unauthorized") {
		t.Errorf("shell on an unauthorized phone: err=%v %q", err, out)
	}
	if ph.AuthRequests() == 0 {
		t.Errorf("the host never offered its key")
	}
	ph.Allow()
	a.waitState(t, ser, "device")
	if out := a.must("-s", ser, "shell", "echo hi"); out != "hi\n" {
		t.Errorf("after allow: %q", out)
	}
}

func TestFaultOffline(t *testing.T) {
	a := startADB(t)
	s := startSim(t, a, Options{Phones: 1})
	ph := s.Phones()[0]
	ser := ph.Serial()
	ph.SetOffline(true)
	a.waitState(t, ser, "offline")
	out, err := a.run(10*time.Second, "-s", ser, "shell", "echo hi")
	if err == nil || !strings.Contains(out, "offline") {
		t.Errorf("shell on an offline phone: err=%v %q", err, out)
	}
	ph.SetOffline(false)
	a.waitState(t, ser, "device")
	// The connect still pending from the offline spell may fail after the
	// fresh one succeeded, and adb then drops the address (seen in CI): the
	// phone must come back by itself.
	if _, err := HostCommand(s.opts.ADBServer, "host:disconnect:"+ser); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, ser, "device")
}

func TestFaultReboot(t *testing.T) {
	a := startADB(t)
	s := startSim(t, a, Options{Phones: 1, BootTime: 1500 * time.Millisecond, RunAgent: echoAgent})
	ph := s.Phones()[0]
	ser := ph.Serial()
	a.must("-s", ser, "push", fakeAgent(t, t.TempDir()), "/data/local/tmp/preload-agent")
	a.must("-s", ser, "shell", "/data/local/tmp/preload-agent serve --port 27183 &")
	waitFor(t, 5*time.Second, "agent", func() bool { return ph.Agents() == 1 })
	a.must("-s", ser, "reboot")
	a.waitState(t, ser, "")
	if ph.Agents() != 0 {
		t.Errorf("the agent survived the reboot")
	}
	a.waitState(t, ser, "device")
	if out := a.must("-s", ser, "shell", "ls /data/local/tmp"); !strings.Contains(out, "preload-agent") {
		t.Errorf("pushed file lost in reboot: %q", out)
	}
}

func TestFaultLowStorage(t *testing.T) {
	needAPKs(t)
	a := startADB(t)
	s := startSim(t, a, Options{Phones: 1, Profile: "galaxy-a54", InspectAPK: inspectAPK})
	ph := s.Phones()[0]
	ser := ph.Serial()
	p := apktest.Build(t, t.TempDir(), apktest.Spec{Package: "com.example.big", PayloadBytes: 2 << 20})
	ph.SetFreeStorage(1 << 20)
	out, err := a.run(30*time.Second, "-s", ser, "install", p)
	if err == nil || !strings.Contains(out, "Failure [INSTALL_FAILED_INSUFFICIENT_STORAGE") {
		t.Errorf("install on a full phone: err=%v %q", err, out)
	}
	out, err = a.run(30*time.Second, "-s", ser, "push", p, "/sdcard/Download/big.apk")
	if err == nil || !strings.Contains(out, "No space left on device") {
		t.Errorf("push to a full phone: err=%v %q", err, out)
	}
	df := a.must("-s", ser, "shell", "df /data")
	if !regexp.MustCompile(`\s1024\s+\d+% /data`).MatchString(df) {
		t.Errorf("df on a full phone:\n%s", df)
	}
	ph.SetFreeStorage(-1)
	if out := a.must("-s", ser, "install", p); !strings.Contains(out, "Success") {
		t.Errorf("install after freeing space: %q", out)
	}
}

func TestFaultSlowPhone(t *testing.T) {
	needAPKs(t)
	a := startADB(t)
	usb := USBModel{PhoneBytesPerSec: 20 * MB, CommitFixed: 150 * time.Millisecond}
	s := startSim(t, a, Options{Phones: 2, Profile: "pixel7", USB: usb, InspectAPK: inspectAPK})
	p := apktest.Build(t, t.TempDir(), apktest.Spec{Package: "com.example.slow", PayloadBytes: 2 << 20})
	s.Phones()[1].SetSlow(4)
	var took [2]time.Duration
	for i, ph := range s.Phones() {
		start := time.Now()
		if out := a.must("-s", ph.Serial(), "install", p); !strings.Contains(out, "Success") {
			t.Fatalf("install: %q", out)
		}
		took[i] = time.Since(start)
	}
	t.Logf("adb install of a 2 MB APK: normal phone %v, slow(4×) phone %v", took[0].Round(time.Millisecond), took[1].Round(time.Millisecond))
	// normal ≥ 0.1 s transfer + 0.15 s commit; slow ≥ 0.4 s + 0.6 s.
	// The model's difference is 0.77 s; load slows both phones alike.
	if took[1] < time.Second || took[1] < took[0]+500*time.Millisecond {
		t.Errorf("slow phone not slower: %v vs %v", took[1], took[0])
	}
}

func TestFaultInstallFailure(t *testing.T) {
	needAPKs(t)
	a := startADB(t)
	s := startSim(t, a, Options{Phones: 1, InspectAPK: inspectAPK})
	ph := s.Phones()[0]
	p := apktest.Build(t, t.TempDir(), apktest.Spec{Package: "com.example.bad"})
	ph.FailInstall("com.example.bad", "INSTALL_FAILED_INVALID_APK")
	out, err := a.run(30*time.Second, "-s", ph.Serial(), "install", p)
	if err == nil || !strings.Contains(out, "Failure [INSTALL_FAILED_INVALID_APK") {
		t.Errorf("injected failure: err=%v %q", err, out)
	}
	if _, ok := ph.Package("com.example.bad"); ok {
		t.Errorf("failed install is in the package database")
	}
	ph.FailInstall("com.example.bad", "")
	a.must("-s", ph.Serial(), "install", p)
}

// TestControlAPI injects faults over HTTP, as the demo and other tests do.
func TestControlAPI(t *testing.T) {
	a := startADB(t)
	s := startSim(t, a, Options{Phones: 2})
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	ser := s.Phones()[1].Serial()
	post := func(path string) int {
		resp, err := http.Post(srv.URL+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post("/phones/2/unplug"); code != 200 {
		t.Fatalf("unplug: %d", code)
	}
	a.waitState(t, ser, "")
	if code := post("/phones/" + ser + "/replug"); code != 200 {
		t.Fatalf("replug by serial: %d", code)
	}
	a.waitState(t, ser, "device")
	if code := post("/phones/2/fail?arg=com.x:INSTALL_FAILED_INVALID_APK"); code != 200 {
		t.Errorf("fail: %d", code)
	}
	if code := post("/phones/2/explode"); code != 400 {
		t.Errorf("unknown fault: %d, want 400", code)
	}
	if code := post("/phones/9/unplug"); code != 404 {
		t.Errorf("unknown phone: %d, want 404", code)
	}
	resp, err := http.Get(srv.URL + "/phones")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st []Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || len(st) != 2 || !st[1].Plugged || st[1].Serial != ser {
		t.Errorf("GET /phones: %+v, %v", st, err)
	}
	if err := s.ApplyFaultSpec("*:slow=2"); err != nil || s.Phones()[0].slowFactor() != 2 {
		t.Errorf("ApplyFaultSpec *:slow=2: %v", err)
	}
	if err := s.ApplyFaultSpec(ser + ":storage=1000"); err != nil || s.Phones()[1].freeBytes() != 1000 {
		t.Errorf("ApplyFaultSpec by serial: %v", err)
	}
}
