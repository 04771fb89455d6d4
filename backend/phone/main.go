package phone

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"strings"
	"time"

	"preloadstation/backend/agent/wire"
)

// Version is the agent build, set with -ldflags "-X preloadstation/backend/phone.Version=…".
var Version = "dev"

// Defaults for the agent's command line; the station passes its own.
const (
	DefaultPort     = 27183
	DefaultHTTPPort = 27184
	DefaultKeyFile  = "/data/local/tmp/preload-agent.key"
)

// VersionLine is what --version prints. It carries wire.BuildMarker, which the
// virtual phones look for in a pushed binary; printing it keeps it in the build.
func VersionLine() string {
	return fmt.Sprintf("preload-agent %s (%s proto %d)", Version, wire.BuildMarker, wire.ProtoVersion)
}

// Main runs the agent with a command line: `serve [--port N] [--http-port N]
// [--key-file F] [--log F]` or `--version`. args may start with the program
// path. It returns when ctx is cancelled.
func Main(ctx context.Context, osys PhoneOS, args []string) error {
	return MainLog(ctx, osys, args, os.Stderr)
}

// MainLog is Main with the log destination given (tests, the sim's process mode).
func MainLog(ctx context.Context, osys PhoneOS, args []string, logw io.Writer) error {
	if len(args) > 0 && strings.HasPrefix(path.Base(args[0]), "preload-agent") {
		args = args[1:]
	}
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version" || args[0] == "version") {
		fmt.Fprintln(logw, VersionLine())
		return nil
	}
	if len(args) == 0 || args[0] != "serve" {
		return fmt.Errorf("usage: preload-agent serve [--port N] [--http-port N] [--key-file F] | --version")
	}
	fs := flag.NewFlagSet("preload-agent serve", flag.ContinueOnError)
	fs.SetOutput(logw)
	port := fs.Int("port", DefaultPort, "loopback TCP port for the station's channel")
	httpPort := fs.Int("http-port", DefaultHTTPPort, "loopback TCP port for the on-phone page")
	keyFile := fs.String("key-file", DefaultKeyFile, "file holding the channel secret (hex), mode 0600")
	heartbeat := fs.Duration("heartbeat", 2*time.Second, "heartbeat interval")
	timeout := fs.Duration("timeout", 8*time.Second, "channel is dead after this long without a frame")
	debug := fs.Bool("debug", false, "verbose log")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: level}))
	a := New(osys, Config{
		ControlAddr: fmt.Sprintf("127.0.0.1:%d", *port),
		HTTPAddr:    fmt.Sprintf("127.0.0.1:%d", *httpPort),
		KeyFile:     *keyFile,
		Heartbeat:   *heartbeat,
		Timeout:     *timeout,
		Log:         log,
	})
	err := a.Serve(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
