package station

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A failing or panicking part is restarted with backoff while its sibling
// keeps running, and supervise returns once the context ends.
func TestSuperviseRestartsOnlyTheFailedPart(t *testing.T) {
	var logBuf bytes.Buffer
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		logMu.Lock()
		defer logMu.Unlock()
		return logBuf.Write(p)
	}), nil))
	ctx, cancel := context.WithCancel(context.Background())
	b := backoff{Min: 10 * time.Millisecond, Max: 40 * time.Millisecond, Healthy: time.Hour}

	var flakyRuns, steadyRuns atomic.Int32
	var starts []time.Time
	var startsMu sync.Mutex
	flaky := child{"flaky", func(ctx context.Context) error {
		startsMu.Lock()
		starts = append(starts, time.Now())
		startsMu.Unlock()
		switch flakyRuns.Add(1) {
		case 1:
			return errors.New("boom")
		case 2:
			panic("kaboom")
		case 3:
			return nil // returning early while the station runs is a failure too
		}
		<-ctx.Done()
		return ctx.Err()
	}}
	steady := child{"steady", func(ctx context.Context) error {
		steadyRuns.Add(1)
		<-ctx.Done()
		return ctx.Err()
	}}
	var wg sync.WaitGroup
	for _, c := range []child{flaky, steady} {
		wg.Add(1)
		go func() { defer wg.Done(); supervise(ctx, log, b, c) }()
	}
	deadline := time.Now().Add(5 * time.Second)
	for flakyRuns.Load() < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("flaky part ran %d times", flakyRuns.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("supervise did not return after cancel")
	}
	if n := steadyRuns.Load(); n != 1 {
		t.Errorf("steady part started %d times, want 1", n)
	}
	startsMu.Lock()
	defer startsMu.Unlock()
	// Waits double: 10 ms, 20 ms, 40 ms.
	for i, min := range []time.Duration{10, 20, 40} {
		if gap := starts[i+1].Sub(starts[i]); gap < min*time.Millisecond {
			t.Errorf("restart %d after %s, want at least %d ms", i+1, gap, min)
		}
	}
	logMu.Lock()
	defer logMu.Unlock()
	for _, want := range []string{"boom", "kaboom", "returned early"} {
		if !strings.Contains(logBuf.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logBuf.String())
		}
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
