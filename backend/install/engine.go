package install

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"preloadstation/backend/events"
	"preloadstation/backend/store"
)

// Transport moves one APK to a phone and has its package manager commit it.
type Transport interface {
	// Name is "agent" or "exec" (or "push" on old Android): shown in the UI.
	Name() string
	// Install reads exactly size bytes from apk, streams them to the phone and
	// waits for the package manager; it returns what the package manager
	// printed. The transfer stage ends when the last byte has been read from
	// apk: the engine starts the next APK then, while this one commits. It
	// must return soon after ctx ends.
	Install(ctx context.Context, apk io.Reader, size int64) (output string, err error)
}

// Verifier asks the phone's package manager what is installed.
type Verifier interface {
	// InstalledVersion returns the versionCode of pkg, or ok=false if absent.
	InstalledVersion(ctx context.Context, pkg string) (versionCode int64, ok bool, err error)
}

// APKSource opens a verified APK by its SHA-256 (the library's cache).
type APKSource interface {
	OpenAPK(ctx context.Context, sha256 string) (io.ReadCloser, error)
}

// List is the list the station installs now.
type List struct {
	Name     string
	Operator string
	Apps     []App
}

// ListSource says which list applies when a session starts.
type ListSource interface {
	CurrentList(ctx context.Context) (List, error)
}

// History is where sessions and records go (HistoryStore in production).
type History interface {
	BeginSession(ctx context.Context, s *store.InstallSession) error
	// Record writes one terminal record and updates its session's counters.
	Record(ctx context.Context, rec *store.InstallRecord) error
	EndSession(ctx context.Context, sessionID uint, outcome string, endedAt time.Time) error
}

// Phone is a phone the engine may install on, with the ways to reach it.
type Phone struct {
	Serial    string
	SlotPath  string
	SlotLabel string
	Hub       string // hub the slot belongs to; "" = its own hub
	Facts     Facts
	FactsAt   time.Time // when Facts were read
	// Refresh, if set, reads fresh facts when a session starts with facts
	// older than Config.FreshFacts (plug-time facts are stale after an
	// earlier session installed things).
	Refresh   func(ctx context.Context) (Facts, error)
	Transport Transport
	Verifier  Verifier
	// Ping, if set, asks the phone for a trivial answer (a shell `echo`). While
	// a package commits no byte moves, so the watchdog pings instead: a slow
	// commit answers, a hung phone does not.
	Ping func(ctx context.Context) error
}

// Config is the engine's settings.
type Config struct {
	Station string
	Auto    bool // start a session as soon as a ready phone appears
	Plan    PlanOptions
	// MaxAttempts per app for retryable failures (3 when zero).
	MaxAttempts int
	// Backoff before the second attempt; doubles each time (1 s when zero).
	Backoff time.Duration
	// StallTimeout: a transfer that moves no byte for this long is cancelled (15 s).
	StallTimeout time.Duration
	// CommitTimeout: a commit (after the last byte) longer than this is cancelled (5 min).
	CommitTimeout time.Duration
	// HubRate / PhoneRate cap bytes per second per hub / per phone (0 = uncapped).
	HubRate   float64
	PhoneRate float64
	// HubConcurrency caps transfers at once per hub (0 = uncapped). Cheap hubs
	// drop phones under many concurrent pushes: this is the knob for them.
	HubConcurrency int
	// ProgressEvery is the minimum time between progress events per phone (100 ms).
	ProgressEvery time.Duration
	// FreshFacts: facts younger than this are not read again at session start (30 s).
	FreshFacts time.Duration
}

func (c *Config) defaults() {
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 3
	}
	if c.Backoff <= 0 {
		c.Backoff = time.Second
	}
	if c.StallTimeout <= 0 {
		c.StallTimeout = 15 * time.Second
	}
	if c.CommitTimeout <= 0 {
		c.CommitTimeout = 5 * time.Minute
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = 100 * time.Millisecond
	}
	if c.FreshFacts <= 0 {
		c.FreshFacts = 30 * time.Second
	}
}

// Deps are the engine's collaborators.
type Deps struct {
	List    ListSource
	APKs    APKSource
	History History
	Events  events.Emitter
	Log     *slog.Logger
}

// Why a phone's context ended.
var (
	errGone       = errors.New("phone unplugged")
	errStopped    = errors.New("stopped by the operator")
	errStalled    = errors.New("no progress")
	errCommitSlow = errors.New("commit took too long")
	errEngineDown = errors.New("station shutting down")
)

// Phone states the engine reports.
const (
	StateIdle        = "idle"
	StateRunning     = "running"
	StateDone        = "done"
	StateFailed      = "failed"
	StateInterrupted = "interrupted"
	StateCancelled   = "cancelled"
)

// Engine runs one supervised install pipeline per phone.
type Engine struct {
	cfg   Config
	deps  Deps
	sched *Scheduler

	mu      sync.Mutex
	ctx     context.Context // set by Serve; nil before
	auto    bool
	phones  map[string]*phoneEntry
	wg      sync.WaitGroup
	serving bool
}

type phoneEntry struct {
	phone   Phone
	present bool
	pending bool      // PhoneReady came while a session was still ending
	run     *phoneRun // nil when no session runs
	status  PhoneStatus
	lim     *Limiter // the phone's bandwidth cap (Config.PhoneRate), kept across sessions
}

type phoneRun struct {
	cancel context.CancelCauseFunc
	done   chan struct{}
}

// PhoneStatus is one phone as the engine sees it.
type PhoneStatus struct {
	Serial      string    `json:"serial"`
	Present     bool      `json:"present"`
	State       string    `json:"state"`
	Transport   string    `json:"transport"`
	SessionUUID string    `json:"sessionUuid"`
	Planned     int       `json:"planned"`
	Installed   int       `json:"installed"`
	Skipped     int       `json:"skipped"`
	Failed      int       `json:"failed"`
	Bytes       int64     `json:"bytes"`       // moved in this session
	StartedAt   time.Time `json:"startedAt"`   // of the session
	EndedAt     time.Time `json:"endedAt"`     // zero while running
	FirstByteAt time.Time `json:"firstByteAt"` // first APK byte read for the phone
}

// NewEngine returns an engine; call Serve to run it.
func NewEngine(cfg Config, deps Deps) *Engine {
	cfg.defaults()
	if deps.Events == nil {
		deps.Events = events.Nop{}
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	return &Engine{cfg: cfg, deps: deps, auto: cfg.Auto, phones: map[string]*phoneEntry{},
		sched: NewScheduler(cfg.HubRate, cfg.HubConcurrency)}
}

// Serve runs until ctx ends and every phone pipeline has stopped.
func (e *Engine) Serve(ctx context.Context) error {
	e.mu.Lock()
	if e.serving {
		e.mu.Unlock()
		return errors.New("install: engine already serving")
	}
	e.serving = true
	e.ctx = ctx
	var start []string
	if e.auto {
		for s, p := range e.phones {
			if p.present {
				start = append(start, s)
			}
		}
	}
	e.mu.Unlock()
	for _, s := range start {
		_ = e.Start(s)
	}
	<-ctx.Done()
	e.mu.Lock()
	e.ctx = nil // no Start from here on: wg.Add never races wg.Wait
	for _, p := range e.phones {
		if p.run != nil {
			p.run.cancel(errEngineDown)
		}
	}
	e.mu.Unlock()
	e.wg.Wait()
	e.mu.Lock()
	e.serving = false
	e.mu.Unlock()
	return nil
}

// PhoneReady tells the engine a phone is ready (plugged, facts read). In auto
// mode its session starts now.
func (e *Engine) PhoneReady(p Phone) {
	e.mu.Lock()
	ent := e.phones[p.Serial]
	if ent == nil {
		ent = &phoneEntry{status: PhoneStatus{Serial: p.Serial, State: StateIdle}, lim: NewLimiter(e.cfg.PhoneRate)}
		e.phones[p.Serial] = ent
	}
	ent.phone = p
	ent.present = true
	auto := e.auto && ent.run == nil
	if ent.run != nil {
		// A quick replug can arrive before the old session has written its
		// end: start the new one when it has.
		ent.pending = true
	}
	e.mu.Unlock()
	if auto {
		_ = e.Start(p.Serial)
	}
}

// PhoneGone tells the engine a phone left: its session ends as interrupted.
func (e *Engine) PhoneGone(serial string) {
	e.mu.Lock()
	ent := e.phones[serial]
	if ent != nil {
		ent.present = false
		if ent.run != nil {
			// The pipeline records the interruption itself; nothing to wait for.
			ent.run.cancel(errGone)
		}
	}
	e.mu.Unlock()
}

// SetAuto switches between auto and manual mode. Switching to auto starts
// every ready phone that has not had a session since it was plugged.
func (e *Engine) SetAuto(auto bool) {
	e.mu.Lock()
	e.auto = auto
	var start []string
	if auto {
		for s, p := range e.phones {
			if p.present && p.run == nil && p.status.State == StateIdle {
				start = append(start, s)
			}
		}
	}
	e.mu.Unlock()
	for _, s := range start {
		_ = e.Start(s)
	}
}

// SetPipelineOrder switches the fastest install order within a priority on
// or off (off: list order); sessions that start later use it.
func (e *Engine) SetPipelineOrder(on bool) {
	e.mu.Lock()
	e.cfg.Plan.PipelineOrder = on
	e.mu.Unlock()
}

// SetCaps changes the bandwidth and concurrency caps (bytes/s per hub and
// per phone, transfers at once per hub; <= 0: none) at once: transfers
// running now are paced by the new rates from their next chunk, and a
// lower concurrency lets no new transfer start until one ends.
func (e *Engine) SetCaps(hubRate, phoneRate float64, hubConcurrency int) {
	e.mu.Lock()
	e.cfg.HubRate, e.cfg.PhoneRate, e.cfg.HubConcurrency = hubRate, phoneRate, hubConcurrency
	for _, ent := range e.phones {
		ent.lim.SetRate(phoneRate)
	}
	e.mu.Unlock()
	e.sched.SetCaps(hubRate, hubConcurrency)
}

// Settings returns the engine's settings as they are now.
func (e *Engine) Settings() Config {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cfg
}

// phoneLimiter is the phone's bandwidth limiter.
func (e *Engine) phoneLimiter(serial string) *Limiter {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ent := e.phones[serial]; ent != nil {
		return ent.lim
	}
	return NewLimiter(e.cfg.PhoneRate)
}

// Auto reports the mode.
func (e *Engine) Auto() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.auto
}

// Errors of the manual controls.
var (
	ErrNotServing   = errors.New("install: engine not running")
	ErrUnknownPhone = errors.New("install: no such phone")
	ErrPhoneAbsent  = errors.New("install: phone not connected")
	ErrBusy         = errors.New("install: phone already installing")
)

// Start begins a session on one phone.
func (e *Engine) Start(serial string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx == nil {
		return ErrNotServing
	}
	ent := e.phones[serial]
	switch {
	case ent == nil:
		return ErrUnknownPhone
	case !ent.present:
		return ErrPhoneAbsent
	case ent.run != nil:
		return ErrBusy
	}
	// Each phone gets its own context from the engine's: one phone's end
	// never touches another's.
	ctx, cancel := context.WithCancelCause(e.ctx)
	run := &phoneRun{cancel: cancel, done: make(chan struct{})}
	ent.run = run
	ent.status = PhoneStatus{Serial: serial, State: StateRunning, StartedAt: time.Now(), Transport: transportName(ent.phone.Transport)}
	p := ent.phone
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer close(run.done)
		defer cancel(nil)
		state := e.supervise(ctx, p)
		e.mu.Lock()
		ent.run = nil
		ent.phone.FactsAt = time.Time{} // this session changed the phone: read facts again next time
		ent.status.State = state
		ent.status.EndedAt = time.Now()
		st := ent.status
		again := ent.pending && ent.present && e.auto && state == StateInterrupted
		ent.pending = false
		e.mu.Unlock()
		e.deps.Events.Emit(events.InstallState, st)
		if again {
			_ = e.Start(serial)
		}
	}()
	return nil
}

// Stop cancels a phone's session (mid-APK too); it ends as cancelled.
func (e *Engine) Stop(serial string) error {
	e.mu.Lock()
	ent := e.phones[serial]
	if ent == nil {
		e.mu.Unlock()
		return ErrUnknownPhone
	}
	run := ent.run
	e.mu.Unlock()
	if run == nil {
		return nil
	}
	run.cancel(errStopped)
	<-run.done
	return nil
}

// StartMany starts every listed phone (all present phones when serials is
// empty) and returns the errors by serial for the ones that did not start.
func (e *Engine) StartMany(serials []string) map[string]error {
	return e.each(serials, e.Start)
}

// StopMany stops every listed phone (all when serials is empty).
func (e *Engine) StopMany(serials []string) map[string]error {
	return e.each(serials, e.Stop)
}

func (e *Engine) each(serials []string, f func(string) error) map[string]error {
	if len(serials) == 0 {
		e.mu.Lock()
		for s, p := range e.phones {
			if p.present {
				serials = append(serials, s)
			}
		}
		e.mu.Unlock()
	}
	errs := map[string]error{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, s := range serials {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(s); err != nil && !errors.Is(err, ErrBusy) {
				mu.Lock()
				errs[s] = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errs
}

// Status returns every known phone, by serial.
func (e *Engine) Status() []PhoneStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]PhoneStatus, 0, len(e.phones))
	for _, p := range e.phones {
		st := p.status
		st.Present = p.present
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Serial < out[j].Serial })
	return out
}

// PlanFor computes what a session on serial would do now, without doing it.
func (e *Engine) PlanFor(ctx context.Context, serial string) (Plan, error) {
	e.mu.Lock()
	ent := e.phones[serial]
	e.mu.Unlock()
	if ent == nil {
		return Plan{}, ErrUnknownPhone
	}
	facts := ent.phone.Facts
	if ent.phone.Refresh != nil {
		f, err := ent.phone.Refresh(ctx)
		if err != nil {
			return Plan{}, fmt.Errorf("install: read facts of %s: %w", serial, err)
		}
		facts = f
	}
	list, err := e.deps.List.CurrentList(ctx)
	if err != nil {
		return Plan{}, fmt.Errorf("install: read the list: %w", err)
	}
	return MakePlan(list.Apps, facts, e.Settings().Plan), nil
}

func transportName(t Transport) string {
	if t == nil {
		return ""
	}
	return t.Name()
}

func (e *Engine) update(serial string, f func(*PhoneStatus)) {
	e.mu.Lock()
	if ent := e.phones[serial]; ent != nil {
		f(&ent.status)
	}
	e.mu.Unlock()
}

// supervise runs one session and turns a panic into a failed session rather
// than a dead station.
func (e *Engine) supervise(ctx context.Context, p Phone) (state string) {
	defer func() {
		if r := recover(); r != nil {
			e.deps.Log.Error("install pipeline panicked", "serial", p.Serial, "panic", r, "stack", string(debug.Stack()))
			state = StateFailed
		}
	}()
	return e.session(ctx, p)
}
