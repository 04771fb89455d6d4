package adb

import (
	"context"
	"net"
	"strconv"
	"strings"
	"time"
)

// Dialer opens connections to the adb server; tests swap in their own.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// Default no-progress timeouts. Override per call with WithIdleTimeout.
const (
	DefaultHostIdle  = 10 * time.Second // host commands: the server answers at once
	DefaultShellIdle = 2 * time.Minute  // shell/exec: commands may be silent a while
	DefaultSyncIdle  = 30 * time.Second // push/stat: a phone that stops acking
)

// Client is a factory of host connections to one adb server (host:port). It
// holds no connection itself: every call dials its own, so calls never queue
// behind each other and one stuck phone cannot hold up another.
type Client struct {
	addr   string
	dialer Dialer
	// Idle timeouts for calls without WithIdleTimeout in their context.
	HostIdle, ShellIdle, SyncIdle time.Duration
}

// NewClient returns a client for the adb server at addr ("127.0.0.1:5037").
func NewClient(addr string) *Client {
	return &Client{addr: addr, dialer: &net.Dialer{Timeout: 5 * time.Second},
		HostIdle: DefaultHostIdle, ShellIdle: DefaultShellIdle, SyncIdle: DefaultSyncIdle}
}

// WithDialer returns a copy of c that dials through d (for tests).
func (c *Client) WithDialer(d Dialer) *Client {
	cc := *c
	cc.dialer = d
	return &cc
}

// Addr is the adb server address.
func (c *Client) Addr() string { return c.addr }

func (c *Client) dial(ctx context.Context, op, serial string, def time.Duration) (*conn, error) {
	return dial(ctx, c.dialer, c.addr, op, serial, idleFrom(ctx, def))
}

// hostQuery sends a host request and returns its hex-length-prefixed reply.
func (c *Client) hostQuery(ctx context.Context, req, serial string) (string, error) {
	cn, err := c.dial(ctx, req, serial, c.HostIdle)
	if err != nil {
		return "", err
	}
	defer cn.Close()
	if err := cn.request(req); err != nil {
		return "", err
	}
	return cn.hexString()
}

// ServerVersion returns the adb server's internal version (41 for 1.0.41).
func (c *Client) ServerVersion(ctx context.Context) (int, error) {
	s, err := c.hostQuery(ctx, "host:version", "")
	if err != nil {
		return 0, err
	}
	v, perr := strconv.ParseInt(s, 16, 32)
	if perr != nil {
		return 0, protoErr("host:version", "", "bad version %q", s)
	}
	return int(v), nil
}

// DeviceInfo is one line of `adb devices -l`.
type DeviceInfo struct {
	Serial      string `json:"serial"`
	State       string `json:"state"` // "device", "offline", "unauthorized", "authorizing", "no permissions", …
	Product     string `json:"product,omitempty"`
	Model       string `json:"model,omitempty"`
	Device      string `json:"device,omitempty"`
	TransportID int64  `json:"transportId,omitempty"`
	DevPath     string `json:"devPath,omitempty"` // "usb:1-4.3" for USB phones
}

// TCP reports whether the device is connected over TCP (adb connect host:port).
func (d DeviceInfo) TCP() bool { return IsTCPSerial(d.Serial) }

// IsTCPSerial reports whether serial is a host:port adb connect target.
func IsTCPSerial(serial string) bool {
	h, p, err := net.SplitHostPort(serial)
	if err != nil || h == "" {
		return false
	}
	_, err = strconv.Atoi(p)
	return err == nil
}

// Devices lists devices (host:devices-l).
func (c *Client) Devices(ctx context.Context) ([]DeviceInfo, error) {
	s, err := c.hostQuery(ctx, "host:devices-l", "")
	if err != nil {
		return nil, err
	}
	return ParseDevices(s), nil
}

// ParseDevices parses the body of a host:devices-l or host:devices reply.
func ParseDevices(s string) []DeviceInfo {
	var out []DeviceInfo
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		d := DeviceInfo{Serial: f[0]}
		rest := f[1:]
		// The state may hold spaces ("no permissions (…); see […]"): it runs up
		// to the first key:value attribute.
		var state []string
		for len(rest) > 0 && !isAttr(rest[0]) {
			state = append(state, rest[0])
			rest = rest[1:]
		}
		d.State = strings.Join(state, " ")
		if strings.HasPrefix(d.State, "no permissions") {
			d.State = "no permissions"
		}
		for _, a := range rest {
			k, v, _ := strings.Cut(a, ":")
			switch k {
			case "usb":
				d.DevPath = a
			case "product":
				d.Product = v
			case "model":
				d.Model = v
			case "device":
				d.Device = v
			case "transport_id":
				d.TransportID, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		out = append(out, d)
	}
	return out
}

func isAttr(f string) bool {
	k, _, ok := strings.Cut(f, ":")
	if !ok {
		return false
	}
	switch k {
	case "usb", "product", "model", "device", "transport_id", "features":
		return true
	}
	return false
}

// Track streams the device list each time it changes (host:track-devices-l,
// falling back to host:track-devices on old servers). The first list arrives
// at once. The channel closes when ctx ends or the connection fails; callers
// re-Track (and poll: adb does not always report a dropped TCP device here).
func (c *Client) Track(ctx context.Context) (<-chan []DeviceInfo, error) {
	// No watchdog: the stream is silent while nothing changes.
	ctx = WithIdleTimeout(ctx, 0)
	var cn *conn
	var err error
	for _, req := range []string{"host:track-devices-l", "host:track-devices"} {
		cn, err = c.dial(ctx, req, "", 0)
		if err != nil {
			return nil, err
		}
		if err = cn.request(req); err == nil {
			break
		}
		cn.Close()
		cn = nil
		if Code(err) != "adb_failed" {
			return nil, err
		}
	}
	if cn == nil {
		return nil, err
	}
	ch := make(chan []DeviceInfo)
	go func() {
		defer close(ch)
		defer cn.Close()
		for {
			s, err := cn.hexString()
			if err != nil {
				return
			}
			select {
			case ch <- ParseDevices(s):
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

// Connect asks the server to connect to a TCP device (adb connect host:port).
func (c *Client) Connect(ctx context.Context, hostport string) error {
	s, err := c.hostQuery(ctx, "host:connect:"+hostport, hostport)
	if err != nil {
		return err
	}
	if strings.HasPrefix(s, "connected to") || strings.HasPrefix(s, "already connected to") {
		return nil
	}
	return newErr("connect", hostport, ErrFailed, s, nil)
}

// Disconnect drops a TCP device (adb disconnect host:port).
func (c *Client) Disconnect(ctx context.Context, hostport string) error {
	s, err := c.hostQuery(ctx, "host:disconnect:"+hostport, hostport)
	if err != nil {
		return err
	}
	if strings.HasPrefix(s, "disconnected") {
		return nil
	}
	return newErr("disconnect", hostport, ErrFailed, s, nil)
}

// Kill asks the server to exit (adb kill-server).
func (c *Client) Kill(ctx context.Context) error {
	cn, err := c.dial(ctx, "host:kill", "", c.HostIdle)
	if err != nil {
		return err
	}
	defer cn.Close()
	return cn.request("host:kill")
}

// Device returns a handle for the device with this serial. It holds no
// connection; it caches the device's feature list.
func (c *Client) Device(serial string) *Device {
	return &Device{c: c, serial: serial}
}
