package apk

import (
	"crypto/sha256"
	"io"
	"os"
	"testing"
	"time"

	"preloadstation/backend/internal/apktest"
)

// BenchmarkInspect reports the time to inspect a small and a 50 MB APK next
// to its floor: hashing the same file with SHA-256 alone, which Inspect must
// do anyway.
func BenchmarkInspect(b *testing.B) {
	if err := apktest.Available(); err != nil {
		b.Skip(err)
	}
	for _, c := range []struct {
		name    string
		payload int
	}{{"small", 0}, {"50MB", 50 << 20}} {
		b.Run(c.name, func(b *testing.B) {
			p := apktest.Build(b, b.TempDir(), apktest.Spec{Package: "com.example.benchinspect", VersionCode: 1,
				LabelZH: "基准", ABIs: []string{"arm64-v8a"}, Icon: true, PayloadBytes: c.payload})
			st, _ := os.Stat(p)
			var floor time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := Inspect(p); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				t0 := time.Now()
				f, _ := os.Open(p)
				h := sha256.New()
				io.Copy(h, f)
				f.Close()
				floor += time.Since(t0)
				b.StartTimer()
			}
			b.SetBytes(st.Size())
			b.ReportMetric(float64(floor.Microseconds())/float64(b.N)/1000, "ms/sha256-floor")
		})
	}
}
