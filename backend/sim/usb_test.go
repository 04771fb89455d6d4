package sim

import (
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name  string
		rate  float64
		steps []struct {
			at    time.Duration // since t0
			bytes int
		}
		want time.Duration // last reservation ends this long after t0
	}{
		{"unlimited", 0, []struct {
			at    time.Duration
			bytes int
		}{{0, 1 << 30}}, 0},
		{"one transfer at 40 MB/s", 40 * MB, []struct {
			at    time.Duration
			bytes int
		}{{0, 40 * MB}}, time.Second},
		{"back to back queue", 10 * MB, []struct {
			at    time.Duration
			bytes int
		}{{0, 10 * MB}, {0, 10 * MB}}, 2 * time.Second},
		{"short gap is credited", 10 * MB, []struct {
			at    time.Duration
			bytes int
		}{{0, 10 * MB}, {time.Second + 50*time.Millisecond, 10 * MB}}, 2 * time.Second},
		{"long gap is idle, no credit", 10 * MB, []struct {
			at    time.Duration
			bytes int
		}{{0, 10 * MB}, {3 * time.Second, 10 * MB}}, 4 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBucket(tc.rate)
			var end time.Time
			for _, s := range tc.steps {
				end = b.reserve(t0.Add(s.at), s.bytes)
			}
			if got := end.Sub(t0); got != tc.want {
				t.Errorf("ends at %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCommitTime(t *testing.T) {
	m := USBModel{CommitFixed: time.Second, CommitPerMB: 40 * time.Millisecond}
	if got := m.CommitTime(50*MB, 0); got != 3*time.Second {
		t.Errorf("50 MB: %v, want 3s", got)
	}
	if got := m.CommitTime(50*MB, 2); got != 6*time.Second {
		t.Errorf("50 MB slow×2: %v, want 6s", got)
	}
}
