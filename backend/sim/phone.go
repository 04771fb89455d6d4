package sim

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Package is one entry of a phone's package database.
type Package struct {
	Name        string
	VersionCode int64
	VersionName string
	MinSDK      int
	TargetSDK   int
	ABIs        []string
	Signer      string
	Size        int64
	System      bool
	Path        string // phone path of base.apk
	Installed   time.Time
}

// Hub is one USB hub: its phones share its bandwidth.
type Hub struct {
	Index int
	bw    *bucket
}

// Phone is one virtual phone: an adbd on its own TCP port, a package
// database, a file system under a host directory, and its faults.
type Phone struct {
	sim      *Sim
	Index    int
	hub      *Hub
	prof     Profile
	serialNo string
	dir      string // host directory holding the phone's files
	ctx      context.Context
	bw       *bucket
	pmLock   chan struct{} // the package manager installs one package at a time

	mu           sync.Mutex
	port         int
	ln           net.Listener
	conns        map[*conn]struct{}
	plugged      bool
	props        map[string]string
	pkgs         map[string]*Package
	used         int64 // bytes pushed and installed since boot of the sim
	freeOverride int64 // >= 0: low-storage fault, free bytes on /data
	offline      bool
	offlineGen   int // bumped by each SetOffline: a stale re-attach stops retrying
	authorized   bool
	authRequests int
	hung         chan struct{} // non-nil while hung; closed on release
	cutAfter     int64
	cuts         int
	slow         float64
	failInstall  map[string]string
	intents      []Intent
	ports        map[string]string // phone "tcp:27183" / "localabstract:x" → host address
	agents       map[int]*agentProc
	nextPID      int
	bootCtx      context.Context
	bootCancel   context.CancelFunc
	boots        int
	installSeq   int
}

// Serial is the serial adb shows for this phone: host:port of its adbd.
func (ph *Phone) Serial() string {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	return ph.addrLocked()
}

func (ph *Phone) addrLocked() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(ph.port)) }

// Addr is the phone's adbd address (same as Serial).
func (ph *Phone) Addr() string { return ph.Serial() }

// Port is the phone's adbd TCP port.
func (ph *Phone) Port() int { ph.mu.Lock(); defer ph.mu.Unlock(); return ph.port }

// Profile is the phone's model.
func (ph *Phone) Profile() Profile { return ph.prof }

// SerialNo is ro.serialno.
func (ph *Phone) SerialNo() string { return ph.serialNo }

// HubIndex is the hub the phone hangs on.
func (ph *Phone) HubIndex() int { return ph.hub.Index }

func (ph *Phone) logf(format string, args ...any) {
	ph.sim.logf("phone %d (%s): "+format, append([]any{ph.Index, ph.serialNo}, args...)...)
}

// plug starts listening (on the same port as before, if any) and accepting the host.
func (ph *Phone) plug() error {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	if ph.plugged {
		return nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(ph.port)))
	if err != nil {
		return fmt.Errorf("phone %d: listen on port %d: %w", ph.Index, ph.port, err)
	}
	ph.port = ln.Addr().(*net.TCPAddr).Port
	ph.ln = ln
	ph.plugged = true
	ph.boots++
	ph.bootCtx, ph.bootCancel = context.WithCancel(ph.ctx)
	go ph.accept(ln)
	return nil
}

func (ph *Phone) accept(ln net.Listener) {
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		c := newConn(ph, nc)
		ph.mu.Lock()
		if ph.ln != ln {
			ph.mu.Unlock()
			nc.Close()
			return
		}
		ph.conns[c] = struct{}{}
		ph.mu.Unlock()
		go func() {
			c.serve()
			ph.mu.Lock()
			delete(ph.conns, c)
			ph.mu.Unlock()
		}()
	}
}

// unplugLocked closes the listener, every connection and every running agent.
func (ph *Phone) unplugLocked() {
	if !ph.plugged {
		return
	}
	ph.plugged = false
	ph.ln.Close()
	ph.ln = nil
	for c := range ph.conns {
		c.close()
	}
	ph.bootCancel()
	for _, a := range ph.agents {
		a.stop()
	}
}

func (ph *Phone) dropConns() {
	ph.mu.Lock()
	cs := make([]*conn, 0, len(ph.conns))
	for c := range ph.conns {
		cs = append(cs, c)
	}
	ph.mu.Unlock()
	for _, c := range cs {
		c.close()
	}
}

// ---- faults (Go API; the HTTP control API and flags call these) ----

// Unplug pulls the cable: the connection closes, the port stops listening,
// the agent dies, and the adb server forgets the phone as it would a USB one.
func (ph *Phone) Unplug() {
	ph.mu.Lock()
	addr := ph.addrLocked()
	ph.unplugLocked()
	ph.mu.Unlock()
	ph.sim.detach(addr)
	ph.logf("unplugged")
}

// Replug puts the cable back and attaches the phone to the adb server again.
func (ph *Phone) Replug() error {
	if err := ph.plug(); err != nil {
		return err
	}
	ph.logf("replugged")
	return ph.sim.attach(ph.Serial())
}

// Plugged reports whether the phone listens.
func (ph *Phone) Plugged() bool { ph.mu.Lock(); defer ph.mu.Unlock(); return ph.plugged }

// Reboot drops the connection and agents, stays away for the sim's boot time,
// and comes back (files and packages kept, as on a real phone).
func (ph *Phone) Reboot() {
	ph.Unplug()
	ph.logf("rebooting")
	go func() {
		select {
		case <-time.After(ph.sim.opts.BootTime):
		case <-ph.ctx.Done():
			return
		}
		if err := ph.Replug(); err != nil {
			ph.logf("after reboot: %v", err)
		}
	}()
}

// CutAfter cuts the cable once the host has sent n more bytes (n <= 0 clears).
// The phone re-enumerates a moment later, like a loose connector.
func (ph *Phone) CutAfter(n int64) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	if n <= 0 {
		ph.cutAfter = 0
		return
	}
	var sent int64
	for c := range ph.conns {
		sent += c.nc.(*usbConn).read.Load()
	}
	ph.cutAfter = sent + n
}

func (ph *Phone) cutAt() int64 { ph.mu.Lock(); defer ph.mu.Unlock(); return ph.cutAfter }

func (ph *Phone) cutDone() {
	ph.mu.Lock()
	ph.cutAfter = 0
	ph.cuts++
	addr := ph.addrLocked()
	ph.mu.Unlock()
	ph.logf("cable cut")
	go func() {
		ph.dropConns()
		ph.sim.detach(addr)
		select {
		case <-time.After(ph.sim.opts.ReenumerateDelay):
		case <-ph.ctx.Done():
			return
		}
		ph.sim.attach(addr)
	}()
}

// Hang makes the phone stop acknowledging and sending anything (true) or resume.
func (ph *Phone) Hang(on bool) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	switch {
	case on && ph.hung == nil:
		ph.hung = make(chan struct{})
	case !on && ph.hung != nil:
		close(ph.hung)
		ph.hung = nil
	}
}

func (ph *Phone) waitNotHung(ctx context.Context) error {
	ph.mu.Lock()
	h := ph.hung
	ph.mu.Unlock()
	if h == nil {
		return nil
	}
	select {
	case <-h:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// SetUnauthorized makes the phone answer the host with an RSA challenge it
// never accepts until Allow, as a phone whose user has not tapped "Allow USB
// debugging". Existing connections are dropped so the host sees it at once.
func (ph *Phone) SetUnauthorized() {
	ph.mu.Lock()
	ph.authorized = false
	addr := ph.addrLocked()
	ph.mu.Unlock()
	ph.dropConns()
	ph.sim.reattach(addr)
}

// Allow is the user tapping "Allow" on the phone.
func (ph *Phone) Allow() {
	ph.mu.Lock()
	ph.authorized = true
	cs := make([]*conn, 0, len(ph.conns))
	for c := range ph.conns {
		cs = append(cs, c)
	}
	ph.mu.Unlock()
	for _, c := range cs {
		c.allowed()
	}
}

func (ph *Phone) isAuthorized() bool { ph.mu.Lock(); defer ph.mu.Unlock(); return ph.authorized }

func (ph *Phone) noteAuthRequest() { ph.mu.Lock(); ph.authRequests++; ph.mu.Unlock() }

// AuthRequests counts "Allow USB debugging?" prompts the host caused.
func (ph *Phone) AuthRequests() int { ph.mu.Lock(); defer ph.mu.Unlock(); return ph.authRequests }

// SetOffline makes the phone accept the connection but never finish the
// handshake (adb shows "offline"), or come back.
func (ph *Phone) SetOffline(on bool) {
	ph.mu.Lock()
	ph.offline = on
	ph.offlineGen++
	gen := ph.offlineGen
	addr := ph.addrLocked()
	ph.mu.Unlock()
	ph.dropConns()
	// adb's connect waits ~10 s for a handshake that an offline phone never
	// finishes: do not block the caller on it.
	go func() {
		ph.sim.reattach(addr)
		if !on {
			ph.keepAttached(addr, gen)
		}
	}()
}

// keepAttached makes sure a phone back online stays in the adb server's list.
// The connect still pending from the offline spell can fail after the fresh
// one succeeded, and adb then drops the address: attach again while this
// SetOffline is the latest and the phone is plugged and online.
func (ph *Phone) keepAttached(addr string, gen int) {
	deadline := time.Now().Add(25 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-ph.sim.ctx.Done():
			return
		case <-time.After(250 * time.Millisecond):
		}
		ph.mu.Lock()
		current := ph.offlineGen == gen && ph.plugged && !ph.offline && ph.addrLocked() == addr
		ph.mu.Unlock()
		if !current {
			return
		}
		state, err := ph.sim.adbState(addr)
		if err != nil || state != "" {
			continue
		}
		ph.logf("back online but gone from adb: attaching again")
		if err := ph.sim.attach(addr); err != nil {
			ph.logf("%v", err)
		}
	}
}

func (ph *Phone) isOffline() bool { ph.mu.Lock(); defer ph.mu.Unlock(); return ph.offline }

// SetFreeStorage forces free bytes on /data (low storage); negative restores.
func (ph *Phone) SetFreeStorage(free int64) {
	ph.mu.Lock()
	ph.freeOverride = free
	ph.mu.Unlock()
}

// SetSlow makes the phone factor× slower: its link bandwidth divided, its
// commits multiplied. factor <= 1 restores.
func (ph *Phone) SetSlow(factor float64) {
	ph.mu.Lock()
	ph.slow = factor
	ph.mu.Unlock()
	rate := ph.sim.opts.USB.PhoneBytesPerSec
	if factor > 1 && rate > 0 {
		rate /= factor
	}
	ph.bw.setRate(rate)
}

func (ph *Phone) slowFactor() float64 { ph.mu.Lock(); defer ph.mu.Unlock(); return ph.slow }

// FailInstall makes every install of pkg ("*" for any) fail with code,
// e.g. "INSTALL_FAILED_INVALID_APK"; an empty code clears it.
func (ph *Phone) FailInstall(pkg, code string) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	if code == "" {
		delete(ph.failInstall, pkg)
		return
	}
	ph.failInstall[pkg] = code
}

// SetUSBInstall is Xiaomi's "Install via USB" switch (persist.security.adbinstall).
func (ph *Phone) SetUSBInstall(on bool) {
	v := "0"
	if on {
		v = "1"
	}
	ph.setprop("persist.security.adbinstall", v)
}

// Intents lists every `am start` the phone received, in order.
func (ph *Phone) Intents() []Intent {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	return append([]Intent(nil), ph.intents...)
}

// HostAddr maps a phone port (27183) or "localabstract:NAME" to the host
// address where what listens on the phone can be reached.
func (ph *Phone) HostAddr(phonePort string) (string, bool) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	key := phonePort
	if _, err := strconv.Atoi(phonePort); err == nil {
		key = "tcp:" + phonePort
	}
	a, ok := ph.ports[key]
	return a, ok
}

// Packages lists the package database, sorted by name.
func (ph *Phone) Packages() []Package {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	out := make([]Package, 0, len(ph.pkgs))
	for _, p := range ph.pkgs {
		out = append(out, *p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Package returns one installed package.
func (ph *Phone) Package(name string) (Package, bool) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	p, ok := ph.pkgs[name]
	if !ok {
		return Package{}, false
	}
	return *p, true
}

// Status is the phone as the control API reports it.
type Status struct {
	Index      int               `json:"index"`
	Serial     string            `json:"serial"`
	SerialNo   string            `json:"serialno"`
	Hub        int               `json:"hub"`
	Profile    string            `json:"profile"`
	Model      string            `json:"model"`
	Android    string            `json:"android"`
	SDK        int               `json:"sdk"`
	Plugged    bool              `json:"plugged"`
	Offline    bool              `json:"offline"`
	Authorized bool              `json:"authorized"`
	Hung       bool              `json:"hung"`
	Slow       float64           `json:"slow"`
	FreeBytes  int64             `json:"free_bytes"`
	Packages   []string          `json:"packages"`
	Intents    []Intent          `json:"intents"`
	Ports      map[string]string `json:"ports"`
	Agents     int               `json:"agents"`
	Cuts       int               `json:"cuts"`
}

// Status snapshots the phone.
func (ph *Phone) Status() Status {
	free := ph.freeBytes()
	ph.mu.Lock()
	defer ph.mu.Unlock()
	st := Status{Index: ph.Index, Serial: ph.addrLocked(), SerialNo: ph.serialNo, Hub: ph.hub.Index,
		Profile: ph.prof.Key, Model: ph.prof.Model, Android: ph.prof.Release, SDK: ph.prof.SDK,
		Plugged: ph.plugged, Offline: ph.offline, Authorized: ph.authorized, Hung: ph.hung != nil,
		Slow: ph.slow, FreeBytes: free, Intents: append([]Intent{}, ph.intents...),
		Ports: map[string]string{}, Agents: len(ph.agents), Cuts: ph.cuts, Packages: []string{}}
	for _, p := range ph.pkgs {
		if !p.System {
			st.Packages = append(st.Packages, fmt.Sprintf("%s@%d", p.Name, p.VersionCode))
		}
	}
	sort.Strings(st.Packages)
	for k, v := range ph.ports {
		st.Ports[k] = v
	}
	return st
}

// ---- state helpers ----

func (ph *Phone) getprop(name string) string {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	return ph.props[name]
}

func (ph *Phone) setprop(name, v string) {
	ph.mu.Lock()
	ph.props[name] = v
	ph.mu.Unlock()
}

func (ph *Phone) freeBytes() int64 {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	if ph.freeOverride >= 0 {
		return ph.freeOverride
	}
	return max(0, ph.prof.FreeBytes-ph.used)
}

func (ph *Phone) addUsed(n int64) {
	ph.mu.Lock()
	ph.used += n
	if ph.freeOverride >= 0 {
		ph.freeOverride = max(0, ph.freeOverride-n)
	}
	ph.mu.Unlock()
}

// ---- file system: phone paths live under dir/fs ----

var errEscape = errors.New("path outside the phone")

func (ph *Phone) hostPath(p string) string {
	return filepath.Join(ph.dir, "fs", filepath.FromSlash(path.Clean("/"+p)))
}

// ReadFile reads a file on the phone.
func (ph *Phone) ReadFile(p string) ([]byte, error) {
	b, err := os.ReadFile(ph.hostPath(p))
	return b, phoneErr(p, err)
}

// WriteFile writes a file on the phone.
func (ph *Phone) WriteFile(p string, data []byte, mode os.FileMode) error {
	hp := ph.hostPath(p)
	var old int64
	if fi, err := os.Stat(hp); err == nil {
		old = fi.Size()
	}
	if err := os.MkdirAll(filepath.Dir(hp), 0o755); err != nil {
		return phoneErr(p, err)
	}
	if err := os.WriteFile(hp, data, mode.Perm()); err != nil {
		return phoneErr(p, err)
	}
	os.Chmod(hp, mode.Perm())
	ph.addUsed(int64(len(data)) - old)
	return nil
}

// phoneErr turns a host path error into one naming the phone path.
func phoneErr(p string, err error) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return &fs.PathError{Op: pe.Op, Path: p, Err: pe.Err}
	}
	return err
}
