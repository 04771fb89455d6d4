package adb

import (
	"context"
	"io"
	"sync/atomic"
	"time"
)

// Watchdog cancels a context when nothing has made progress for a while. It
// is the station's "no progress" guard: a total timeout would kill a slow but
// moving 2 GB push, a watchdog only kills what has stopped moving.
//
// Use it for any phone operation:
//
//	ctx, wd := adb.NewWatchdog(ctx, 30*time.Second, stallErr)
//	defer wd.Stop()
//	… wd.Progress() whenever a byte moves (or wrap with wd.Reader / wd.Writer) …
//
// When it fires, context.Cause(ctx) is the cause passed to NewWatchdog.
type Watchdog struct {
	timeout time.Duration
	last    atomic.Int64 // unix nanos of the last progress
	timer   *time.Timer
	cancel  context.CancelCauseFunc
	cause   error
	fired   atomic.Bool
}

// NewWatchdog returns a child context that is cancelled with cause when
// Progress has not been called for timeout. timeout <= 0 disables the watchdog
// (the context then only ends with its parent or Stop).
func NewWatchdog(parent context.Context, timeout time.Duration, cause error) (context.Context, *Watchdog) {
	ctx, cancel := context.WithCancelCause(parent)
	w := &Watchdog{timeout: timeout, cancel: cancel, cause: cause}
	w.last.Store(time.Now().UnixNano())
	if timeout > 0 {
		w.timer = time.AfterFunc(timeout, w.check)
	}
	return ctx, w
}

// check runs on the timer: fire if idle too long, else sleep for the rest.
func (w *Watchdog) check() {
	idle := time.Since(time.Unix(0, w.last.Load()))
	if idle >= w.timeout {
		w.fired.Store(true)
		w.cancel(w.cause)
		return
	}
	w.timer.Reset(w.timeout - idle)
}

// Progress records that something moved.
func (w *Watchdog) Progress() { w.last.Store(time.Now().UnixNano()) }

// Fired reports whether the watchdog cancelled the context.
func (w *Watchdog) Fired() bool { return w.fired.Load() }

// Stop releases the watchdog and cancels its context.
func (w *Watchdog) Stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
	w.cancel(context.Canceled)
}

// Reader wraps r so every successful read counts as progress.
func (w *Watchdog) Reader(r io.Reader) io.Reader { return progressReader{r, w} }

// Writer wraps wr so every successful write counts as progress.
func (w *Watchdog) Writer(wr io.Writer) io.Writer { return progressWriter{wr, w} }

type progressReader struct {
	r io.Reader
	w *Watchdog
}

func (p progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.w.Progress()
	}
	return n, err
}

type progressWriter struct {
	wr io.Writer
	w  *Watchdog
}

func (p progressWriter) Write(b []byte) (int, error) {
	n, err := p.wr.Write(b)
	if n > 0 {
		p.w.Progress()
	}
	return n, err
}

type idleKey struct{}

// WithIdleTimeout overrides, for calls made with the returned context, how
// long an adb call may go without moving a byte before it fails with
// ErrStalled. 0 disables the watchdog (the context still cancels). Use it for
// operations that are legitimately silent, like a long install commit.
func WithIdleTimeout(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, idleKey{}, d)
}

func idleFrom(ctx context.Context, def time.Duration) time.Duration {
	if d, ok := ctx.Value(idleKey{}).(time.Duration); ok {
		return d
	}
	return def
}
