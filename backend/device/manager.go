package device

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sort"
	"sync"
	"time"

	"preloadstation/backend/adb"
	"preloadstation/backend/events"
)

// Options configure a Manager. Zero values take the defaults in brackets.
type Options struct {
	Client  *adb.Client
	Slots   Slots          // [MemSlots]
	Emitter events.Emitter // [events.Nop]
	Log     *slog.Logger   // [discard]

	Poll         time.Duration // host:devices-l poll interval [250 ms]
	FactsIdle    time.Duration // no-progress watchdog while reading facts [10 s]
	RetryMax     time.Duration // longest wait between retries of a failing phone [10 s]
	RecoverGrace time.Duration // after an adb server restart, how long missing phones stay (offline) before they count as gone [10 s]
}

// Manager discovers phones and runs one worker per phone. Create it with New,
// run it with Serve.
type Manager struct {
	opts Options
	bc   *events.Broadcaster

	mu         sync.Mutex
	phones     map[string]*entry
	serverDown bool      // the last poll could not reach the adb server
	bounced    bool      // the track connection broke: the server may have restarted
	graceUntil time.Time // see Options.RecoverGrace
	lastList   time.Time // start time of the newest device list applied
	identify   func(ctx context.Context, serial string) error
	workers    sync.WaitGroup
	ctx        context.Context // Serve's, for workers
}

type entry struct {
	info     adb.DeviceInfo
	dev      *adb.Device
	slot     Slot
	facts    *Facts
	probeErr error
	reprobe  bool // re-read facts (back online, or asked to)
	busy     string
	attached time.Time
	readyAt  *time.Time
	kick     chan struct{}
	cancel   context.CancelFunc
	last     *Phone // last emitted snapshot, to skip no-change updates
}

// New returns a Manager; nothing runs until Serve.
func New(opts Options) *Manager {
	if opts.Slots == nil {
		opts.Slots = &MemSlots{}
	}
	if opts.Emitter == nil {
		opts.Emitter = events.Nop{}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Poll <= 0 {
		opts.Poll = 250 * time.Millisecond
	}
	if opts.FactsIdle <= 0 {
		opts.FactsIdle = 10 * time.Second
	}
	if opts.RetryMax <= 0 {
		opts.RetryMax = 10 * time.Second
	}
	if opts.RecoverGrace <= 0 {
		opts.RecoverGrace = 10 * time.Second
	}
	return &Manager{opts: opts, bc: events.NewBroadcaster(), phones: map[string]*entry{}}
}

// list is one device list from the tracker or the poller.
type list struct {
	devs        []adb.DeviceInfo
	at          time.Time // when the request started (poll) or arrived (track)
	err         error
	trackClosed bool
}

// Serve discovers phones until ctx ends, then stops every worker and returns
// ctx's error once they have all returned.
func (m *Manager) Serve(ctx context.Context) error {
	m.mu.Lock()
	m.ctx = ctx
	m.mu.Unlock()
	lists := make(chan list)
	var loops sync.WaitGroup
	loops.Add(2)
	go func() { defer loops.Done(); m.trackLoop(ctx, lists) }()
	go func() { defer loops.Done(); m.pollLoop(ctx, lists) }()
	for {
		select {
		case <-ctx.Done():
			loops.Wait()
			m.mu.Lock()
			for _, e := range m.phones {
				e.cancel()
			}
			m.mu.Unlock()
			m.workers.Wait()
			return ctx.Err()
		case l := <-lists:
			m.apply(ctx, l)
		}
	}
}

func (m *Manager) trackLoop(ctx context.Context, out chan<- list) {
	for ctx.Err() == nil {
		ch, err := m.opts.Client.Track(ctx)
		if err == nil {
			for devs := range ch {
				select {
				case out <- list{devs: devs, at: time.Now()}:
				case <-ctx.Done():
					return
				}
			}
			select {
			case out <- list{trackClosed: true, at: time.Now()}:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (m *Manager) pollLoop(ctx context.Context, out chan<- list) {
	t := time.NewTicker(m.opts.Poll)
	defer t.Stop()
	for {
		start := time.Now()
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		devs, err := m.opts.Client.Devices(pctx)
		cancel()
		select {
		case out <- list{devs: devs, at: start, err: err}:
		case <-ctx.Done():
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// apply reconciles the known phones with one device list. It runs only on
// Serve's goroutine, so lists are applied one at a time, newest wins.
func (m *Manager) apply(ctx context.Context, l list) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if l.trackClosed {
		m.bounced = true
		return
	}
	if l.err != nil {
		if errors.Is(l.err, adb.ErrServerDown) && !m.serverDown {
			m.serverDown = true
			m.opts.Log.Warn("adb server unreachable; keeping phones until it is back", "err", l.err)
			for _, e := range m.phones {
				m.emitLocked(events.DeviceUpdated, e)
			}
		}
		return
	}
	if l.at.Before(m.lastList) {
		return // an older poll answered after a newer list: stale
	}
	m.lastList = l.at
	present := make(map[string]adb.DeviceInfo, len(l.devs))
	for _, d := range l.devs {
		present[d.Serial] = d
	}
	if m.serverDown || m.bounced {
		m.recoverLocked(ctx, present)
	}
	for _, d := range l.devs {
		e, ok := m.phones[d.Serial]
		if !ok {
			m.attachLocked(ctx, d)
			continue
		}
		if e.info != d {
			if d.State == "device" && e.info.State != "device" {
				e.reprobe = true
			}
			e.info = d
			m.emitLocked(events.DeviceUpdated, e)
			kick(e)
		}
	}
	grace := time.Now().Before(m.graceUntil)
	for serial, e := range m.phones {
		if _, ok := present[serial]; ok {
			continue
		}
		if grace {
			if e.info.State != "offline" {
				e.info.State = "offline"
				m.emitLocked(events.DeviceUpdated, e)
			}
			continue
		}
		m.detachLocked(e)
	}
}

// recoverLocked runs on the first list after the adb server was unreachable
// or the tracker lost its connection. A restarted server has forgotten every
// TCP device (virtual phones, Wi-Fi adb): connect them again. USB phones come
// back by themselves. Missing phones stay, offline, for RecoverGrace.
func (m *Manager) recoverLocked(ctx context.Context, present map[string]adb.DeviceInfo) {
	wasDown := m.serverDown
	m.serverDown, m.bounced = false, false
	var lost []string
	for serial, e := range m.phones {
		if _, ok := present[serial]; !ok && e.info.TCP() {
			lost = append(lost, serial)
		}
	}
	if len(lost) == 0 && !wasDown {
		return
	}
	m.graceUntil = time.Now().Add(m.opts.RecoverGrace)
	m.opts.Log.Info("adb server is back; reconnecting TCP phones", "count", len(lost))
	for _, serial := range lost {
		m.workers.Add(1) // Serve waits for it
		go func() { defer m.workers.Done(); m.reconnect(ctx, serial, m.graceUntil) }()
	}
	for _, e := range m.phones {
		m.emitLocked(events.DeviceUpdated, e)
	}
}

// reconnect connects a TCP phone to a restarted adb server again. A server
// just back may refuse or fail the first tries (seen in CI: one try left all
// six virtual phones out), so it retries with backoff until it works, the
// phone's grace ends, or ctx does.
func (m *Manager) reconnect(ctx context.Context, serial string, until time.Time) {
	wait := 250 * time.Millisecond
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := m.opts.Client.Connect(cctx, serial)
		cancel()
		if err == nil {
			return
		}
		if ctx.Err() != nil || time.Now().Add(wait).After(until) {
			m.opts.Log.Warn("reconnect failed", "serial", serial, "err", err)
			return
		}
		m.opts.Log.Debug("reconnect: trying again", "serial", serial, "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

func (m *Manager) attachLocked(ctx context.Context, d adb.DeviceInfo) {
	path := SlotPath(d.Serial, d.DevPath)
	slot, err := m.opts.Slots.Slot(ctx, path, HubOf(path))
	if err != nil {
		m.opts.Log.Error("slot", "serial", d.Serial, "err", err)
		slot = Slot{Path: path, Hub: HubOf(path)}
	}
	wctx, cancel := context.WithCancel(m.ctx)
	e := &entry{info: d, dev: m.opts.Client.Device(d.Serial), slot: slot, attached: time.Now(),
		kick: make(chan struct{}, 1), cancel: cancel}
	m.phones[d.Serial] = e
	m.emitLocked(events.DeviceAttached, e)
	m.workers.Add(1)
	go func() {
		defer m.workers.Done()
		m.supervise(wctx, e)
	}()
}

func (m *Manager) detachLocked(e *entry) {
	e.cancel()
	delete(m.phones, e.info.Serial)
	p := m.snapshotLocked(e)
	p.State, p.Reason = StateGone, ""
	m.emit(events.DeviceDetached, p)
}

func kick(e *entry) {
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// snapshotLocked is the phone as the UI sees it now.
func (m *Manager) snapshotLocked(e *entry) Phone {
	st, reason := stateFromADB(e.info.State)
	if st == StateProbing {
		switch {
		case e.probeErr != nil:
			st, reason = StateOffline, ReasonNotResponding
		case e.facts != nil && !e.reprobe && e.busy != "":
			st = StateBusy
		case e.facts != nil && !e.reprobe:
			st = StateReady
		}
	}
	if m.serverDown {
		st, reason = StateOffline, ReasonServerDown
	} else if time.Now().Before(m.graceUntil) && e.info.State == "offline" {
		reason = ReasonReconnecting
	}
	p := Phone{Serial: e.info.Serial, State: st, Reason: reason, ADBState: e.info.State, TCP: e.info.TCP(),
		DevPath: e.info.DevPath, Product: e.info.Product, ADBModel: e.info.Model, Slot: e.slot,
		Facts: e.facts, Busy: e.busy, AttachedAt: e.attached, ReadyAt: e.readyAt}
	return p
}

// emitLocked sends the phone's snapshot unless an update changed nothing.
func (m *Manager) emitLocked(name string, e *entry) {
	p := m.snapshotLocked(e)
	if p.State == StateReady && e.readyAt == nil {
		now := time.Now()
		e.readyAt = &now
		p.ReadyAt = e.readyAt
	}
	if name == events.DeviceUpdated && e.last != nil && reflect.DeepEqual(*e.last, p) {
		return
	}
	e.last = &p
	m.emit(name, p)
}

// emit never blocks: Emitters drop or buffer by contract. Called with m.mu
// held so that every phone's events leave in the order they happened.
func (m *Manager) emit(name string, p Phone) {
	m.opts.Emitter.Emit(name, p)
	m.bc.Emit(name, p)
}

// Subscribe returns the manager's events (payload Phone) for in-process
// consumers such as the install engine. A subscriber that falls behind loses
// events; Phones gives the current truth at any time.
func (m *Manager) Subscribe(buffer int) (<-chan events.Message, func()) {
	return m.bc.Subscribe(buffer)
}

// Phones returns every known phone, by slot position.
func (m *Manager) Phones() []Phone {
	m.mu.Lock()
	out := make([]Phone, 0, len(m.phones))
	for _, e := range m.phones {
		out = append(out, m.snapshotLocked(e))
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Slot.Position != out[j].Slot.Position {
			return out[i].Slot.Position < out[j].Slot.Position
		}
		return out[i].Serial < out[j].Serial
	})
	return out
}

// Phone returns one phone.
func (m *Manager) Phone(serial string) (Phone, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.phones[serial]
	if !ok {
		return Phone{}, false
	}
	return m.snapshotLocked(e), true
}

// ErrUnknownPhone is returned for a serial the manager does not know.
var ErrUnknownPhone = errors.New("no such phone")

func (m *Manager) entry(serial string) (*entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.phones[serial]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownPhone, serial)
	}
	return e, nil
}

// Device returns the adb handle of a known phone.
func (m *Manager) Device(serial string) (*adb.Device, error) {
	e, err := m.entry(serial)
	if err != nil {
		return nil, err
	}
	return e.dev, nil
}

// SetBusy marks a phone busy with a job ("installing"), or ready again ("").
func (m *Manager) SetBusy(serial, what string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.phones[serial]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownPhone, serial)
	}
	e.busy = what
	m.emitLocked(events.DeviceUpdated, e)
	return nil
}

// Stalled reports that an operation on the phone made no progress (see
// adb.Watchdog). The phone shows as offline/not responding and its worker
// probes it again, with backoff, until it answers.
func (m *Manager) Stalled(serial string, cause error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.phones[serial]
	if !ok {
		return
	}
	if cause == nil {
		cause = adb.ErrStalled
	}
	e.probeErr, e.reprobe = cause, true
	m.opts.Log.Warn("phone stalled", "serial", serial, "err", cause)
	m.emitLocked(events.DeviceUpdated, e)
	kick(e)
}

// RefreshFacts reads a phone's facts now (after installs) and publishes them.
func (m *Manager) RefreshFacts(ctx context.Context, serial string) (Facts, error) {
	e, err := m.entry(serial)
	if err != nil {
		return Facts{}, err
	}
	f, err := ReadFacts(ctx, e.dev, m.opts.FactsIdle)
	m.setFacts(e, f, err)
	return f, err
}

func (m *Manager) setFacts(e *entry, f Facts, err error) {
	m.mu.Lock()
	if m.phones[e.info.Serial] != e {
		m.mu.Unlock()
		return // detached meanwhile
	}
	if err != nil {
		e.probeErr = err
	} else {
		e.facts, e.probeErr, e.reprobe = &f, nil, false
	}
	m.emitLocked(events.DeviceUpdated, e)
	serial, slotID := e.info.Serial, e.slot.ID
	m.mu.Unlock()
	if err != nil {
		return
	}
	// Outside the lock, on the caller's goroutine: nothing outlives Serve.
	if sp, ok := m.opts.Slots.(interface {
		SavePhone(context.Context, string, Facts, uint) error
	}); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := sp.SavePhone(ctx, serial, f, slotID); err != nil {
			m.opts.Log.Warn("save phone", "serial", serial, "err", err)
		}
	}
}

// SetSlotLabel gives a slot its operator label; phones on it show it at once.
func (m *Manager) SetSlotLabel(ctx context.Context, slotID uint, label string) (Slot, error) {
	s, err := m.opts.Slots.SetLabel(ctx, slotID, label)
	if err != nil {
		return Slot{}, err
	}
	m.mu.Lock()
	for _, e := range m.phones {
		if e.slot.ID == slotID {
			e.slot = s
			m.emitLocked(events.DeviceUpdated, e)
		}
	}
	m.mu.Unlock()
	return s, nil
}

// Slots lists every slot the station knows.
func (m *Manager) Slots(ctx context.Context) ([]Slot, error) { return m.opts.Slots.List(ctx) }
