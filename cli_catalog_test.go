package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"os/exec"
)

// buildAPK makes a minimal unsigned APK with Debian's aapt (backend/internal/apktest
// is not importable from here).
func buildAPK(t *testing.T) string {
	const fw = "/usr/share/android-framework-res/framework-res.apk"
	if _, err := exec.LookPath("aapt"); err != nil {
		t.Skip("aapt not installed (apt-get install aapt android-framework-res)")
	}
	if _, err := os.Stat(fw); err != nil {
		t.Skip("android-framework-res not installed")
	}
	dir := t.TempDir()
	man := filepath.Join(dir, "AndroidManifest.xml")
	os.WriteFile(man, []byte(`<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="com.example.cli" android:versionCode="2" android:versionName="2.0"><uses-sdk android:minSdkVersion="21" android:targetSdkVersion="30"/><application android:label="CLI"/></manifest>`), 0o644)
	out := filepath.Join(dir, "cli.apk")
	if b, err := exec.Command("aapt", "package", "-M", man, "-I", fw, "-F", out).CombinedOutput(); err != nil {
		t.Fatalf("aapt: %v\n%s", err, b)
	}
	return out
}

func TestCatalogAdminCommands(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := catalogCommand(ctx, &out, &errOut, append(args, "--data", data))
		return out.String() + errOut.String(), err
	}
	apkPath := buildAPK(t)
	out, err := run("app", "add", apkPath)
	if err != nil || !strings.Contains(out, "com.example.cli 2.0 (2)  added") {
		t.Fatalf("app add: %v\n%s", err, out)
	}
	if out, err = run("app", "add", apkPath); err != nil || !strings.Contains(out, "already in the catalog") {
		t.Fatalf("app add again: %v\n%s", err, out)
	}
	bad := filepath.Join(t.TempDir(), "bad.apk")
	os.WriteFile(bad, []byte("nope"), 0o644)
	if _, err = run("app", "add", bad); err == nil {
		t.Fatal("bad APK accepted")
	}
	if out, err = run("user", "add", "alice", "--password", "alicepass", "--role", "operator"); err != nil || !strings.Contains(out, "user alice added") {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	if _, err = run("user", "add", "bob", "--password", "short"); err == nil {
		t.Fatal("weak password accepted")
	}
	if out, err = run("list", "set", "alice-list", "--operator", "alice", "com.example.cli"); err != nil || !strings.Contains(out, "1. com.example.cli 2.0") {
		t.Fatalf("list set: %v\n%s", err, out)
	}
	if _, err = run("list", "set", "x", "com.example.missing"); err == nil {
		t.Fatal("list with unknown app accepted")
	}
	out, err = run("station", "code")
	if err != nil || !regexp.MustCompile(`^[A-Z2-9]{5}-[A-Z2-9]{5}\n$`).MatchString(out) {
		t.Fatalf("station code: %v %q", err, out)
	}
	if _, err = run("nonsense"); !errors.Is(err, errUsage) {
		t.Fatalf("unknown command: %v", err)
	}
	if _, err = run("serve", "--max-upload", "0"); !errors.Is(err, errUsage) {
		t.Fatalf("bad serve flags: %v", err)
	}
}
