package apktest

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkBuild reports the cost of one uncached build (aapt + apksigner) for
// a small and a 50 MB APK, and of a cache hit (a copy).
func BenchmarkBuild(b *testing.B) {
	if err := Available(); err != nil {
		b.Skip(err)
	}
	for _, size := range []int{0, 50 << 20} {
		b.Run(fmt.Sprintf("payload=%dMB", size>>20), func(b *testing.B) {
			b.Setenv("PRELOAD_APKTEST_CACHE", b.TempDir())
			dir := b.TempDir()
			var fresh, hit time.Duration
			for i := 0; i < b.N; i++ {
				s := Spec{Package: "com.example.bench", VersionCode: int64(i + 1), PayloadBytes: size, ABIs: []string{"arm64-v8a"}}
				t0 := time.Now()
				Build(b, dir, s)
				fresh += time.Since(t0)
				t0 = time.Now()
				Build(b, dir, s)
				hit += time.Since(t0)
			}
			b.ReportMetric(float64(fresh.Milliseconds())/float64(b.N), "ms/build")
			b.ReportMetric(float64(hit.Milliseconds())/float64(b.N), "ms/cached")
		})
	}
}
