package install

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"preloadstation/backend/adb"
)

// ADBDevice is what the direct transport needs from an adb device
// (*adb.Device has it).
type ADBDevice interface {
	Exec(ctx context.Context, cmd string, stdin io.Reader, stdout io.Writer) error
	Shell(ctx context.Context, cmd string) (adb.ShellResult, error)
	Push(ctx context.Context, src io.Reader, size int64, remote string, mode os.FileMode, mtime time.Time, progress func(sent int64)) error
}

// ExecTransport installs over adb without an agent: `exec:cmd package install
// -S N` streams the APK into the package manager (Android 7+, what `adb
// install` does); older phones get `push` to /data/local/tmp then `pm install`.
type ExecTransport struct {
	Dev ADBDevice
	SDK int
}

// Name is "exec", or "push" on Android older than 7.
func (t ExecTransport) Name() string {
	if t.streams() {
		return "exec"
	}
	return "push"
}

// `cmd package` arrived with Android 7 (SDK 24); unknown SDK (0) assumes modern.
func (t ExecTransport) streams() bool { return t.SDK == 0 || t.SDK >= 24 }

// Install implements Transport.
func (t ExecTransport) Install(ctx context.Context, apk io.Reader, size int64) (string, error) {
	if t.streams() {
		var out bytes.Buffer
		err := t.Dev.Exec(ctx, "cmd package install -S "+strconv.FormatInt(size, 10), apk, &out)
		return out.String(), err
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	remote := "/data/local/tmp/preload-" + hex.EncodeToString(rnd[:]) + ".apk"
	if err := t.Dev.Push(ctx, apk, size, remote, 0o644, time.Now(), nil); err != nil {
		return "", err
	}
	// The temp file goes whatever happens; a cancelled ctx still deserves a try.
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, _ = t.Dev.Shell(rctx, "rm -f "+adb.Quote(remote))
	}()
	res, err := t.Dev.Shell(ctx, "pm install -r "+adb.Quote(remote))
	if err != nil {
		return "", err
	}
	return string(res.Stdout) + string(res.Stderr), nil
}

// ShellPing is a Phone.Ping over plain adb: a shell `echo` the phone must
// answer (a hung phone does not, a slow commit does).
func ShellPing(dev *adb.Device) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		_, err := dev.Shell(ctx, "echo ok")
		return err
	}
}

// ADBVerifier reads installed versions with the package manager.
type ADBVerifier struct {
	Dev interface {
		Shell(ctx context.Context, cmd string) (adb.ShellResult, error)
	}
	SDK int
}

// InstalledVersion implements Verifier: `pm list packages --show-versioncode`
// (Android 9+), else `dumpsys package`.
func (v ADBVerifier) InstalledVersion(ctx context.Context, pkg string) (int64, bool, error) {
	if v.SDK == 0 || v.SDK >= 28 {
		res, err := v.Dev.Shell(ctx, "pm list packages --show-versioncode "+adb.Quote(pkg))
		if err != nil {
			return 0, false, err
		}
		vc, ok := parsePMListVersion(string(res.Stdout), pkg)
		return vc, ok, nil
	}
	res, err := v.Dev.Shell(ctx, "dumpsys package "+adb.Quote(pkg))
	if err != nil {
		return 0, false, err
	}
	vc, ok := parseDumpsysVersion(string(res.Stdout), pkg)
	return vc, ok, nil
}

// parsePMListVersion finds "package:<pkg> versionCode:<n>" (pm filters by
// substring, so the name must match exactly).
func parsePMListVersion(out, pkg string) (int64, bool) {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(strings.TrimSpace(line))
		if len(f) < 1 || f[0] != "package:"+pkg {
			continue
		}
		for _, x := range f[1:] {
			if v, ok := strings.CutPrefix(x, "versionCode:"); ok {
				n, err := strconv.ParseInt(v, 10, 64)
				return n, err == nil
			}
		}
		return 0, true
	}
	return 0, false
}

// parseDumpsysVersion reads "versionCode=<n>" from the "Package [<pkg>]" block.
func parseDumpsysVersion(out, pkg string) (int64, bool) {
	i := strings.Index(out, "Package ["+pkg+"]")
	if i < 0 {
		return 0, false
	}
	rest := out[i:]
	j := strings.Index(rest, "versionCode=")
	if j < 0 {
		return 0, true
	}
	num := rest[j+len("versionCode="):]
	end := strings.IndexFunc(num, func(r rune) bool { return r < '0' || r > '9' })
	if end >= 0 {
		num = num[:end]
	}
	n, err := strconv.ParseInt(num, 10, 64)
	return n, err == nil
}

// String helps logs.
func (t ExecTransport) String() string { return fmt.Sprintf("%s(sdk %d)", t.Name(), t.SDK) }
