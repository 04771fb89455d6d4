package library

import (
	"testing"

	"go.uber.org/goleak"
)

// Downloads start goroutines; none may outlive Prefetch.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	)
}
