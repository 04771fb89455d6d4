package catalog

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"preloadstation/backend/internal/apktest"
	"preloadstation/backend/library"
)

// BenchmarkIngest measures install-report ingestion through the HTTP API
// (JSON decode, validation, INSERT … ON CONFLICT DO NOTHING) in batches of
// 500, on SQLite and on PostgreSQL. One tenth of each batch repeats UUIDs
// already stored, as resent outbox batches do.
func BenchmarkIngest(b *testing.B) {
	for _, db := range databases(b) {
		b.Run(db.name, func(b *testing.B) {
			e := newEnv(b, db.dsn(b), nil)
			e.registerStation()
			const batch, batches = 500, 40
			var total, dups int
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				var prev []ReportIn
				for k := 0; k < batches; k++ {
					recs := make([]ReportIn, 0, batch)
					if prev != nil {
						recs = append(recs, prev[:batch/10]...)
					}
					for len(recs) < batch {
						recs = append(recs, ReportIn{UUID: newUUID(), SessionUUID: newUUID(), Operator: "alice", Serial: "R58M12345",
							Model: "SM-A146B", Package: "com.example.app", VersionCode: 42, SHA256: fmt.Sprintf("%064x", k),
							Bytes: 48 << 20, TransferMS: 1200, CommitMS: 3400, Result: "installed", Attempts: 1,
							StartedAt: time.Now(), EndedAt: time.Now()})
					}
					prev = recs
					start := time.Now()
					res, err := e.cl.SendReports(context.Background(), recs)
					elapsed += time.Since(start)
					if err != nil {
						b.Fatal(err)
					}
					if res.Accepted+res.Duplicate != batch || (k > 0 && res.Duplicate != batch/10) {
						b.Fatalf("batch %d: %+v", k, res)
					}
					total += batch
					dups += res.Duplicate
				}
			}
			rate := float64(total) / elapsed.Seconds()
			b.ReportMetric(rate, "records/s")
			fmt.Printf("ingest %-8s: %d records (%d duplicates) in batches of %d over HTTP: %.0f records/s\n", db.name, total, dups, batch, rate)
		})
	}
	if os.Getenv(pgEnv) == "" {
		fmt.Printf("ingest postgres: skipped, %s is not set\n", pgEnv)
	}
}

// BenchmarkPredownloadVsCurl downloads the same APKs from a local catalog
// server with the station's pre-download (4 at a time, SHA-256 verified,
// fsynced, renamed into the cache) and with plain curl (one process fetching
// them one after another, and curl --parallel with 4), and prints all three.
// On loopback this compares the station's per-byte overhead, not a network.
func BenchmarkPredownloadVsCurl(b *testing.B) {
	if err := apktest.Available(); err != nil {
		b.Skip(err)
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		b.Skip("curl is not installed")
	}
	const files, payload = 8, 16 << 20
	ctx := context.Background()
	e := newEnv(b, "sqlite:"+filepath.Join(b.TempDir(), "c.db"), nil)
	e.registerStation()
	e.cat.AddUser(ctx, "alice", "alicepass", "", "")
	var apps []string
	var total int64
	src := b.TempDir()
	for i := 0; i < files; i++ {
		p := apktest.Build(b, src, apktest.Spec{Package: fmt.Sprintf("com.example.bench%d", i), VersionCode: 1, VersionName: "1", PayloadBytes: payload})
		a, _, err := e.cat.AddAppFile(ctx, p)
		if err != nil {
			b.Fatal(err)
		}
		apps = append(apps, a.SHA256)
		total += a.Size
	}
	if _, err := e.cat.SetList(ctx, "bench", ListSpec{Operator: "alice", Apps: apps}); err != nil {
		b.Fatal(err)
	}
	if _, err := e.cl.Login(ctx, "alice", "alicepass"); err != nil {
		b.Fatal(err)
	}
	lr, err := e.cl.FetchList(ctx, "alice")
	if err != nil {
		b.Fatal(err)
	}
	mbps := func(d time.Duration) float64 { return float64(total) / 1e6 / d.Seconds() }
	var ours, seq, par time.Duration
	for i := 0; i < b.N; i++ {
		cache, err := library.OpenCache(filepath.Join(b.TempDir(), "cache"), 0, nil)
		if err != nil {
			b.Fatal(err)
		}
		e.lib.Cache, e.lib.Downloader.Cache = cache, cache
		start := time.Now()
		res, err := e.cl.Predownload(ctx, lr.List.ID)
		ours += time.Since(start)
		if err != nil || res.Downloaded != files {
			b.Fatalf("predownload: %+v %v", res, err)
		}

		for _, parallel := range []bool{false, true} {
			dir := b.TempDir()
			args := []string{"-sS", "--fail", "-H", "X-Station-Key: " + e.key()}
			if parallel {
				args = append(args, "--parallel", "--parallel-max", "4")
			}
			for k, s := range apps {
				args = append(args, "-o", filepath.Join(dir, fmt.Sprintf("%d.apk", k)), e.url+"/api/v1/apps/"+s+"/apk")
			}
			start = time.Now()
			if out, err := exec.Command(curl, args...).CombinedOutput(); err != nil {
				b.Fatalf("curl: %v\n%s", err, out)
			}
			d := time.Since(start)
			if parallel {
				par += d
			} else {
				seq += d
			}
		}
	}
	n := time.Duration(b.N)
	b.ReportMetric(mbps(ours/n), "MB/s")
	b.ReportMetric(mbps(seq/n), "curl-MB/s")
	fmt.Printf("pre-download %d APKs, %.1f MB, loopback:\n", files, float64(total)/1e6)
	fmt.Printf("  station pre-download (4 parallel, verified, fsync): %7.1f MB/s  (%v)\n", mbps(ours/n), (ours / n).Round(time.Millisecond))
	fmt.Printf("  curl, one process, sequential:                      %7.1f MB/s  (%v)\n", mbps(seq/n), (seq / n).Round(time.Millisecond))
	fmt.Printf("  curl --parallel --parallel-max 4:                   %7.1f MB/s  (%v)\n", mbps(par/n), (par / n).Round(time.Millisecond))
}
