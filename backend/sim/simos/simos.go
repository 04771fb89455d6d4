package simos

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// EnvBridge names the environment variable holding the bridge address a
// process-mode agent dials.
const EnvBridge = "PRELOAD_SIM_OS"

// PhoneOS is what the agent needs from the phone it runs on.
type PhoneOS interface {
	// Listen listens on the phone's loopback ("127.0.0.1:27183", ":27183",
	// "localabstract:NAME"); adb's tcp:/localabstract: streams reach it.
	Listen(addr string) (net.Listener, error)
	// Run runs a shell command on the phone, as `adb shell` would.
	Run(ctx context.Context, cmdline string, stdin io.Reader, stdout io.Writer) (exitCode int, err error)
	ReadFile(path string) ([]byte, error)
	WriteFile(path string, data []byte, mode os.FileMode) error
}

// PortKey is the phone-side name of a listen address: "tcp:27183" or "localabstract:NAME".
func PortKey(addr string) (string, error) {
	switch {
	case strings.HasPrefix(addr, "localabstract:"):
		return addr, nil
	case strings.HasPrefix(addr, "@"):
		return "localabstract:" + addr[1:], nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("phone listen %q: %w", addr, err)
	}
	if host != "" && host != "127.0.0.1" && host != "localhost" && host != "0.0.0.0" {
		return "", fmt.Errorf("phone listen %q: only the phone's loopback is reachable over adb", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
		return "", fmt.Errorf("phone listen %q: need a fixed port", addr)
	}
	return "tcp:" + port, nil
}

// ---- bridge protocol: one TCP connection per call, a JSON request line,
// then raw bytes (read/write) or frames (run). ----

type request struct {
	Op   string `json:"op"` // run, read, write, register, unregister
	Cmd  string `json:"cmd,omitempty"`
	Path string `json:"path,omitempty"`
	Mode uint32 `json:"mode,omitempty"`
	Size int64  `json:"size,omitempty"`
	Key  string `json:"key,omitempty"`
	Addr string `json:"addr,omitempty"`
}

type reply struct {
	Err  string `json:"err,omitempty"`
	Size int64  `json:"size,omitempty"`
	Exit int    `json:"exit,omitempty"`
}

const (
	frameStdin    = 0
	frameStdout   = 1
	frameExit     = 3
	frameStdinEOF = 4
)

func writeFrame(w io.Writer, id byte, data []byte) error {
	h := make([]byte, 5, 5+len(data))
	h[0] = id
	binary.LittleEndian.PutUint32(h[1:], uint32(len(data)))
	_, err := w.Write(append(h, data...))
	return err
}

func readFrame(r io.Reader) (byte, []byte, error) {
	var h [5]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := binary.LittleEndian.Uint32(h[1:])
	if n > 16<<20 {
		return 0, nil, errors.New("simos: frame too large")
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return h[0], b, err
}

// Dial connects a process-mode agent to its phone's bridge.
func Dial(addr string) (PhoneOS, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("simos: dial bridge %s: %w", addr, err)
	}
	c.Close()
	return &client{addr: addr}, nil
}

type client struct{ addr string }

func (c *client) call(req request, body []byte) (net.Conn, *bufio.Reader, error) {
	nc, err := net.Dial("tcp", c.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("simos: %w", err)
	}
	b, _ := json.Marshal(req)
	if _, err := nc.Write(append(append(b, '\n'), body...)); err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("simos: %w", err)
	}
	return nc, bufio.NewReader(nc), nil
}

func readReply(br *bufio.Reader) (reply, error) {
	line, err := br.ReadBytes('\n')
	if err != nil {
		return reply{}, fmt.Errorf("simos: bridge reply: %w", err)
	}
	var r reply
	if err := json.Unmarshal(line, &r); err != nil {
		return reply{}, fmt.Errorf("simos: bridge reply: %w", err)
	}
	return r, nil
}

func (c *client) simple(req request, body []byte) (reply, *bufio.Reader, net.Conn, error) {
	nc, br, err := c.call(req, body)
	if err != nil {
		return reply{}, nil, nil, err
	}
	r, err := readReply(br)
	if err != nil {
		nc.Close()
		return reply{}, nil, nil, err
	}
	if r.Err != "" {
		nc.Close()
		return r, nil, nil, errors.New(r.Err)
	}
	return r, br, nc, nil
}

func (c *client) ReadFile(path string) ([]byte, error) {
	r, br, nc, err := c.simple(request{Op: "read", Path: path}, nil)
	if err != nil {
		return nil, err
	}
	defer nc.Close()
	b := make([]byte, r.Size)
	if _, err := io.ReadFull(br, b); err != nil {
		return nil, fmt.Errorf("simos: read %s: %w", path, err)
	}
	return b, nil
}

func (c *client) WriteFile(path string, data []byte, mode os.FileMode) error {
	_, _, nc, err := c.simple(request{Op: "write", Path: path, Mode: uint32(mode), Size: int64(len(data))}, data)
	if err != nil {
		return err
	}
	nc.Close()
	return nil
}

func (c *client) Listen(addr string) (net.Listener, error) {
	key, err := PortKey(addr)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if _, _, nc, err := c.simple(request{Op: "register", Key: key, Addr: ln.Addr().String()}, nil); err != nil {
		ln.Close()
		return nil, err
	} else {
		nc.Close()
	}
	return &regListener{Listener: ln, unregister: func() {
		if _, _, nc, err := c.simple(request{Op: "unregister", Key: key, Addr: ln.Addr().String()}, nil); err == nil {
			nc.Close()
		}
	}}, nil
}

type regListener struct {
	net.Listener
	once       sync.Once
	unregister func()
}

func (l *regListener) Close() error {
	err := l.Listener.Close()
	l.once.Do(l.unregister)
	return err
}

func (c *client) Run(ctx context.Context, cmdline string, stdin io.Reader, stdout io.Writer) (int, error) {
	nc, br, err := c.call(request{Op: "run", Cmd: cmdline}, nil)
	if err != nil {
		return -1, err
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	var wmu sync.Mutex
	go func() {
		if stdin != nil {
			buf := make([]byte, 256<<10)
			for {
				n, err := stdin.Read(buf)
				if n > 0 {
					wmu.Lock()
					werr := writeFrame(nc, frameStdin, buf[:n])
					wmu.Unlock()
					if werr != nil {
						return
					}
				}
				if err != nil {
					break
				}
			}
		}
		wmu.Lock()
		writeFrame(nc, frameStdinEOF, nil)
		wmu.Unlock()
	}()
	for {
		id, b, err := readFrame(br)
		if err != nil {
			if ctx.Err() != nil {
				return -1, ctx.Err()
			}
			return -1, fmt.Errorf("simos: run %q: %w", cmdline, err)
		}
		switch id {
		case frameStdout:
			if stdout != nil {
				stdout.Write(b)
			}
		case frameExit:
			var r reply
			if err := json.Unmarshal(b, &r); err != nil {
				return -1, fmt.Errorf("simos: run %q: %w", cmdline, err)
			}
			if r.Err != "" {
				return r.Exit, errors.New(r.Err)
			}
			return r.Exit, nil
		}
	}
}

// Registry records which host address serves a phone port.
type Registry interface {
	Register(key, hostAddr string)
	Unregister(key, hostAddr string)
}

// ServeBridge answers a process-mode agent's calls on ln with osys until ln closes.
func ServeBridge(ctx context.Context, ln net.Listener, osys PhoneOS, reg Registry) error {
	go func() { <-ctx.Done(); ln.Close() }()
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go serveCall(ctx, nc, osys, reg)
	}
}

func sendReply(w io.Writer, r reply) error {
	b, _ := json.Marshal(r)
	_, err := w.Write(append(b, '\n'))
	return err
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func serveCall(ctx context.Context, nc net.Conn, osys PhoneOS, reg Registry) {
	defer nc.Close()
	br := bufio.NewReader(nc)
	line, err := br.ReadBytes('\n')
	if err != nil {
		return
	}
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		sendReply(nc, reply{Err: "simos: bad request"})
		return
	}
	switch req.Op {
	case "read":
		b, err := osys.ReadFile(req.Path)
		if err != nil {
			sendReply(nc, reply{Err: err.Error()})
			return
		}
		sendReply(nc, reply{Size: int64(len(b))})
		nc.Write(b)
	case "write":
		b := make([]byte, req.Size)
		if _, err := io.ReadFull(br, b); err != nil {
			return
		}
		sendReply(nc, reply{Err: errText(osys.WriteFile(req.Path, b, os.FileMode(req.Mode)))})
	case "register":
		reg.Register(req.Key, req.Addr)
		sendReply(nc, reply{})
	case "unregister":
		reg.Unregister(req.Key, req.Addr)
		sendReply(nc, reply{})
	case "run":
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		pr, pw := io.Pipe()
		go func() {
			defer cancel()
			for {
				id, b, err := readFrame(br)
				if err != nil {
					pw.CloseWithError(io.ErrUnexpectedEOF)
					return
				}
				switch id {
				case frameStdin:
					if _, err := pw.Write(b); err != nil {
						// The command stopped reading; drain and carry on.
					}
				case frameStdinEOF:
					pw.Close()
				}
			}
		}()
		fw := &frameWriter{w: nc}
		code, err := osys.Run(ctx, req.Cmd, pr, fw)
		pr.Close()
		b, _ := json.Marshal(reply{Exit: code, Err: errText(err)})
		fw.mu.Lock()
		writeFrame(nc, frameExit, b)
		fw.mu.Unlock()
	default:
		sendReply(nc, reply{Err: "simos: unknown op " + req.Op})
	}
}

type frameWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (f *frameWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := writeFrame(f.w, frameStdout, p); err != nil {
		return 0, err
	}
	return len(p), nil
}
