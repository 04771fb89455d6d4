package simchild

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"preloadstation/backend/sim"
	"preloadstation/backend/sim/simreal"
)

// Env is the variable that makes a test binary a phones child; its value is
// the child's Config as JSON.
const Env = "PRELOAD_SIMCHILD"

// Config is the child's farm of phones.
type Config struct {
	Phones  int    `json:"phones"`
	Hubs    int    `json:"hubs"`
	Profile string `json:"profile"` // "mixed", a profile key, or keys separated by commas
	ADB     string `json:"adb"`     // the adb server the phones attach to, "127.0.0.1:PORT"
	// Agent lets the phones run the agent build a station pushes (the real
	// agent code, phone.MainLog), so the station installs over its channel.
	Agent bool `json:"agent,omitempty"`
}

// hello is the child's first line: the phones are attached to the adb server.
type hello struct {
	Serials []string `json:"serials"`
	Hubs    []int    `json:"hubs"`
	Plugged int64    `json:"plugged"` // unix nanos, just before the phones attached
}

// answer is the reply to a command other than pkgs ("ok" when it worked).
type answer struct {
	Error string `json:"error"`
}

// Main runs the phones and exits the process when Env is set; otherwise it
// returns at once. A TestMain calls it before anything else.
func Main() {
	if cfg := os.Getenv(Env); cfg != "" {
		os.Exit(Run(cfg, os.Stdin, os.Stdout))
	}
}

// Run is the child: it starts the phones cfgJSON describes, writes the hello
// line to out, then obeys one command per line of in ("unplug 3",
// "replug 3", "hang 3 1", "fail 3 PKG [CODE]", "pkgs 3", "quit") until "quit"
// or the end of in, and returns the process's exit code.
func Run(cfgJSON string, in io.Reader, out io.Writer) int {
	var cfg Config
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "simchild: config:", err)
		return 2
	}
	opts := sim.Options{Phones: cfg.Phones, Hubs: cfg.Hubs, Profile: cfg.Profile, USB: sim.DefaultUSB(),
		ADBServer: cfg.ADB, InspectAPK: simreal.InspectAPK}
	if cfg.Agent {
		opts.RunAgentLog = simreal.RunAgent
	}
	s, err := sim.New(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "simchild:", err)
		return 1
	}
	defer s.Close()
	plugged := time.Now()
	if err := s.Start(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "simchild:", err)
		return 1
	}
	phones := s.Phones()
	h := hello{Plugged: plugged.UnixNano()}
	for _, ph := range phones {
		h.Serials = append(h.Serials, ph.Serial())
		h.Hubs = append(h.Hubs, ph.HubIndex())
	}
	enc := json.NewEncoder(out)
	if err := enc.Encode(h); err != nil {
		return 1
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if f[0] == "quit" {
			return 0
		}
		var reply any = "ok"
		if err := obey(phones, f, &reply); err != nil {
			reply = answer{Error: err.Error()}
		}
		if err := enc.Encode(reply); err != nil {
			return 1
		}
	}
	return 0
}

// obey does one command; pkgs sets the reply to the phone's packages.
func obey(phones []*sim.Phone, f []string, reply *any) error {
	if len(f) < 2 {
		return fmt.Errorf("%q: no phone index", f[0])
	}
	i, err := strconv.Atoi(f[1])
	if err != nil || i < 0 || i >= len(phones) {
		return fmt.Errorf("%q: no phone %q", f[0], f[1])
	}
	ph := phones[i]
	switch {
	case f[0] == "unplug":
		ph.Unplug()
	case f[0] == "replug":
		return ph.Replug()
	case f[0] == "hang" && len(f) == 3:
		ph.Hang(f[2] == "1")
	case f[0] == "fail" && len(f) == 4:
		ph.FailInstall(f[2], f[3])
	case f[0] == "fail" && len(f) == 3: // no code: clear
		ph.FailInstall(f[2], "")
	case f[0] == "pkgs":
		*reply = ThirdParty(ph)
	default:
		return fmt.Errorf("unknown command %q", strings.Join(f, " "))
	}
	return nil
}

// ThirdParty is a phone's installed third-party packages and their versionCodes.
func ThirdParty(ph *sim.Phone) map[string]int64 {
	out := map[string]int64{}
	for _, p := range ph.Packages() {
		if !p.System {
			out[p.Name] = p.VersionCode
		}
	}
	return out
}
