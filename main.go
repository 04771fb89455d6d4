// Command preload-station is the Preload Station desktop app and its tools:
// with no arguments it opens the window; subcommands run the same program
// headless (serve), the catalog server, the virtual phones and the APK reader.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time: -ldflags "-X main.version=…".
var version = "dev"

// command is one subcommand of the binary. run gets the arguments after the name.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string) error
}

// commands lists every subcommand; each lives in its own cli_*.go file.
func commands() []command {
	return []command{
		{"serve", "the station UI over HTTP on loopback, no window", runServe},
		{"catalog", "run the catalog server, or admin tasks: catalog user add|app add|list set|station code", runCatalog},
		{"apk", "inspect an APK: apk inspect FILE [--json]", runAPK},
		{"sim", "attach N virtual phones to the local adb server", runSim},
	}
}

func main() {
	os.Exit(realMain(os.Args[1:]))
}

func realMain(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if len(args) == 0 || (len(args[0]) > 0 && args[0][0] == '-' && args[0] != "--version" && args[0] != "-version" && args[0] != "-h" && args[0] != "--help" && args[0] != "-help") {
		return exitCode(runDesktop(ctx, args))
	}
	switch args[0] {
	case "--version", "-version", "version":
		fmt.Println("preload-station", version)
		return 0
	case "-h", "--help", "-help", "help":
		usage()
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return exitCode(c.run(ctx, args[1:]))
		}
	}
	fmt.Fprintf(os.Stderr, "preload-station: unknown command %q\n\n", args[0])
	usage()
	return 2
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: preload-station [--data DIR]        open the station window")
	for _, c := range commands() {
		fmt.Fprintf(os.Stderr, "       preload-station %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(os.Stderr, "       preload-station --version")
}

func exitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		fmt.Fprintln(os.Stderr, "preload-station:", err)
		return 1
	}
}

// errUsage marks an error whose message was already printed with the usage.
var errUsage = errors.New("usage")
