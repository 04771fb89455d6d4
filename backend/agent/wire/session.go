package wire

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Envelope is one JSON control message. A request has an ID; its reply has the
// same ID and Reply set; a notification has no ID.
type Envelope struct {
	Type  string          `json:"type"`
	ID    uint64          `json:"id,omitempty"`
	Reply bool            `json:"reply,omitempty"`
	Error string          `json:"error,omitempty"`
	Body  json.RawMessage `json:"body,omitempty"`
}

// Handler receives the peer's requests and notifications, one at a time on the
// session's reader goroutine: a handler that blocks stops the reader (that is
// the back-pressure for Data frames), so long work belongs in a goroutine.
type Handler interface {
	HandleMsg(s *Session, e Envelope)
	// HandleData gets one Data frame's bytes; p is not reused by the session.
	HandleData(s *Session, p []byte) error
}

// ErrClosed is returned by calls on a session that has stopped.
var ErrClosed = errors.New("channel closed")

// ErrHeartbeat means the peer sent nothing for longer than the timeout.
var ErrHeartbeat = errors.New("missed heartbeats")

// Session is one authenticated channel. Serve runs it; Call, Notify, Reply and
// WriteData may be used from any goroutine while it runs.
type Session struct {
	conn     net.Conn
	w        *Writer
	h        Handler
	interval time.Duration
	timeout  time.Duration

	nextID  atomic.Uint64
	mu      sync.Mutex
	pending map[uint64]chan Envelope
	done    chan struct{}
	err     error
	closeMu sync.Once
}

// NewSession wraps a conn that has completed the handshake. The peer is
// declared dead after timeout without any frame; we send a Ping every interval.
func NewSession(conn net.Conn, h Handler, interval, timeout time.Duration) *Session {
	return &Session{conn: conn, w: NewWriter(conn), h: h, interval: interval, timeout: timeout,
		pending: map[uint64]chan Envelope{}, done: make(chan struct{})}
}

// Done is closed when the session has stopped.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err is why the session stopped (valid after Done).
func (s *Session) Err() error { <-s.done; return s.err }

// Serve reads frames until ctx ends, the peer goes quiet, or a frame is bad.
// It closes the conn and returns only after its heartbeat goroutine has exited.
func (s *Session) Serve(ctx context.Context) error {
	hbDone := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(hbDone)
		t := time.NewTicker(s.interval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if err := s.write(KindPing, nil); err != nil {
					s.conn.Close()
					return
				}
			}
		}
	}()
	ctxDone := context.AfterFunc(ctx, func() { s.conn.Close() })
	err := s.readLoop()
	ctxDone()
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	close(stop)
	s.conn.Close()
	<-hbDone
	s.finish(err)
	return err
}

func (s *Session) readLoop() error {
	r := newReader(s.conn)
	for {
		s.conn.SetReadDeadline(time.Now().Add(s.timeout))
		f, err := ReadFrame(r)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return fmt.Errorf("%w: nothing from the peer for %s", ErrHeartbeat, s.timeout)
			}
			if err == io.EOF {
				return fmt.Errorf("%w: peer hung up", ErrClosed)
			}
			return err
		}
		switch f.Kind {
		case KindPing:
		case KindData:
			if err := s.h.HandleData(s, f.Payload); err != nil {
				return err
			}
		case KindMsg:
			var e Envelope
			if err := json.Unmarshal(f.Payload, &e); err != nil {
				return fmt.Errorf("%w: bad message: %v", ErrUnexpected, err)
			}
			if e.Reply {
				s.mu.Lock()
				ch := s.pending[e.ID]
				delete(s.pending, e.ID)
				s.mu.Unlock()
				if ch != nil {
					ch <- e // buffered, never blocks
				}
				continue
			}
			s.h.HandleMsg(s, e)
		case KindReject:
			return fmt.Errorf("%w: %s", ErrRejected, truncate(string(f.Payload), 200))
		default:
			return fmt.Errorf("%w: %s frame on an open channel", ErrUnexpected, f.Kind)
		}
	}
}

func (s *Session) finish(err error) {
	s.closeMu.Do(func() {
		s.mu.Lock()
		s.err = err
		for id, ch := range s.pending {
			close(ch)
			delete(s.pending, id)
		}
		s.mu.Unlock()
		close(s.done)
	})
}

// Close stops the session; Serve returns.
func (s *Session) Close() error { return s.conn.Close() }

// write sends one frame. A failed or timed-out write may leave half a frame on
// the wire, so it ends the session: the supervisor builds a fresh channel.
func (s *Session) write(k Kind, p []byte) error {
	s.conn.SetWriteDeadline(time.Now().Add(s.timeout))
	err := s.w.WriteFrame(k, p)
	if err != nil {
		s.conn.Close()
	}
	return err
}

// WriteData sends raw stream bytes, split into frames of at most DataChunk.
func (s *Session) WriteData(p []byte) error {
	for len(p) > 0 {
		n := min(len(p), DataChunk)
		if err := s.write(KindData, p[:n]); err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

func (s *Session) send(e Envelope, body any) error {
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		e.Body = b
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return s.write(KindMsg, b)
}

// Notify sends a message that expects no reply.
func (s *Session) Notify(typ string, body any) error { return s.send(Envelope{Type: typ}, body) }

// Reply answers request req with body, or with err's text.
func (s *Session) Reply(req Envelope, body any, err error) error {
	e := Envelope{Type: req.Type, ID: req.ID, Reply: true}
	if err != nil {
		e.Error = err.Error()
		body = nil
	}
	return s.send(e, body)
}

// RemoteError is an error the peer reported in a reply.
type RemoteError struct{ Msg string }

func (e *RemoteError) Error() string { return e.Msg }

// Call sends a request and waits for its reply, decoding the body into out.
// before, if set, runs after the request is written and before the reply is
// awaited: the station streams an APK's Data frames there.
func (s *Session) Call(ctx context.Context, typ string, body, out any, before func() error) error {
	id := s.nextID.Add(1)
	ch := make(chan Envelope, 1)
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return ErrClosed
	default:
	}
	s.pending[id] = ch
	s.mu.Unlock()
	forget := func() { s.mu.Lock(); delete(s.pending, id); s.mu.Unlock() }
	if err := s.send(Envelope{Type: typ, ID: id}, body); err != nil {
		forget()
		return fmt.Errorf("send %s: %w", typ, err)
	}
	if before != nil {
		if err := before(); err != nil {
			forget()
			return err
		}
	}
	select {
	case e, ok := <-ch:
		if !ok {
			return fmt.Errorf("%s: %w", typ, ErrClosed)
		}
		if e.Error != "" {
			return &RemoteError{e.Error}
		}
		if out != nil && len(e.Body) > 0 {
			return json.Unmarshal(e.Body, out)
		}
		return nil
	case <-ctx.Done():
		forget()
		return ctx.Err()
	}
}
