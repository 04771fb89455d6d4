// Command preload-agent is the phone agent: the station pushes it to
// /data/local/tmp and starts it with `preload-agent serve --port N …`. All
// logic is in backend/phone; this file only picks the phone's OS: the real
// one, or a virtual phone's bridge when PRELOAD_SIM_OS is set (tests).
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"preloadstation/backend/phone"
	"preloadstation/backend/sim/simos"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	signal.Ignore(syscall.SIGHUP) // started with nohup; survive the adb shell closing anyway

	var osys phone.PhoneOS = realOS{}
	if addr := os.Getenv(simos.EnvBridge); addr != "" {
		o, err := simos.Dial(addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, "preload-agent:", err)
			os.Exit(1)
		}
		osys = o
	}
	if err := phone.Main(ctx, osys, os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "preload-agent:", err)
		os.Exit(1)
	}
}

// realOS is the phone the agent runs on.
type realOS struct{}

func (realOS) Listen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }

func (realOS) Run(ctx context.Context, cmdline string, stdin io.Reader, stdout io.Writer) (int, error) {
	sh := "/system/bin/sh"
	if _, err := os.Stat(sh); err != nil {
		sh = "/bin/sh"
	}
	cmd := exec.CommandContext(ctx, sh, "-c", cmdline)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stdout
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}

func (realOS) ReadFile(path string) ([]byte, error) { return os.ReadFile(path) }

func (realOS) WriteFile(path string, data []byte, mode os.FileMode) error {
	return os.WriteFile(path, data, mode)
}
