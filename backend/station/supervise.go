package station

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"
)

// child is one long-lived part of the station.
type child struct {
	name  string
	serve func(ctx context.Context) error
}

// backoff bounds how fast a failing child is restarted.
type backoff struct {
	Min, Max time.Duration
	// Healthy: a child that ran this long before failing starts again at Min.
	Healthy time.Duration
}

// supervise runs c until ctx ends, restarting it after a failure or a panic
// with exponential backoff. A child returning while ctx is live is a failure
// too: every child is meant to run as long as the station.
func supervise(ctx context.Context, log *slog.Logger, b backoff, c child) {
	wait := b.Min
	for {
		start := time.Now()
		err := runSafe(ctx, c)
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) >= b.Healthy {
			wait = b.Min
		}
		log.Error("station: part stopped; restarting it / 组件已停止，正在重启", "part", c.name, "err", err, "in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(wait*2, b.Max)
	}
}

func runSafe(ctx context.Context, c child) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s panicked: %v\n%s", c.name, r, debug.Stack())
		}
	}()
	err = c.serve(ctx)
	if err == nil && ctx.Err() == nil {
		err = fmt.Errorf("%s returned early", c.name)
	}
	return err
}
