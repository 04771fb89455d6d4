package station

import (
	"context"
	"fmt"
	"sync"
	"time"

	"preloadstation/backend/device"
	"preloadstation/backend/events"
	"preloadstation/backend/install"
	"preloadstation/backend/library"
	"preloadstation/backend/store"
)

// coordinator carries phones from discovery through their agent channel to
// the install engine: one stay per phone from plug to unplug, each prepared
// on its own goroutine so a slow or hung phone never holds up another.
type coordinator struct {
	s   *Station
	wg  sync.WaitGroup // prepare and detach goroutines
	fin chan string    // serials whose session ended: facts are re-read
	// lists is signalled when the library or the catalog changed something;
	// list is the active list as last seen (see listKey).
	lists chan struct{}
	list  string
	auto  bool       // the engine's mode as last stored (or started with)
	page  string     // what the phones' pages show of the station, as last sent
	mu    sync.Mutex // stays; also orders PhoneReady against PhoneGone
	run   map[string]*stay
	// detached is closed once the previous stay of a serial has let go of
	// its agent worker, so a fast replug never races its own unplug.
	detached map[string]chan struct{}
}

type stay struct {
	attached time.Time
	label    string // slot label the phone's page shows
	prepared bool
	downAt   time.Time      // last seen not ready after it was prepared (adb trouble)
	jobs     sync.WaitGroup // agent re-attaches; the stay's detach waits for them
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{} // prepare returned
}

func newCoordinator(s *Station) *coordinator {
	return &coordinator{s: s, fin: make(chan string, 256), lists: make(chan struct{}, 1),
		run: map[string]*stay{}, detached: map[string]chan struct{}{}}
}

// listEvent forwards the library's and the catalog client's events to the
// UI and tells the coordinator the active list may have changed.
func (c *coordinator) listEvent(name string, payload any) {
	c.s.cfg.Emit.Emit(name, payload)
	switch name {
	case events.LibraryProgress:
		if p, ok := payload.(library.Progress); ok && p.State == "downloading" {
			return // only the end of a pre-download can complete the list
		}
	case events.LibraryChanged, events.CatalogStatus:
	default:
		return
	}
	select {
	case c.lists <- struct{}{}:
	default: // already signalled
	}
}

// listKey identifies the active list and its apps; "" when there is none.
func (c *coordinator) listKey(ctx context.Context) string {
	al, err := c.s.lib.ActiveList(ctx)
	if err != nil {
		return ""
	}
	key := fmt.Sprintf("%d:", al.ID)
	for _, it := range al.Items {
		key += fmt.Sprintf("%d/%d,", it.AppID, it.Priority)
	}
	return key
}

// listChanged: in auto mode, a newly active (or edited) list goes onto the
// phones that are plugged and not installing; their new plans skip what they
// already have.
func (c *coordinator) listChanged(ctx context.Context) {
	key := c.listKey(ctx)
	if key == c.list {
		return
	}
	if key != "" {
		// Starting phones on APKs still downloading would fail them: wait
		// for the pre-download's end (its last progress event calls again).
		if st, err := c.s.lib.Status(ctx); err == nil && st.Missing > 0 {
			c.s.log.Info("station: the active list changed; waiting for its APKs in the cache", "missing", st.Missing)
			return
		}
	}
	c.list = key
	if key == "" || !c.s.engine.Auto() {
		return
	}
	c.s.log.Info("station: the active list changed; installing it on the plugged phones")
	for serial, err := range c.s.engine.StartMany(nil) {
		c.s.log.Warn("station: could not start a phone on the new list", "serial", serial, "err", err)
	}
}

// engineEvent forwards the engine's events to the UI and keeps discovery's
// busy flag in step with the engine: busy while a session runs.
func (c *coordinator) engineEvent(name string, payload any) {
	c.s.cfg.Emit.Emit(name, payload)
	switch name {
	case events.InstallSession:
		if sess, ok := payload.(*store.InstallSession); ok && sess.Outcome == store.OutcomeRunning {
			_ = c.s.devices.SetBusy(sess.Serial, "installing")
		}
	case events.InstallState:
		if st, ok := payload.(install.PhoneStatus); ok && st.State != install.StateRunning {
			_ = c.s.devices.SetBusy(st.Serial, "")
			select {
			case c.fin <- st.Serial:
			default: // the coordinator is behind; the next session refreshes facts anyway
			}
		}
	}
}

// serve follows discovery until ctx ends, then waits for every phone's
// goroutines. Discovery's subscription may drop events under load, so the
// coordinator also reconciles with Phones() every Reconcile interval.
func (c *coordinator) serve(ctx context.Context) error {
	msgs, unsub := c.s.devices.Subscribe(1024)
	defer unsub()
	tick := time.NewTicker(c.s.cfg.Reconcile)
	defer tick.Stop()
	c.list = c.listKey(ctx)
	c.auto = c.s.engine.Auto()
	c.page = c.pageKey(ctx)
	c.reconcile(ctx)
	for {
		select {
		case <-ctx.Done():
			c.mu.Lock()
			for serial := range c.run {
				c.goneLocked(serial, false)
			}
			c.mu.Unlock()
			c.wg.Wait()
			return ctx.Err()
		case m, ok := <-msgs:
			if !ok {
				msgs = nil
				continue
			}
			if p, ok := m.Payload.(device.Phone); ok {
				c.phone(ctx, m.Name, p)
			}
		case <-tick.C:
			c.reconcile(ctx)
			c.keepAuto(ctx)
			c.keepPages(ctx)
		case serial := <-c.fin:
			c.refresh(ctx, serial)
		case <-c.lists:
			c.listChanged(ctx)
		}
	}
}

// keepAuto stores the engine's mode when the operator switched it, so the
// station starts in the same mode next time.
func (c *coordinator) keepAuto(ctx context.Context) {
	auto := c.s.engine.Auto()
	if c.auto == auto {
		return
	}
	if err := store.SetSetting(ctx, c.s.cfg.Store, install.SettingAuto, auto); err != nil {
		c.s.log.Warn("station: cannot save auto mode", "err", err)
		return
	}
	c.auto = auto
}

// keepPages re-sends the phones' pages when what they show of the station
// changed (first-run setup or a rename in the UI, lists, the "configure from
// phones" switch), whoever changed it.
func (c *coordinator) keepPages(ctx context.Context) {
	if c.s.cfg.NoAgent {
		return
	}
	key := c.pageKey(ctx)
	if key == c.page {
		return
	}
	c.s.agents.RefreshPages()
	c.page = key
}

func (c *coordinator) pageKey(ctx context.Context) string {
	b := c.s.config.PageInfo(ctx)
	return fmt.Sprintf("%q %v %v %q", b.Station, b.Configured, b.AllowConfig, b.Lists)
}

func (c *coordinator) reconcile(ctx context.Context) {
	present := map[string]bool{}
	for _, p := range c.s.devices.Phones() {
		present[p.Serial] = true
		c.phone(ctx, events.DeviceUpdated, p)
	}
	c.mu.Lock()
	for serial := range c.run {
		if !present[serial] {
			c.goneLocked(serial, true)
		}
	}
	c.mu.Unlock()
}

// phone applies one discovery snapshot.
func (c *coordinator) phone(ctx context.Context, name string, p device.Phone) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.run[p.Serial]
	if st != nil && p.AttachedAt.Before(st.attached) {
		return // an event from an earlier stay, read after a reconcile saw the newer one
	}
	if name == events.DeviceDetached || p.State == device.StateGone {
		c.goneLocked(p.Serial, true)
		return
	}
	if st != nil && !st.attached.Equal(p.AttachedAt) {
		c.goneLocked(p.Serial, true) // unplugged and back between two looks: a new stay
		st = nil
	}
	if st == nil {
		sctx, cancel := context.WithCancel(ctx)
		st = &stay{attached: p.AttachedAt, ctx: sctx, cancel: cancel, done: make(chan struct{})}
		c.run[p.Serial] = st
	}
	if st.prepared && !c.s.cfg.NoAgent && slotName(p.Slot) != st.label {
		st.label = slotName(p.Slot) // the operator labelled the slot: the phone's page follows
		c.s.agents.SetSlot(p.Serial, st.label)
	}
	up := p.State == device.StateReady || p.State == device.StateBusy
	if st.prepared && !c.s.cfg.NoAgent {
		c.retryAgentLocked(p.Serial, st, up)
	}
	if st.prepared || p.Facts == nil || !up {
		return
	}
	st.prepared = true
	st.label = slotName(p.Slot)
	prev := c.detached[p.Serial]
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(st.done)
		c.prepare(st, p, prev)
	}()
}

// goneLocked ends a phone's stay: its session is interrupted at once; its
// agent worker is let go in the background.
func (c *coordinator) goneLocked(serial string, engine bool) {
	st := c.run[serial]
	if st == nil {
		return
	}
	delete(c.run, serial)
	st.cancel()
	if engine {
		c.s.engine.PhoneGone(serial)
	}
	if !st.prepared {
		close(st.done)
	}
	detached := make(chan struct{})
	c.detached[serial] = detached
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(detached)
		<-st.done
		st.jobs.Wait()
		if !c.s.cfg.NoAgent {
			c.s.agents.Detach(serial)
		}
		c.mu.Lock()
		if c.detached[serial] == detached {
			delete(c.detached, serial)
		}
		c.mu.Unlock()
	}()
}

// retryAgentLocked gives a phone's agent a fresh start when the phone comes
// back from adb trouble (server restart, offline) and its agent gave up
// meanwhile: failures that were the adb server's, not the phone's, must not
// leave the phone on direct ADB for the rest of its stay.
func (c *coordinator) retryAgentLocked(serial string, st *stay, up bool) {
	if !up {
		st.downAt = time.Now()
		return
	}
	if st.downAt.IsZero() || time.Since(st.downAt) > 30*time.Second {
		return
	}
	if as, ok := c.s.agents.State(serial); !ok || !as.Fallback {
		return
	}
	st.downAt = time.Time{}
	st.jobs.Add(1)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer st.jobs.Done()
		select {
		case <-st.done: // prepare has returned: it attached the first worker
		case <-st.ctx.Done():
			return
		}
		c.s.log.Info("station: phone back after adb trouble; starting its agent again", "serial", serial)
		c.s.agents.Detach(serial)
		dev, err := c.s.devices.Device(serial)
		if err != nil {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if st.ctx.Err() != nil || c.run[serial] != st {
			return
		}
		c.s.agents.Attach(serial, dev)
		c.s.agents.SetSlot(serial, st.label)
	}()
}

// prepare brings one ready phone's channel up (or gives up waiting for it)
// and hands the phone to the engine.
func (c *coordinator) prepare(st *stay, p device.Phone, prev chan struct{}) {
	ctx := st.ctx
	if prev != nil {
		select {
		case <-prev:
		case <-ctx.Done():
			return
		}
	}
	if now, ok := c.s.devices.Phone(p.Serial); !ok || !now.AttachedAt.Equal(st.attached) {
		return // gone already, or this stay was built from a stale event
	}
	dev, err := c.s.devices.Device(p.Serial)
	if err != nil {
		return
	}
	if !c.s.cfg.NoAgent {
		c.s.agents.Attach(p.Serial, dev)
		c.s.agents.SetSlot(p.Serial, slotName(p.Slot))
		wctx, cancel := context.WithTimeout(ctx, c.s.cfg.AgentWait)
		ch, err := c.s.agents.WaitReady(wctx, p.Serial)
		cancel()
		if ctx.Err() != nil {
			return
		}
		switch {
		case err != nil:
			c.s.log.Warn("station: no agent channel yet; installing over adb until it is up", "serial", p.Serial, "err", err)
		case ch == nil:
			c.s.log.Info("station: the agent cannot run on this phone; installing over adb", "serial", p.Serial)
		}
	}
	f := installFacts(p.Serial, *p.Facts)
	exec := install.ExecTransport{Dev: dev, SDK: f.SDK}
	var tr install.Transport = exec
	if !c.s.cfg.NoAgent {
		tr = agentTransport{agents: c.s.agents, serial: p.Serial, exec: exec}
	}
	ip := install.Phone{Serial: p.Serial, SlotPath: p.Slot.Path, SlotLabel: slotName(p.Slot), Hub: p.Slot.Hub,
		Facts: f, Transport: tr, Verifier: install.ADBVerifier{Dev: dev, SDK: f.SDK}, Ping: install.ShellPing(dev),
		Refresh: func(ctx context.Context) (install.Facts, error) {
			df, err := c.s.devices.RefreshFacts(ctx, p.Serial)
			return installFacts(p.Serial, df), err
		}}
	// Under the lock: PhoneReady happens before this stay's PhoneGone, or not at all.
	c.mu.Lock()
	defer c.mu.Unlock()
	if ctx.Err() != nil {
		return
	}
	c.s.engine.PhoneReady(ip)
}

// refresh re-reads a phone's facts after a session (for the UI), on the
// phone's own stay context.
func (c *coordinator) refresh(_ context.Context, serial string) {
	c.mu.Lock()
	st := c.run[serial]
	c.mu.Unlock()
	if st == nil {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		rctx, cancel := context.WithTimeout(st.ctx, 30*time.Second)
		defer cancel()
		if _, err := c.s.devices.RefreshFacts(rctx, serial); err != nil && rctx.Err() == nil {
			c.s.log.Debug("station: facts after a session", "serial", serial, "err", err)
		}
	}()
}

// slotName is the slot's label, or its arrival position when unlabelled.
func slotName(s device.Slot) string {
	if s.Label != "" {
		return s.Label
	}
	if s.Position > 0 {
		return "#" + itoa(s.Position)
	}
	return ""
}
