package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"preloadstation/backend/agent/wire"
)

// Channel is the station's end of one phone's authenticated channel.
type Channel struct {
	serial string
	s      *wire.Session
	info   wire.AgentInfo

	onConfigure func(ctx context.Context, form wire.ConfigForm) wire.ConfigResult
	ctx         context.Context // the worker's: bounds configure calls

	wg sync.WaitGroup // configure requests in flight; the worker waits for them
	// stream is held while one APK's Data frames go out: Data frames carry
	// no call id, so only one stream may be on the wire. It is released at the
	// last byte, not at the reply, so the next APK streams while the phone's
	// package manager commits this one (Android commits one at a time but
	// receives the next meanwhile), the same two stages as the exec path.
	stream  chan struct{} // a token of capacity 1
	mu      sync.Mutex
	streams []*streamProgress // installs awaiting their reply, in stream order
}

// streamProgress routes the agent's progress notes to one install. The agent
// reads the streams in order and ends each complete one with a note at Size,
// so a note belongs to the oldest stream that has not had its last note.
type streamProgress struct {
	size int64
	done bool
	f    func(received int64)
}

// ErrForwardGone means nothing listens on the local port: adb dropped the
// forward (the phone went away). Make a new one; the agent may be fine.
var ErrForwardGone = errors.New("forward is gone")

// Dial opens a channel to the agent behind addr (the phone's forwarded local
// port): readiness byte, version, mutual authentication.
func Dial(ctx context.Context, addr string, secret []byte, timeout time.Duration) (net.Conn, wire.AgentInfo, error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, wire.AgentInfo{}, fmt.Errorf("%w: %v", ErrForwardGone, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	info, err := wire.ClientHandshake(conn, secret, timeout, nil)
	if err != nil {
		conn.Close()
		return nil, info, err
	}
	return conn, info, nil
}

func newChannel(ctx context.Context, serial string, conn net.Conn, info wire.AgentInfo, heartbeat, timeout time.Duration,
	onConfigure func(context.Context, wire.ConfigForm) wire.ConfigResult) *Channel {
	c := &Channel{serial: serial, info: info, onConfigure: onConfigure, ctx: ctx, stream: make(chan struct{}, 1)}
	c.s = wire.NewSession(conn, c, heartbeat, timeout)
	return c
}

// Serial is the phone's serial.
func (c *Channel) Serial() string { return c.serial }

// AgentBuild is the agent's build string from the handshake.
func (c *Channel) AgentBuild() string { return c.info.Build }

// Done is closed when the channel is down.
func (c *Channel) Done() <-chan struct{} { return c.s.Done() }

// Close tears the channel down; the phone's worker builds a new one.
func (c *Channel) Close() error { return c.s.Close() }

// HandleMsg serves the agent's requests and notifications.
func (c *Channel) HandleMsg(s *wire.Session, e wire.Envelope) {
	switch e.Type {
	case wire.TypeProgress:
		var p wire.Progress
		if json.Unmarshal(e.Body, &p) == nil {
			if f := c.progressFor(p); f != nil {
				f(p.Received)
			}
		}
	case wire.TypeConfigure:
		var form wire.ConfigForm
		if err := json.Unmarshal(e.Body, &form); err != nil {
			s.Reply(e, nil, errors.New("bad configuration form"))
			return
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			res := wire.ConfigResult{State: "error", Message: "This station does not take configuration from phones.",
				MessageZH: "此工作站不接受从手机配置。"}
			if c.onConfigure != nil {
				res = c.onConfigure(c.ctx, form)
			}
			s.Reply(e, res, nil)
		}()
	default:
		if e.ID != 0 {
			s.Reply(e, nil, fmt.Errorf("unknown request %q", e.Type))
		}
	}
}

// HandleData: the agent never streams to the station.
func (c *Channel) HandleData(*wire.Session, []byte) error {
	return fmt.Errorf("%w: data frame from the agent", wire.ErrUnexpected)
}

// Facts asks the agent for the phone's packages, storage and battery.
func (c *Channel) Facts(ctx context.Context) (wire.Facts, error) {
	var f wire.Facts
	err := c.s.Call(ctx, wire.TypeFacts, nil, &f, nil)
	return f, err
}

// Install streams exactly req.Size bytes of r to the agent, which pipes them
// into the package manager. progress (may be nil) gets the bytes the agent has
// handed on. A package-manager failure is a *wire.RemoteError carrying its
// "Failure [INSTALL_FAILED_…]" text; the channel stays up.
//
// Installs may be called concurrently: their streams go out one after the
// other, and a stream starts as soon as the previous one's last byte is sent,
// while that one is still committing on the phone.
func (c *Channel) Install(ctx context.Context, req wire.InstallRequest, r io.Reader, progress func(received int64)) (wire.InstallResult, error) {
	select {
	case c.stream <- struct{}{}:
	case <-ctx.Done():
		return wire.InstallResult{}, ctx.Err()
	case <-c.s.Done():
		return wire.InstallResult{}, fmt.Errorf("%s: %w", wire.TypeInstall, wire.ErrClosed)
	}
	var unlockOnce sync.Once
	unlock := func() { unlockOnce.Do(func() { <-c.stream }) }
	defer unlock() // the request could not be sent: before never ran
	sp := &streamProgress{size: req.Size, f: progress}
	c.mu.Lock()
	c.streams = append(c.streams, sp)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.streams = slices.DeleteFunc(c.streams, func(x *streamProgress) bool { return x == sp })
		c.mu.Unlock()
	}()

	var res wire.InstallResult
	err := c.s.Call(ctx, wire.TypeInstall, req, &res, func() (err error) {
		defer unlock() // last byte sent (or the stream aborted): the next APK may stream
		defer func() {
			if err != nil { // aborted: no note at size will come, route none here
				c.mu.Lock()
				sp.done = true
				c.mu.Unlock()
			}
		}()
		bp := chunkPool.Get().(*[]byte)
		defer chunkPool.Put(bp)
		buf := *bp
		// A write the phone does not take (a hung phone) blocks in the
		// conn: once ctx ends, give it writeGrace, then close the channel so
		// the install ends now and not at the heartbeat timeout. The
		// agent manager opens a new channel.
		var writing atomic.Int64 // the write in progress (count), 0 when none
		stop := context.AfterFunc(ctx, func() {
			w := writing.Load()
			if w == 0 {
				return
			}
			time.AfterFunc(writeGrace, func() {
				if writing.Load() == w {
					c.s.Close()
				}
			})
		})
		defer stop()
		var sent int64
		var writes int64
		for sent < req.Size {
			if err := ctx.Err(); err != nil {
				c.s.Notify(wire.TypeAbort, nil)
				return err
			}
			n, err := io.ReadFull(r, buf[:min(int64(len(buf)), req.Size-sent)])
			if n > 0 {
				writes++
				writing.Store(writes)
				werr := c.s.WriteData(buf[:n])
				writing.Store(0)
				if werr != nil {
					if ctx.Err() != nil {
						return fmt.Errorf("stream apk: the phone took no bytes after the install was stopped: %w", context.Cause(ctx))
					}
					return fmt.Errorf("stream apk: %w", werr)
				}
				sent += int64(n)
			}
			if err != nil {
				c.s.Notify(wire.TypeAbort, nil)
				return fmt.Errorf("read apk after %d of %d bytes: %w", sent, req.Size, err)
			}
		}
		return nil
	})
	return res, err
}

// writeGrace is how long a blocked stream write may go on after its install
// was stopped before the channel is closed under it.
const writeGrace = time.Second

// chunkPool holds the APK stream buffers: only the streams copying right
// now hold one (at most one per phone), not every channel.
var chunkPool = sync.Pool{New: func() any { b := make([]byte, wire.DataChunk); return &b }}

// progressFor picks the install a progress note belongs to.
func (c *Channel) progressFor(p wire.Progress) func(int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, sp := range c.streams {
		if sp.done {
			continue
		}
		if sp.size != p.Size {
			return nil // not the stream we expect (a note left over from an aborted one)
		}
		if p.Received >= sp.size {
			sp.done = true
		}
		return sp.f
	}
	return nil
}

// SetPage sends the phone page's whole state.
func (c *Channel) SetPage(ps wire.PageState) error { return c.s.Notify(wire.TypePage, ps) }

// OpenPage opens the agent's page in the phone's browser.
func (c *Channel) OpenPage(ctx context.Context) error {
	return c.s.Call(ctx, wire.TypeOpenPage, nil, nil, nil)
}

// Echo sends body to the agent and returns what came back: a round trip
// through the phone, for liveness checks and latency figures.
func (c *Channel) Echo(ctx context.Context, body string) (string, error) {
	var out string
	err := c.s.Call(ctx, wire.TypeEcho, body, &out, nil)
	return out, err
}
