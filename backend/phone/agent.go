package phone

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"preloadstation/backend/agent/wire"
)

// Config is one agent's settings.
type Config struct {
	ControlAddr string // channel listener on the phone's loopback
	HTTPAddr    string // page listener on the phone's loopback
	KeyFile     string
	Heartbeat   time.Duration
	Timeout     time.Duration
	Log         *slog.Logger
}

// Agent serves the station's channel and the on-phone page.
type Agent struct {
	osys PhoneOS
	cfg  Config
	log  *slog.Logger
	seen *wire.NonceSet
	inst *installer
	page *pageHub

	mu      sync.Mutex
	current *wire.Session // the last authenticated channel; the page talks through it
}

// New builds an agent; Serve runs it.
func New(osys PhoneOS, cfg Config) *Agent {
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 2 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 4 * cfg.Heartbeat
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a := &Agent{osys: osys, cfg: cfg, log: cfg.Log, seen: wire.NewNonceSet(4096)}
	a.inst = &installer{osys: osys, log: cfg.Log}
	a.page = newPageHub(Version)
	return a
}

// Serve listens for the station and for the page until ctx ends.
func (a *Agent) Serve(ctx context.Context) error {
	ln, err := a.osys.Listen(a.cfg.ControlAddr)
	if err != nil {
		return fmt.Errorf("listen for the station on %s: %w", a.cfg.ControlAddr, err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopLn := context.AfterFunc(ctx, func() { ln.Close() })
	defer stopLn()

	if a.cfg.HTTPAddr != "" {
		hl, err := a.osys.Listen(a.cfg.HTTPAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen for the page on %s: %w", a.cfg.HTTPAddr, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.servePage(ctx, hl); err != nil && ctx.Err() == nil {
				a.log.Error("page server stopped", "err", err)
			}
		}()
	}
	a.log.Info("agent listening", "version", Version, "channel", a.cfg.ControlAddr, "page", a.cfg.HTTPAddr)
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.serveConn(ctx, conn)
		}()
	}
}

func (a *Agent) secret() ([]byte, error) {
	b, err := a.osys.ReadFile(a.cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	k, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(k) < 16 {
		return nil, fmt.Errorf("key file %s is not a hex secret", a.cfg.KeyFile)
	}
	return k, nil
}

// serveConn authenticates one station connection and runs it as the current
// channel. Anything wrong before the handshake completes is logged and the
// connection dropped; the agent keeps serving.
func (a *Agent) serveConn(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	remote := conn.RemoteAddr().String()
	if err := wire.ServerHandshake(conn, Version, a.secret, a.seen, a.cfg.Timeout); err != nil {
		a.log.Warn("channel rejected", "remote", remote, "reason", rejectReason(err), "err", err)
		return
	}
	// Requests die with their channel: an install whose station is gone
	// must not keep the package manager waiting.
	hctx, hcancel := context.WithCancel(ctx)
	defer hcancel()
	h := &chanHandler{a: a, ctx: hctx}
	s := wire.NewSession(conn, h, a.cfg.Heartbeat, a.cfg.Timeout)
	a.mu.Lock()
	prev := a.current
	a.current = s
	a.mu.Unlock()
	if prev != nil {
		prev.Close() // one station per phone: the newest channel wins
	}
	a.page.setConnected(true)
	a.log.Info("channel up", "remote", remote)
	err := s.Serve(ctx)
	h.dropUpload(fmt.Errorf("channel closed: %w", err))
	hcancel()
	h.wg.Wait()
	a.mu.Lock()
	if a.current == s {
		a.current = nil
		a.page.setConnected(false)
	}
	a.mu.Unlock()
	if ctx.Err() == nil {
		a.log.Warn("channel down", "remote", remote, "err", err)
	}
}

func rejectReason(err error) string {
	switch {
	case errors.Is(err, wire.ErrVersionMismatch):
		return "wrong protocol version"
	case errors.Is(err, wire.ErrAuth),
		errors.Is(err, wire.ErrRejected) && strings.Contains(err.Error(), "key"):
		return "wrong key"
	case errors.Is(err, wire.ErrReplay):
		return "replayed nonce"
	case errors.Is(err, wire.ErrFrameTooLarge):
		return "oversized frame"
	case errors.Is(err, wire.ErrTruncated):
		return "truncated frame"
	case errors.Is(err, wire.ErrUnexpected):
		return "frame out of order (before the handshake)"
	default:
		return "handshake failed"
	}
}

// call sends a request to the station over the current channel.
func (a *Agent) call(ctx context.Context, typ string, body, out any) error {
	a.mu.Lock()
	s := a.current
	a.mu.Unlock()
	if s == nil {
		return errNoStation
	}
	return s.Call(ctx, typ, body, out, nil)
}

var errNoStation = errors.New("the station is not connected")

// chanHandler handles one channel's messages on its reader goroutine.
type chanHandler struct {
	a   *Agent
	ctx context.Context

	mu sync.Mutex
	up *upload
	wg sync.WaitGroup // request goroutines; serveConn waits for them
}

// spawn runs f for one request; the channel's teardown waits for it.
func (h *chanHandler) spawn(f func()) {
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		f()
	}()
}

// upload is the APK stream being piped into the package manager.
type upload struct {
	req      wire.InstallRequest
	pw       *io.PipeWriter
	received int64
	lastNote time.Time
	dead     bool // the installer gave up: swallow the rest of the stream
}

func (h *chanHandler) HandleMsg(s *wire.Session, e wire.Envelope) {
	a := h.a
	switch e.Type {
	case wire.TypeFacts:
		h.spawn(func() { f, err := a.facts(h.ctx); s.Reply(e, f, err) })
	case wire.TypeInstall:
		var req wire.InstallRequest
		if err := json.Unmarshal(e.Body, &req); err != nil || req.Size <= 0 {
			s.Reply(e, nil, fmt.Errorf("bad install request"))
			return
		}
		h.mu.Lock()
		if h.up != nil {
			h.mu.Unlock()
			s.Reply(e, nil, fmt.Errorf("an install is already streaming"))
			return
		}
		pr, pw := io.Pipe()
		up := &upload{req: req, pw: pw}
		h.up = up
		h.mu.Unlock()
		a.page.installState(req.Name, "installing", 0, "")
		h.spawn(func() {
			res, err := a.inst.Install(h.ctx, req.Size, pr)
			pr.CloseWithError(errInstallerDone) // unblock a reader stuck writing
			h.mu.Lock()
			up.dead = true
			h.mu.Unlock()
			if err != nil {
				a.log.Warn("install failed", "package", req.Package, "err", err)
			} else {
				a.log.Info("installed", "package", req.Package, "method", res.Method)
			}
			s.Reply(e, res, err)
		})
	case wire.TypeEcho:
		s.Reply(e, e.Body, nil)
	case wire.TypeAbort:
		h.dropUpload(errors.New("aborted by the station"))
	case wire.TypePage:
		var ps wire.PageState
		if err := json.Unmarshal(e.Body, &ps); err == nil {
			a.page.set(ps)
		}
	case wire.TypeOpenPage:
		h.spawn(func() {
			url := "http://" + a.cfg.HTTPAddr + "/"
			var out strings.Builder
			code, err := a.osys.Run(h.ctx, "am start -a android.intent.action.VIEW -d "+url, nil, &out)
			if err == nil && code != 0 {
				err = fmt.Errorf("am start exited %d: %s", code, strings.TrimSpace(out.String()))
			}
			s.Reply(e, nil, err)
		})
	default:
		if e.ID != 0 {
			s.Reply(e, nil, fmt.Errorf("unknown request %q", e.Type))
		}
	}
}

var errInstallerDone = errors.New("installer finished")

// HandleData feeds the APK stream to the package manager. Writing blocks
// until the installer reads: that is the back-pressure that keeps the agent's
// memory flat, whatever the APK's size.
func (h *chanHandler) HandleData(s *wire.Session, p []byte) error {
	h.mu.Lock()
	up := h.up
	h.mu.Unlock()
	if up == nil {
		return fmt.Errorf("%w: data with no install announced", wire.ErrUnexpected)
	}
	if up.received+int64(len(p)) > up.req.Size {
		return fmt.Errorf("%w: install stream longer than the announced %d bytes", wire.ErrUnexpected, up.req.Size)
	}
	up.received += int64(len(p))
	h.mu.Lock()
	dead := up.dead
	h.mu.Unlock()
	if !dead {
		if _, err := up.pw.Write(p); err != nil {
			h.mu.Lock()
			up.dead = true
			h.mu.Unlock()
		}
	}
	done := up.received == up.req.Size
	if done || time.Since(up.lastNote) > 100*time.Millisecond {
		up.lastNote = time.Now()
		s.Notify(wire.TypeProgress, wire.Progress{Package: up.req.Package, Received: up.received, Size: up.req.Size})
		h.a.page.installState(up.req.Name, "installing", int(up.received*100/up.req.Size), "")
	}
	if done {
		up.pw.Close()
		h.mu.Lock()
		h.up = nil
		h.mu.Unlock()
	}
	return nil
}

// dropUpload ends the current stream early: the package manager sees a
// short stdin and fails the install.
func (h *chanHandler) dropUpload(err error) {
	h.mu.Lock()
	up := h.up
	h.up = nil
	h.mu.Unlock()
	if up != nil {
		up.pw.CloseWithError(err)
	}
}
