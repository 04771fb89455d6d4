package sim

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
)

// conn is one adb host connection to a phone (what a USB cable carries).
type conn struct {
	ph     *Phone
	nc     net.Conn
	br     *bufio.Reader
	ctx    context.Context
	cancel context.CancelFunc

	wmu     sync.Mutex
	maxData int

	mu      sync.Mutex
	streams map[uint32]*stream
	nextID  uint32
	online  bool // CNXN sent
	authed  bool
	waiting bool // host sent CNXN, we answered AUTH and wait for "allow"
}

func newConn(ph *Phone, nc net.Conn) *conn {
	ctx, cancel := context.WithCancel(ph.ctx)
	uc := &usbConn{Conn: nc, ctx: ctx, hub: ph.hub.bw, phone: ph.bw, cutAt: ph.cutAt, onCut: ph.cutDone}
	return &conn{ph: ph, nc: uc, br: bufio.NewReaderSize(uc, 64<<10), ctx: ctx, cancel: cancel,
		maxData: maxPayload, streams: map[uint32]*stream{}}
}

func (c *conn) close() {
	c.cancel()
	c.nc.Close()
	c.mu.Lock()
	for id, s := range c.streams {
		s.closeLocal()
		delete(c.streams, id)
	}
	c.mu.Unlock()
}

// send writes one message; a hung phone sends nothing until released.
func (c *conn) send(m message) error {
	if err := c.ph.waitNotHung(c.ctx); err != nil {
		return err
	}
	b := encodeMessage(m)
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.nc.Write(b)
	return err
}

func (c *conn) serve() {
	defer c.close()
	go func() { <-c.ctx.Done(); c.nc.Close() }()
	for {
		m, err := readMessage(c.br, nil)
		if err != nil {
			if !errors.Is(err, io.EOF) && c.ctx.Err() == nil {
				c.ph.logf("read: %v", err)
			}
			return
		}
		if err := c.handle(m); err != nil {
			c.ph.logf("%s: %v", m, err)
			return
		}
	}
}

func (c *conn) banner() []byte {
	p := c.ph.prof
	return []byte("device::ro.product.name=" + p.Name + ";ro.product.model=" + p.Model +
		";ro.product.device=" + p.Device + ";features=" + strings.Join(p.features(), ","))
}

func (c *conn) sendAuthToken() error {
	tok := make([]byte, 20)
	rand.Read(tok)
	return c.send(message{cmd: cmdAUTH, arg0: authToken, data: tok})
}

// connect answers the host's CNXN once the phone would: never while offline,
// only an AUTH challenge while USB debugging is not yet allowed.
func (c *conn) connect() error {
	switch {
	case c.ph.isOffline():
		return nil // the host shows "offline" and waits
	case !c.ph.isAuthorized():
		c.mu.Lock()
		c.waiting = true
		c.mu.Unlock()
		return c.sendAuthToken()
	}
	c.mu.Lock()
	c.online, c.waiting = true, false
	c.mu.Unlock()
	return c.send(message{cmd: cmdCNXN, arg0: protocolVersion, arg1: maxPayload, data: c.banner()})
}

// allowed is called when the user taps "Allow" on the phone.
func (c *conn) allowed() {
	c.mu.Lock()
	w := c.waiting
	c.mu.Unlock()
	if w {
		go c.connect()
	}
}

func (c *conn) handle(m message) error {
	switch m.cmd {
	case cmdCNXN:
		if int(m.arg1) < c.maxData && m.arg1 > 0 {
			c.maxData = int(m.arg1)
		}
		return c.connect()
	case cmdAUTH:
		switch m.arg0 {
		case authSignature:
			// We cannot know the host's key: ask again, as adbd does for unknown keys,
			// until the host gives up and sends its public key.
			return c.sendAuthToken()
		case authRSAPublicKey:
			c.ph.noteAuthRequest()
			return nil
		}
		return nil
	case cmdOPEN:
		if !c.isOnline() {
			return nil
		}
		return c.open(m)
	case cmdOKAY:
		if s := c.stream(m.arg1); s != nil {
			s.acked(m.arg0)
		}
		return nil
	case cmdWRTE:
		s := c.stream(m.arg1)
		if s == nil {
			return c.send(message{cmd: cmdCLSE, arg0: 0, arg1: m.arg0})
		}
		s.deliver(m.data)
		return nil
	case cmdCLSE:
		if s := c.stream(m.arg1); s != nil {
			s.closeLocal()
			c.remove(s.local)
		}
		return nil
	case cmdSYNC:
		return nil
	}
	return nil
}

func (c *conn) isOnline() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.online
}

func (c *conn) stream(id uint32) *stream {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.streams[id]
}

func (c *conn) remove(id uint32) {
	c.mu.Lock()
	delete(c.streams, id)
	c.mu.Unlock()
}

func (c *conn) open(m message) error {
	name := strings.TrimRight(string(m.data), "\x00")
	svc, err := c.ph.service(name)
	if err != nil {
		c.ph.logf("open %q: %v", name, err)
		return c.send(message{cmd: cmdCLSE, arg0: 0, arg1: m.arg0})
	}
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ctx, cancel := context.WithCancel(c.ctx)
	s := &stream{c: c, local: id, remote: m.arg0, ctx: ctx, cancel: cancel,
		in: make(chan []byte, 4), canSend: make(chan struct{}, 1)}
	s.canSend <- struct{}{}
	c.streams[id] = s
	c.mu.Unlock()
	if err := c.send(message{cmd: cmdOKAY, arg0: id, arg1: m.arg0}); err != nil {
		return err
	}
	go func() {
		svc(ctx, s)
		s.finish()
	}()
	return nil
}

// stream is one OPENed service. It is an io.ReadWriter for the service:
// reads take the host's WRTE payloads (OKAYed once consumed, so the host keeps
// one write in flight), writes become WRTEs, each waiting for the host's OKAY.
type stream struct {
	c             *conn
	local, remote uint32
	ctx           context.Context
	cancel        context.CancelFunc

	in      chan []byte
	pending []byte
	inMu    sync.Mutex
	inDone  bool
	canSend chan struct{}
	once    sync.Once
}

func (s *stream) deliver(b []byte) {
	s.inMu.Lock()
	defer s.inMu.Unlock()
	if s.inDone {
		return
	}
	select {
	case s.in <- b:
	default:
		// The host broke the one-write-in-flight rule.
		s.c.ph.logf("stream %d: host overran its window", s.local)
	}
}

func (s *stream) acked(remote uint32) {
	select {
	case s.canSend <- struct{}{}:
	default:
	}
}

// closeLocal is the host closing the stream: reads end, the service is cancelled.
func (s *stream) closeLocal() {
	s.inMu.Lock()
	if !s.inDone {
		s.inDone = true
		close(s.in)
	}
	s.inMu.Unlock()
	s.cancel()
}

func (s *stream) Read(p []byte) (int, error) {
	if len(s.pending) == 0 {
		select {
		case b, ok := <-s.in:
			if !ok {
				return 0, io.EOF
			}
			s.pending = b
			if len(b) == 0 {
				s.ack()
				return 0, nil
			}
		case <-s.ctx.Done():
			return 0, io.EOF
		}
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	if len(s.pending) == 0 {
		s.ack()
	}
	return n, nil
}

func (s *stream) ack() {
	s.c.send(message{cmd: cmdOKAY, arg0: s.local, arg1: s.remote})
}

func (s *stream) Write(p []byte) (int, error) {
	var done int
	for done < len(p) {
		n := min(len(p)-done, s.c.maxData)
		select {
		case <-s.canSend:
		case <-s.ctx.Done():
			return done, io.ErrClosedPipe
		}
		// Copy: the host may hold the payload until it OKAYs.
		chunk := append([]byte(nil), p[done:done+n]...)
		if err := s.c.send(message{cmd: cmdWRTE, arg0: s.local, arg1: s.remote, data: chunk}); err != nil {
			return done, err
		}
		done += n
	}
	return done, nil
}

// finish sends CLSE after the last WRTE was acknowledged, as adbd flushes first.
func (s *stream) finish() {
	s.once.Do(func() {
		select {
		case <-s.canSend:
		case <-s.ctx.Done():
		}
		if s.c.ctx.Err() == nil {
			s.c.send(message{cmd: cmdCLSE, arg0: s.local, arg1: s.remote})
		}
		s.c.remove(s.local)
		s.cancel()
	})
}
