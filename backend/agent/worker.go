package agent

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"preloadstation/backend/adb"
	"preloadstation/backend/agent/wire"
)

// Device is what a worker needs from one phone over adb; *adb.Device has it.
type Device interface {
	Shell(ctx context.Context, cmd string) (adb.ShellResult, error)
	Push(ctx context.Context, src io.Reader, size int64, remote string, mode os.FileMode, mtime time.Time, progress func(sent int64)) error
	Forward(ctx context.Context, remote string) (localPort int, err error)
	RemoveForward(ctx context.Context, localPort int) error
}

// Where the agent lives on the phone.
const (
	RemoteBinary  = "/data/local/tmp/preload-agent"
	RemoteKey     = "/data/local/tmp/preload-agent.key"
	RemoteHashTag = "/data/local/tmp/preload-agent.sha256" // for phones without sha256sum
)

// Phone states a worker reports.
const (
	StatePreparing  = "preparing"  // reading the ABI, checking the pushed build
	StatePushing    = "pushing"    // pushing the agent build
	StateConnecting = "connecting" // forward + handshake
	StateReady      = "ready"      // channel up
	StateRetrying   = "retrying"   // channel down, rebuilding
	StateFallback   = "fallback"   // the agent cannot run: direct ADB installs
)

// PhoneState is one phone's agent/channel state, for the UI (events.AgentState).
type PhoneState struct {
	Serial     string    `json:"serial"`
	State      string    `json:"state"`
	LocalPort  int       `json:"localPort"` // the adb-chosen forward on this PC
	AgentBuild string    `json:"agentBuild"`
	Fallback   bool      `json:"fallback"` // installs go straight over adb
	Error      string    `json:"error,omitempty"`
	Message    string    `json:"message,omitempty"`
	MessageZH  string    `json:"messageZh,omitempty"`
	Channels   int       `json:"channels"` // how many channels were built during this stay
	Since      time.Time `json:"since"`
	ReadyAfter float64   `json:"readyAfterMs,omitempty"` // plug (attach) to first channel ready
}

// errFallback means the agent cannot run on this phone.
type errFallback struct{ err error }

func (e errFallback) Error() string { return "agent cannot run: " + e.err.Error() }
func (e errFallback) Unwrap() error { return e.err }

// worker keeps one phone's channel up for as long as the phone is attached.
type worker struct {
	m        *Manager
	serial   string
	dev      Device
	log      *slog.Logger
	attached time.Time

	build    Build
	verified bool   // the phone holds build (hash checked or pushed this stay)
	written  []byte // secret last written to the key file
	port     int    // forwarded local port, 0 if none
	failures int    // consecutive push/start failures
	probed   bool   // the pushed build ran (--version) on this phone

	mu     sync.Mutex
	state  PhoneState
	ch     *Channel
	ready  chan struct{} // closed and replaced when a channel comes up
	opened bool          // page opened on the phone this stay
	page   phonePage
}

// phonePage is the per-phone part of the page state.
type phonePage struct {
	slot     string
	identify bool
	installs []wire.InstallView
	config   *wire.ConfigResult
}

func newWorker(m *Manager, serial string, dev Device) *worker {
	w := &worker{m: m, serial: serial, dev: dev, log: m.log.With("serial", serial), attached: time.Now(), ready: make(chan struct{})}
	w.state = PhoneState{Serial: serial, State: StatePreparing, Since: w.attached}
	return w
}

func (w *worker) setState(f func(*PhoneState)) {
	w.mu.Lock()
	f(&w.state)
	st := w.state
	w.mu.Unlock()
	w.m.emit(st)
}

func (w *worker) snapshot() PhoneState {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state
}

func (w *worker) channel() *Channel {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ch
}

// Serve keeps the phone's channel up until ctx ends. It returns only after
// removing the phone's forward (best effort: the phone may be gone).
func (w *worker) Serve(ctx context.Context) error {
	defer func() {
		if w.port != 0 {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			w.dev.RemoveForward(rctx, w.port)
			cancel()
		}
	}()
	backoff := w.m.opts.RetryMin
	for {
		start := time.Now()
		err := w.once(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var fb errFallback
		if errors.As(err, &fb) {
			w.log.Warn("agent cannot run on this phone: direct ADB installs", "err", err)
			w.setState(func(s *PhoneState) {
				s.State, s.Fallback, s.Error = StateFallback, true, err.Error()
				s.Message = "The agent cannot run on this phone; apps are installed directly over ADB."
				s.MessageZH = "此手机无法运行代理程序，应用将直接通过 ADB 安装。"
			})
			<-ctx.Done()
			return ctx.Err()
		}
		if time.Since(start) > 10*time.Second {
			backoff = w.m.opts.RetryMin // it was up for a while: rebuild fast
		}
		w.log.Info("channel down, rebuilding", "err", err, "in", backoff)
		w.setState(func(s *PhoneState) { s.State, s.Error = StateRetrying, errText(err) })
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff = min(backoff*2, w.m.opts.RetryMax)
	}
}

// once builds one channel and runs it until it drops.
func (w *worker) once(ctx context.Context) error {
	if !w.verified {
		if err := w.prepare(ctx); err != nil {
			return err
		}
	}
	key, err := w.m.opts.Key(ctx)
	if err != nil {
		return fmt.Errorf("station key: %w", err)
	}
	secret := wire.DeriveSecret(key, w.serial)
	if !bytes.Equal(secret, w.written) {
		// 0600: readable by the shell user (the agent) only.
		hexs := []byte(hex.EncodeToString(secret) + "\n")
		if err := w.dev.Push(ctx, bytes.NewReader(hexs), int64(len(hexs)), RemoteKey, 0o600, time.Now(), nil); err != nil {
			return w.pushFailed(fmt.Errorf("write key file: %w", err))
		}
		w.written = secret
	}
	w.setState(func(s *PhoneState) { s.State = StateConnecting })
	if w.port == 0 {
		p, err := w.dev.Forward(ctx, fmt.Sprintf("tcp:%d", w.m.opts.AgentPort))
		if err != nil {
			return fmt.Errorf("adb forward: %w", err)
		}
		w.port = p
		w.setState(func(s *PhoneState) { s.LocalPort = p })
	}
	addr := fmt.Sprintf("127.0.0.1:%d", w.port)
	conn, info, err := Dial(ctx, addr, secret, w.m.opts.HandshakeTimeout)
	if errors.Is(err, wire.ErrNotReady) {
		// Nothing listens on the phone (first plug, or the agent died): start it.
		if serr := w.start(ctx); serr != nil {
			return serr
		}
		conn, info, err = w.dialUntilReady(ctx, addr, secret)
	}
	switch {
	case err == nil:
	case errors.Is(err, ErrForwardGone):
		w.dropForward(ctx)
		return err
	case errors.Is(err, wire.ErrVersionMismatch):
		w.log.Warn("agent speaks another protocol version: pushing this station's build", "agent", info.Build, "err", err)
		w.verified = false
		w.kill(ctx)
		return err
	case errors.Is(err, wire.ErrAuth), errors.Is(err, wire.ErrRejected):
		w.log.Warn("handshake refused: rewriting the key file", "err", err)
		w.written = nil
		return err
	case errors.Is(err, wire.ErrNotReady):
		// Started but never listened, or the forward is dead (the phone
		// dropped and came back): make a new forward, and count it.
		w.dropForward(ctx)
		return w.pushFailed(err)
	default:
		w.dropForward(ctx)
		return err
	}
	w.failures = 0
	ch := newChannel(ctx, w.serial, conn, info, w.m.opts.Heartbeat, w.m.opts.Timeout, w.m.configureFrom(w.serial))
	w.mu.Lock()
	w.ch = ch
	first := w.state.Channels == 0
	w.state.State, w.state.Error, w.state.AgentBuild, w.state.Fallback = StateReady, "", info.Build, false
	w.state.Message, w.state.MessageZH = "", ""
	w.state.Channels++
	if first {
		w.state.ReadyAfter = float64(time.Since(w.attached).Microseconds()) / 1000
	}
	close(w.ready)
	w.ready = make(chan struct{})
	st := w.state
	w.mu.Unlock()
	w.m.emit(st)
	w.log.Info("channel ready", "port", w.port, "agent", info.Build, "channels", st.Channels)

	serveDone := make(chan error, 1)
	go func() { serveDone <- ch.s.Serve(ctx) }()
	w.m.pushPage(w)
	w.maybeOpenPage(ctx, ch)
	err = <-serveDone
	ch.wg.Wait()
	w.mu.Lock()
	if w.ch == ch {
		w.ch = nil
	}
	w.mu.Unlock()
	return fmt.Errorf("channel: %w", err)
}

func (w *worker) dialUntilReady(ctx context.Context, addr string, secret []byte) (net.Conn, wire.AgentInfo, error) {
	deadline := time.Now().Add(w.m.opts.StartWait)
	delay := 20 * time.Millisecond
	for {
		conn, info, err := Dial(ctx, addr, secret, w.m.opts.HandshakeTimeout)
		if !errors.Is(err, wire.ErrNotReady) || time.Now().After(deadline) || ctx.Err() != nil { // ErrForwardGone too: no use waiting
			return conn, info, err
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return nil, info, ctx.Err()
		}
		delay = min(delay*2, 250*time.Millisecond)
	}
}

func (w *worker) dropForward(ctx context.Context) {
	if w.port != 0 {
		w.dev.RemoveForward(ctx, w.port)
		w.port = 0
		w.setState(func(s *PhoneState) { s.LocalPort = 0 })
	}
}

// prepare picks the build for the phone's ABI and pushes it unless the phone
// already holds exactly that build (hash compare).
func (w *worker) prepare(ctx context.Context) error {
	w.setState(func(s *PhoneState) { s.State = StatePreparing })
	res, err := w.dev.Shell(ctx, "getprop ro.product.cpu.abi")
	if err != nil {
		return fmt.Errorf("read ABI: %w", err)
	}
	abi := strings.TrimSpace(string(res.Stdout))
	b, err := w.m.opts.Builds(abi)
	if err != nil {
		return errFallback{err}
	}
	w.build = b
	if have := w.remoteHash(ctx); have == b.SHA256 {
		w.verified = true
		return nil
	}
	w.setState(func(s *PhoneState) { s.State = StatePushing })
	w.kill(ctx) // a stale agent must not keep the port
	t0 := time.Now()
	data, err := b.Open()
	if err != nil {
		return w.pushFailed(fmt.Errorf("open agent build %s: %w", b.Name, err))
	}
	err = w.dev.Push(ctx, data, b.Size, RemoteBinary, 0o755, time.Now(), nil)
	data.Close()
	if err != nil {
		return w.pushFailed(fmt.Errorf("push agent: %w", err))
	}
	tag := []byte(b.SHA256 + "\n")
	if err := w.dev.Push(ctx, bytes.NewReader(tag), int64(len(tag)), RemoteHashTag, 0o644, time.Now(), nil); err != nil {
		return w.pushFailed(fmt.Errorf("push agent hash: %w", err))
	}
	w.probed = false
	w.log.Info("agent pushed", "build", b.Name, "bytes", b.Size, "took", time.Since(t0).Round(time.Millisecond))
	w.verified = true
	return nil
}

// remoteHash is the SHA-256 of the agent on the phone: sha256sum where the
// phone has it, else the tag file written with the last push.
func (w *worker) remoteHash(ctx context.Context) string {
	res, err := w.dev.Shell(ctx, "sha256sum "+RemoteBinary)
	if err == nil && res.ExitCode == 0 {
		if f := strings.Fields(string(res.Stdout)); len(f) > 0 && len(f[0]) == 64 {
			return f[0]
		}
	}
	res, err = w.dev.Shell(ctx, "cat "+RemoteHashTag)
	if err == nil && res.ExitCode == 0 {
		return strings.TrimSpace(string(res.Stdout))
	}
	return ""
}

// start launches the agent detached, so it outlives the adb shell. A
// backgrounded command always "succeeds", so the build is first run once in
// the foreground with --version: that is where "Exec format error" or
// "Permission denied" shows.
func (w *worker) start(ctx context.Context) error {
	if !w.probed {
		res, err := w.dev.Shell(ctx, RemoteBinary+" --version")
		if err != nil {
			return fmt.Errorf("run agent: %w", err)
		}
		out := strings.TrimSpace(string(res.Stdout) + string(res.Stderr))
		if res.ExitCode != 0 { // 126 exec format error / permission denied, 127 not found
			return w.pushFailed(fmt.Errorf("run agent: exit %d: %s", res.ExitCode, out))
		}
		w.probed = true
	}
	cmd := fmt.Sprintf("nohup %s serve --port %d --http-port %d --key-file %s --heartbeat %s --timeout %s >/dev/null 2>&1 &",
		RemoteBinary, w.m.opts.AgentPort, w.m.opts.PagePort, RemoteKey, w.m.opts.Heartbeat, w.m.opts.Timeout)
	res, err := w.dev.Shell(ctx, cmd)
	if err != nil {
		return fmt.Errorf("start agent: %w", err)
	}
	if res.ExitCode != 0 {
		return w.pushFailed(fmt.Errorf("start agent: exit %d: %s", res.ExitCode, strings.TrimSpace(string(res.Stdout)+string(res.Stderr))))
	}
	return nil
}

func (w *worker) kill(ctx context.Context) {
	w.dev.Shell(ctx, "pkill preload-agent")
}

// pushFailed counts failures that mean the phone refuses to hold or run the
// agent; after a few the phone is served by direct ADB installs.
func (w *worker) pushFailed(err error) error {
	w.failures++
	if w.failures >= w.m.opts.FallbackAfter {
		return errFallback{err}
	}
	return err
}

func (w *worker) maybeOpenPage(ctx context.Context, ch *Channel) {
	if !w.m.opts.OpenPage {
		return
	}
	w.mu.Lock()
	opened := w.opened
	w.opened = true
	w.mu.Unlock()
	if opened {
		return
	}
	base := w.m.pageBase(ctx)
	if base.Configured || !base.AllowConfig {
		return
	}
	go func() {
		if err := ch.OpenPage(ctx); err != nil {
			w.log.Warn("could not open the page on the phone", "err", err)
		}
	}()
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
