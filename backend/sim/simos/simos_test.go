package simos

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
)

// memOS is a tiny PhoneOS for testing the bridge alone: "upper" echoes
// stdin in capitals, "exit N" exits N; files live in a map.
type memOS struct {
	mu    sync.Mutex
	files map[string][]byte
}

func (m *memOS) Listen(addr string) (net.Listener, error) { return nil, errors.New("not here") }
func (m *memOS) Run(ctx context.Context, cmd string, in io.Reader, out io.Writer) (int, error) {
	switch {
	case cmd == "upper":
		b, _ := io.ReadAll(in)
		out.Write([]byte(strings.ToUpper(string(b))))
		return 0, nil
	case cmd == "exit 7":
		return 7, nil
	}
	return 127, nil
}
func (m *memOS) ReadFile(p string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.files[p]
	if !ok {
		return nil, &os.PathError{Op: "open", Path: p, Err: os.ErrNotExist}
	}
	return b, nil
}
func (m *memOS) WriteFile(p string, b []byte, _ os.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files[p] = b
	return nil
}

type memReg struct {
	mu   sync.Mutex
	regs map[string]string
}

func (r *memReg) Register(k, a string)   { r.mu.Lock(); r.regs[k] = a; r.mu.Unlock() }
func (r *memReg) Unregister(k, a string) { r.mu.Lock(); delete(r.regs, k); r.mu.Unlock() }
func (r *memReg) get(k string) string    { r.mu.Lock(); defer r.mu.Unlock(); return r.regs[k] }

func TestBridge(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := &memReg{regs: map[string]string{}}
	go ServeBridge(ctx, ln, &memOS{files: map[string][]byte{}}, reg)
	o, err := Dial(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	big := strings.Repeat("abc", 200_000) // several frames
	code, err := o.Run(ctx, "upper", strings.NewReader(big), &out)
	if err != nil || code != 0 || out.String() != strings.ToUpper(big) {
		t.Errorf("Run upper: code %d, err %v, %d bytes out", code, err, out.Len())
	}
	if code, err := o.Run(ctx, "exit 7", nil, io.Discard); code != 7 || err != nil {
		t.Errorf("exit 7: %d, %v", code, err)
	}
	if err := o.WriteFile("/data/local/tmp/k", []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := o.ReadFile("/data/local/tmp/k"); err != nil || string(b) != "secret" {
		t.Errorf("ReadFile: %q, %v", b, err)
	}
	if _, err := o.ReadFile("/nope"); err == nil || !strings.Contains(err.Error(), "/nope") {
		t.Errorf("ReadFile of a missing file: %v", err)
	}
	l, err := o.Listen("127.0.0.1:27183")
	if err != nil {
		t.Fatal(err)
	}
	if got := reg.get("tcp:27183"); got != l.Addr().String() {
		t.Errorf("registered %q, want %q", got, l.Addr())
	}
	l.Close()
	if got := reg.get("tcp:27183"); got != "" {
		t.Errorf("still registered after Close: %q", got)
	}
	if _, err := o.Listen("10.0.0.1:80"); err == nil {
		t.Errorf("listening off the phone's loopback was allowed")
	}
}

func TestPortKey(t *testing.T) {
	for in, want := range map[string]string{"127.0.0.1:27183": "tcp:27183", ":80": "tcp:80",
		"localabstract:scrcpy": "localabstract:scrcpy", "@agent": "localabstract:agent"} {
		if got, err := PortKey(in); err != nil || got != want {
			t.Errorf("PortKey(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"127.0.0.1:0", "8.8.8.8:53", "nonsense"} {
		if _, err := PortKey(bad); err == nil {
			t.Errorf("PortKey(%q) accepted", bad)
		}
	}
}
