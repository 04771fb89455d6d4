package sim

import (
	"bytes"
	"context"
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestTokenize(t *testing.T) {
	tests := []struct {
		in   string
		want []string // ops shown as «op»
	}{
		{"getprop ro.product.model", []string{"getprop", "ro.product.model"}},
		{"cmd package 'install' -S 123", []string{"cmd", "package", "install", "-S", "123"}},
		{`echo "a b" c\ d`, []string{"echo", "a b", "c d"}},
		{"nohup /data/local/tmp/preload-agent serve --port 1 >/dev/null 2>&1 &", []string{"nohup", "/data/local/tmp/preload-agent", "serve", "--port", "1", "«>»", "/dev/null", "«2>&1»", "«&»"}},
		{"a&&b||c;d|e", []string{"a", "«&&»", "b", "«||»", "c", "«;»", "d", "«|»", "e"}},
		{"ls 2>/dev/null", []string{"ls", "«2>»", "/dev/null"}},
		{"(setsid x &)", []string{"setsid", "x", "«&»", "«;»"}},
	}
	for _, tc := range tests {
		toks, err := tokenize(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		var got []string
		for _, tk := range toks {
			if tk.op {
				got = append(got, "«"+tk.s+"»")
			} else {
				got = append(got, tk.s)
			}
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q:\n got %q\nwant %q", tc.in, got, tc.want)
		}
	}
	if _, err := tokenize("echo 'open"); err == nil {
		t.Errorf("unterminated quote accepted")
	}
}

func newTestPhone(t *testing.T, opts Options) *Phone {
	t.Helper()
	opts.Phones = 1
	opts.Logf = t.Logf
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s.Phones()[0]
}

func run(ph *Phone, cmd string, stdin io.Reader) (string, int) {
	var out bytes.Buffer
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	code := ph.sh(context.Background(), cmd, stdin, &out, &out)
	return out.String(), code
}

func TestShell(t *testing.T) {
	ph := newTestPhone(t, Options{Profile: "galaxy-j5"})
	tests := []struct {
		cmd  string
		want string
		code int
	}{
		{"echo hi && echo there", "hi\nthere\n", 0},
		{"false || echo fallback", "fallback\n", 0},
		{"false && echo no", "", 1},
		{"getprop ro.build.version.sdk", "24\n", 0},
		{"getprop no.such.prop", "\n", 0},
		{"getprop | grep abilist]", "[ro.product.cpu.abilist]: [armeabi-v7a,armeabi]\n", 0},
		{"echo x > /data/local/tmp/a; cat /data/local/tmp/a", "x\n", 0},
		{"cat /nope", "cat: /nope: No such file or directory\n", 1},
		{"rm /nope", "rm: /nope: No such file or directory\n", 1},
		{"rm -f /nope", "", 0},
		{"frobnicate", "/system/bin/sh: frobnicate: inaccessible or not found\n", 127},
		{"pm list packages -3", "", 0},
		{"pm path com.android.settings", "package:/system/app/com.android.settings/com.android.settings.apk\n", 0},
		{"pm uninstall com.android.settings", "Failure [DELETE_FAILED_INTERNAL_ERROR]\n", 1},
		{"cmd package install -S 3", "Failure [INSTALL_FAILED_INTERNAL_ERROR: the virtual phone has no APK reader]\n", 1},
		{"sh -c 'exit 4'", "", 4},
		{"wm density", "Physical density: 320\n", 0},
		{"input keyevent 3", "", 0},
		{"kill 99999", "/system/bin/sh: kill: 99999: No such process\n", 1},
	}
	for _, tc := range tests {
		var in io.Reader
		if strings.Contains(tc.cmd, "-S 3") {
			in = strings.NewReader("abc")
		}
		got, code := run(ph, tc.cmd, in)
		if got != tc.want || code != tc.code {
			t.Errorf("%q: got %q (exit %d), want %q (exit %d)", tc.cmd, got, code, tc.want, tc.code)
		}
	}
	// Android 7 prints toolbox df, newer ones toybox df.
	if out, _ := run(ph, "df /data", nil); !strings.HasPrefix(out, "Filesystem               Size     Used     Free   Blksize\n/data ") {
		t.Errorf("Android 7 df:\n%s", out)
	}
}

// TestCommitLock: one commit at a time per phone, while the next APK streams in.
func TestCommitLock(t *testing.T) {
	commit := 300 * time.Millisecond
	ph := newTestPhone(t, Options{Profile: "pixel7", USB: USBModel{CommitFixed: commit},
		InspectAPK: func(r io.ReaderAt, size int64) (APKFacts, error) {
			b := make([]byte, size)
			r.ReadAt(b, 0)
			return APKFacts{Package: string(b), VersionCode: 1, MinSDK: 21, TargetSDK: 30}, nil
		}})
	start := time.Now()
	var wg sync.WaitGroup
	outs := make([]string, 3)
	for i, pkg := range []string{"com.a", "com.b", "com.c"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[i], _ = run(ph, "cmd package install -S 5", strings.NewReader(pkg))
		}()
	}
	wg.Wait()
	el := time.Since(start)
	for i, o := range outs {
		if o != "Success\n" {
			t.Errorf("install %d: %q", i, o)
		}
	}
	if el < 3*commit {
		t.Errorf("3 installs took %v: commits overlapped (want ≥ %v)", el, 3*commit)
	}
	if el > 3*commit+time.Second {
		t.Errorf("3 installs took %v, want about %v", el, 3*commit)
	}
	if got, _ := run(ph, "pm list packages -3 --show-versioncode", nil); got != "package:com.a versionCode:1\npackage:com.b versionCode:1\npackage:com.c versionCode:1\n" {
		t.Errorf("package list: %q", got)
	}
}
