package catalog

import (
	"testing"

	"go.uber.org/goleak"
)

// Workers (Outbox.Serve, Server.Serve, downloads) must be gone when tests end.
// Idle keep-alive connections of the HTTP clients are not ours to stop.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	)
}
