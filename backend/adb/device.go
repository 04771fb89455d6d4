package adb

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Device is a handle for one device behind the adb server. It is safe for
// concurrent use; each call opens its own connection.
type Device struct {
	c      *Client
	serial string

	mu       sync.Mutex
	features map[string]bool // nil until read
}

// Serial is the device's adb serial.
func (d *Device) Serial() string { return d.serial }

// open dials the server and switches the connection to this device's
// transport, then sends service.
func (d *Device) open(ctx context.Context, op, service string, idle time.Duration) (*conn, error) {
	cn, err := d.c.dial(ctx, op, d.serial, idle)
	if err != nil {
		return nil, err
	}
	if err := cn.request("host:transport:" + d.serial); err != nil {
		cn.Close()
		return nil, err
	}
	if err := cn.request(service); err != nil {
		cn.Close()
		return nil, err
	}
	return cn, nil
}

// hostSerial runs host-serial:<serial>:<req> and returns its string reply.
func (d *Device) hostSerial(ctx context.Context, req string) (string, error) {
	return d.c.hostQuery(ctx, "host-serial:"+d.serial+":"+req, d.serial)
}

// Features returns the device's adb features (shell_v2, cmd, stat_v2, …),
// read once and cached.
func (d *Device) Features(ctx context.Context) (map[string]bool, error) {
	d.mu.Lock()
	f := d.features
	d.mu.Unlock()
	if f != nil {
		return f, nil
	}
	s, err := d.hostSerial(ctx, "features")
	if err != nil {
		return nil, err
	}
	f = map[string]bool{}
	for _, x := range strings.Split(strings.TrimSpace(s), ",") {
		if x != "" {
			f[x] = true
		}
	}
	d.mu.Lock()
	d.features = f
	d.mu.Unlock()
	return f, nil
}

// State returns the device's state as the adb server sees it ("device", …).
func (d *Device) State(ctx context.Context) (string, error) {
	return d.hostSerial(ctx, "get-state")
}

// DevPath returns the USB device path ("usb:1-4.3"), or "" when the device has
// none (TCP devices answer "unknown").
func (d *Device) DevPath(ctx context.Context) (string, error) {
	s, err := d.hostSerial(ctx, "get-devpath")
	if err != nil {
		return "", err
	}
	if s == "unknown" {
		return "", nil
	}
	return s, nil
}

// ShellResult is what a shell command printed and how it exited.
type ShellResult struct {
	Stdout   []byte
	Stderr   []byte // empty on devices without shell_v2 (stderr is merged into Stdout)
	ExitCode int
}

// shell v2 packet ids.
const (
	v2Stdin  = 0
	v2Stdout = 1
	v2Stderr = 2
	v2Exit   = 3
)

// exitMarker ends the output of a legacy shell: command so we can read its
// exit status. Devices without shell_v2 report none otherwise.
const exitMarker = "\x23PRELOAD-EXIT\x23"

// Shell runs cmd in the device's shell and returns its output and exit code.
// cmd is passed to sh -c as is: build it with Quote. There is no total time
// limit; the context and the no-progress watchdog (Client.ShellIdle or
// WithIdleTimeout) end it.
func (d *Device) Shell(ctx context.Context, cmd string) (ShellResult, error) {
	f, err := d.Features(ctx)
	if err != nil {
		return ShellResult{}, err
	}
	if f["shell_v2"] {
		return d.shellV2(ctx, cmd)
	}
	return d.shellLegacy(ctx, cmd)
}

func (d *Device) shellV2(ctx context.Context, cmd string) (ShellResult, error) {
	cn, err := d.open(ctx, "shell", "shell,v2,raw:"+cmd, d.c.ShellIdle)
	if err != nil {
		return ShellResult{}, err
	}
	defer cn.Close()
	var res ShellResult
	var out, errb bytes.Buffer
	var hdr [5]byte
	for {
		if _, err := io.ReadFull(cn, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return res, newErr("shell", d.serial, ErrProtocol, "stream ended without an exit code", nil)
			}
			return res, cn.fail(err)
		}
		n := binary.LittleEndian.Uint32(hdr[1:])
		if n > 16<<20 {
			return res, protoErr("shell", d.serial, "shell packet of %d bytes", n)
		}
		var dst io.Writer = io.Discard
		switch hdr[0] {
		case v2Stdout:
			dst = &out
		case v2Stderr:
			dst = &errb
		case v2Exit:
			b := make([]byte, n)
			if err := cn.readFull(b); err != nil {
				return res, err
			}
			if n < 1 {
				return res, protoErr("shell", d.serial, "empty exit packet")
			}
			res.Stdout, res.Stderr, res.ExitCode = out.Bytes(), errb.Bytes(), int(b[0])
			return res, nil
		}
		if _, err := io.CopyN(dst, cn, int64(n)); err != nil {
			return res, cn.fail(err)
		}
	}
}

func (d *Device) shellLegacy(ctx context.Context, cmd string) (ShellResult, error) {
	// A newline (not ";") so that a command ending in "&" or ";" stays valid.
	cn, err := d.open(ctx, "shell", "shell:"+cmd+"\necho \""+exitMarker+"$?\"", d.c.ShellIdle)
	if err != nil {
		return ShellResult{}, err
	}
	defer cn.Close()
	raw, err := cn.readAll()
	if err != nil {
		return ShellResult{}, err
	}
	return parseLegacyShell(d.serial, raw)
}

// parseLegacyShell splits a legacy shell's output at the exit marker. Old
// devices run shell: on a pty, which turns \n into \r\n: undo that.
func parseLegacyShell(serial string, raw []byte) (ShellResult, error) {
	raw = bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
	i := bytes.LastIndex(raw, []byte(exitMarker))
	if i < 0 {
		return ShellResult{Stdout: raw}, newErr("shell", serial, ErrProtocol, "no exit status (connection lost?)", nil)
	}
	code, err := strconv.Atoi(strings.TrimSpace(string(raw[i+len(exitMarker):])))
	if err != nil {
		return ShellResult{Stdout: raw[:i]}, protoErr("shell", serial, "bad exit status %q", raw[i+len(exitMarker):])
	}
	return ShellResult{Stdout: raw[:i], ExitCode: code}, nil
}

// Exec runs cmd with exec: (a raw, 8-bit clean stream: no pty, no shell
// protocol) copying stdin to it and its output to stdout until the device
// closes the stream. Used for `cmd package install -S N`. stdin and stdout may
// be nil.
func (d *Device) Exec(ctx context.Context, cmd string, stdin io.Reader, stdout io.Writer) error {
	cn, err := d.open(ctx, "exec", "exec:"+cmd, d.c.ShellIdle)
	if err != nil {
		return err
	}
	defer cn.Close()
	inErr := make(chan error, 1)
	go func() {
		if stdin == nil {
			inErr <- nil
			return
		}
		_, err := io.Copy(cn, stdin)
		var ae *Error
		if err != nil && !errors.As(err, &ae) {
			// The source failed (or ctx ended): abort, or the device would
			// wait forever for the rest.
			cn.Close()
			inErr <- err
			return
		}
		// A failed write means the device closed the stream early; what it
		// printed before closing (the real reason) is still to be read.
		inErr <- nil
	}()
	if stdout == nil {
		stdout = io.Discard
	}
	_, err = io.Copy(stdout, cn)
	if errors.Is(err, syscall.ECONNRESET) {
		// The device closed early while our input was still unread: the
		// server's close then resets instead of ending cleanly. Everything it
		// printed has been read; the output says what happened.
		err = nil
	}
	cn.Close()
	if ierr := <-inErr; ierr != nil {
		var ae *Error
		switch {
		case errors.As(ierr, &ae):
			return ierr
		case ctx.Err() != nil:
			return ctx.Err()
		}
		return newErr("exec", d.serial, ErrFailed, "reading input", ierr)
	}
	if err != nil {
		return cn.fail(err)
	}
	return ctx.Err()
}

// syncChunk is the largest DATA payload adb accepts.
const syncChunk = 64 * 1024

// Push writes src to remote on the device with the sync protocol (SEND, DATA…,
// DONE). size is the number of bytes src will yield (-1 if unknown); a source
// that ends early is an error and the file is not committed. Every byte a
// reader returns is sent, also when it comes together with io.EOF. progress,
// if not nil, is called with the total sent after every chunk.
func (d *Device) Push(ctx context.Context, src io.Reader, size int64, remote string, mode os.FileMode, mtime time.Time, progress func(sent int64)) error {
	cn, err := d.open(ctx, "push", "sync:", d.c.SyncIdle)
	if err != nil {
		return err
	}
	defer cn.Close()
	spec := fmt.Sprintf("%s,%d", remote, uint32(0o100000|mode.Perm()))
	if err := cn.syncHeader("SEND", uint32(len(spec)), []byte(spec)); err != nil {
		return err
	}
	buf := make([]byte, 8+syncChunk)
	copy(buf, "DATA")
	var sent int64
	for {
		n, rerr := io.ReadFull(src, buf[8:])
		if n > 0 {
			binary.LittleEndian.PutUint32(buf[4:8], uint32(n))
			if _, err := cn.Write(buf[:8+n]); err != nil {
				return err
			}
			sent += int64(n)
			if progress != nil {
				progress(sent)
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return newErr("push", d.serial, ErrFailed, "reading source", rerr)
		}
	}
	if size >= 0 && sent != size {
		return newErr("push", d.serial, ErrShortWrite, fmt.Sprintf("sent %d of %d bytes", sent, size), nil)
	}
	if err := cn.syncHeader("DONE", uint32(mtime.Unix()), nil); err != nil {
		return err
	}
	id, n, err := cn.syncRead()
	if err != nil {
		return err
	}
	switch id {
	case "OKAY":
		_ = cn.syncHeader("QUIT", 0, nil)
		return nil
	case "FAIL":
		msg := make([]byte, n)
		if err := cn.readFull(msg); err != nil {
			return err
		}
		return newErr("push", d.serial, ErrFailed, string(msg), nil)
	}
	return protoErr("push", d.serial, "unexpected sync reply %q", id)
}

// FileInfo is what Stat reports about a file on the device.
type FileInfo struct {
	Name    string
	Mode    os.FileMode
	Size    int64
	ModTime time.Time
}

// Stat returns the mode, size and mtime of remote (STA2 when the device has
// stat_v2, else STAT). A missing file is an error matching ErrNotExist.
func (d *Device) Stat(ctx context.Context, remote string) (FileInfo, error) {
	f, err := d.Features(ctx)
	if err != nil {
		return FileInfo{}, err
	}
	cn, err := d.open(ctx, "stat", "sync:", d.c.SyncIdle)
	if err != nil {
		return FileInfo{}, err
	}
	defer cn.Close()
	defer cn.syncHeader("QUIT", 0, nil)
	id := "STAT"
	if f["stat_v2"] {
		id = "STA2"
	}
	if err := cn.syncHeader(id, uint32(len(remote)), []byte(remote)); err != nil {
		return FileInfo{}, err
	}
	fi := FileInfo{Name: remote}
	if id == "STAT" {
		var b [16]byte
		if err := cn.readFull(b[:]); err != nil {
			return fi, err
		}
		if string(b[:4]) != "STAT" {
			return fi, protoErr("stat", d.serial, "unexpected reply %q", b[:4])
		}
		m := binary.LittleEndian.Uint32(b[4:])
		if m == 0 {
			return fi, newErr("stat", d.serial, ErrNotExist, remote, nil)
		}
		fi.Mode = unixMode(m)
		fi.Size = int64(binary.LittleEndian.Uint32(b[8:]))
		fi.ModTime = time.Unix(int64(binary.LittleEndian.Uint32(b[12:])), 0)
		return fi, nil
	}
	var b [72]byte
	if err := cn.readFull(b[:]); err != nil {
		return fi, err
	}
	if string(b[:4]) != "STA2" {
		return fi, protoErr("stat", d.serial, "unexpected reply %q", b[:4])
	}
	if e := binary.LittleEndian.Uint32(b[4:]); e != 0 {
		if e == 2 { // ENOENT
			return fi, newErr("stat", d.serial, ErrNotExist, remote, nil)
		}
		return fi, newErr("stat", d.serial, ErrFailed, fmt.Sprintf("errno %d", e), nil)
	}
	// error u32, dev u64, ino u64, mode u32, nlink u32, uid u32, gid u32,
	// size u64, atime i64, mtime i64, ctime i64
	fi.Mode = unixMode(binary.LittleEndian.Uint32(b[24:]))
	fi.Size = int64(binary.LittleEndian.Uint64(b[40:]))
	fi.ModTime = time.Unix(int64(binary.LittleEndian.Uint64(b[56:])), 0)
	return fi, nil
}

func unixMode(m uint32) os.FileMode {
	mode := os.FileMode(m & 0o777)
	switch m & 0o170000 {
	case 0o040000:
		mode |= os.ModeDir
	case 0o120000:
		mode |= os.ModeSymlink
	}
	return mode
}

// Forward asks adb to listen on a local port of its choosing (tcp:0) and
// forward connections to remote on the device ("tcp:27183",
// "localabstract:…"). It returns the port adb chose. Forwards vanish when
// the device drops: re-create them on reconnect.
func (d *Device) Forward(ctx context.Context, remote string) (int, error) {
	req := "host-serial:" + d.serial + ":forward:tcp:0;" + remote
	cn, err := d.c.dial(ctx, "forward", d.serial, d.c.HostIdle)
	if err != nil {
		return 0, err
	}
	defer cn.Close()
	if err := cn.request(req); err != nil {
		return 0, err
	}
	// The server confirms the request, then the forward: OKAY [OKAY] 0004port.
	var b [4]byte
	if err := cn.readFull(b[:]); err != nil {
		return 0, err
	}
	switch string(b[:]) {
	case "OKAY":
		if err := cn.readFull(b[:]); err != nil {
			return 0, err
		}
	case "FAIL":
		msg, err := cn.hexString()
		if err != nil {
			return 0, err
		}
		return 0, newErr("forward", d.serial, failCode(msg), msg, nil)
	}
	s, err := cn.hexBody(b)
	if err != nil {
		return 0, err
	}
	port, perr := strconv.Atoi(strings.TrimSpace(s))
	if perr != nil || port <= 0 || port > 65535 {
		return 0, protoErr("forward", d.serial, "bad port %q", s)
	}
	return port, nil
}

// RemoveForward removes the forward on tcp:localPort.
func (d *Device) RemoveForward(ctx context.Context, localPort int) error {
	req := fmt.Sprintf("host-serial:%s:killforward:tcp:%d", d.serial, localPort)
	cn, err := d.c.dial(ctx, "killforward", d.serial, d.c.HostIdle)
	if err != nil {
		return err
	}
	defer cn.Close()
	if err := cn.request(req); err != nil {
		return err
	}
	// Newer servers send a second OKAY (or FAIL) for the removal itself.
	var b [4]byte
	if _, err := io.ReadFull(cn, b[:]); err != nil {
		return nil // closed after the first OKAY: removed
	}
	if string(b[:]) == "FAIL" {
		msg, err := cn.hexString()
		if err != nil {
			return err
		}
		return newErr("killforward", d.serial, failCode(msg), msg, nil)
	}
	return nil
}
