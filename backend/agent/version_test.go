package agent

import (
	"context"
	"encoding/binary"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"preloadstation/backend/agent/wire"
	"preloadstation/backend/phone"
	"preloadstation/backend/sim/simos"
)

// TestVersionMismatchRestartsAgent: the phone runs an agent that speaks
// another protocol version (an old process). The station says so in its log,
// stops it, and starts this station's build; the channel comes up.
func TestVersionMismatchRestartsAgent(t *testing.T) {
	var serves atomic.Int32
	oldAgent := func(ctx context.Context, osys simos.PhoneOS, args []string, out io.Writer) error {
		if len(args) == 0 || args[0] != "serve" || serves.Add(1) > 1 {
			return phone.MainLog(ctx, osys, args, out)
		}
		ln, err := osys.Listen("127.0.0.1:27183")
		if err != nil {
			return err
		}
		context.AfterFunc(ctx, func() { ln.Close() })
		for {
			c, err := ln.Accept()
			if err != nil {
				return ctx.Err()
			}
			c.Write([]byte{wire.ReadyByte})
			wire.ReadFrame(c)
			w := wire.NewWriter(c)
			w.WriteFrame(wire.KindHelloOK, append(binary.BigEndian.AppendUint16(nil, wire.ProtoVersion+1), "old-build"...))
			w.WriteFrame(wire.KindReject, []byte("version mismatch"))
			c.Close()
		}
	}
	r := newRig(t, rigOpts{phones: 1, runAgent: oldAgent, mopts: Options{RetryMin: 20 * time.Millisecond}})
	ph := r.sim.Phones()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ch, err := r.m.WaitReady(ctx, ph.Serial())
	if err != nil || ch == nil {
		t.Fatalf("no channel: %v", err)
	}
	if !strings.Contains(r.log.String(), "protocol version mismatch: agent speaks 2, station 1") {
		t.Fatalf("no clear log line for the version mismatch:\n%s", tail(r.log.String(), 4000))
	}
	if serves.Load() != 2 || ph.Agents() != 1 {
		t.Fatalf("%d agent starts, %d running; want the old one replaced", serves.Load(), ph.Agents())
	}
	if ch.AgentBuild() == "old-build" {
		t.Fatal("channel to the old agent")
	}
}
