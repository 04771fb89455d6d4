package adb

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// conn is one connection to the adb server, bound to a context and a
// no-progress watchdog: cancelling the context or a stall closes the socket,
// which unblocks any Read or Write in flight.
type conn struct {
	nc     net.Conn
	ctx    context.Context
	parent context.Context
	wd     *Watchdog
	stop   func() bool
	op     string
	serial string
	once   sync.Once
}

// dial opens a connection to the adb server at addr for one operation.
func dial(ctx context.Context, d Dialer, addr, op, serial string, idle time.Duration) (*conn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	wctx, wd := NewWatchdog(ctx, idle, newErr(op, serial, ErrStalled, fmt.Sprintf("nothing moved for %s", idle), nil))
	nc, err := d.DialContext(wctx, "tcp", addr)
	if err != nil {
		wd.Stop()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, newErr(op, serial, ErrServerDown, addr, err)
	}
	c := &conn{nc: nc, ctx: wctx, parent: ctx, wd: wd, op: op, serial: serial}
	// Closing is the only reliable way to unblock a Read/Write from outside.
	c.stop = context.AfterFunc(wctx, func() { nc.Close() })
	return c, nil
}

func (c *conn) Close() error {
	var err error
	c.once.Do(func() {
		c.stop()
		c.wd.Stop()
		err = c.nc.Close()
	})
	return err
}

// fail turns an I/O error into the error the caller sees: the context's own
// error when it was cancelled, the stall error when the watchdog fired, else
// the I/O error classified once here.
func (c *conn) fail(err error) error {
	if err == nil {
		return nil
	}
	var ae *Error
	if errors.As(err, &ae) {
		return err
	}
	if c.parent.Err() != nil {
		return c.parent.Err()
	}
	if c.wd.Fired() {
		return context.Cause(c.ctx)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return newErr(c.op, c.serial, ErrProtocol, "connection closed by adb server", err)
	}
	return newErr(c.op, c.serial, ErrServerDown, "", err)
}

func (c *conn) Read(p []byte) (int, error) {
	n, err := c.nc.Read(p)
	if n > 0 {
		c.wd.Progress()
	}
	if err != nil && err != io.EOF {
		err = c.fail(err)
	}
	return n, err
}

func (c *conn) Write(p []byte) (int, error) {
	n, err := c.nc.Write(p)
	if n > 0 {
		c.wd.Progress()
	}
	return n, c.fail(err)
}

// readFull reads exactly len(p) bytes or fails with a classified error.
func (c *conn) readFull(p []byte) error {
	_, err := io.ReadFull(c, p)
	if err != nil {
		return c.fail(err)
	}
	return nil
}

// send writes one host request: 4 hex digits of length, then the request.
func (c *conn) send(req string) error {
	if len(req) > 0xffff {
		return protoErr(c.op, c.serial, "request too long (%d bytes)", len(req))
	}
	_, err := c.Write([]byte(fmt.Sprintf("%04x%s", len(req), req)))
	return err
}

// status reads OKAY, or FAIL and its message as a classified *Error.
func (c *conn) status() error {
	var b [4]byte
	if err := c.readFull(b[:]); err != nil {
		return err
	}
	switch string(b[:]) {
	case "OKAY":
		return nil
	case "FAIL":
		msg, err := c.hexString()
		if err != nil {
			return err
		}
		return newErr(c.op, c.serial, failCode(msg), msg, nil)
	}
	return protoErr(c.op, c.serial, "unexpected status %q", b[:])
}

// hexString reads a 4-hex-digit length and that many bytes.
func (c *conn) hexString() (string, error) {
	var h [4]byte
	if err := c.readFull(h[:]); err != nil {
		return "", err
	}
	return c.hexBody(h)
}

func (c *conn) hexBody(h [4]byte) (string, error) {
	n, err := strconv.ParseUint(string(h[:]), 16, 16)
	if err != nil {
		return "", protoErr(c.op, c.serial, "bad length %q", h[:])
	}
	buf := make([]byte, n)
	if err := c.readFull(buf); err != nil {
		return "", err
	}
	return string(buf), nil
}

// request sends req and reads its status.
func (c *conn) request(req string) error {
	if err := c.send(req); err != nil {
		return err
	}
	return c.status()
}

// readAll reads until the server closes the stream.
func (c *conn) readAll() ([]byte, error) {
	b, err := io.ReadAll(c)
	if err != nil {
		return b, c.fail(err)
	}
	return b, nil
}

// sync protocol: 4-byte id + little-endian uint32.
func (c *conn) syncHeader(id string, n uint32, payload []byte) error {
	buf := make([]byte, 8+len(payload))
	copy(buf, id)
	binary.LittleEndian.PutUint32(buf[4:], n)
	copy(buf[8:], payload)
	_, err := c.Write(buf)
	return err
}

func (c *conn) syncRead() (id string, n uint32, err error) {
	var b [8]byte
	if err := c.readFull(b[:]); err != nil {
		return "", 0, err
	}
	return string(b[:4]), binary.LittleEndian.Uint32(b[4:]), nil
}
