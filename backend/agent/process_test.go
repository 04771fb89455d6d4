package agent

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"preloadstation/backend/agent/wire"
	"preloadstation/backend/internal/apktest"
)

// TestRealAgentProcess pushes the real agent binary built for this host to a
// virtual x86_64 phone, which runs it as a process; the station handshakes
// with it and installs a real APK through it.
func TestRealAgentProcess(t *testing.T) {
	if err := apktest.Available(); err != nil {
		t.Skip(err)
	}
	r := newRig(t, rigOpts{phones: 1, profile: "x86-emulator", process: true})
	ph := r.sim.Phones()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ch, err := r.m.WaitReady(ctx, ph.Serial())
	if err != nil || ch == nil {
		t.Fatalf("no channel: %v %+v", err, mustState(r, ph.Serial()))
	}
	if b := ch.AgentBuild(); b == "dev" || b == "" {
		t.Fatalf("agent build %q: not the binary from make agents", b)
	}
	if !strings.Contains(r.log.String(), "agent: ") || !strings.Contains(r.log.String(), "agent listening") {
		t.Fatal("the phone did not run the agent as a process (no process output in the sim log)")
	}
	apkPath := apktest.Build(t, t.TempDir(), apktest.Spec{Package: "com.preload.demo", VersionCode: 3, Label: "Demo", PayloadBytes: 3 << 20})
	f, err := os.Open(apkPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	var last int64
	res, err := r.m.Install(ctx, ph.Serial(), wire.InstallRequest{Name: "Demo", Package: "com.preload.demo", Size: fi.Size()}, f,
		func(n int64) { last = n })
	if err != nil {
		t.Fatalf("install through the agent process: %v", err)
	}
	if res.Method != "cmd" || last != fi.Size() {
		t.Fatalf("method %q, progress ended at %d of %d", res.Method, last, fi.Size())
	}
	if p, ok := ph.Package("com.preload.demo"); !ok || p.VersionCode != 3 {
		t.Fatalf("phone has %+v %v after install", p, ok)
	}
	facts, err := ch.Facts(ctx)
	if err != nil || facts.Packages["com.preload.demo"] != 3 || facts.ABI != "x86_64" || facts.StorageFree <= 0 {
		t.Fatalf("facts %+v %v", facts, err)
	}
	// A broken APK fails with the package manager's reason; the channel stays up.
	junk := strings.NewReader("PK not an apk at all")
	_, err = r.m.Install(ctx, ph.Serial(), wire.InstallRequest{Name: "Junk", Package: "com.junk", Size: int64(junk.Len())}, junk, nil)
	var re *wire.RemoteError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "INSTALL_") {
		t.Fatalf("junk install: %v", err)
	}
	if _, err := ch.Echo(ctx, "still up"); err != nil {
		t.Fatalf("channel after a failed install: %v", err)
	}
}

// TestPushOnlyWhenStale: a phone that already runs this build is reused
// without a push; a changed binary on the phone is replaced.
func TestPushOnlyWhenStale(t *testing.T) {
	r := newRig(t, rigOpts{phones: 1, profile: "pixel7"})
	ph := r.sim.Phones()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	wait := func() {
		if ch, err := r.m.WaitReady(ctx, ph.Serial()); err != nil || ch == nil {
			t.Fatalf("no channel: %v", err)
		}
	}
	wait()
	pushes := func() int { return strings.Count(r.log.String(), "msg=\"agent pushed\"") }
	if pushes() != 1 {
		t.Fatalf("%d pushes on first plug", pushes())
	}
	r.m.Detach(ph.Serial())
	r.m.Attach(ph.Serial(), r.cl.Device(ph.Serial()))
	wait()
	if pushes() != 1 {
		t.Fatalf("re-attach pushed again (%d pushes) though the phone holds the same build", pushes())
	}
	if ph.Agents() != 1 {
		t.Fatalf("%d agents running after re-attach", ph.Agents())
	}
	r.m.Detach(ph.Serial())
	b, _ := ph.ReadFile(RemoteBinary)
	ph.WriteFile(RemoteBinary, append(b, "stale"...), 0o755)
	r.m.Attach(ph.Serial(), r.cl.Device(ph.Serial()))
	wait()
	if pushes() != 2 {
		t.Fatalf("a changed binary on the phone was not replaced (%d pushes)", pushes())
	}
}

// TestFallbackWhenAgentCannotRun: a phone that cannot execute the agent is
// marked for direct ADB installs, with a message the UI can show.
func TestFallbackWhenAgentCannotRun(t *testing.T) {
	bad := BytesBuild("broken", []byte("#!/bin/false\nnot an ELF"))
	r := newRig(t, rigOpts{phones: 1, mopts: Options{Builds: func(string) (Build, error) { return bad, nil },
		RetryMin: 10 * time.Millisecond, StartWait: 300 * time.Millisecond}})
	ph := r.sim.Phones()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ch, err := r.m.WaitReady(ctx, ph.Serial())
	if err != nil || ch != nil {
		t.Fatalf("WaitReady: %v %v", ch, err)
	}
	st := mustState(r, ph.Serial())
	if !st.Fallback || st.State != StateFallback || st.Message == "" || st.MessageZH == "" {
		t.Fatalf("state %+v", st)
	}
	if !strings.Contains(st.Error, "Exec format error") {
		t.Fatalf("error %q does not say why", st.Error)
	}
	if _, err := r.m.Install(ctx, ph.Serial(), wire.InstallRequest{Size: 1}, strings.NewReader("x"), nil); !errors.Is(err, ErrNoChannel) {
		t.Fatalf("install without channel: %v", err)
	}
}
