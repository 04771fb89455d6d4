package adb

import (
	"context"
	"errors"
	"net"
	"strconv"

	"github.com/electricbubble/gadb"
)

// Forward is one entry of `adb forward --list`.
type Forward struct {
	Serial, Local, Remote string
}

// ListForwards lists every forward the server holds. It is the one call the
// station leaves to gadb: a pure host query the server answers from memory,
// with no phone in the path, so gadb's missing context cannot leave it hanging
// on a phone. It still honours ctx by returning early (gadb's own 60 s read
// deadline then ends its goroutine).
func (c *Client) ListForwards(ctx context.Context) ([]Forward, error) {
	host, ps, err := net.SplitHostPort(c.addr)
	if err != nil {
		return nil, newErr("host:list-forward", "", ErrFailed, c.addr, err)
	}
	port, _ := strconv.Atoi(ps)
	type result struct {
		fs  []gadb.DeviceForward
		err error
	}
	ch := make(chan result, 1)
	go func() {
		gc, err := gadb.NewClientWith(host, port)
		if err != nil {
			ch <- result{err: err}
			return
		}
		fs, err := gc.ForwardList()
		ch <- result{fs, err}
	}()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		if r.err != nil {
			code := ErrFailed
			var ne net.Error
			if errors.As(r.err, &ne) {
				code = ErrServerDown
			}
			return nil, newErr("host:list-forward", "", code, "", r.err)
		}
		out := make([]Forward, 0, len(r.fs))
		for _, f := range r.fs {
			out = append(out, Forward{Serial: f.Serial, Local: f.Local, Remote: f.Remote})
		}
		return out, nil
	}
}
