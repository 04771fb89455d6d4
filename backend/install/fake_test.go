package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"preloadstation/backend/store"
)

// fakePhone is a small, honest phone: it reads the bytes it is sent at its
// link's speed, commits one package at a time for a set time, keeps a package
// database that installs really change, and can hang, drop, or fail a package
// with a queued package-manager output.
type fakePhone struct {
	serial     string
	bps        float64       // link speed, bytes/s (0 = instant)
	commit     time.Duration // per install
	apps       map[string]App
	pmLock     sync.Mutex // Android's package manager installs one package at a time
	mu         sync.Mutex
	pkgs       map[string]int64
	outputs    map[string][]string // package -> queued outputs for its next installs
	hangAt     int64               // stop reading after this many bytes of any install (0 = never)
	dropped    bool
	wrongVC    map[string]int64 // install this versionCode instead (verify must catch it)
	hangCommit bool             // hang (no output, no answer to pings) once a commit starts
	inflight   int
	maxIn      int
	overlap    bool // a transfer ran while another package committed
	commits    int  // commits running now
	maxCom     int
	started    []string
}

func newFakePhone(serial string, bps float64, commit time.Duration, apps []App) *fakePhone {
	m := map[string]App{}
	for _, a := range apps {
		m[a.SHA256] = a
	}
	return &fakePhone{serial: serial, bps: bps, commit: commit, apps: m, pkgs: map[string]int64{},
		outputs: map[string][]string{}, wrongVC: map[string]int64{}}
}

func (f *fakePhone) Name() string { return "fake" }

var errDropped = errors.New("device offline")

// Install identifies the APK by its first 64 bytes (the fake's "manifest").
func (f *fakePhone) Install(ctx context.Context, apk io.Reader, size int64) (string, error) {
	f.mu.Lock()
	if f.dropped {
		f.mu.Unlock()
		return "", errDropped
	}
	f.inflight++
	if f.inflight > f.maxIn {
		f.maxIn = f.inflight
	}
	if f.commits > 0 {
		f.overlap = true
	}
	hangAt := f.hangAt
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.inflight--; f.mu.Unlock() }()

	var head bytes.Buffer
	var got int64
	buf := make([]byte, 32<<10)
	start := time.Now()
	for got < size {
		if hangAt > 0 && got >= hangAt {
			<-ctx.Done() // a hung phone: stops acknowledging, never answers
			return "", ctx.Err()
		}
		n, err := apk.Read(buf)
		if head.Len() < 64 {
			head.Write(buf[:min(n, 64-head.Len())])
		}
		got += int64(n)
		if f.bps > 0 {
			if d := time.Duration(float64(got)/f.bps*float64(time.Second)) - time.Since(start); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return "", ctx.Err()
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
		f.mu.Lock()
		dropped := f.dropped
		f.mu.Unlock()
		if dropped {
			return "", errDropped
		}
	}
	if got != size {
		return "", fmt.Errorf("short stream: %d of %d", got, size)
	}
	sha := string(bytes.TrimRight(head.Bytes(), "\x00"))
	a, ok := f.apps[sha]
	if !ok {
		return "Failure [INSTALL_PARSE_FAILED_NOT_APK: unknown content]\n", nil
	}
	f.mu.Lock()
	f.started = append(f.started, a.Package)
	f.mu.Unlock()
	// The package manager lock: one commit at a time, like Android.
	locked := make(chan struct{})
	go func() { f.pmLock.Lock(); close(locked) }()
	select {
	case <-locked:
	case <-ctx.Done():
		go func() { <-locked; f.pmLock.Unlock() }()
		return "", ctx.Err()
	}
	defer f.pmLock.Unlock()
	f.mu.Lock()
	f.commits++
	if f.commits > f.maxCom {
		f.maxCom = f.commits
	}
	f.mu.Unlock()
	defer func() { f.mu.Lock(); f.commits--; f.mu.Unlock() }()
	f.mu.Lock()
	hangCommit := f.hangCommit
	f.mu.Unlock()
	if hangCommit {
		<-ctx.Done() // hung while committing: no output, ever
		return "", ctx.Err()
	}
	select {
	case <-time.After(f.commit):
	case <-ctx.Done():
		return "", ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if q := f.outputs[a.Package]; len(q) > 0 {
		f.outputs[a.Package] = q[1:]
		return q[0], nil
	}
	vc := a.VersionCode
	if w, ok := f.wrongVC[a.Package]; ok {
		vc = w
	}
	f.pkgs[a.Package] = vc
	return "Success\n", nil
}

func (f *fakePhone) InstalledVersion(ctx context.Context, pkg string) (int64, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dropped {
		return 0, false, errDropped
	}
	vc, ok := f.pkgs[pkg]
	return vc, ok, nil
}

func (f *fakePhone) facts() Facts {
	f.mu.Lock()
	defer f.mu.Unlock()
	inst := map[string]Installed{}
	for p, vc := range f.pkgs {
		inst[p] = Installed{VersionCode: vc}
	}
	return Facts{Serial: f.serial, Brand: "Xiaomi", Model: "Fake", Release: "14", SDK: 34,
		ABIs: []string{"arm64-v8a", "armeabi-v7a"}, FreeBytes: -1, Installed: inst}
}

func (f *fakePhone) phone(hub string) Phone {
	return Phone{Serial: f.serial, SlotLabel: "L-" + f.serial, Hub: hub, Facts: f.facts(), Transport: f, Verifier: f,
		Refresh: func(context.Context) (Facts, error) { return f.facts(), nil }}
}

// fakeAPKs serves APKs whose first 64 bytes are their SHA-256 field.
type fakeAPKs struct{ sizes map[string]int64 }

func (s fakeAPKs) OpenAPK(ctx context.Context, sha string) (io.ReadCloser, error) {
	n, ok := s.sizes[sha]
	if !ok {
		return nil, errors.New("not in cache")
	}
	b := make([]byte, n)
	copy(b, sha)
	return io.NopCloser(bytes.NewReader(b)), nil
}

type staticList struct{ l List }

func (s staticList) CurrentList(context.Context) (List, error) { return s.l, nil }

func testApps(n int, size func(i int) int64) []App {
	var apps []App
	for i := 0; i < n; i++ {
		apps = append(apps, App{Package: fmt.Sprintf("com.example.app%d", i), Label: fmt.Sprintf("App %d", i),
			VersionCode: int64(100 + i), MinSDK: 21, TargetSDK: 33, Size: size(i),
			SHA256: fmt.Sprintf("%064x", i+1), Position: i})
	}
	return apps
}

func apkSource(apps []App) fakeAPKs {
	m := map[string]int64{}
	for _, a := range apps {
		m[a.SHA256] = a.Size
	}
	return fakeAPKs{sizes: m}
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), t.TempDir()+"/station.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func phoneState(e *Engine, serial string) string {
	for _, s := range e.Status() {
		if s.Serial == serial {
			return s.State
		}
	}
	return ""
}

func records(t *testing.T, s *store.Store, serial string) []store.InstallRecord {
	t.Helper()
	var recs []store.InstallRecord
	if err := s.DB.Where("serial = ?", serial).Order("started_at, package").Find(&recs).Error; err != nil {
		t.Fatal(err)
	}
	return recs
}

func (f *fakePhone) installedCount() (int, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var l []string
	for p := range f.pkgs {
		l = append(l, p)
	}
	return len(f.pkgs), l
}

func (f *fakePhone) setDropped(v bool) {
	f.mu.Lock()
	f.dropped = v
	f.mu.Unlock()
}

// ping answers unless the phone hangs in a commit.
func (f *fakePhone) ping(ctx context.Context) error {
	f.mu.Lock()
	hung := f.hangCommit && f.commits > 0
	f.mu.Unlock()
	if hung {
		<-ctx.Done()
		return ctx.Err()
	}
	return nil
}
