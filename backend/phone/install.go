package phone

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"preloadstation/backend/agent/wire"
)

// Install methods, newest first.
const (
	MethodCmd     = "cmd"      // cmd package install -S N   (Android 7+)
	MethodPMStdin = "pm-stdin" // pm install -S N            (Android 5–6)
	MethodPMFile  = "pm-file"  // temp file + pm install     (older)
)

// installer pipes APK streams into the phone's package manager. It picks the
// method from the SDK once, and falls back to an older one when the newer
// command does not exist (and so has not consumed any of the stream).
type installer struct {
	osys PhoneOS
	log  *slog.Logger

	// The station streams the next APK while this one commits, so two
	// Installs may run at once: mu guards the remembered method.
	mu     sync.Mutex
	method string
}

func (in *installer) pickMethod(ctx context.Context) string {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.method == "" {
		in.method = MethodCmd
		sdk, _ := strconv.Atoi(runOut(ctx, in.osys, "getprop ro.build.version.sdk"))
		switch {
		case sdk >= 24 || sdk == 0:
		case sdk >= 21:
			in.method = MethodPMStdin
		default:
			in.method = MethodPMFile
		}
	}
	return in.method
}

// Install streams size bytes from r into the package manager.
func (in *installer) Install(ctx context.Context, size int64, r io.Reader) (wire.InstallResult, error) {
	method := in.pickMethod(ctx)
	for {
		res, missing, err := in.try(ctx, method, size, r)
		if !missing {
			return res, err
		}
		next := map[string]string{MethodCmd: MethodPMStdin, MethodPMStdin: MethodPMFile}[method]
		if next == "" {
			return res, err
		}
		in.log.Info("install method unavailable, falling back", "method", method, "next", next)
		method = next
		in.mu.Lock()
		in.method = next // remember for the next APK
		in.mu.Unlock()
	}
}

// try runs one method. missing reports that the command does not exist and
// read nothing, so the caller may fall back with the same stream.
func (in *installer) try(ctx context.Context, method string, size int64, r io.Reader) (res wire.InstallResult, missing bool, err error) {
	res.Method = method
	var out bytes.Buffer
	cr := &countingReader{r: r}
	var code int
	switch method {
	case MethodCmd:
		code, err = in.osys.Run(ctx, fmt.Sprintf("cmd package install -S %d", size), cr, &out)
	case MethodPMStdin:
		code, err = in.osys.Run(ctx, fmt.Sprintf("pm install -r -S %d", size), cr, &out)
	case MethodPMFile:
		return in.viaFile(ctx, r)
	}
	res.Output = strings.TrimSpace(out.String())
	if err != nil {
		return res, false, fmt.Errorf("run %s install: %w", method, err)
	}
	if cr.n == 0 && commandMissing(code, res.Output) {
		return res, true, fmt.Errorf("%s not available: %s", method, res.Output)
	}
	return res, false, verdict(res.Output, code)
}

func (in *installer) viaFile(ctx context.Context, r io.Reader) (wire.InstallResult, bool, error) {
	res := wire.InstallResult{Method: MethodPMFile}
	data, err := io.ReadAll(r)
	if err != nil {
		return res, false, fmt.Errorf("receive apk: %w", err)
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := "/data/local/tmp/preload-install-" + hex.EncodeToString(rnd[:]) + ".apk"
	if err := in.osys.WriteFile(tmp, data, 0o644); err != nil {
		return res, false, fmt.Errorf("write %s: %w", tmp, err)
	}
	defer in.osys.Run(context.WithoutCancel(ctx), "rm -f "+tmp, nil, io.Discard)
	var out bytes.Buffer
	code, err := in.osys.Run(ctx, "pm install -r "+tmp, nil, &out)
	res.Output = strings.TrimSpace(out.String())
	if err != nil {
		return res, false, fmt.Errorf("run pm install: %w", err)
	}
	return res, false, verdict(res.Output, code)
}

// verdict reads the package manager's output: "Success", or
// "Failure [INSTALL_FAILED_…: …]".
func verdict(out string, code int) error {
	if strings.Contains(out, "Success") {
		return nil
	}
	if i := strings.Index(out, "Failure ["); i >= 0 {
		return fmt.Errorf("%s", strings.TrimSpace(out[i:]))
	}
	if out == "" {
		out = "no output"
	}
	return fmt.Errorf("install failed (exit %d): %s", code, firstLines(out, 3))
}

func commandMissing(code int, out string) bool {
	o := strings.ToLower(out)
	return code == 127 || strings.Contains(o, "not found") || strings.Contains(o, "can't find service") ||
		strings.Contains(o, "unknown command") || strings.Contains(o, "inaccessible or not found")
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, " | ")
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// runOut runs a command and returns its trimmed output, "" on any failure.
func runOut(ctx context.Context, osys PhoneOS, cmd string) string {
	var out bytes.Buffer
	code, err := osys.Run(ctx, cmd, nil, &out)
	if err != nil || code != 0 {
		return ""
	}
	return strings.TrimSpace(out.String())
}
