package sim

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
)

type serviceFunc func(ctx context.Context, s *stream)

// service maps an OPEN's service name to its handler; unknown names fail the OPEN.
func (ph *Phone) service(name string) (serviceFunc, error) {
	switch {
	case strings.HasPrefix(name, "shell,") || strings.HasPrefix(name, "shell:") || name == "shell":
		opts, cmd, _ := strings.Cut(name, ":")
		if strings.Contains(opts, ",v2") {
			return func(ctx context.Context, s *stream) { ph.shellV2(ctx, s, cmd) }, nil
		}
		return func(ctx context.Context, s *stream) { ph.shellV1(ctx, s, cmd) }, nil
	case strings.HasPrefix(name, "exec:"):
		cmd := strings.TrimPrefix(name, "exec:")
		return func(ctx context.Context, s *stream) { ph.sh(ctx, cmd, s, s, s) }, nil
	case strings.HasPrefix(name, "abb_exec:"):
		if ph.prof.SDK < 30 {
			return nil, fmt.Errorf("abb_exec not supported")
		}
		args := strings.Split(strings.TrimPrefix(name, "abb_exec:"), "\x00")
		return func(ctx context.Context, s *stream) {
			ph.runArgs(ctx, append([]string{"cmd"}, args...), &shIO{in: s, out: s, err: s})
		}, nil
	case name == "sync:":
		return ph.syncService, nil
	case strings.HasPrefix(name, "tcp:") || strings.HasPrefix(name, "localabstract:"):
		key := name
		if strings.HasPrefix(name, "tcp:") {
			// tcp:PORT or tcp:HOST:PORT; only the phone's own loopback is modelled.
			parts := strings.Split(name, ":")
			key = "tcp:" + parts[len(parts)-1]
		}
		ph.mu.Lock()
		addr, ok := ph.ports[key]
		ph.mu.Unlock()
		if !ok {
			return nil, fmt.Errorf("%s: connection refused", key)
		}
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		return func(ctx context.Context, s *stream) { pipe(ctx, s, nc) }, nil
	case strings.HasPrefix(name, "reboot:"):
		return func(ctx context.Context, s *stream) { ph.Reboot() }, nil
	case name == "root:":
		return func(ctx context.Context, s *stream) {
			io.WriteString(s, "adbd cannot run as root in production builds\n")
		}, nil
	case name == "remount:":
		return func(ctx context.Context, s *stream) { io.WriteString(s, "remount failed: Operation not permitted\n") }, nil
	}
	return nil, fmt.Errorf("unknown service")
}

func pipe(ctx context.Context, s *stream, nc net.Conn) {
	defer nc.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(nc, s); nc.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
	go func() { io.Copy(s, nc); done <- struct{}{} }()
	select {
	case <-done: // the phone side closed (or the host closed its side)
	case <-ctx.Done():
	}
}

// shellV1 is the raw shell: stdout and stderr mixed, no exit code.
func (ph *Phone) shellV1(ctx context.Context, s *stream, cmd string) {
	if cmd == "" {
		ph.interactive(ctx, s, s)
		return
	}
	ph.sh(ctx, cmd, s, s, s)
}

// interactive is `adb shell` without a command: a prompt, one line at a time.
func (ph *Phone) interactive(ctx context.Context, in io.Reader, out io.Writer) int {
	prompt := ph.prof.Device + ":/ $ "
	io.WriteString(out, prompt)
	var line []byte
	buf := make([]byte, 4096)
	code := 0
	for {
		n, err := in.Read(buf)
		for _, c := range buf[:n] {
			if c == '\r' || c == '\n' {
				l := strings.TrimSpace(string(line))
				line = line[:0]
				io.WriteString(out, "\n")
				if l == "exit" {
					return code
				}
				if l != "" {
					code = ph.sh(ctx, l, strings.NewReader(""), out, out)
				}
				io.WriteString(out, prompt)
				continue
			}
			line = append(line, c)
		}
		if err != nil || ctx.Err() != nil {
			return code
		}
	}
}

// Shell protocol v2 packet ids (adb shell_protocol.h).
const (
	v2Stdin      = 0
	v2Stdout     = 1
	v2Stderr     = 2
	v2Exit       = 3
	v2CloseStdin = 4
	v2Window     = 5
)

type v2Writer struct {
	mu *sync.Mutex
	s  *stream
	id byte
}

func (w v2Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	// Keep each packet within one adb payload.
	const max = maxPayload - 5
	var done int
	for done < len(p) {
		n := min(max, len(p)-done)
		b := make([]byte, 5+n)
		b[0] = w.id
		binary.LittleEndian.PutUint32(b[1:], uint32(n))
		copy(b[5:], p[done:done+n])
		if _, err := w.s.Write(b); err != nil {
			return done, err
		}
		done += n
	}
	return done, nil
}

// shellV2 frames stdin/stdout/stderr and reports the exit code (id 3).
func (ph *Phone) shellV2(ctx context.Context, s *stream, cmd string) {
	pr, pw := io.Pipe()
	go func() {
		defer pw.Close()
		var h [5]byte
		for {
			if _, err := io.ReadFull(s, h[:]); err != nil {
				return
			}
			n := binary.LittleEndian.Uint32(h[1:])
			data := make([]byte, n)
			if _, err := io.ReadFull(s, data); err != nil {
				return
			}
			switch h[0] {
			case v2Stdin:
				if _, err := pw.Write(data); err != nil {
					// Command finished reading; keep draining so the host is not blocked.
				}
			case v2CloseStdin:
				pw.Close()
			}
		}
	}()
	var mu sync.Mutex
	out := v2Writer{&mu, s, v2Stdout}
	errw := v2Writer{&mu, s, v2Stderr}
	var code int
	if cmd == "" {
		code = ph.interactive(ctx, pr, out)
	} else {
		code = ph.sh(ctx, cmd, pr, out, errw)
	}
	pr.Close()
	v2Writer{&mu, s, v2Exit}.Write([]byte{byte(code)})
}
