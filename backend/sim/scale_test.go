package sim

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Test64Phones attaches 64 phones to one adb server; every one answers getprop.
func Test64Phones(t *testing.T) {
	a := startADB(t)
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	start := time.Now()
	s := startSim(t, a, Options{Phones: 64, Hubs: 4, Profile: "mixed", Logf: func(string, ...any) {}})
	attach := time.Since(start)
	out := a.must("devices")
	if n := strings.Count(out, "\tdevice\n"); n != 64 {
		t.Fatalf("adb devices lists %d phones in state device, want 64:\n%s", n, out)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	errs := make(chan error, 64)
	for _, ph := range s.Phones() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			got, err := a.run(30*time.Second, "-s", ph.Serial(), "shell", "getprop", "ro.serialno")
			if err != nil || strings.TrimSpace(got) != ph.SerialNo() {
				errs <- fmt.Errorf("%s: getprop ro.serialno = %q, %v", ph.Serial(), got, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	heap := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("64 phones: attached in %v; sim heap in use %.1f MiB (%.0f KiB per phone), %d goroutines (%d per phone), process Sys %.0f MiB",
		attach.Round(time.Millisecond), float64(heap)/(1<<20), float64(heap)/64/1024,
		runtime.NumGoroutine()-g0, (runtime.NumGoroutine()-g0)/64, float64(after.Sys)/(1<<20))
}

// BenchmarkUSBThroughput pushes 100 MB to each of 4 phones at once through
// the real adb with the default USB model, on one hub and on four.
func BenchmarkUSBThroughput(b *testing.B) {
	for _, hubs := range []int{1, 4} {
		b.Run(fmt.Sprintf("4phones_%dhub", hubs), func(b *testing.B) {
			benchPush(b, hubs, 4, 100*MB)
		})
	}
}

func benchPush(b *testing.B, hubs, phones int, size int64) {
	a := startADBB(b)
	usb := DefaultUSB()
	s, err := New(Options{Phones: phones, Hubs: hubs, Profile: "pixel7", USB: usb, ADBServer: a.addr()})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	src := filepath.Join(b.TempDir(), "payload.bin")
	f, _ := os.Create(src)
	f.Truncate(size) // zeros compress nowhere: adb 1.0.41 pushes raw
	f.Close()
	// Floor from the model: the busiest hub, or one phone's link.
	perHub := (phones + hubs - 1) / hubs
	hubFloor := float64(int64(perHub)*size) / usb.HubBytesPerSec
	phoneFloor := float64(size) / usb.PhoneBytesPerSec
	floor := max(hubFloor, phoneFloor)
	for i := 0; i < b.N; i++ {
		start := time.Now()
		var wg sync.WaitGroup
		for _, ph := range s.Phones() {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if out, err := a.run(5*time.Minute, "-s", ph.Serial(), "push", src, "/data/local/tmp/payload.bin"); err != nil {
					b.Errorf("push: %v %s", err, out)
				}
			}()
		}
		wg.Wait()
		el := time.Since(start).Seconds()
		total := float64(int64(phones) * size)
		b.ReportMetric(el, "s/run")
		b.ReportMetric(total/el/MB, "MB/s")
		b.ReportMetric(floor, "floor_s")
		fmt.Printf("usb model: %d phones x %d MB on %d hub(s): %.2f s, %.1f MB/s total; model floor %.2f s (hub %.0f MB/s shared, phone %.0f MB/s); ratio %.2f\n",
			phones, size/MB, hubs, el, total/el/MB, floor, usb.HubBytesPerSec/MB, usb.PhoneBytesPerSec/MB, el/floor)
	}
}

func BenchmarkUSBOnePhone(b *testing.B) { benchPush(b, 1, 1, 100*MB) }
