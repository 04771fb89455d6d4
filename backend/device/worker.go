package device

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"preloadstation/backend/adb"
)

// supervise runs the phone's worker until ctx ends, restarting it after a
// panic: one phone's bug must not take the station (or another phone) down.
func (m *Manager) supervise(ctx context.Context, e *entry) {
	for ctx.Err() == nil {
		err := m.runSafe(ctx, e)
		if ctx.Err() != nil {
			return
		}
		m.opts.Log.Error("phone worker failed; restarting it", "serial", e.info.Serial, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (m *Manager) runSafe(ctx context.Context, e *entry) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return m.serveWorker(ctx, e)
}

// serveWorker is one phone's Serve: whenever the phone is online and its
// facts are missing or stale, read them (under the facts watchdog), retrying
// with backoff while it does not answer.
func (m *Manager) serveWorker(ctx context.Context, e *entry) error {
	backoff := 250 * time.Millisecond
	for {
		m.mu.Lock()
		need := e.info.State == "device" && (e.facts == nil || e.reprobe || e.probeErr != nil)
		m.mu.Unlock()
		var retry <-chan time.Time
		if need {
			f, err := ReadFacts(ctx, e.dev, m.opts.FactsIdle)
			if ctx.Err() != nil {
				return nil
			}
			m.setFacts(e, f, err)
			if err != nil {
				m.opts.Log.Warn("reading phone facts failed", "serial", e.info.Serial, "code", adb.Code(err), "err", err, "retry", backoff)
				retry = time.After(backoff)
				backoff = min(backoff*2, m.opts.RetryMax)
			} else {
				backoff = 250 * time.Millisecond
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-e.kick:
		case <-retry:
		}
	}
}

// SetIdentifier installs a better way to make a phone show itself (the
// agent's full-screen slot label, with Flash to wake the screen); nil
// restores Flash alone.
func (m *Manager) SetIdentifier(f func(ctx context.Context, serial string) error) {
	m.mu.Lock()
	m.identify = f
	m.mu.Unlock()
}

// Identify makes the phone show itself so the operator can find it: the
// identifier SetIdentifier installed, else Flash.
func (m *Manager) Identify(ctx context.Context, serial string) error {
	if _, err := m.entry(serial); err != nil {
		return err
	}
	m.mu.Lock()
	f := m.identify
	m.mu.Unlock()
	if f != nil {
		return f(ctx, serial)
	}
	return m.Flash(ctx, serial)
}

// Flash wakes the phone's screen and flashes its brightness three times
// over plain adb shell, then restores the user's settings.
func (m *Manager) Flash(ctx context.Context, serial string) error {
	e, err := m.entry(serial)
	if err != nil {
		return err
	}
	ctx = adb.WithIdleTimeout(ctx, 10*time.Second)
	r, err := e.dev.Shell(ctx, "settings get system screen_brightness; settings get system screen_brightness_mode")
	if err != nil {
		return err
	}
	r, err = e.dev.Shell(ctx, identifyScript(string(r.Stdout)))
	if err != nil {
		return err
	}
	if r.ExitCode != 0 {
		return fmt.Errorf("identify %s: exit %d: %s", serial, r.ExitCode, r.Stderr)
	}
	return nil
}

// identifyScript builds the flash script; saved is the phone's answer to
// "settings get" for brightness and its mode (quoted: it came from the phone).
func identifyScript(saved string) string {
	lines := strings.Fields(saved)
	var b strings.Builder
	b.WriteString("input keyevent KEYCODE_WAKEUP; settings put system screen_brightness_mode 0")
	for i := 0; i < 3; i++ {
		b.WriteString("; settings put system screen_brightness 255; sleep 0.3; settings put system screen_brightness 5; sleep 0.3")
	}
	if len(lines) == 2 && lines[0] != "null" && lines[1] != "null" {
		b.WriteString("; settings put system screen_brightness " + adb.Quote(lines[0]))
		b.WriteString("; settings put system screen_brightness_mode " + adb.Quote(lines[1]))
	} else {
		b.WriteString("; settings put system screen_brightness 128")
	}
	return b.String()
}
