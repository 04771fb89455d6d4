package install_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"preloadstation/backend/install"
	"preloadstation/backend/sim"
)

// benchSizesMB are the 8 apps (5–80 MB), in list order (not sorted: the
// station's PipelineOrder setting is part of what is measured).
var benchSizesMB = []int{50, 5, 80, 25, 60, 15, 70, 35}

type floorParts struct{ hub, phone, floor float64 }

// floorFor is ARCHITECTURE.md's performance model with the sim's parameters:
// hub floor = bytes through the busiest hub / hub bandwidth; phone floor =
// max(min t + Σc, Σt + min c); floor = the larger.
func floorFor(apps []install.App, hubOf []int, m sim.USBModel) floorParts {
	var total int64
	for _, a := range apps {
		total += a.Size
	}
	perHub := map[int]int64{}
	for _, h := range hubOf {
		perHub[h] += total
	}
	var f floorParts
	for _, b := range perHub {
		f.hub = math.Max(f.hub, float64(b)/m.HubBytesPerSec)
	}
	bw := math.Min(m.PhoneBytesPerSec, m.HubBytesPerSec)
	minT, minC, sumT, sumC := math.Inf(1), math.Inf(1), 0.0, 0.0
	for _, a := range apps {
		t := float64(a.Size) / bw
		c := m.CommitTime(a.Size, 1).Seconds()
		minT, minC, sumT, sumC = math.Min(minT, t), math.Min(minC, c), sumT+t, sumC+c
	}
	f.phone = math.Max(minT+sumC, sumT+minC)
	f.floor = math.Max(f.hub, f.phone)
	return f
}

type runResult struct {
	makespan  time.Duration
	note      string
	rssMB     float64 // peak station RSS during the run
	cpuSec    float64 // station CPU (user+sys) during the run
	gb        float64 // APK bytes moved
	installed int
	timeline  string // (d): per-phone timeline from the records
}

func adbEnv(port int) []string {
	return append(os.Environ(), "ANDROID_ADB_SERVER_PORT="+strconv.Itoa(port))
}

// runScript runs a shell script with the adb server's port in the environment.
func runScript(b *testing.B, port int, script string, args ...string) time.Duration {
	b.Helper()
	cmd := exec.Command("bash", append([]string{"-c", script, "bench"}, args...)...)
	cmd.Env = adbEnv(port)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("script failed: %v\n%s", err, lastLines(string(out), 20))
	}
	return time.Since(start)
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// checkInstalled counts the apps at their versionCode on the first count
// phones; fewer than all is an error.
func checkInstalled(b *testing.B, ph phones, apps []install.App, count int) int {
	b.Helper()
	n := 0
	for i := range count {
		got := ph.Packages(i)
		for _, a := range apps {
			if got[a.Package] == a.VersionCode {
				n++
			}
		}
	}
	if n != count*len(apps) {
		b.Errorf("only %d of %d apps installed", n, count*len(apps))
	}
	return n
}

// (a) one phone after another, one APK after another.
func runSequential(b *testing.B, port int, sc scenario, set appSet) runResult {
	ph := startChildPhones(b, simConfig{Phones: sc.phones, Hubs: sc.hubs, Profile: sc.profile, ADB: "127.0.0.1:" + itoa(port)})
	defer ph.Close()
	serials := ph.Serials()
	k := len(serials)
	if s, _ := strconv.Atoi(os.Getenv("PRELOAD_BENCH_SEQ_SAMPLE")); s > 0 && s < k {
		k = s
	}
	script := `serials="$1"; shift; for s in $serials; do for a in "$@"; do adb -s "$s" install "$a" >/dev/null || exit 1; done; done`
	d := runScript(b, port, script, append([]string{strings.Join(serials[:k], " ")}, set.paths...)...)
	r := runResult{makespan: d, installed: checkInstalled(b, ph, set.apps, k)}
	if k < len(serials) {
		// A sequential loop's time is the sum of identical per-phone times.
		r.makespan = time.Duration(float64(d) * float64(len(serials)) / float64(k))
		r.note = fmt.Sprintf("measured on %d of %d phones (%.1fs), scaled", k, len(serials), d.Seconds())
	}
	return r
}

// (b) the script users write today: one `adb install` loop per phone, all phones at once.
func runXargs(b *testing.B, port int, sc scenario, set appSet) runResult {
	ph := startChildPhones(b, simConfig{Phones: sc.phones, Hubs: sc.hubs, Profile: sc.profile, ADB: "127.0.0.1:" + itoa(port)})
	defer ph.Close()
	serials := ph.Serials()
	script := `n="$1"; list="$2"; shift 2; printf '%s\n' $list | xargs -P "$n" -I{} sh -c 'for a in "$@"; do adb -s {} install "$a" >/dev/null || exit 1; done' sh "$@"`
	d := runScript(b, port, script, append([]string{strconv.Itoa(len(serials)), strings.Join(serials, " ")}, set.paths...)...)
	return runResult{makespan: d, installed: checkInstalled(b, ph, set.apps, len(serials))}
}

// (c) the station: discovery, plans, pipelines, records. The clock starts
// when every phone is ready (as (a) and (b) start with phones in `adb
// devices`) and auto mode is switched on.
func runEngine(b *testing.B, port int, sc scenario, set appSet) runResult {
	ph := startChildPhones(b, simConfig{Phones: sc.phones, Hubs: sc.hubs, Profile: sc.profile, ADB: "127.0.0.1:" + itoa(port)})
	defer ph.Close()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := newStation(ctx, stationOpts{adbPort: port, apps: set, dbPath: filepath.Join(b.TempDir(), "station.db"),
		cfg: install.Config{Auto: false, Station: "bench", Plan: install.PlanOptions{PipelineOrder: true}}})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = st.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(2 * time.Minute)
	for st.readyCount() < sc.phones {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d phones ready", st.readyCount(), sc.phones)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The harness built and hashed hundreds of MB of APKs in this process
	// before: measure gives that memory back so RSS is the station's own.
	r, _, _ := measure(b, st.eng, sc.phones, "(c)")
	r.installed = checkInstalled(b, ph, set.apps, sc.phones)
	return r
}

// measure runs one clocked install on eng's n ready phones: it gives freed
// memory back to the OS, starts the clock and auto mode, samples the
// process's RSS until every session has ended (writing a heap profile at
// each new peak when PRELOAD_BENCH_HEAPPROF names a file), and returns the
// figures (makespan to the last session's end, RSS peak, CPU, bytes), the
// clock's start and the phones' final status. A phone not done is an error.
func measure(b *testing.B, eng *install.Engine, n int, row string) (runResult, time.Time, []install.PhoneStatus) {
	debug.FreeOSMemory()
	cpu0 := cpuSeconds()
	peak := 0.0
	start := time.Now()
	eng.SetAuto(true)
	for !allEnded(eng, n) {
		if r := rssMB(); r > peak && os.Getenv("PRELOAD_BENCH_HEAPPROF") != "" {
			if f, err := os.Create(os.Getenv("PRELOAD_BENCH_HEAPPROF")); err == nil {
				pprof.Lookup("heap").WriteTo(f, 0)
				f.Close()
			}
		}
		peak = math.Max(peak, rssMB())
		time.Sleep(100 * time.Millisecond)
	}
	var end time.Time
	var bytes int64
	status := eng.Status()
	for _, s := range status {
		if s.EndedAt.After(end) {
			end = s.EndedAt
		}
		bytes += s.Bytes
		if s.State != install.StateDone {
			b.Errorf("%s %s ended %s", row, s.Serial, s.State)
		}
	}
	r := runResult{makespan: end.Sub(start), rssMB: math.Max(peak, rssMB()), cpuSec: cpuSeconds() - cpu0, gb: float64(bytes) / 1e9}
	return r, start, status
}

// plugToFirstByte plugs one phone into a running station and measures the
// time until the engine reads the first byte of its first APK.
func plugToFirstByte(b *testing.B, port int, set appSet) time.Duration {
	ctx, cancel := context.WithCancel(context.Background())
	st, err := newStation(ctx, stationOpts{adbPort: port, apps: set, dbPath: filepath.Join(b.TempDir(), "station.db"),
		cfg: install.Config{Auto: true, Station: "bench", Plan: install.PlanOptions{PipelineOrder: true}}})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = st.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	time.Sleep(300 * time.Millisecond) // the station is up and tracking before the plug
	ph := startChildPhones(b, simConfig{Phones: 1, Hubs: 1, Profile: "pixel7", ADB: "127.0.0.1:" + itoa(port)})
	defer ph.Close()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, s := range st.eng.Status() {
			if !s.FirstByteAt.IsZero() {
				return s.FirstByteAt.Sub(ph.plugged)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.Fatal("no first byte within 30 s of the plug")
	return 0
}

func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

type scenario struct {
	name          string
	phones, hubs  int
	profile       string
	withBaselines bool
}

// BenchmarkInstallEngine is the benchmark, in one run: for each
// scenario the same apps onto fresh virtual phones (default USB 2.0 model)
// by (a) a sequential `adb install` loop, (b) `xargs -P N adb install`, (c)
// the station; then plug-to-first-byte and a 64-phone memory run. It prints
// the table and writes it to docs/benchmarks.md.
func BenchmarkInstallEngine(b *testing.B) {
	if _, err := exec.LookPath("adb"); err != nil {
		b.Skip("adb not installed")
	}
	for i := 0; i < b.N; i++ {
		if i > 0 {
			break // one measurement per run: the figures come from the table, not ns/op
		}
		benchOnce(b)
	}
}

func benchOnce(b *testing.B) {
	port := startADB(b)
	var sizes []int
	for _, mb := range benchSizesMB {
		sizes = append(sizes, mb*sim.MB-8_000) // payload; the APK around it is ~8 kB
	}
	set := buildApps(b, "bench", sizes)
	model := sim.DefaultUSB()
	profile := os.Getenv("PRELOAD_BENCH_PROFILE")
	if profile == "" {
		profile = "mixed"
	}
	scenarios := []scenario{
		{name: "hub-bound", phones: 32, hubs: 4, profile: profile, withBaselines: true},
		{name: "phone-bound", phones: 8, hubs: 8, profile: profile, withBaselines: true},
		{name: "memory-64", phones: 64, hubs: 8, profile: profile},
	}
	if only := os.Getenv("PRELOAD_BENCH_ONLY"); only != "" {
		var keep []scenario
		for _, s := range scenarios {
			if strings.Contains(","+only+",", ","+s.name+",") {
				keep = append(keep, s)
			}
		}
		scenarios = keep
	}
	var rows []string
	row := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		rows = append(rows, line)
		fmt.Println(line)
	}
	row("| scenario | method | makespan s | floor s (hub / phone) | ÷ floor | engine speed-up | note |")
	row("|---|---|---:|---:|---:|---:|---|")
	var summary []string
	for _, sc := range scenarios {
		hubOf := make([]int, sc.phones)
		for i := range hubOf {
			hubOf[i] = i%sc.hubs + 1
		}
		f := floorFor(set.apps, hubOf, model)
		floorCol := fmt.Sprintf("%.1f (%.1f / %.1f)", f.floor, f.hub, f.phone)
		var a, x runResult
		if sc.withBaselines {
			a = runSequential(b, port, sc, set)
			row("| %s | (a) sequential adb install | %.1f | %s | %.2f | | %s |", sc.name, a.makespan.Seconds(), floorCol, a.makespan.Seconds()/f.floor, a.note)
			x = runXargs(b, port, sc, set)
			row("| %s | (b) xargs -P %d adb install | %.1f | %s | %.2f | | |", sc.name, sc.phones, x.makespan.Seconds(), floorCol, x.makespan.Seconds()/f.floor)
		}
		c := runEngine(b, port, sc, set)
		speed := ""
		if sc.withBaselines {
			speed = fmt.Sprintf("%.2f× vs (a), %.2f× vs (b)", a.makespan.Seconds()/c.makespan.Seconds(), x.makespan.Seconds()/c.makespan.Seconds())
		}
		row("| %s | (c) station | %.1f | %s | %.3f | %s | RSS %.0f MB, CPU %.1f s (%.2f s/GB) |", sc.name, c.makespan.Seconds(), floorCol,
			c.makespan.Seconds()/f.floor, speed, c.rssMB, c.cpuSec, c.cpuSec/math.Max(c.gb, 1e-9))
		summary = append(summary, fmt.Sprintf("- %s (%d phones, %d hubs, %s): station %.3f× floor; station RSS peak %.0f MB with %d phones; CPU %.1f s for %.1f GB.",
			sc.name, sc.phones, sc.hubs, sc.profile, c.makespan.Seconds()/f.floor, c.rssMB, sc.phones, c.cpuSec, c.gb))
		fullRow(b, sc, f, floorCol, a, x, row, &summary) // (d): bench_station_test.go, in a child process
	}
	var p2fb []float64
	if os.Getenv("PRELOAD_BENCH_ONLY") == "" || strings.Contains(os.Getenv("PRELOAD_BENCH_ONLY"), "plug") {
		for i := 0; i < 5; i++ {
			p2fb = append(p2fb, plugToFirstByte(b, port, set).Seconds())
		}
		sort.Float64s(p2fb)
		line := fmt.Sprintf("plug-to-first-byte (1 phone, 5 plugs): median %.3f s, min %.3f s, max %.3f s", p2fb[2], p2fb[0], p2fb[4])
		fmt.Println(line)
		summary = append(summary, "- "+line+".")
		line = plugToFirstByteFull(b, port, set, 5)
		fmt.Println(line)
		summary = append(summary, "- "+line+".")
	}
	writeBenchDoc(b, rows, summary, model)
}

func writeBenchDoc(b *testing.B, rows, summary []string, m sim.USBModel) {
	path := os.Getenv("PRELOAD_BENCH_DOC")
	if path == "" {
		path = "../../docs/benchmarks.md"
	}
	host, _ := os.Hostname()
	var sb strings.Builder
	fmt.Fprintf(&sb, "# Benchmarks\n\n## Install engine (issue 7)\n\n")
	fmt.Fprintf(&sb, "Produced by `make bench` (this part alone: `go test -run '^$' -bench InstallEngine -benchtime 1x -timeout 80m ./backend/install`)")
	if env := benchEnv(); env != "" {
		fmt.Fprintf(&sb, " with `%s`", env)
	}
	fmt.Fprintf(&sb, " on %s, %s, %d CPUs (%s), %s; load average at the end %s (the machine is shared: figures are wall-clock under that load).\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.Version(), runtime.NumCPU(), host, "real Debian adb server on a private port", loadAvg())
	fmt.Fprintf(&sb, "Virtual phones (`backend/sim`, in a child process so the station's RSS and CPU are its own) with the sim's default USB 2.0 model, untouched: hub %.0f MB/s shared, phone %.0f MB/s, commit %v + %v per MB, one commit at a time per phone. ", m.HubBytesPerSec/1e6, m.PhoneBytesPerSec/1e6, m.CommitFixed, m.CommitPerMB)
	fmt.Fprintf(&sb, "Apps: 8 real signed APKs of %v MB (list order). Floor = max(hub floor, phone floor) from ARCHITECTURE.md's performance model with these parameters. ", benchSizesMB)
	fmt.Fprintf(&sb, "The station's clock starts when every phone is ready and auto mode goes on (the baselines start with phones already in `adb devices`), and stops at the last session's end (after verifying every install with the package manager).\n\n")
	sb.WriteString(fullClockDoc)
	sb.WriteString(agentTreeDoc())
	sb.WriteString(strings.Join(rows, "\n"))
	sb.WriteString("\n\n")
	sb.WriteString(strings.Join(summary, "\n"))
	sb.WriteString("\n")
	sb.WriteString(handNotes(path)) // the hand-written notes below the tables stay
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		b.Logf("cannot write %s: %v", path, err)
	}
}

func benchEnv() string {
	var out []string
	for _, k := range []string{"PRELOAD_BENCH_SEQ_SAMPLE", "PRELOAD_BENCH_PROFILE", "PRELOAD_BENCH_ONLY"} {
		if v := os.Getenv(k); v != "" {
			out = append(out, k+"="+v)
		}
	}
	return strings.Join(out, " ")
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
