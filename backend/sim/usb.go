package sim

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// MB is the unit every rate in the sim's flags and docs uses (10^6 bytes, as
// USB and storage vendors count).
const MB = 1_000_000

// USBModel is what the sim charges for moving bytes and installing packages.
// Zero values mean "unlimited"/"instant", which functional tests use.
type USBModel struct {
	HubBytesPerSec   float64       // shared by every phone on one hub, both directions
	PhoneBytesPerSec float64       // one phone's link, both directions
	CommitFixed      time.Duration // per install: parse, verify, dexopt set-up, broadcasts
	CommitPerMB      time.Duration // per MB of APK: signature check, extraction, dexopt
}

// DefaultUSB is the realistic model; see docs/sim.md for where the numbers come from.
func DefaultUSB() USBModel {
	return USBModel{
		HubBytesPerSec:   40 * MB,
		PhoneBytesPerSec: 38 * MB,
		CommitFixed:      1500 * time.Millisecond,
		CommitPerMB:      40 * time.Millisecond,
	}
}

// CommitTime is how long one install holds a phone's package manager lock.
func (m USBModel) CommitTime(size int64, slow float64) time.Duration {
	d := m.CommitFixed + time.Duration(float64(m.CommitPerMB)*float64(size)/MB)
	if slow > 1 {
		d = time.Duration(float64(d) * slow)
	}
	return d
}

// bucket is a token bucket kept as "the time the link is busy until": a
// transfer of n bytes reserves n/rate seconds after the previous reservation,
// so phones sharing a hub are served in arrival order at the hub's rate.
type bucket struct {
	mu    sync.Mutex
	rate  float64 // bytes per second; <= 0 is unlimited
	busy  time.Time
	burst time.Duration
}

// newBucket makes a bucket that credits gaps shorter than 100 ms. Why: the
// real figures (38 MB/s per phone) are end-to-end adb numbers that already
// include adb's one-write-in-flight round trips; the sim's own round trips
// (loopback, a busy CPU) come on top, and without this credit they would be
// charged twice. A longer gap is an idle link and earns nothing, so a
// transfer never starts ahead of the rate.
func newBucket(rate float64) *bucket {
	return &bucket{rate: rate, burst: 100 * time.Millisecond}
}

func (b *bucket) setRate(rate float64) {
	b.mu.Lock()
	b.rate = rate
	b.mu.Unlock()
}

// reserve books n bytes and returns when they will have passed.
func (b *bucket) reserve(now time.Time, n int) time.Time {
	if b == nil {
		return now
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.rate <= 0 {
		return now
	}
	if b.busy.Before(now.Add(-b.burst)) {
		b.busy = now // idle: start at the rate, no credit
	}
	b.busy = b.busy.Add(time.Duration(float64(n) / b.rate * float64(time.Second)))
	return b.busy
}

// wait charges n bytes to every bucket and sleeps until the slowest has passed them.
func wait(ctx context.Context, n int, bs ...*bucket) error {
	now := time.Now()
	until := now
	for _, b := range bs {
		if t := b.reserve(now, n); t.After(until) {
			until = t
		}
	}
	d := until.Sub(now)
	if d <= time.Millisecond {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// usbConn is the phone's end of the "cable": every byte in either direction
// passes the hub's and the phone's bucket, and counts towards a cut fault.
type usbConn struct {
	net.Conn
	ctx     context.Context
	hub     *bucket
	phone   *bucket
	read    atomic.Int64
	cutAt   func() int64 // bytes from the host after which the cable is cut; <= 0 never
	onCut   func()
	written atomic.Int64
}

func (c *usbConn) Read(p []byte) (int, error) {
	// Read in USB-sized slices so the throttle is smooth, not 1 MiB lumps.
	if len(p) > 64<<10 {
		p = p[:64<<10]
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		total := c.read.Add(int64(n))
		if cut := c.cutAt(); cut > 0 && total >= cut {
			c.onCut()
			c.Conn.Close()
			return 0, net.ErrClosed
		}
		if werr := wait(c.ctx, n, c.hub, c.phone); werr != nil {
			return 0, werr
		}
	}
	return n, err
}

func (c *usbConn) Write(p []byte) (int, error) {
	const chunk = 64 << 10
	var done int
	for done < len(p) {
		n := min(chunk, len(p)-done)
		if err := wait(c.ctx, n, c.hub, c.phone); err != nil {
			return done, err
		}
		m, err := c.Conn.Write(p[done : done+n])
		done += m
		c.written.Add(int64(m))
		if err != nil {
			return done, err
		}
	}
	return done, nil
}
