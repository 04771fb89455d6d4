package install

import (
	"context"
	"sync"
	"time"
)

// Limiter is a token bucket kept as "the time the link is busy until": n
// bytes reserve n/rate seconds after the previous reservation, so callers are
// served in the order they asked, which is what keeps one phone from starving
// the others on a shared hub. A nil Limiter or a rate <= 0 is unlimited.
type Limiter struct {
	mu    sync.Mutex
	rate  float64 // bytes per second
	busy  time.Time
	burst time.Duration
}

// NewLimiter returns a limiter of rate bytes per second (<= 0: unlimited).
func NewLimiter(rate float64) *Limiter {
	return &Limiter{rate: rate, burst: 50 * time.Millisecond}
}

// SetRate changes the rate; reservations already made keep their time.
func (l *Limiter) SetRate(rate float64) {
	l.mu.Lock()
	l.rate = rate
	l.mu.Unlock()
}

func (l *Limiter) reserve(now time.Time, n int) time.Time {
	if l == nil {
		return now
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rate <= 0 {
		return now
	}
	if l.busy.Before(now.Add(-l.burst)) {
		l.busy = now.Add(-l.burst)
	}
	l.busy = l.busy.Add(time.Duration(float64(n) / l.rate * float64(time.Second)))
	return l.busy
}

// waitAll charges n bytes to every limiter and sleeps until the slowest has
// let them through, or ctx ends.
func waitAll(ctx context.Context, n int, ls ...*Limiter) error {
	now := time.Now()
	until := now
	for _, l := range ls {
		if t := l.reserve(now, n); t.After(until) {
			until = t
		}
	}
	d := until.Sub(now)
	if d <= time.Millisecond {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// fifoSem is a counting semaphore that grants in arrival order. max <= 0
// means unlimited.
type fifoSem struct {
	mu      sync.Mutex
	max     int
	n       int
	peak    int // most permits ever out at once (tests and status)
	waiters []chan struct{}
}

func (s *fifoSem) acquire(ctx context.Context) error {
	s.mu.Lock()
	if s.max <= 0 || s.n < s.max {
		s.n++
		s.peak = max(s.peak, s.n)
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.waiters = append(s.waiters, ch)
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for i, w := range s.waiters {
			if w == ch {
				s.waiters = append(s.waiters[:i], s.waiters[i+1:]...)
				s.mu.Unlock()
				return context.Cause(ctx)
			}
		}
		s.mu.Unlock()
		s.release() // granted while we gave up: pass it on
		return context.Cause(ctx)
	}
}

func (s *fifoSem) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n--
	s.grantLocked()
}

// grantLocked hands free permits to the waiters, in arrival order.
func (s *fifoSem) grantLocked() {
	for len(s.waiters) > 0 && (s.max <= 0 || s.n < s.max) {
		ch := s.waiters[0]
		s.waiters = s.waiters[1:]
		s.n++
		s.peak = max(s.peak, s.n)
		close(ch)
	}
}

// setMax changes the number of permits to limit (<= 0: unlimited). Raised, waiters get the new ones at
// once; lowered, permits out stay out and no new one is granted until fewer
// than max are.
func (s *fifoSem) setMax(limit int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.max = limit
	s.grantLocked()
}

// Scheduler hands out transfer permits and bandwidth per hub. Every phone on
// a hub queues in arrival order, so a hub is kept full (as many transfers as
// the cap allows run at once) and no phone waits behind another twice.
type Scheduler struct {
	mu          sync.Mutex
	hubRate     float64
	concurrency int
	hubs        map[string]*hubState
}

type hubState struct {
	lim *Limiter
	sem *fifoSem
}

// NewScheduler: hubRate bytes/s per hub (<= 0 unlimited: the USB itself
// limits), concurrency transfers at once per hub (<= 0 unlimited).
func NewScheduler(hubRate float64, concurrency int) *Scheduler {
	return &Scheduler{hubRate: hubRate, concurrency: concurrency, hubs: map[string]*hubState{}}
}

func (s *Scheduler) hub(name string) *hubState {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.hubs[name]
	if h == nil {
		h = &hubState{lim: NewLimiter(s.hubRate), sem: &fifoSem{max: s.concurrency}}
		s.hubs[name] = h
	}
	return h
}

// SetCaps changes the caps of every hub, now and for hubs seen later.
func (s *Scheduler) SetCaps(hubRate float64, concurrency int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hubRate, s.concurrency = hubRate, concurrency
	for _, h := range s.hubs {
		h.lim.SetRate(hubRate)
		h.sem.setMax(concurrency)
	}
}

// Acquire waits for a transfer permit on hub and returns the hub's limiter
// and the function that gives the permit back (call it exactly once).
func (s *Scheduler) Acquire(ctx context.Context, hub string) (*Limiter, func(), error) {
	h := s.hub(hub)
	if err := h.sem.acquire(ctx); err != nil {
		return nil, nil, err
	}
	var once sync.Once
	return h.lim, func() { once.Do(h.sem.release) }, nil
}
