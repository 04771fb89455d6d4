package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"time"

	"preloadstation/backend/agent/wire"
	"preloadstation/backend/events"
)

// Options configure a Manager. Zero values get the defaults noted.
type Options struct {
	Log  *slog.Logger
	Emit events.Emitter
	// Key returns the station key the per-phone secrets derive from.
	Key func(ctx context.Context) ([]byte, error)
	// Config answers configuration from phones and what their pages show; nil:
	// the station takes no configuration from phones.
	Config Configurator
	// Builds picks the agent build for an ABI; default the embedded builds.
	Builds func(abi string) (Build, error)

	AgentPort        int           // channel port on the phone's loopback; default 27183
	PagePort         int           // page port on the phone's loopback; default 27184
	Heartbeat        time.Duration // default 2 s
	Timeout          time.Duration // no frame for this long: channel dead; default 4×Heartbeat
	HandshakeTimeout time.Duration // default 5 s
	StartWait        time.Duration // how long a started agent may take to listen; default 5 s
	RetryMin         time.Duration // first rebuild delay; default 100 ms
	RetryMax         time.Duration // longest rebuild delay; default 5 s
	FallbackAfter    int           // push/start failures before direct-ADB fallback; default 3
	OpenPage         bool          // open the page on the phone while the station is unconfigured
}

// Manager keeps one supervised worker per attached phone.
type Manager struct {
	opts Options
	log  *slog.Logger

	mu     sync.Mutex
	ctx    context.Context // Serve's; nil until Serve runs
	phones map[string]*entry
	wg     sync.WaitGroup
}

type entry struct {
	w       *worker
	cancel  context.CancelFunc
	done    chan struct{}
	started bool
}

// NewManager builds a manager; Serve runs it.
func NewManager(opts Options) *Manager {
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Emit == nil {
		opts.Emit = events.Nop{}
	}
	if opts.Builds == nil {
		opts.Builds = BuildForABI
	}
	if opts.AgentPort == 0 {
		opts.AgentPort = 27183
	}
	if opts.PagePort == 0 {
		opts.PagePort = 27184
	}
	if opts.Heartbeat == 0 {
		opts.Heartbeat = 2 * time.Second
	}
	if opts.Timeout == 0 {
		opts.Timeout = 4 * opts.Heartbeat
	}
	if opts.HandshakeTimeout == 0 {
		opts.HandshakeTimeout = 5 * time.Second
	}
	if opts.StartWait == 0 {
		opts.StartWait = 5 * time.Second
	}
	if opts.RetryMin == 0 {
		opts.RetryMin = 100 * time.Millisecond
	}
	if opts.RetryMax == 0 {
		opts.RetryMax = 5 * time.Second
	}
	if opts.FallbackAfter == 0 {
		opts.FallbackAfter = 3
	}
	return &Manager{opts: opts, log: opts.Log, phones: map[string]*entry{}}
}

// Serve runs the workers until ctx ends, then stops them all and returns.
func (m *Manager) Serve(ctx context.Context) error {
	m.mu.Lock()
	if m.ctx != nil {
		m.mu.Unlock()
		return fmt.Errorf("agent manager already running")
	}
	m.ctx = ctx
	for _, e := range m.phones {
		m.runLocked(e)
	}
	m.mu.Unlock()
	<-ctx.Done()
	m.mu.Lock()
	for _, e := range m.phones {
		e.cancel()
	}
	m.mu.Unlock()
	m.wg.Wait()
	return ctx.Err()
}

// Attach starts serving a phone (idempotent). Its worker gets its own
// context: nothing another phone does can cancel it.
func (m *Manager) Attach(serial string, dev Device) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.phones[serial]; ok {
		return
	}
	if m.ctx != nil && m.ctx.Err() != nil {
		return
	}
	e := &entry{w: newWorker(m, serial, dev), cancel: func() {}, done: make(chan struct{})}
	m.phones[serial] = e
	m.emit(e.w.snapshot())
	if m.ctx != nil {
		m.runLocked(e)
	}
}

// runLocked starts an entry's worker under Serve's context.
func (m *Manager) runLocked(e *entry) {
	ctx, cancel := context.WithCancel(m.ctx)
	e.cancel = cancel
	e.started = true
	serial := e.w.serial
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(e.done)
		defer func() {
			if r := recover(); r != nil { // one phone's bug must not take the station down
				m.log.Error("phone worker panicked", "serial", serial, "panic", r)
			}
		}()
		e.w.Serve(ctx)
	}()
}

// Detach stops serving a phone (unplugged) and waits for its worker to end.
func (m *Manager) Detach(serial string) {
	m.mu.Lock()
	e, ok := m.phones[serial]
	delete(m.phones, serial)
	var started bool
	if ok {
		e.cancel()
		started = e.started
	}
	m.mu.Unlock()
	if started {
		<-e.done
	}
}

func (m *Manager) worker(serial string) *worker {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.phones[serial]; ok {
		return e.w
	}
	return nil
}

func (m *Manager) workers() []*worker {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]*worker, 0, len(m.phones))
	for _, e := range m.phones {
		out = append(out, e.w)
	}
	return out
}

func (m *Manager) emit(st PhoneState) { m.opts.Emit.Emit(events.AgentState, st) }

// State is one phone's agent state.
func (m *Manager) State(serial string) (PhoneState, bool) {
	w := m.worker(serial)
	if w == nil {
		return PhoneState{}, false
	}
	return w.snapshot(), true
}

// States lists every attached phone's agent state, by serial.
func (m *Manager) States() []PhoneState {
	ws := m.workers()
	out := make([]PhoneState, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.snapshot())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Serial < out[j].Serial })
	return out
}

// Channel returns the phone's channel if it is up, else nil (use direct ADB).
func (m *Manager) Channel(serial string) *Channel {
	if w := m.worker(serial); w != nil {
		return w.channel()
	}
	return nil
}

// WaitReady waits until the phone's channel is up, or the phone fell back to
// direct ADB installs (nil channel, no error).
func (m *Manager) WaitReady(ctx context.Context, serial string) (*Channel, error) {
	for {
		w := m.worker(serial)
		if w == nil {
			return nil, fmt.Errorf("phone %s is not attached", serial)
		}
		w.mu.Lock()
		ch, ready, fb := w.ch, w.ready, w.state.Fallback
		w.mu.Unlock()
		if ch != nil || fb {
			return ch, nil
		}
		select {
		case <-ready:
		case <-time.After(100 * time.Millisecond): // fallback has no signal of its own
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Install streams an APK through the phone's channel and shows it on the
// phone's page. It fails with ErrNoChannel when the channel is down.
func (m *Manager) Install(ctx context.Context, serial string, req wire.InstallRequest, r io.Reader, progress func(int64)) (wire.InstallResult, error) {
	w := m.worker(serial)
	var ch *Channel
	if w != nil {
		ch = w.channel()
	}
	if ch == nil {
		return wire.InstallResult{}, ErrNoChannel
	}
	name := req.Name
	if name == "" {
		name = req.Package
	}
	w.setInstall(name, "sending", 0, "")
	m.pushPage(w)
	last := time.Now()
	res, err := ch.Install(ctx, req, r, func(n int64) {
		if progress != nil {
			progress(n)
		}
		if time.Since(last) > 200*time.Millisecond || n == req.Size { // the page needs ~5 updates/s, not more
			last = time.Now()
			st := "sending"
			if n == req.Size {
				st = "installing"
			}
			w.setInstall(name, st, int(n*100/max(req.Size, 1)), "")
			m.pushPage(w)
		}
	})
	if err != nil {
		w.setInstall(name, "failed", 100, err.Error())
	} else {
		w.setInstall(name, "installed", 100, "")
	}
	m.pushPage(w)
	return res, err
}

// ErrNoChannel means the phone has no channel now: install over ADB directly.
var ErrNoChannel = fmt.Errorf("no channel to the phone's agent")

func (w *worker) setInstall(name, state string, pct int, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range w.page.installs {
		if w.page.installs[i].Name == name {
			w.page.installs[i] = wire.InstallView{Name: name, State: state, Percent: pct, Message: msg}
			return
		}
	}
	w.page.installs = append(w.page.installs, wire.InstallView{Name: name, State: state, Percent: pct, Message: msg})
}

// SetSlot tells the phone's page its slot label.
func (m *Manager) SetSlot(serial, label string) {
	if w := m.worker(serial); w != nil {
		w.mu.Lock()
		w.page.slot = label
		w.mu.Unlock()
		m.pushPage(w)
	}
}

// Identify shows (or hides) the slot label full-screen on the phone's page.
func (m *Manager) Identify(serial string, on bool) error {
	w := m.worker(serial)
	if w == nil {
		return fmt.Errorf("phone %s is not attached", serial)
	}
	w.mu.Lock()
	w.page.identify = on
	w.mu.Unlock()
	if w.channel() == nil {
		return ErrNoChannel
	}
	m.pushPage(w)
	return nil
}

// Identifying reports whether the phone's page shows its slot label full-screen.
func (m *Manager) Identifying(serial string) bool {
	w := m.worker(serial)
	if w == nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.page.identify
}

// RefreshPages re-sends every phone's page (the station's configuration changed).
func (m *Manager) RefreshPages() {
	for _, w := range m.workers() {
		m.pushPage(w)
	}
}

func (m *Manager) pageBase(ctx context.Context) PageBase {
	if m.opts.Config == nil {
		return PageBase{Station: "Preload Station", Configured: true}
	}
	return m.opts.Config.PageInfo(ctx)
}

// pushPage sends the phone's whole page state over its channel, if up.
func (m *Manager) pushPage(w *worker) {
	ch := w.channel()
	if ch == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	base := m.pageBase(ctx)
	cancel()
	w.mu.Lock()
	ps := wire.PageState{Station: base.Station, Configured: base.Configured, AllowConfig: base.AllowConfig, Lists: base.Lists,
		Slot: w.page.slot, Identify: w.page.identify, Installs: append([]wire.InstallView(nil), w.page.installs...), Config: w.page.config}
	w.mu.Unlock()
	if err := ch.SetPage(ps); err != nil {
		w.log.Debug("page update not sent", "err", err)
	}
}

// configureFrom handles a configuration form sent from one phone's page.
func (m *Manager) configureFrom(serial string) func(context.Context, wire.ConfigForm) wire.ConfigResult {
	return func(ctx context.Context, form wire.ConfigForm) wire.ConfigResult {
		w := m.worker(serial)
		if m.opts.Config == nil || w == nil {
			return wire.ConfigResult{State: "error", Message: "This station does not take configuration from phones.",
				MessageZH: "此工作站不接受从手机配置。"}
		}
		pending := wire.ConfigResult{State: "pending", Message: "The station is checking the configuration…", MessageZH: "工作站正在验证配置…"}
		w.mu.Lock()
		w.page.config = &pending
		w.mu.Unlock()
		m.pushPage(w)
		res := m.opts.Config.Configure(ctx, serial, form)
		m.log.Info("configuration from phone", "serial", serial, "state", res.State, "message", res.Message)
		w.mu.Lock()
		w.page.config = &res
		w.mu.Unlock()
		m.RefreshPages() // every phone's page learns the station is configured
		return res
	}
}
