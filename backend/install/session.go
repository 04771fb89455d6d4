package install

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"preloadstation/backend/events"
	"preloadstation/backend/store"
)

// Progress is the payload of events.InstallProgress (throttled per phone).
type Progress struct {
	Serial      string  `json:"serial"`
	SessionUUID string  `json:"sessionUuid"`
	Package     string  `json:"package"`
	Label       string  `json:"label"`
	Index       int     `json:"index"` // 0-based position in the plan
	Total       int     `json:"total"`
	Stage       string  `json:"stage"` // "transfer", "commit", "verify", "installed", "failed"
	Sent        int64   `json:"sent"`
	Size        int64   `json:"size"`
	BytesPerSec float64 `json:"bytesPerSec"`
}

// SessionEnd is the payload of events.InstallDone.
type SessionEnd struct {
	Serial      string `json:"serial"`
	SessionUUID string `json:"sessionUuid"`
	Outcome     string `json:"outcome"`
	Planned     int    `json:"planned"`
	Installed   int    `json:"installed"`
	Skipped     int    `json:"skipped"`
	Failed      int    `json:"failed"`
	Bytes       int64  `json:"bytes"`
	Millis      int64  `json:"millis"`
}

// sessionRun is the state of one phone's session.
type sessionRun struct {
	e     *Engine
	p     Phone
	sess  *store.InstallSession
	plan  Plan
	phLim *Limiter

	// hist is the context history writes use: not the phone's, so that an
	// unplug still gets its records written.
	hist context.Context

	mu        sync.Mutex
	lastEmit  time.Time
	installed int
	failed    int
	fatal     error // a transport/stall failure that exhausted retries: the phone is not usable
	bytes     atomic.Int64
	firstByte atomic.Bool
}

func (e *Engine) session(ctx context.Context, p Phone) string {
	// History writes outlive the phone's context (an unplug must still be
	// recorded) but each gets its own time limit.
	hist := context.WithoutCancel(ctx)
	facts := p.Facts
	if p.Refresh != nil && (p.FactsAt.IsZero() || time.Since(p.FactsAt) > e.cfg.FreshFacts) {
		rctx, cancel := context.WithTimeout(ctx, e.cfg.StallTimeout)
		f, err := p.Refresh(rctx)
		cancel()
		if err != nil {
			e.deps.Log.Warn("install: facts refresh failed, planning with plug-time facts", "serial", p.Serial, "err", err)
		} else {
			facts = f
		}
	}
	list, err := e.deps.List.CurrentList(ctx)
	if err != nil {
		e.deps.Log.Error("install: no list", "serial", p.Serial, "err", err)
		return endState(ctx, StateFailed)
	}
	plan := MakePlan(list.Apps, facts, e.Settings().Plan)
	now := time.Now().UTC()
	sess := &store.InstallSession{
		UUID: uuid.NewString(), Serial: p.Serial, SlotLabel: p.SlotLabel, SlotPath: p.SlotPath,
		Operator: list.Operator, Station: e.cfg.Station, Brand: facts.Brand, Model: facts.Model,
		Release: facts.Release, ListName: list.Name, Outcome: store.OutcomeRunning,
		Planned: len(plan.Install), StartedAt: now,
	}
	if err := withTimeout(hist, func(c context.Context) error { return e.deps.History.BeginSession(c, sess) }); err != nil {
		e.deps.Log.Error("install: cannot write session; not installing without a record", "serial", p.Serial, "err", err)
		return StateFailed
	}
	r := &sessionRun{e: e, p: p, sess: sess, plan: plan, hist: hist, phLim: e.phoneLimiter(p.Serial)}
	e.update(p.Serial, func(s *PhoneStatus) {
		s.SessionUUID, s.Planned, s.Skipped, s.StartedAt = sess.UUID, len(plan.Install), len(plan.Skip), now
	})
	e.deps.Events.Emit(events.InstallSession, sess)
	for _, sk := range plan.Skip {
		en, _ := sk.Reason.Message()
		r.record(sk.App, store.ResultSkipped, sk.Reason.Code, en, 0, 0, 0, now, now)
	}

	r.pipeline(ctx)

	outcome, state := store.OutcomeDone, StateDone
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errGone), errors.Is(cause, errEngineDown):
		outcome, state = store.OutcomeInterrupted, StateInterrupted
	case errors.Is(cause, errStopped):
		outcome, state = store.OutcomeCancelled, StateCancelled
	case r.failed > 0 || r.fatal != nil:
		outcome, state = store.OutcomeFailed, StateFailed
	}
	end := time.Now().UTC()
	if err := withTimeout(hist, func(c context.Context) error { return e.deps.History.EndSession(c, sess.ID, outcome, end) }); err != nil {
		e.deps.Log.Error("install: cannot close session", "serial", p.Serial, "err", err)
	}
	e.deps.Events.Emit(events.InstallDone, SessionEnd{Serial: p.Serial, SessionUUID: sess.UUID, Outcome: outcome,
		Planned: len(plan.Install), Installed: r.installed, Skipped: len(plan.Skip), Failed: r.failed,
		Bytes: r.bytes.Load(), Millis: end.Sub(now).Milliseconds()})
	return state
}

// historyTimeout bounds one history write (SQLite's busy timeout is 10 s).
const historyTimeout = 30 * time.Second

func withTimeout(ctx context.Context, f func(context.Context) error) error {
	c, cancel := context.WithTimeout(ctx, historyTimeout)
	defer cancel()
	return f(c)
}

func endState(ctx context.Context, def string) string {
	cause := context.Cause(ctx)
	switch {
	case errors.Is(cause, errGone), errors.Is(cause, errEngineDown):
		return StateInterrupted
	case errors.Is(cause, errStopped):
		return StateCancelled
	}
	return def
}

// pipeline is the two-stage pipeline: APK i+1 streams while APK i commits.
// inflight (2) bounds APKs between "first byte" and "verified"; stream (1)
// lets one APK at a time use the phone's link, handed from one step to the
// next when the previous transfer's last byte is read.
func (r *sessionRun) pipeline(ctx context.Context) {
	inflight := make(chan struct{}, 2)
	stream := make(chan struct{}, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	for i, step := range r.plan.Install {
		select {
		case inflight <- struct{}{}:
		case <-ctx.Done():
			return
		}
		select {
		case stream <- struct{}{}:
		case <-ctx.Done():
			<-inflight
			return
		}
		r.mu.Lock()
		fatal := r.fatal
		r.mu.Unlock()
		if fatal != nil {
			<-stream
			<-inflight
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-inflight }()
			r.step(ctx, i, step, stream)
		}()
	}
}

// attemptResult is one try of one APK.
type attemptResult struct {
	ok         bool
	failure    Failure
	transferMS int64
	commitMS   int64
	bytes      int64
}

// step installs one APK with bounded retries. It owns the stream token on
// entry (for its first attempt) and always gives it back.
func (r *sessionRun) step(ctx context.Context, i int, st Step, stream chan struct{}) {
	a := st.App
	started := time.Now().UTC()
	var res attemptResult
	attempts := 0
	for {
		attempts++
		if attempts > 1 {
			select {
			case stream <- struct{}{}:
			case <-ctx.Done():
				r.finish(ctx, i, a, attemptResult{failure: Failure{Code: ErrInterrupted, Message: context.Cause(ctx).Error()}}, attempts-1, started)
				return
			}
		}
		res = r.attempt(ctx, i, a, stream)
		if res.ok || ctx.Err() != nil {
			break
		}
		class := Classify(res.failure.Code)
		r.e.deps.Log.Info("install: attempt failed", "serial", r.p.Serial, "package", a.Package,
			"attempt", attempts, "code", res.failure.Code, "class", class, "msg", res.failure.Message)
		if class != ClassRetry || attempts >= r.e.cfg.MaxAttempts {
			break
		}
		backoff := r.e.cfg.Backoff * time.Duration(math.Pow(2, float64(attempts-1)))
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		if ctx.Err() != nil {
			break
		}
	}
	if !res.ok && ctx.Err() != nil {
		res.failure = Failure{Code: ErrInterrupted, Message: context.Cause(ctx).Error()}
	}
	r.finish(ctx, i, a, res, attempts, started)
}

// finish writes the one terminal record of an APK in this session.
func (r *sessionRun) finish(ctx context.Context, i int, a App, res attemptResult, attempts int, started time.Time) {
	end := time.Now().UTC()
	result, code, msg := store.ResultInstalled, "", ""
	switch {
	case res.ok:
	case res.failure.Code == ErrInterrupted:
		result, code, msg = store.ResultCancelled, ErrInterrupted, res.failure.Message
	default:
		result, code, msg = store.ResultFailed, res.failure.Code, res.failure.Message
		if h, ok := OperatorHint(code, r.sess.Brand); ok {
			msg = joinMsg(msg, h.EN)
		}
	}
	r.mu.Lock()
	switch result {
	case store.ResultInstalled:
		r.installed++
	case store.ResultFailed:
		r.failed++
		if code == ErrStalled || code == ErrTransport || code == ErrCommitTimeout {
			// The phone itself is not answering: stop feeding it.
			r.fatal = fmt.Errorf("%s: %s", code, msg)
		}
	}
	inst, failed := r.installed, r.failed
	r.mu.Unlock()
	r.record(a, result, code, msg, res.bytes, res.transferMS, res.commitMS, started, end, attempts)
	r.e.update(r.p.Serial, func(s *PhoneStatus) { s.Installed, s.Failed = inst, failed })
	stage := "installed"
	if !res.ok {
		stage = "failed"
	}
	r.emit(Progress{Package: a.Package, Label: a.Label, Index: i, Stage: stage, Sent: res.bytes, Size: a.Size}, true)
}

func joinMsg(a, b string) string {
	if a == "" {
		return b
	}
	return a + " — " + b
}

func (r *sessionRun) record(a App, result, code, msg string, bytes, transferMS, commitMS int64, started, ended time.Time, attempts ...int) {
	n := 0
	if len(attempts) > 0 {
		n = attempts[0]
	}
	rec := &store.InstallRecord{
		UUID: uuid.NewString(), SessionID: r.sess.ID, Serial: r.p.Serial, Package: a.Package, Label: a.Label,
		VersionCode: a.VersionCode, VersionName: a.VersionName, SHA256: a.SHA256, Bytes: bytes,
		TransferMS: transferMS, CommitMS: commitMS, Result: result, Code: code, Message: msg,
		Attempts: n, StartedAt: started, EndedAt: ended,
	}
	if err := withTimeout(r.hist, func(c context.Context) error { return r.e.deps.History.Record(c, rec) }); err != nil {
		r.e.deps.Log.Error("install: cannot write record", "serial", r.p.Serial, "package", a.Package, "err", err)
	}
}

// attempt is one try: hub permit, stream, commit, verify. It holds the
// stream token on entry and releases it when the last byte is read (or on
// any early return).
func (r *sessionRun) attempt(ctx context.Context, i int, a App, stream chan struct{}) (res attemptResult) {
	var releaseStream sync.Once
	giveStream := func() { releaseStream.Do(func() { <-stream }) }
	defer giveStream()

	hubLim, releaseHub, err := r.e.sched.Acquire(ctx, hubOf(r.p))
	if err != nil {
		return attemptResult{failure: Failure{Code: ErrInterrupted, Message: err.Error()}}
	}
	defer releaseHub()

	src, err := r.e.deps.APKs.OpenAPK(ctx, a.SHA256)
	if err != nil {
		return attemptResult{failure: Failure{Code: ErrAPKMissing, Message: err.Error(), Class: ClassSkip}}
	}
	defer src.Close()

	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	wd := newWatchdog(r.e.cfg.StallTimeout, r.e.cfg.CommitTimeout, cancel)
	wd.ping = r.p.Ping
	defer wd.stop()

	var transferStart, transferEnd time.Time
	mr := &meteredReader{r: src, size: a.Size, ctx: actx, lims: []*Limiter{r.phLim, hubLim}, onProgress: func(sent int64, done bool) {
		wd.progress()
		if !r.firstByte.Swap(true) {
			now := time.Now()
			r.e.update(r.p.Serial, func(s *PhoneStatus) { s.FirstByteAt = now })
		}
		if done {
			transferEnd = time.Now()
			wd.committing()
			releaseHub()
			giveStream()
			r.emit(Progress{Package: a.Package, Label: a.Label, Index: i, Stage: "commit", Sent: sent, Size: a.Size}, true)
			return
		}
		r.emit(Progress{Package: a.Package, Label: a.Label, Index: i, Stage: "transfer", Sent: sent, Size: a.Size,
			BytesPerSec: float64(sent) / math.Max(time.Since(transferStart).Seconds(), 1e-3)}, false)
	}}
	transferStart = time.Now()
	wd.start()
	out, err := r.p.Transport.Install(actx, mr, a.Size)
	wd.stop()
	sent := mr.sent.Load()
	r.bytes.Add(sent)
	r.e.update(r.p.Serial, func(s *PhoneStatus) { s.Bytes += sent })
	res.bytes = sent
	if transferEnd.IsZero() {
		transferEnd = time.Now()
	}
	res.transferMS = transferEnd.Sub(transferStart).Milliseconds()
	res.commitMS = time.Since(transferEnd).Milliseconds()
	if err != nil || ctx.Err() != nil {
		cause := context.Cause(actx)
		switch {
		case ctx.Err() != nil:
			res.failure = Failure{Code: ErrInterrupted, Message: context.Cause(ctx).Error()}
		case errors.Is(cause, errStalled) && sent >= a.Size:
			res.failure = Failure{Code: ErrStalled, Message: fmt.Sprintf("the phone stopped answering while committing (no reply to a ping for %s)", r.e.cfg.StallTimeout)}
		case errors.Is(cause, errStalled):
			res.failure = Failure{Code: ErrStalled, Message: fmt.Sprintf("no byte moved for %s (%d of %d sent)", r.e.cfg.StallTimeout, sent, a.Size)}
		case errors.Is(cause, errCommitSlow):
			res.failure = Failure{Code: ErrCommitTimeout, Message: fmt.Sprintf("commit not done after %s", r.e.cfg.CommitTimeout)}
		default:
			// The package manager may have printed a code before the stream broke.
			if ok, f := ParseResult(out); !ok && f.Code != ErrUnknown {
				res.failure = f
			} else {
				res.failure = Failure{Code: ErrTransport, Message: err.Error()}
			}
		}
		res.failure.Class = Classify(res.failure.Code)
		return res
	}
	ok, f := ParseResult(out)
	if !ok {
		res.failure = f
		return res
	}
	if sent != a.Size {
		res.failure = Failure{Code: ErrTransport, Message: fmt.Sprintf("transport reported success after %d of %d bytes", sent, a.Size), Class: ClassRetry}
		return res
	}
	if r.p.Verifier != nil {
		r.emit(Progress{Package: a.Package, Label: a.Label, Index: i, Stage: "verify", Sent: sent, Size: a.Size}, false)
		// A phone that hangs right after "Success" must not hang the session:
		// the question gets the same no-progress limit as a transfer.
		vctx, vcancel := context.WithTimeout(ctx, r.e.cfg.StallTimeout)
		vc, present, err := r.p.Verifier.InstalledVersion(vctx, a.Package)
		stalled := vctx.Err() != nil && ctx.Err() == nil
		vcancel()
		switch {
		case err != nil:
			if ctx.Err() != nil {
				res.failure = Failure{Code: ErrInterrupted, Message: context.Cause(ctx).Error()}
				return res
			}
			if stalled {
				res.failure = Failure{Code: ErrStalled, Message: fmt.Sprintf("verify: no answer for %s", r.e.cfg.StallTimeout), Class: ClassRetry}
				return res
			}
			res.failure = Failure{Code: ErrTransport, Message: "verify: " + err.Error(), Class: ClassRetry}
			return res
		case !present || vc != a.VersionCode:
			res.failure = Failure{Code: ErrVerify, Class: ClassOperator,
				Message: fmt.Sprintf("package manager shows %s at versionCode %d (present=%v), planned %d", a.Package, vc, present, a.VersionCode)}
			return res
		}
	}
	res.ok = true
	return res
}

// hubKey is the hub a phone's bytes cross; a phone without one is its own hub.
func hubOf(p Phone) string {
	if p.Hub != "" {
		return p.Hub
	}
	return "phone:" + p.Serial
}

// emit sends a progress event, at most one per ProgressEvery per phone unless force.
func (r *sessionRun) emit(pr Progress, force bool) {
	now := time.Now()
	r.mu.Lock()
	if !force && now.Sub(r.lastEmit) < r.e.cfg.ProgressEvery {
		r.mu.Unlock()
		return
	}
	r.lastEmit = now
	r.mu.Unlock()
	pr.Serial, pr.SessionUUID, pr.Total = r.p.Serial, r.sess.UUID, len(r.plan.Install)
	r.e.deps.Events.Emit(events.InstallProgress, pr)
}

// meteredReader counts, throttles and reports the bytes a transport reads.
type meteredReader struct {
	r          io.Reader
	size       int64
	ctx        context.Context
	lims       []*Limiter
	onProgress func(sent int64, done bool)
	sent       atomic.Int64
	done       bool
}

func (m *meteredReader) Read(p []byte) (int, error) {
	if m.done {
		return 0, io.EOF
	}
	if rem := m.size - m.sent.Load(); int64(len(p)) > rem {
		p = p[:rem]
	}
	if len(p) > 64<<10 {
		p = p[:64<<10] // small slices keep the throttle smooth and progress fresh
	}
	var n int
	var err error
	if len(p) > 0 {
		n, err = m.r.Read(p)
	} else {
		err = io.EOF
	}
	if n > 0 {
		if werr := waitAll(m.ctx, n, m.lims...); werr != nil {
			return 0, werr
		}
		sent := m.sent.Add(int64(n))
		if sent >= m.size {
			m.done = true
			m.onProgress(sent, true)
			return n, nil
		}
		m.onProgress(sent, false)
	}
	if err == io.EOF && m.sent.Load() < m.size {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

// watchdog cancels an attempt that stops moving bytes, or whose commit runs
// past its limit. It checks a few times per timeout; no timer per byte.
type watchdog struct {
	stall, commit time.Duration
	cancel        context.CancelCauseFunc
	last          atomic.Int64 // unix nanos of the last byte
	commitFrom    atomic.Int64 // unix nanos the commit began; 0 while transferring
	lastPing      atomic.Int64
	quit          chan struct{}
	once          sync.Once
	ping          func(context.Context) error
}

func newWatchdog(stall, commit time.Duration, cancel context.CancelCauseFunc) *watchdog {
	return &watchdog{stall: stall, commit: commit, cancel: cancel, quit: make(chan struct{})}
}

func (w *watchdog) start() {
	w.last.Store(time.Now().UnixNano())
	tick := w.stall / 4
	if tick > time.Second {
		tick = time.Second
	}
	go func() {
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			select {
			case <-w.quit:
				return
			case now := <-t.C:
				if c := w.commitFrom.Load(); c != 0 {
					if now.Sub(time.Unix(0, c)) > w.commit {
						w.cancel(errCommitSlow)
						return
					}
					if w.ping != nil && now.Sub(time.Unix(0, w.lastPing.Load())) >= w.stall {
						w.lastPing.Store(now.UnixNano())
						go w.probe()
					}
					continue
				}
				if now.Sub(time.Unix(0, w.last.Load())) > w.stall {
					w.cancel(errStalled)
					return
				}
			}
		}
	}()
}

// probe pings the phone once; no answer within the stall time is a stall.
func (w *watchdog) probe() {
	ctx, cancel := context.WithTimeout(context.Background(), w.stall)
	defer cancel()
	go func() {
		select {
		case <-w.quit: // the attempt ended: stop waiting for the answer
			cancel()
		case <-ctx.Done():
		}
	}()
	err := w.ping(ctx)
	select {
	case <-w.quit:
		return
	default:
	}
	if err != nil {
		w.cancel(errStalled)
	}
}

func (w *watchdog) progress() { w.last.Store(time.Now().UnixNano()) }
func (w *watchdog) committing() {
	now := time.Now().UnixNano()
	w.lastPing.Store(now)
	w.commitFrom.Store(now)
}
func (w *watchdog) stop() { w.once.Do(func() { close(w.quit) }) }
