package agent

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"preloadstation/backend/adb/adbtest"
	"preloadstation/backend/agent/wire"
	"preloadstation/backend/internal/syncbuf"
)

// TestArmBuildUnderQemu runs the embedded 32-bit ARM build (what
// armeabi-v7a phones get) under qemu-user and speaks the channel with it.
// The android-arm64 build cannot run here: it is a PIE whose interpreter is
// Android's /system/bin/linker64, which a Linux host does not have.
func TestArmBuildUnderQemu(t *testing.T) {
	qemu, err := exec.LookPath("qemu-arm-static")
	if err != nil {
		t.Skip("qemu-arm-static is not installed (apt install qemu-user-static)")
	}
	b, err := BuildForABI("armeabi-v7a")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	exe := filepath.Join(dir, "preload-agent")
	src, err := b.Open()
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(src)
	src.Close()
	if err != nil || int64(len(data)) != b.Size {
		t.Fatalf("read build: %d of %d bytes, %v", len(data), b.Size, err)
	}
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := wire.DeriveSecret([]byte("qemu station"), "ARMPHONE")
	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte(hex.EncodeToString(secret)), 0o600)
	port, httpPort := adbtest.FreePort(t), adbtest.FreePort(t)

	out, err := exec.Command(qemu, exe, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), wire.BuildMarker) {
		t.Fatalf("--version under qemu: %v %s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.Command(qemu, exe, "serve", "--port", fmt.Sprint(port), "--http-port", fmt.Sprint(httpPort), "--key-file", keyFile)
	var logBuf syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &logBuf, &logBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("agent log:\n%s", logBuf.String())
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var ch *Channel
	for deadline := time.Now().Add(30 * time.Second); ch == nil; time.Sleep(100 * time.Millisecond) {
		conn, info, err := Dial(ctx, addr, secret, 10*time.Second)
		if err == nil {
			ch = newChannel(ctx, "ARMPHONE", conn, info, time.Second, 10*time.Second, nil)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no channel to the ARM agent: %v", err)
		}
	}
	go ch.s.Serve(ctx)
	defer func() { cancel(); <-ch.Done() }()
	if got, err := ch.Echo(ctx, "armv7"); err != nil || got != "armv7" {
		t.Fatalf("echo through the ARM agent: %q %v", got, err)
	}
	if err := ch.SetPage(wire.PageState{Station: "Qemu Station", Slot: "B2"}); err != nil {
		t.Fatal(err)
	}
	var body string
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(body, "Qemu Station"); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", httpPort))
		if err == nil {
			bb, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(bb)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the ARM agent's page does not show the station: %.300s", body)
		}
	}
	// A wrong key is refused by the ARM build too.
	if _, _, err := Dial(ctx, addr, wire.DeriveSecret([]byte("other"), "ARMPHONE"), 10*time.Second); err == nil {
		t.Fatal("wrong key accepted")
	}
}
