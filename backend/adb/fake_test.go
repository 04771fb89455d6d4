package adb

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
)

// fakeServer is a scripted adb server (goadb style): each accepted connection
// is handed to the next queued handler, and every host request is recorded.
type fakeServer struct {
	t  testing.TB
	ln net.Listener

	mu       sync.Mutex
	handlers []func(*fakeConn)
	requests []string
	wg       sync.WaitGroup
}

func newFakeServer(t testing.TB) *fakeServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{t: t, ln: ln}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(func() { ln.Close(); f.wg.Wait() })
	return f
}

func (f *fakeServer) addr() string { return f.ln.Addr().String() }

func (f *fakeServer) client() *Client { return NewClient(f.addr()) }

// queue adds handlers for the next connections, in order.
func (f *fakeServer) queue(h ...func(*fakeConn)) {
	f.mu.Lock()
	f.handlers = append(f.handlers, h...)
	f.mu.Unlock()
}

func (f *fakeServer) reqs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func (f *fakeServer) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		var h func(*fakeConn)
		if len(f.handlers) > 0 {
			h, f.handlers = f.handlers[0], f.handlers[1:]
		}
		f.mu.Unlock()
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer c.Close()
			if h != nil {
				h(&fakeConn{f: f, c: c, r: bufio.NewReader(c)})
			}
		}()
	}
}

type fakeConn struct {
	f *fakeServer
	c net.Conn
	r *bufio.Reader
}

// req reads one host request and records it.
func (c *fakeConn) req() string {
	var h [4]byte
	if _, err := io.ReadFull(c.r, h[:]); err != nil {
		return ""
	}
	n, _ := strconv.ParseUint(string(h[:]), 16, 16)
	b := make([]byte, n)
	io.ReadFull(c.r, b)
	c.f.mu.Lock()
	c.f.requests = append(c.f.requests, string(b))
	c.f.mu.Unlock()
	return string(b)
}

func (c *fakeConn) write(s string)   { c.c.Write([]byte(s)) }
func (c *fakeConn) okay()            { c.write("OKAY") }
func (c *fakeConn) fail(msg string)  { c.write("FAIL" + hex(msg)) }
func (c *fakeConn) okayHex(s string) { c.write("OKAY" + hex(s)) }

// transport accepts host:transport:<serial> and the service request after it,
// and returns the service.
func (c *fakeConn) transport() string {
	c.req()
	c.okay()
	s := c.req()
	c.okay()
	return s
}

func hex(s string) string { return fmt.Sprintf("%04x%s", len(s), s) }

// v2 writes one shell v2 packet.
func (c *fakeConn) v2(id byte, data string) {
	b := make([]byte, 5+len(data))
	b[0] = id
	binary.LittleEndian.PutUint32(b[1:], uint32(len(data)))
	copy(b[5:], data)
	c.c.Write(b)
}

// syncFrame reads one sync frame header and its payload (for SEND/DATA).
func (c *fakeConn) syncFrame() (string, []byte, error) {
	var h [8]byte
	if _, err := io.ReadFull(c.r, h[:]); err != nil {
		return "", nil, err
	}
	id := string(h[:4])
	n := binary.LittleEndian.Uint32(h[4:])
	if id == "DONE" || id == "QUIT" {
		return id, nil, nil
	}
	b := make([]byte, n)
	_, err := io.ReadFull(c.r, b)
	return id, b, err
}

// features answers a host-serial:<s>:features request.
func features(list string) func(*fakeConn) {
	return func(c *fakeConn) { c.req(); c.okayHex(list) }
}
