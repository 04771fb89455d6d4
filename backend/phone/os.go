package phone

import (
	"context"
	"io"
	"net"
	"os"
)

// PhoneOS is everything the agent needs from the phone. It is identical to
// backend/sim/simos.PhoneOS so a virtual phone can host the agent in-process;
// cmd/preload-agent provides the real one.
type PhoneOS interface {
	// Listen listens on the phone's loopback, e.g. "127.0.0.1:27183".
	Listen(addr string) (net.Listener, error)
	// Run runs a shell command on the phone with stdin, writing its output
	// (stdout and stderr) to stdout.
	Run(ctx context.Context, cmdline string, stdin io.Reader, stdout io.Writer) (exitCode int, err error)
	ReadFile(path string) ([]byte, error)
	WriteFile(path string, data []byte, mode os.FileMode) error
}
