package catalog

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"preloadstation/backend/internal/apktest"
)

// One registration code, many stations racing for it: exactly one wins.
// The same APK uploaded by several admins at once: one row, one file.
func TestConcurrentCodeAndUpload(t *testing.T) {
	if err := apktest.Available(); err != nil {
		t.Skip(err)
	}
	for _, db := range databases(t) {
		t.Run(db.name, func(t *testing.T) {
			skipNoPG(t, db)
			ctx := context.Background()
			e := newEnv(t, db.dsn(t), nil)
			code, err := e.cat.NewStationCode(ctx, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			var won, lost atomic.Int32
			var wg sync.WaitGroup
			for i := 0; i < 6; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, _, err := e.cat.RegisterStation(ctx, code, "racer"); err == nil {
						won.Add(1)
					} else if ErrorCode(err) == CodeBadCode {
						lost.Add(1)
					} else {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if won.Load() != 1 || lost.Load() != 5 {
				t.Fatalf("%d stations registered with one code (%d refused)", won.Load(), lost.Load())
			}

			path := apktest.Build(t, t.TempDir(), apktest.Spec{Package: "com.example.race", VersionCode: 1, VersionName: "1"})
			var fresh atomic.Int32
			for i := 0; i < 4; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					f, _ := os.Open(path)
					defer f.Close()
					_, dup, err := e.cat.AddAppStream(ctx, f, 0, "race.apk")
					if err != nil {
						t.Error(err)
					} else if !dup {
						fresh.Add(1)
					}
				}()
			}
			wg.Wait()
			var n int64
			e.cat.DB.Model(&App{}).Count(&n)
			if n != 1 || fresh.Load() != 1 || len(e.cat.APKs.Entries()) != 1 {
				t.Fatalf("%d rows, %d uploads reported new, %d files", n, fresh.Load(), len(e.cat.APKs.Entries()))
			}
		})
	}
}
