package simchild

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// quitWait bounds how long Close waits for the child to close its phones.
const quitWait = 20 * time.Second

// Phones is the parent's handle on a child's phones, indexed 0..n-1 as the
// child's sim numbers them. Its methods report a failed command with
// t.Errorf, so they may be called from any goroutine while the test runs.
type Phones struct {
	t       testing.TB
	cmd     *exec.Cmd
	serials []string
	hubs    []int
	plugged time.Time

	mu     sync.Mutex // one command at a time; guards in
	in     io.WriteCloser
	out    *bufio.Reader
	closed bool
}

// Start runs cfg's phones in a child copy of this test binary (whose TestMain
// calls Main) and returns once they are attached to the adb server. Close
// runs at the test's cleanup.
func Start(t testing.TB, cfg Config) *Phones {
	t.Helper()
	return StartAs(t, Env, cfg)
}

// StartAs is Start with the child picked by another variable than Env: env
// names the variable the child's TestMain (or init) looks for, and the child
// must speak Run's protocol.
func StartAs(t testing.TB, env string, cfg Config) *Phones {
	t.Helper()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env+"="+string(b))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("virtual phones child: %v", err)
	}
	p := &Phones{t: t, cmd: cmd, in: in, out: bufio.NewReaderSize(out, 1<<20)}
	t.Cleanup(p.Close)
	var h hello
	line, err := p.out.ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &h)
	}
	if err != nil || len(h.Serials) != cfg.Phones {
		t.Fatalf("virtual phones child (%s): %v, hello %q", env, err, line)
	}
	p.serials, p.hubs, p.plugged = h.Serials, h.Hubs, time.Unix(0, h.Plugged)
	return p
}

// Serials are the phones' adb serials.
func (p *Phones) Serials() []string { return p.serials }

// Hub is the index of the (modelled) USB hub phone i hangs on.
func (p *Phones) Hub(i int) int { return p.hubs[i] }

// Plugged is when the phones were about to attach to the adb server.
func (p *Phones) Plugged() time.Time { return p.plugged }

// Unplug pulls phone i's cable: adb forgets it and its agent dies.
func (p *Phones) Unplug(i int) { p.do(fmt.Sprintf("unplug %d", i)) }

// Replug puts phone i's cable back.
func (p *Phones) Replug(i int) { p.do(fmt.Sprintf("replug %d", i)) }

// Hang makes phone i stop answering anything (on) or resume.
func (p *Phones) Hang(i int, on bool) {
	v := 0
	if on {
		v = 1
	}
	p.do(fmt.Sprintf("hang %d %d", i, v))
}

// FailInstall makes phone i's package manager refuse pkg with code
// (INSTALL_FAILED_…); an empty code clears it.
func (p *Phones) FailInstall(i int, pkg, code string) {
	p.do(fmt.Sprintf("fail %d %s %s", i, pkg, code))
}

// Packages is phone i's third-party packages and their versionCodes.
func (p *Phones) Packages(i int) map[string]int64 {
	line, err := p.call(fmt.Sprintf("pkgs %d", i))
	m := map[string]int64{}
	if err == nil && json.Unmarshal(line, &m) != nil {
		err = refusal(line)
	}
	if err != nil {
		p.t.Errorf("virtual phones: pkgs %d: %v", i, err)
	}
	return m
}

// do runs a command that answers "ok" or an error.
func (p *Phones) do(cmd string) {
	line, err := p.call(cmd)
	if err == nil && !bytes.Equal(bytes.TrimSpace(line), []byte(`"ok"`)) {
		err = refusal(line)
	}
	if err != nil {
		p.t.Errorf("virtual phones: %s: %v", cmd, err)
	}
}

func refusal(line []byte) error {
	var a answer
	if json.Unmarshal(line, &a) != nil || a.Error == "" {
		return fmt.Errorf("unexpected answer %q", line)
	}
	return fmt.Errorf("%s", a.Error)
}

func (p *Phones) call(cmd string) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("the child has been closed")
	}
	if _, err := fmt.Fprintln(p.in, cmd); err != nil {
		return nil, err
	}
	return p.out.ReadBytes('\n')
}

// Close asks the child to close its phones (detaching them from the adb
// server) and waits for it to exit; after quitWait it is killed. A child
// that failed (a panic, a data race under -race) fails the test. Calling
// Close again does nothing.
func (p *Phones) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	fmt.Fprintln(p.in, "quit")
	p.in.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			p.t.Errorf("virtual phones child: %v", err)
		}
	case <-time.After(quitWait):
		p.t.Logf("virtual phones child did not quit within %s: killed", quitWait)
		_ = p.cmd.Process.Kill()
		<-done
	}
}
