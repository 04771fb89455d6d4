package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"preloadstation/backend/sim"
	"preloadstation/backend/sim/simreal"
)

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// adbServerPort is where adb itself would look: ANDROID_ADB_SERVER_PORT or 5037.
func adbServerPort() int {
	if p, err := strconv.Atoi(os.Getenv("ANDROID_ADB_SERVER_PORT")); err == nil && p > 0 {
		return p
	}
	return 5037
}

// runSim is `preload-station sim`: virtual phones attached to the local adb server.
func runSim(ctx context.Context, args []string) error {
	def := sim.DefaultUSB()
	fset := flag.NewFlagSet("sim", flag.ContinueOnError)
	phones := fset.Int("phones", 16, "number of virtual phones / 虚拟手机数量")
	hubs := fset.Int("hubs", 2, "number of USB hubs the phones are spread over / USB 集线器数量")
	profile := fset.String("profile", "mixed", "phone profiles: mixed, or keys separated by commas / 机型")
	adbPort := fset.Int("adb-port", adbServerPort(), "adb server port (default $ANDROID_ADB_SERVER_PORT or 5037)")
	basePort := fset.Int("base-port", 0, "phone i listens on base-port+i (0: free ports)")
	control := fset.String("control", "", "serve the fault control API on this loopback address, e.g. 127.0.0.1:8630")
	hubMBps := fset.Float64("hub-mbps", def.HubBytesPerSec/sim.MB, "USB bandwidth per hub, MB/s, shared (0: unlimited)")
	phoneMBps := fset.Float64("phone-mbps", def.PhoneBytesPerSec/sim.MB, "USB bandwidth per phone, MB/s (0: unlimited)")
	commitFixed := fset.Duration("commit-fixed", def.CommitFixed, "install commit time per package, fixed part")
	commitPerMB := fset.Duration("commit-per-mb", def.CommitPerMB, "install commit time per MB of APK")
	bootTime := fset.Duration("boot-time", 20*time.Second, "how long a rebooting phone is away")
	agentProcess := fset.Bool("agent-process", false, "run a pushed agent built for this host as a real process")
	dir := fset.String("dir", "", "keep the phones' files here (default: a temp dir, removed on exit)")
	verbose := fset.Bool("v", false, "log every phone event")
	var faults multiFlag
	fset.Var(&faults, "fault", "PHONE:NAME[=ARG], repeatable; PHONE is an index or *; names: "+strings.Join(sim.Faults, ", "))
	if err := fset.Parse(args); err != nil {
		return errUsage
	}
	if fset.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "sim: unexpected argument %q\n", fset.Arg(0))
		return errUsage
	}
	if *control != "" {
		if host, _, err := net.SplitHostPort(*control); err != nil || !net.ParseIP(host).IsLoopback() {
			return fmt.Errorf("sim: --control must be a loopback address (控制接口只能监听本机地址): %q", *control)
		}
	}
	server := net.JoinHostPort("127.0.0.1", strconv.Itoa(*adbPort))
	if err := ensureADBServer(ctx, *adbPort, server); err != nil {
		return err
	}
	logger := log.New(os.Stderr, "sim: ", log.LstdFlags)
	opts := sim.Options{
		Phones: *phones, Hubs: *hubs, Profile: *profile, BasePort: *basePort, Dir: *dir,
		USB: sim.USBModel{HubBytesPerSec: *hubMBps * sim.MB, PhoneBytesPerSec: *phoneMBps * sim.MB,
			CommitFixed: *commitFixed, CommitPerMB: *commitPerMB},
		ADBServer: server, BootTime: *bootTime, AgentProcess: *agentProcess,
		InspectAPK: simreal.InspectAPK, RunAgentLog: simreal.RunAgent,
	}
	if *verbose {
		opts.Logf = logger.Printf
	}
	s, err := sim.New(opts)
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		return err
	}
	defer func() {
		s.Close()
		fmt.Fprintln(os.Stderr, "sim: phones detached and removed / 虚拟手机已断开并清理")
	}()
	for _, f := range faults {
		if err := s.ApplyFaultSpec(f); err != nil {
			return err
		}
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SERIAL 序列号\tHUB 集线器\tMODEL 型号\tANDROID\tABI\tPORT 端口")
	for _, ph := range s.Phones() {
		p := ph.Profile()
		fmt.Fprintf(tw, "%s\t%d\t%s %s\t%s (SDK %d)\t%s\t%d\n", ph.Serial(), ph.HubIndex(), p.Manufacturer, p.Model,
			p.Release, p.SDK, strings.Join(p.ABIs, ","), ph.Port())
	}
	tw.Flush()
	fmt.Printf("%d phones attached to the adb server at %s / 已连接 %d 台虚拟手机\n", *phones, server, *phones)
	errc := make(chan error, 1)
	if *control != "" {
		ln, err := net.Listen("tcp", *control)
		if err != nil {
			return fmt.Errorf("sim: control API: %w", err)
		}
		srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
		go func() { errc <- srv.Serve(ln) }()
		defer srv.Close()
		fmt.Printf("control API / 控制接口: http://%s/phones\n", ln.Addr())
	}
	fmt.Println("Ctrl-C to stop / 按 Ctrl-C 停止")
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

// ensureADBServer starts the adb server the phones attach to, if it is not running.
func ensureADBServer(ctx context.Context, port int, addr string) error {
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		return nil
	}
	cmd := exec.CommandContext(ctx, "adb", "-P", strconv.Itoa(port), "start-server")
	if out, err := cmd.CombinedOutput(); err != nil {
		// Another adb client may have started it at the same moment.
		if c, derr := net.DialTimeout("tcp", addr, time.Second); derr == nil {
			c.Close()
			return nil
		}
		return fmt.Errorf("sim: start the adb server on port %d (启动 adb 服务失败): %v: %s", port, err, out)
	}
	return nil
}
