package phone

import (
	"testing"

	"go.uber.org/goleak"
)

// Agent.Serve must really stop everything it started.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"), // the tests' HTTP client
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"))
}
