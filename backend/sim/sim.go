package sim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"preloadstation/backend/sim/simos"
)

// APKFacts is what the phone's package manager reads from an APK.
type APKFacts struct {
	Package      string
	VersionCode  int64
	VersionName  string
	MinSDK       int
	TargetSDK    int
	ABIs         []string // native code directories under lib/; empty = any ABI
	SignerSHA256 string
}

// Options configure a farm of virtual phones.
type Options struct {
	Phones   int
	Hubs     int    // phones are spread round-robin over hubs; default 1
	Profile  string // "mixed", a profile key, or keys separated by commas
	BasePort int    // phone i listens on BasePort+i; 0 picks free ports
	USB      USBModel
	Dir      string // where phones keep their files; default a temp dir removed by Close

	// ADBServer is the adb server ("127.0.0.1:5037") the phones attach to with
	// host:connect, and detach from on unplug and Close. Empty: not attached.
	ADBServer string

	BootTime         time.Duration // reboot: how long the phone is away (default 20 s)
	ReenumerateDelay time.Duration // cut cable: how long until it is back (default 500 ms)

	// InspectAPK reads an APK (backend/apk in the real wiring). Without it,
	// installs fail with INSTALL_FAILED_INTERNAL_ERROR.
	InspectAPK func(r io.ReaderAt, size int64) (APKFacts, error)
	// RunAgent runs the phone agent in-process (phone.Main in the real wiring)
	// when the station starts a pushed agent build.
	RunAgent func(ctx context.Context, osys simos.PhoneOS, args []string) error
	// RunAgentLog, when set, is used instead of RunAgent and gets where the
	// agent's output goes: the shell for a foreground run (--version), the
	// sim's log for a detached one (phone.MainLog in the real wiring).
	RunAgentLog func(ctx context.Context, osys simos.PhoneOS, args []string, out io.Writer) error
	// AgentProcess runs a pushed agent built for this host as a real process
	// with PRELOAD_SIM_OS set to a per-phone bridge (simos.Dial).
	AgentProcess bool

	Logf func(format string, args ...any)
}

// Sim is a running farm of virtual phones.
type Sim struct {
	opts    Options
	dir     string
	ownDir  bool
	ctx     context.Context
	cancel  context.CancelFunc
	hubs    []*Hub
	phones  []*Phone
	logMu   sync.Mutex
	closeMu sync.Mutex
	closed  bool
}

// New builds the phones without starting them.
func New(opts Options) (*Sim, error) {
	if opts.Phones <= 0 {
		return nil, errors.New("sim: need at least one phone")
	}
	if opts.Hubs <= 0 {
		opts.Hubs = 1
	}
	if opts.BootTime <= 0 {
		opts.BootTime = 20 * time.Second
	}
	if opts.ReenumerateDelay <= 0 {
		opts.ReenumerateDelay = 500 * time.Millisecond
	}
	s := &Sim{opts: opts, dir: opts.Dir}
	if s.dir == "" {
		d, err := os.MkdirTemp("", "preload-sim-")
		if err != nil {
			return nil, fmt.Errorf("sim: %w", err)
		}
		s.dir, s.ownDir = d, true
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for i := 0; i < opts.Hubs; i++ {
		s.hubs = append(s.hubs, &Hub{Index: i + 1, bw: newBucket(opts.USB.HubBytesPerSec)})
	}
	for i := 0; i < opts.Phones; i++ {
		prof, err := ProfileFor(opts.Profile, i)
		if err != nil {
			return nil, err
		}
		hub := s.hubs[i%len(s.hubs)]
		ph := &Phone{sim: s, Index: i + 1, hub: hub, prof: prof, ctx: s.ctx,
			serialNo: fmt.Sprintf("SIM%02d%04d", hub.Index, i+1),
			bw:       newBucket(opts.USB.PhoneBytesPerSec), pmLock: make(chan struct{}, 1),
			conns: map[*conn]struct{}{}, pkgs: map[string]*Package{}, freeOverride: -1,
			authorized: true, failInstall: map[string]string{}, ports: map[string]string{},
			agents: map[int]*agentProc{}, nextPID: 4000 + 37*i}
		if opts.BasePort > 0 {
			ph.port = opts.BasePort + i
		}
		ph.dir = filepath.Join(s.dir, fmt.Sprintf("phone%03d", i+1))
		for _, d := range []string{"/data/local/tmp", "/data/app", "/sdcard/Download", "/system/bin"} {
			if err := os.MkdirAll(ph.hostPath(d), 0o755); err != nil {
				return nil, fmt.Errorf("sim: %w", err)
			}
		}
		ph.props = ph.defaultProps()
		boot := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for _, name := range prof.System {
			ph.pkgs[name] = &Package{Name: name, VersionCode: int64(prof.SDK) * 1000, System: true,
				MinSDK: prof.SDK, TargetSDK: prof.SDK, Signer: "platform", Path: "/system/app/" + name + "/" + name + ".apk", Installed: boot}
		}
		for _, p := range prof.ThirdParty {
			p := p
			ph.pkgs[p.Name] = &p
		}
		s.phones = append(s.phones, ph)
	}
	return s, nil
}

// Phones lists the phones in order.
func (s *Sim) Phones() []*Phone { return s.phones }

// Phone finds a phone by index (1-based), adb serial or ro.serialno.
func (s *Sim) Phone(id string) (*Phone, bool) {
	for _, ph := range s.phones {
		if strconv.Itoa(ph.Index) == id || ph.Serial() == id || ph.serialNo == id {
			return ph, true
		}
	}
	return nil, false
}

// Dir is where the phones keep their files.
func (s *Sim) Dir() string { return s.dir }

// Start plugs every phone in and attaches it to the adb server.
func (s *Sim) Start(ctx context.Context) error {
	for _, ph := range s.phones {
		if err := ph.plug(); err != nil {
			s.Close()
			return err
		}
	}
	for _, ph := range s.phones {
		if err := ctx.Err(); err != nil {
			s.Close()
			return err
		}
		if err := s.attach(ph.Serial()); err != nil {
			s.Close()
			return err
		}
	}
	return nil
}

// Serve runs the phones until ctx ends, then detaches and removes them.
func (s *Sim) Serve(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	return s.Close()
}

// Close detaches every phone from the adb server, stops them and removes their files.
func (s *Sim) Close() error {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	for _, ph := range s.phones {
		ph.mu.Lock()
		addr, plugged := ph.addrLocked(), ph.plugged
		ph.unplugLocked()
		ph.mu.Unlock()
		if plugged {
			s.detach(addr)
		}
	}
	s.cancel()
	for _, ph := range s.phones {
		ph.waitAgents(5 * time.Second)
	}
	if s.ownDir {
		return os.RemoveAll(s.dir)
	}
	return nil
}

func (s *Sim) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.logMu.Lock()
		defer s.logMu.Unlock()
		s.opts.Logf(format, args...)
	}
}

// ---- attaching to the adb server (host protocol, no adb process per phone) ----

func (s *Sim) attach(addr string) error {
	if s.opts.ADBServer == "" {
		return nil
	}
	msg, err := HostCommand(s.opts.ADBServer, "host:connect:"+addr)
	if err != nil {
		return fmt.Errorf("sim: attach %s to adb server %s: %w", addr, s.opts.ADBServer, err)
	}
	// "failed to authenticate" is an unauthorized phone: attached, waiting for "Allow".
	if !strings.Contains(msg, "connected to") && !strings.Contains(msg, "authenticate") {
		return fmt.Errorf("sim: attach %s: adb says %q", addr, msg)
	}
	return nil
}

func (s *Sim) detach(addr string) {
	if s.opts.ADBServer == "" {
		return
	}
	if _, err := HostCommand(s.opts.ADBServer, "host:disconnect:"+addr); err != nil {
		s.logf("detach %s: %v", addr, err)
	}
}

// reattach makes the adb server open a fresh connection now instead of at its next retry.
func (s *Sim) reattach(addr string) {
	s.detach(addr)
	if err := s.attach(addr); err != nil {
		s.logf("%v", err)
	}
}

// adbState is the phone's state in the adb server's list ("device",
// "offline", ...), or "" when the server does not list it.
func (s *Sim) adbState(addr string) (string, error) {
	if s.opts.ADBServer == "" {
		return "device", nil
	}
	list, err := HostCommand(s.opts.ADBServer, "host:devices")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(list, "\n") {
		if serial, state, ok := strings.Cut(line, "\t"); ok && serial == addr {
			return strings.TrimSpace(state), nil
		}
	}
	return "", nil
}

// HostCommand sends one request to an adb server and returns its reply text.
func HostCommand(server, req string) (string, error) {
	c, err := net.DialTimeout("tcp", server, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := fmt.Fprintf(c, "%04x%s", len(req), req); err != nil {
		return "", err
	}
	status := make([]byte, 4)
	if _, err := io.ReadFull(c, status); err != nil {
		return "", err
	}
	body, err := readHostString(c)
	if string(status) != "OKAY" {
		if err != nil {
			return "", fmt.Errorf("adb server: %s", status)
		}
		return "", fmt.Errorf("adb server: %s", body)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return body, nil
}

func readHostString(r io.Reader) (string, error) {
	n := make([]byte, 4)
	if _, err := io.ReadFull(r, n); err != nil {
		return "", err
	}
	size, err := strconv.ParseUint(string(n), 16, 32)
	if err != nil {
		return "", fmt.Errorf("adb server: bad length %q", n)
	}
	b := make([]byte, size)
	_, err = io.ReadFull(r, b)
	return string(b), err
}
