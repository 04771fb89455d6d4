package install

import (
	"context"
	"errors"
	"io"
	"sync/atomic"

	"preloadstation/backend/agent/wire"
)

// AgentInstaller is the agent channel manager's install call
// (*agent.Manager has it).
type AgentInstaller interface {
	Install(ctx context.Context, serial string, req wire.InstallRequest, r io.Reader, progress func(int64)) (wire.InstallResult, error)
}

// AgentTransport streams raw APK bytes over the phone's authenticated
// channel; the agent pipes them into `cmd package install -S` on the phone
// and the phone's page shows the progress. When the channel is down before
// the first byte, Fallback (the direct exec transport) takes the APK instead.
type AgentTransport struct {
	Agent    AgentInstaller
	Serial   string
	Package  func() (pkg, label string) // optional: names for the phone's page
	Fallback Transport
	// NoChannel is the agent package's "channel down" error (agent.ErrNoChannel).
	NoChannel error
}

// Name implements Transport.
func (t AgentTransport) Name() string { return "agent" }

// Install implements Transport.
func (t AgentTransport) Install(ctx context.Context, apk io.Reader, size int64) (string, error) {
	req := wire.InstallRequest{Size: size}
	if t.Package != nil {
		req.Package, req.Name = t.Package()
	}
	cr := &countReader{r: apk}
	res, err := t.Agent.Install(ctx, t.Serial, req, cr, nil)
	var re *wire.RemoteError
	switch {
	case err == nil:
		return res.Output, nil
	case errors.As(err, &re):
		// The package manager said no: its "Failure [...]" text is the output.
		return re.Msg, nil
	case t.Fallback != nil && t.NoChannel != nil && errors.Is(err, t.NoChannel) && cr.n.Load() == 0:
		return t.Fallback.Install(ctx, apk, size)
	}
	return res.Output, err
}

type countReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
