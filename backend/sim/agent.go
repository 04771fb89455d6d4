package sim

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"runtime"
	"strings"
	"sync"
	"time"

	"preloadstation/backend/sim/simos"
)

// AgentMarker is in every real agent build; the phone refuses to "run" a
// pushed file without it, as a real phone could not run a broken binary.
const AgentMarker = "PRELOAD-AGENT-BUILD"

// agentProc is one pushed program running on a phone (the agent).
type agentProc struct {
	pid    int
	path   string
	args   []string
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

func (a *agentProc) stop() { a.cancel() }

// phoneOS is the PhoneOS the in-process agent (and the bridge) gets.
type phoneOS struct {
	ph    *Phone
	owner *agentProc // listeners close when it ends
	mu    sync.Mutex
	lns   []net.Listener
	regs  map[string]string // ports a process-mode agent registered over the bridge
}

// Register is the bridge's registry: ports die with the agent that opened them.
func (o *phoneOS) Register(key, hostAddr string) {
	o.mu.Lock()
	if o.regs == nil {
		o.regs = map[string]string{}
	}
	o.regs[key] = hostAddr
	o.mu.Unlock()
	o.ph.Register(key, hostAddr)
}

// Unregister forgets a port the agent closed.
func (o *phoneOS) Unregister(key, hostAddr string) {
	o.mu.Lock()
	delete(o.regs, key)
	o.mu.Unlock()
	o.ph.Unregister(key, hostAddr)
}

func (o *phoneOS) Listen(addr string) (net.Listener, error) {
	key, err := simos.PortKey(addr)
	if err != nil {
		return nil, err
	}
	o.ph.mu.Lock()
	_, taken := o.ph.ports[key]
	o.ph.mu.Unlock()
	if taken {
		return nil, fmt.Errorf("phone listen %s: address already in use", addr)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	o.ph.Register(key, ln.Addr().String())
	rl := &phoneListener{Listener: ln, unregister: func() { o.ph.Unregister(key, ln.Addr().String()) }}
	o.mu.Lock()
	o.lns = append(o.lns, rl)
	o.mu.Unlock()
	return rl, nil
}

func (o *phoneOS) closeAll() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, l := range o.lns {
		l.Close()
	}
	for k, a := range o.regs {
		o.ph.Unregister(k, a)
	}
}

type phoneListener struct {
	net.Listener
	once       sync.Once
	unregister func()
}

func (l *phoneListener) Close() error {
	err := l.Listener.Close()
	l.once.Do(l.unregister)
	return err
}

func (o *phoneOS) Run(ctx context.Context, cmdline string, stdin io.Reader, stdout io.Writer) (int, error) {
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	if stdout == nil {
		stdout = io.Discard
	}
	code := o.ph.sh(ctx, cmdline, stdin, stdout, stdout)
	return code, ctx.Err()
}

func (o *phoneOS) ReadFile(p string) ([]byte, error) { return o.ph.ReadFile(p) }
func (o *phoneOS) WriteFile(p string, data []byte, mode os.FileMode) error {
	return o.ph.WriteFile(p, data, mode)
}

// Register records that hostAddr serves the phone's key ("tcp:27183").
func (ph *Phone) Register(key, hostAddr string) {
	ph.mu.Lock()
	ph.ports[key] = hostAddr
	ph.mu.Unlock()
	ph.logf("listening on %s (host %s)", key, hostAddr)
}

// Unregister forgets a phone port if hostAddr still serves it.
func (ph *Phone) Unregister(key, hostAddr string) {
	ph.mu.Lock()
	if ph.ports[key] == hostAddr {
		delete(ph.ports, key)
	}
	ph.mu.Unlock()
}

// OS is the PhoneOS of this phone, for tests that run an agent by hand.
func (ph *Phone) OS() simos.PhoneOS { return &phoneOS{ph: ph} }

// checkAgentBuild says why a pushed file cannot run as the agent.
func checkAgentBuild(b []byte) (hostArch bool, err error) {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return false, errors.New("not executable: not an ELF file")
	}
	defer f.Close()
	if !bytes.Contains(b, []byte(AgentMarker)) {
		return false, errors.New("not an agent build (marker missing)")
	}
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "386": elf.EM_386, "arm64": elf.EM_AARCH64, "arm": elf.EM_ARM}[runtime.GOARCH]
	return f.Machine == want, nil
}

// startProgram runs a pushed file the shell was told to start. Only agent
// builds can run; anything else fails like a bad binary on Android.
func (ph *Phone) startProgram(file string, args []string, wait bool, stdout io.Writer) int {
	b, err := ph.ReadFile(file)
	if err != nil {
		fmt.Fprintf(stdout, "/system/bin/sh: %s: inaccessible or not found\n", file)
		return 127
	}
	fi, _ := os.Stat(ph.hostPath(file))
	if fi == nil || fi.Mode().Perm()&0o111 == 0 {
		fmt.Fprintf(stdout, "/system/bin/sh: %s: can't execute: Permission denied\n", file)
		return 126
	}
	hostArch, err := checkAgentBuild(b)
	if err != nil {
		ph.logf("start %s: %v", file, err)
		fmt.Fprintf(stdout, "/system/bin/sh: %s: can't execute: Exec format error\n", file)
		return 126
	}
	useProcess := ph.sim.opts.AgentProcess && hostArch
	if !useProcess && ph.sim.opts.RunAgent == nil && ph.sim.opts.RunAgentLog == nil {
		ph.logf("start %s: the sim has no agent to run (Options.RunAgent)", file)
		fmt.Fprintf(stdout, "/system/bin/sh: %s: can't execute: Exec format error\n", file)
		return 126
	}
	ph.mu.Lock()
	if !ph.plugged {
		ph.mu.Unlock()
		return 1
	}
	ctx, cancel := context.WithCancel(ph.bootCtx)
	ph.nextPID++
	a := &agentProc{pid: ph.nextPID, path: file, args: args, cancel: cancel, done: make(chan struct{})}
	ph.agents[a.pid] = a
	ph.mu.Unlock()
	osys := &phoneOS{ph: ph, owner: a}
	ph.logf("agent pid %d started: %s %s", a.pid, file, strings.Join(args, " "))
	// A foreground run (`preload-agent --version`) prints to the shell; a
	// detached one to the sim's log, as its real output goes to /dev/null.
	var logw io.Writer = &prefixWriter{ph: ph}
	if wait {
		logw = stdout
	}
	go func() {
		defer close(a.done)
		defer cancel()
		switch {
		case useProcess:
			a.err = ph.runProcess(ctx, b, args, osys, logw)
		case ph.sim.opts.RunAgentLog != nil:
			a.err = ph.sim.opts.RunAgentLog(ctx, osys, args, logw)
		default:
			a.err = ph.sim.opts.RunAgent(ctx, osys, args)
		}
		osys.closeAll()
		ph.mu.Lock()
		delete(ph.agents, a.pid)
		ph.mu.Unlock()
		ph.logf("agent pid %d ended: %v", a.pid, a.err)
	}()
	if !wait {
		return 0
	}
	<-a.done
	if a.err != nil && !errors.Is(a.err, context.Canceled) {
		fmt.Fprintln(stdout, a.err)
		return 1
	}
	return 0
}

// runProcess runs the agent binary on the host, its phone reached over a bridge.
func (ph *Phone) runProcess(ctx context.Context, bin []byte, args []string, osys *phoneOS, out io.Writer) error {
	dir, err := os.MkdirTemp(ph.dir, "proc-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	exe := dir + "/" + path.Base("preload-agent")
	if err := os.WriteFile(exe, bin, 0o755); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	bctx, bcancel := context.WithCancel(ctx)
	defer bcancel()
	go simos.ServeBridge(bctx, ln, osys, osys)
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), simos.EnvBridge+"="+ln.Addr().String())
	cmd.Dir = dir
	cmd.WaitDelay = 2 * time.Second
	cmd.Stdout, cmd.Stderr = out, out
	return cmd.Run()
}

type prefixWriter struct{ ph *Phone }

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.ph.logf("agent: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// kill stops programs by pid or by name (pkill/killall); it returns how many.
func (ph *Phone) kill(match func(a *agentProc) bool) int {
	ph.mu.Lock()
	var hit []*agentProc
	for _, a := range ph.agents {
		if match(a) {
			hit = append(hit, a)
		}
	}
	ph.mu.Unlock()
	for _, a := range hit {
		a.stop()
		select {
		case <-a.done:
		case <-time.After(3 * time.Second):
		}
	}
	return len(hit)
}

func (ph *Phone) agentList() []*agentProc {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	out := make([]*agentProc, 0, len(ph.agents))
	for _, a := range ph.agents {
		out = append(out, a)
	}
	return out
}

// Agents reports how many agent processes run on the phone.
func (ph *Phone) Agents() int { return len(ph.agentList()) }

func (ph *Phone) waitAgents(d time.Duration) {
	deadline := time.After(d)
	for _, a := range ph.agentList() {
		a.stop()
		select {
		case <-a.done:
		case <-deadline:
			return
		}
	}
}
