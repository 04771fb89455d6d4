package catalog

import (
	"sync"
	"time"
)

// limiter counts failed logins per key (IP + username) in a fixed window.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	m      map[string]*bucket
}

type bucket struct {
	fails int
	start time.Time
}

func newLimiter(max int, window time.Duration, now func() time.Time) *limiter {
	return &limiter{max: max, window: window, now: now, m: map[string]*bucket{}}
}

// allow reports whether key may try now, and if not, how long until it may.
func (l *limiter) allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[key]
	if b == nil {
		return true, 0
	}
	now := l.now()
	if now.Sub(b.start) >= l.window {
		delete(l.m, key)
		return true, 0
	}
	if b.fails >= l.max {
		return false, b.start.Add(l.window).Sub(now)
	}
	return true, 0
}

func (l *limiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.m) > 100_000 { // bounded memory under a spray of usernames
		for k, b := range l.m {
			if now.Sub(b.start) >= l.window {
				delete(l.m, k)
			}
		}
	}
	b := l.m[key]
	if b == nil || now.Sub(b.start) >= l.window {
		b = &bucket{start: now}
		l.m[key] = b
	}
	b.fails++
}

func (l *limiter) reset(key string) {
	l.mu.Lock()
	delete(l.m, key)
	l.mu.Unlock()
}
