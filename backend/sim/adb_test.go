package sim

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"preloadstation/backend/apk"
	"preloadstation/backend/internal/apktest"
	"preloadstation/backend/sim/simos"
)

// inspectAPK is the real wiring: the station's own APK reader.
func inspectAPK(r io.ReaderAt, size int64) (APKFacts, error) {
	info, err := apk.InspectReader(r, size)
	if err != nil {
		return APKFacts{}, err
	}
	return APKFacts{Package: info.Package, VersionCode: info.VersionCode, VersionName: info.VersionName,
		MinSDK: info.MinSDK, TargetSDK: info.TargetSDK, ABIs: info.ABIs, SignerSHA256: info.SignerSHA256}, nil
}

func TestADBDevicesAndGetprop(t *testing.T) {
	a := startADB(t)
	s := startSim(t, a, Options{Phones: 5, Hubs: 2, Profile: "mixed"})
	out := a.must("devices", "-l")
	for _, ph := range s.Phones() {
		p := ph.Profile()
		want := fmt.Sprintf("%s +device product:%s model:%s device:%s", regexp.QuoteMeta(ph.Serial()),
			p.Name, regexp.MustCompile(`[^A-Za-z0-9]`).ReplaceAllString(p.Model, "_"), p.Device)
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("adb devices -l lacks %q:\n%s", want, out)
		}
	}
	for _, ph := range s.Phones() {
		p := ph.Profile()
		got := a.must("-s", ph.Serial(), "shell", "getprop", "ro.product.model")
		if strings.TrimSpace(got) != p.Model {
			t.Errorf("%s: getprop ro.product.model = %q, want %q", ph.Serial(), got, p.Model)
		}
		all := a.must("-s", ph.Serial(), "shell", "getprop")
		for k, v := range map[string]string{"ro.product.brand": p.Brand, "ro.product.manufacturer": p.Manufacturer,
			"ro.build.version.sdk": fmt.Sprint(p.SDK), "ro.build.version.release": p.Release,
			"ro.product.cpu.abilist": strings.Join(p.ABIs, ","), "ro.serialno": ph.SerialNo()} {
			if !strings.Contains(all, "["+k+"]: ["+v+"]") {
				t.Errorf("%s: getprop lacks [%s]: [%s]", ph.Serial(), k, v)
			}
		}
	}
	// Exit codes travel with shell v2 on Android 7+.
	ph := s.Phones()[0]
	if out, err := a.run(20*time.Second, "-s", ph.Serial(), "shell", "echo out; exit 3"); err == nil || !strings.Contains(out, "out") {
		t.Errorf("exit 3: err=%v out=%q, want exit status 3", err, out)
	} else if !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("exit 3: %v", err)
	}
	df := a.must("-s", ph.Serial(), "shell", "df", "/data")
	if !regexp.MustCompile(`(?m)^/dev/block/\S+ +\d+ +\d+ +\d+ +\d+% /data$`).MatchString(df) {
		t.Errorf("df /data:\n%s", df)
	}
	if bat := a.must("-s", ph.Serial(), "shell", "dumpsys battery"); !strings.Contains(bat, fmt.Sprintf("level: %d", ph.Profile().Battery)) {
		t.Errorf("dumpsys battery:\n%s", bat)
	}
	if wm := a.must("-s", ph.Serial(), "shell", "wm size"); !strings.Contains(wm, "Physical size: "+ph.Profile().Screen) {
		t.Errorf("wm size: %q", wm)
	}
}

func writeRandom(t *testing.T, path string, n int64) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, n); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil))
}

// TestADBPushPull100MB moves 100 MB each way through the real adb (USB model
// unlimited: this checks the bytes, the benchmark checks the speed).
func TestADBPushPull100MB(t *testing.T) {
	a := startADB(t)
	s := startSim(t, a, Options{Phones: 2, Profile: "pixel7,galaxy-j5"})
	dir := t.TempDir()
	src := filepath.Join(dir, "big.bin")
	size := int64(100 << 20)
	if testing.Short() {
		size = 8 << 20
	}
	sum := writeRandom(t, src, size)
	for _, ph := range s.Phones() { // stat_v2 (Android 14) and STAT v1 (Android 7)
		start := time.Now()
		a.must("-s", ph.Serial(), "push", src, "/data/local/tmp/")
		t.Logf("%s: push of %d MB took %v", ph.Profile().Model, size>>20, time.Since(start))
		onPhone := a.must("-s", ph.Serial(), "shell", "sha256sum /data/local/tmp/big.bin")
		if !strings.HasPrefix(onPhone, sum) {
			t.Errorf("%s: sha256 on phone %q, want %s", ph.Serial(), onPhone, sum)
		}
		dst := filepath.Join(dir, "back-"+ph.SerialNo()+".bin")
		a.must("-s", ph.Serial(), "pull", "/data/local/tmp/big.bin", dst)
		if got := fileSHA(t, dst); got != sum {
			t.Errorf("%s: pulled sha256 %s, want %s", ph.Serial(), got, sum)
		}
		if ls := a.must("-s", ph.Serial(), "shell", "ls -l /data/local/tmp"); !strings.Contains(ls, fmt.Sprint(size)+" ") {
			t.Errorf("ls -l does not show the size:\n%s", ls)
		}
		os.Remove(dst)
	}
	// Pulling what is not there fails as adb reports it.
	if out, err := a.run(20*time.Second, "-s", s.Phones()[0].Serial(), "pull", "/data/local/tmp/nope", dir); err == nil || !strings.Contains(out, "No such file") {
		t.Errorf("pull of a missing file: err=%v out=%q", err, out)
	}
}

func needAPKs(t *testing.T) {
	if err := apktest.Available(); err != nil {
		t.Skip(err)
	}
}

func TestADBInstall(t *testing.T) {
	needAPKs(t)
	a := startADB(t)
	// pixel7 advertises abb_exec (Android 14), galaxy-j5 streams over exec:cmd (Android 7).
	s := startSim(t, a, Options{Phones: 2, Profile: "pixel7,galaxy-j5", InspectAPK: inspectAPK})
	dir := t.TempDir()
	p := apktest.Build(t, dir, apktest.Spec{Package: "com.example.hello", VersionCode: 7, VersionName: "1.7", MinSDK: 21, TargetSDK: 33})
	for _, ph := range s.Phones() {
		out := a.must("-s", ph.Serial(), "install", p)
		if !strings.Contains(out, "Success") {
			t.Fatalf("%s: adb install: %s", ph.Serial(), out)
		}
		list := a.must("-s", ph.Serial(), "shell", "pm list packages")
		if !strings.Contains(list, "package:com.example.hello\n") {
			t.Errorf("%s: pm list packages lacks the app:\n%s", ph.Serial(), list)
		}
		v := a.must("-s", ph.Serial(), "shell", "pm list packages --show-versioncode -3")
		if strings.TrimSpace(v) != "package:com.example.hello versionCode:7" {
			t.Errorf("%s: pm list packages --show-versioncode -3 = %q", ph.Serial(), v)
		}
		d := a.must("-s", ph.Serial(), "shell", "dumpsys package com.example.hello")
		if !regexp.MustCompile(`(?m)^\s+versionCode=7 minSdk=21 targetSdk=33$`).MatchString(d) {
			t.Errorf("dumpsys package:\n%s", d)
		}
		if out := a.must("-s", ph.Serial(), "uninstall", "com.example.hello"); !strings.Contains(out, "Success") {
			t.Errorf("uninstall: %s", out)
		}
		if list := a.must("-s", ph.Serial(), "shell", "pm list packages -3"); strings.Contains(list, "com.example.hello") {
			t.Errorf("still listed after uninstall:\n%s", list)
		}
	}
	// The old way: push, then pm install FILE.
	ph := s.Phones()[1]
	a.must("-s", ph.Serial(), "push", p, "/data/local/tmp/hello.apk")
	if out := a.must("-s", ph.Serial(), "shell", "pm install -r /data/local/tmp/hello.apk"); strings.TrimSpace(out) != "Success" {
		t.Errorf("pm install FILE: %q", out)
	}
}

// TestInstallSemantics checks Android's refusals, as `adb install` shows them.
func TestInstallSemantics(t *testing.T) {
	needAPKs(t)
	a := startADB(t)
	s := startSim(t, a, Options{Phones: 4, Profile: "pixel7,galaxy-j5,redmi-note12,galaxy-a54", InspectAPK: inspectAPK})
	pixel, j5, redmi, a54 := s.Phones()[0], s.Phones()[1], s.Phones()[2], s.Phones()[3]
	dir := t.TempDir()
	build := func(spec apktest.Spec) string { return apktest.Build(t, t.TempDir(), spec) }
	base := build(apktest.Spec{Package: "com.example.shop", VersionCode: 5, TargetSDK: 30})
	a.must("-s", a54.Serial(), "install", base)
	redmi.SetUSBInstall(false)
	_ = dir
	cases := []struct {
		name  string
		ph    *Phone
		apk   string
		flags []string
		want  string
	}{
		{"arm32-only on 64-bit-only Pixel", pixel, build(apktest.Spec{Package: "com.example.arm", ABIs: []string{"armeabi-v7a"}}), nil, "INSTALL_FAILED_NO_MATCHING_ABIS"},
		{"arm64 on 32-bit Android 7", j5, build(apktest.Spec{Package: "com.example.arm64", ABIs: []string{"arm64-v8a"}}), nil, "INSTALL_FAILED_NO_MATCHING_ABIS"},
		{"minSdk 26 on Android 7", j5, build(apktest.Spec{Package: "com.example.new", MinSDK: 26}), nil, "INSTALL_FAILED_OLDER_SDK"},
		{"targetSdk 22 on Android 14", pixel, build(apktest.Spec{Package: "com.example.old", MinSDK: 16, TargetSDK: 22}), nil, "INSTALL_FAILED_DEPRECATED_SDK_VERSION"},
		{"targetSdk 22 on Android 13 is fine", redmi, "", nil, ""},
		{"downgrade", a54, build(apktest.Spec{Package: "com.example.shop", VersionCode: 4, TargetSDK: 30}), nil, "INSTALL_FAILED_VERSION_DOWNGRADE"},
		{"downgrade with -d", a54, build(apktest.Spec{Package: "com.example.shop", VersionCode: 4, TargetSDK: 30}), []string{"-d"}, ""},
		{"other signer", a54, build(apktest.Spec{Package: "com.example.shop", VersionCode: 6, TargetSDK: 30, Signer: "b"}), nil, "INSTALL_FAILED_UPDATE_INCOMPATIBLE"},
		{"update same signer", a54, build(apktest.Spec{Package: "com.example.shop", VersionCode: 6, TargetSDK: 30}), nil, ""},
		{"Xiaomi install via USB off", redmi, base, nil, "INSTALL_FAILED_USER_RESTRICTED"},
	}
	for _, c := range cases {
		if c.apk == "" {
			continue // documented expectation only (redmi is restricted in this run)
		}
		args := append(append([]string{"-s", c.ph.Serial(), "install"}, c.flags...), c.apk)
		out, err := a.run(60*time.Second, args...)
		if c.want == "" {
			if err != nil || !strings.Contains(out, "Success") {
				t.Errorf("%s: want Success, got err=%v\n%s", c.name, err, out)
			}
			continue
		}
		if err == nil || !strings.Contains(out, "Failure ["+c.want) {
			t.Errorf("%s: want Failure [%s…], got err=%v\n%s", c.name, c.want, err, out)
		}
	}
	if p, ok := a54.Package("com.example.shop"); !ok || p.VersionCode != 6 {
		t.Errorf("a54 has com.example.shop %+v, want versionCode 6", p)
	}
	redmi.SetUSBInstall(true)
	if out := a.must("-s", redmi.Serial(), "install", base); !strings.Contains(out, "Success") {
		t.Errorf("after enabling install via USB: %s", out)
	}
}

// fakeAgent is the smallest file the phone accepts as an agent build: an ELF
// header for this host plus the marker.
func fakeAgent(t *testing.T, dir string) string {
	t.Helper()
	machine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "386": elf.EM_386, "arm64": elf.EM_AARCH64, "arm": elf.EM_ARM}[runtime.GOARCH]
	hdr := make([]byte, 64)
	copy(hdr, []byte{0x7f, 'E', 'L', 'F', 2, 1, 1})
	le := binary.LittleEndian
	le.PutUint16(hdr[16:], uint16(elf.ET_EXEC))
	le.PutUint16(hdr[18:], uint16(machine))
	le.PutUint32(hdr[20:], 1)
	le.PutUint16(hdr[52:], 64) // ehsize
	le.PutUint16(hdr[54:], 56) // phentsize
	le.PutUint16(hdr[58:], 64) // shentsize
	p := filepath.Join(dir, "preload-agent")
	if err := os.WriteFile(p, append(hdr, []byte("\x00"+AgentMarker+" test\x00")...), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// echoAgent stands in for phone.Main: it listens on --port and echoes lines.
func echoAgent(ctx context.Context, osys simos.PhoneOS, args []string) error {
	port := "27183"
	for i, a := range args {
		if a == "--port" && i+1 < len(args) {
			port = args[i+1]
		}
	}
	ln, err := osys.Listen("127.0.0.1:" + port)
	if err != nil {
		return err
	}
	defer ln.Close()
	go func() { <-ctx.Done(); ln.Close() }()
	for {
		c, err := ln.Accept()
		if err != nil {
			return ctx.Err()
		}
		go func() {
			defer c.Close()
			model := ""
			var sb strings.Builder
			osys.Run(ctx, "getprop ro.product.model", nil, &sb)
			model = strings.TrimSpace(sb.String())
			sc := bufio.NewScanner(c)
			for sc.Scan() {
				fmt.Fprintf(c, "%s says %s\n", model, sc.Text())
			}
		}()
	}
}

func TestADBForwardToAgent(t *testing.T) {
	a := startADB(t)
	s := startSim(t, a, Options{Phones: 1, Profile: "pixel7", RunAgent: echoAgent})
	ph := s.Phones()[0]
	ser := ph.Serial()
	agent := fakeAgent(t, t.TempDir())

	// A pushed file that is not executable does not start.
	a.must("-s", ser, "push", agent, "/data/local/tmp/preload-agent")
	a.must("-s", ser, "shell", "chmod 644 /data/local/tmp/preload-agent")
	if out, err := a.run(20*time.Second, "-s", ser, "shell", "/data/local/tmp/preload-agent --version"); err == nil || !strings.Contains(out, "Permission denied") {
		t.Errorf("non-executable agent ran: err=%v %q", err, out)
	}
	a.must("-s", ser, "shell", "chmod 755 /data/local/tmp/preload-agent")
	a.must("-s", ser, "shell", "nohup /data/local/tmp/preload-agent serve --port 27183 >/dev/null 2>&1 &")
	waitFor(t, 5*time.Second, "the agent to listen", func() bool { _, ok := ph.HostAddr("27183"); return ok })
	if pid := a.must("-s", ser, "shell", "pidof preload-agent"); strings.TrimSpace(pid) == "" {
		t.Errorf("pidof shows nothing")
	}

	out := a.must("-s", ser, "forward", "tcp:0", "tcp:27183")
	local := strings.TrimSpace(out)
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+local, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintln(c, "hello")
	line, err := bufio.NewReader(c).ReadString('\n')
	c.Close()
	if err != nil || line != "Pixel 7 says hello\n" {
		t.Fatalf("round trip through adb forward: %q, %v", line, err)
	}

	// localabstract: sockets are reachable the same way.
	ln, err := ph.OS().Listen("localabstract:preload-test")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Write([]byte("abstract\n"))
			c.Close()
		}
	}()
	abs := strings.TrimSpace(a.must("-s", ser, "forward", "tcp:0", "localabstract:preload-test"))
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+abs, 5*time.Second); err != nil {
		t.Error(err)
	} else {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if line != "abstract\n" {
			t.Errorf("localabstract forward: %q", line)
		}
	}
	ln.Close()

	// The agent opens its page in the phone's browser: the intent is recorded.
	a.must("-s", ser, "shell", "am start -a android.intent.action.VIEW -d http://127.0.0.1:27184/")
	if in := ph.Intents(); len(in) != 1 || in[0].Data != "http://127.0.0.1:27184/" || in[0].Action != "android.intent.action.VIEW" {
		t.Errorf("intents: %+v", in)
	}

	// pkill stops it; the forward then leads nowhere.
	a.must("-s", ser, "shell", "pkill preload-agent")
	if ph.Agents() != 0 {
		t.Errorf("%d agents still run after pkill", ph.Agents())
	}
	if _, ok := ph.HostAddr("27183"); ok {
		t.Errorf("port 27183 still mapped after pkill")
	}
	c, err = net.DialTimeout("tcp", "127.0.0.1:"+local, 5*time.Second)
	if err == nil {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		n, rerr := c.Read(make([]byte, 1))
		c.Close()
		if n != 0 || rerr == nil {
			t.Errorf("forward to a dead agent gave %d bytes, %v", n, rerr)
		}
	}

	// A file without the marker is refused, like a binary for another machine.
	junk := filepath.Join(t.TempDir(), "junk")
	os.WriteFile(junk, bytes.Repeat([]byte("x"), 100), 0o755)
	a.must("-s", ser, "push", junk, "/data/local/tmp/preload-agent")
	if out, err := a.run(20*time.Second, "-s", ser, "shell", "/data/local/tmp/preload-agent serve"); err == nil || !strings.Contains(out, "Exec format error") {
		t.Errorf("junk agent: err=%v %q", err, out)
	}
}
