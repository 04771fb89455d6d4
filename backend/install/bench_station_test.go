package install_test

// Row (d) of BenchmarkInstallEngine: the real station composition
// (backend/station: adb keeper, discovery with facts, the agent pushed,
// started and connected per phone, the install engine over the agent
// channel, the library's cache, history and outbox), not the test harness
// of row (c). Its virtual phones run in a child process that also runs the
// phone agent the station pushes (phone.MainLog), with the sim's default USB
// model, so the agent push goes through the same modelled hub and phone link
// as the APKs.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"preloadstation/backend/install"
	"preloadstation/backend/sim"
	stationpkg "preloadstation/backend/station"
	"preloadstation/backend/store"
)

const fullMethod = "(d) station (full: backend/station with agents)"

// fullClockDoc says what (d) counts; writeBenchDoc prints it.
const fullClockDoc = "Row (d) is the real station (`backend/station`: adb server keeper, discovery reading each phone's facts, the phone agent pushed, started and connected per phone, the install engine over the agent channel, the library's APK cache, SQLite history and catalog outbox) with its default settings except auto mode, the apps imported into one list with no app marked \"install first\" (so the planner's fastest order applies, as in (c)), on fresh virtual phones (same default USB model) that run the pushed agent. Each (d) row runs in a child process of its own (its own adb server, APKs and virtual phones), so its RSS and CPU are the station's alone. " +
	"Its clock is (c)'s: it starts when the engine holds every phone as ready (facts read and the agent channel up, or given up on) and auto mode goes on, and stops at the last session's end; the time from the phones attaching to that point (facts, agent push and start, channel) is given in its note as \"setup\" and is not in the makespan. " +
	"Its plug-to-first-byte is from the virtual phone attaching to the adb server to the engine handing the first APK byte to the phone's transport (the agent channel when it is up), with the station already running in auto mode: facts, agent push and channel are inside it. RSS and CPU are the station process's, over the makespan.\n\n"

// startAgentChildPhones starts virtual phones that run the agent build the
// station pushes (simchild with Agent), in a child process.
func startAgentChildPhones(t testing.TB, cfg simConfig) *childPhones {
	t.Helper()
	cfg.Agent = true
	return startChildPhones(t, cfg)
}

// fullStation is a running backend/station with the bench's apps as its
// active list.
type fullStation struct {
	s      *stationpkg.Station
	st     *store.Store
	cancel context.CancelFunc
	served chan error
}

// startFullStation builds the station as the app does (install settings from
// the store's defaults; auto mode as given), puts the apps in its library as
// the active list, and serves it.
func startFullStation(b *testing.B, port int, set appSet, auto bool) *fullStation {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := b.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "station.db"))
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := st.SetupStation(ctx, store.Setup{StationName: "bench", AdminUsername: "admin", AdminPassword: "correct horse 1"}); err != nil {
		b.Fatal(err)
	}
	icfg, err := install.LoadConfig(ctx, st, "")
	if err != nil {
		b.Fatal(err)
	}
	icfg.Auto = auto
	s, err := stationpkg.New(ctx, stationpkg.Config{DataDir: dir, Store: st, ADBPort: port,
		Getenv: func(string) string { return "" }, Install: &icfg})
	if err != nil {
		b.Fatal(err)
	}
	lib := s.Library()
	list, err := lib.CreateList(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	var ids []uint
	for _, p := range set.paths {
		res, err := lib.AddFile(ctx, p)
		if err != nil {
			b.Fatal(err)
		}
		ids = append(ids, res.App.ID)
	}
	if err := lib.SetListItems(ctx, list.ID, ids); err != nil {
		b.Fatal(err)
	}
	if err := lib.ActivateList(ctx, list.ID); err != nil {
		b.Fatal(err)
	}
	s.SetOperator(func() string { return "op" })
	f := &fullStation{s: s, st: st, cancel: cancel, served: make(chan error, 1)}
	go func() { f.served <- s.Serve(ctx) }()
	return f
}

func (f *fullStation) stop(b *testing.B) {
	f.cancel()
	select {
	case <-f.served:
	case <-time.After(60 * time.Second):
		b.Error("the station did not stop within 60 s")
	}
	f.st.Close()
}

// readyPhones counts phones the engine holds as present and idle.
func readyPhones(e *install.Engine) int {
	n := 0
	for _, s := range e.Status() {
		if s.Present && s.State == install.StateIdle {
			n++
		}
	}
	return n
}

// runStationFull is row (d): same clock as (c), from every phone ready in
// the engine (auto off until then) to the last session's end.
func runStationFull(b *testing.B, port int, sc scenario, set appSet) runResult {
	fs := startFullStation(b, port, set, false)
	defer fs.stop(b)
	ph := startAgentChildPhones(b, simConfig{Phones: sc.phones, Hubs: sc.hubs, Profile: sc.profile, ADB: "127.0.0.1:" + itoa(port)})
	defer ph.Close() // before the station stops (deferred earlier, runs later)
	eng := fs.s.Engine()
	deadline := time.Now().Add(3 * time.Minute)
	for readyPhones(eng) < sc.phones {
		if time.Now().After(deadline) {
			b.Fatalf("(d): only %d of %d phones ready", readyPhones(eng), sc.phones)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ready := time.Now()
	r, start, status := measure(b, eng, sc.phones, "(d)") // the library's import of the APKs ran in this process: measure frees it
	overAgent := 0
	for _, s := range status {
		if s.Transport == "agent" {
			overAgent++
		}
	}
	r.installed = checkInstalled(b, ph, set.apps, sc.phones)
	r.timeline = timeline(b, fs.st, start)
	r.note = fmt.Sprintf("setup %.1f s (attach → all ready); %d of %d phones over the agent channel; %s", ready.Sub(ph.plugged).Seconds(), overAgent, sc.phones, pipelineStats(b, fs.st))
	return r
}

// pipelineStats reads the run's install records: how many APK streams began
// before the previous APK of the same phone had ended (the engine's
// pipelining got through the transport), and the transfer rate the records
// show. It explains a gap between (c) and (d).
func pipelineStats(b *testing.B, st *store.Store) string {
	var recs []store.InstallRecord
	if err := st.DB.Where("result = ?", store.ResultInstalled).Order("session_id, started_at").Find(&recs).Error; err != nil {
		b.Logf("(d) records: %v", err)
		return "records unreadable"
	}
	overlapped, pairs, phones := 0, 0, 0
	var bytes, transferMS, commitMS int64
	for i, r := range recs {
		bytes += r.Bytes
		transferMS += r.TransferMS
		commitMS += r.CommitMS
		if i == 0 || recs[i-1].SessionID != r.SessionID {
			phones++
		}
		if i > 0 && recs[i-1].SessionID == r.SessionID {
			pairs++
			if r.StartedAt.Before(recs[i-1].EndedAt.Add(-50 * time.Millisecond)) {
				overlapped++
			}
		}
	}
	n := float64(max(phones, 1))
	return fmt.Sprintf("%d of %d next-APK streams began before the previous APK ended; per phone (records): Σ transfer %.1f s at %.1f MB/s, Σ commit stage %.1f s (from last byte to the package manager's answer, queueing included)",
		overlapped, pairs, float64(transferMS)/1e3/n, float64(bytes)/1e6/math.Max(float64(transferMS)/1e3, 1e-9), float64(commitMS)/1e3/n)
}

// timeline prints each phone's run from the install records, relative to
// the clock's start: per APK its stream start, last byte and the package
// manager's answer, and how long the phone's package manager sat idle
// before that APK's commit could begin (its stream had not ended yet). The
// time from the last answer to the session's end is the verify and the
// session's closing work. It shows where (d) spends time above the floor.
func timeline(b *testing.B, st *store.Store, start time.Time) string {
	var sessions []store.InstallSession
	if err := st.DB.Preload("Records", func(db *gorm.DB) *gorm.DB { return db.Order("started_at") }).Order("id").Find(&sessions).Error; err != nil {
		return "timeline: " + err.Error() + "\n"
	}
	at := func(t time.Time) float64 { return t.Sub(start).Seconds() }
	var sb strings.Builder
	for _, s := range sessions {
		fmt.Fprintf(&sb, "%s: session %.2f", s.Serial, at(s.StartedAt))
		var prevEnd time.Time
		idle := 0.0
		for _, r := range s.Records {
			if r.Result != store.ResultInstalled {
				continue
			}
			lastByte := r.StartedAt.Add(time.Duration(r.TransferMS) * time.Millisecond)
			gap := 0.0
			if !prevEnd.IsZero() && lastByte.After(prevEnd) {
				gap = lastByte.Sub(prevEnd).Seconds()
			}
			idle += gap
			fmt.Fprintf(&sb, " | %dMB %.2f→%.2f→%.2f", r.Bytes/1e6, at(r.StartedAt), at(lastByte), at(r.EndedAt))
			if gap > 0.02 {
				fmt.Fprintf(&sb, " (pm idle %.2f)", gap)
			}
			prevEnd = r.EndedAt
		}
		if s.EndedAt != nil {
			fmt.Fprintf(&sb, " | end %.2f (after last answer %.2f)", at(*s.EndedAt), s.EndedAt.Sub(prevEnd).Seconds())
		}
		fmt.Fprintf(&sb, "; pm idle %.2f s\n", idle)
	}
	return sb.String()
}

// fullResult is what a (d) child process hands back to the benchmark.
type fullResult struct {
	MakespanS, RSSMB, CPUS, GB float64
	Installed                  int
	Note                       string
}

// runStationFullChild runs (d) for one scenario in a child copy of this
// test binary (BenchmarkStationFullOnly, with its own adb server, APKs and
// virtual phones), so the RSS and CPU it reports are the station's alone:
// no earlier row's heap is in them.
func runStationFullChild(b *testing.B, sc scenario) runResult {
	b.Helper()
	out := filepath.Join(b.TempDir(), "full.json")
	cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^BenchmarkStationFullOnly$", "-test.benchtime=1x", "-test.timeout=30m")
	cmd.Env = append(os.Environ(), "PRELOAD_BENCH_FULL_ONLY="+sc.name, "PRELOAD_BENCH_FULL_OUT="+out)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("(d) %s child: %v", sc.name, err)
	}
	js, err := os.ReadFile(out)
	if err != nil {
		b.Fatalf("(d) %s child wrote no result: %v", sc.name, err)
	}
	var r fullResult
	if err := json.Unmarshal(js, &r); err != nil {
		b.Fatal(err)
	}
	if want := sc.phones * len(benchSizesMB); r.Installed != want {
		b.Errorf("(d) %s: %d of %d apps installed", sc.name, r.Installed, want)
	}
	return runResult{makespan: time.Duration(r.MakespanS * float64(time.Second)), rssMB: r.RSSMB, cpuSec: r.CPUS, gb: r.GB,
		installed: r.Installed, note: r.Note}
}

// fullRow runs (d) for a scenario with baselines and adds its table row and
// summary line.
func fullRow(b *testing.B, sc scenario, f floorParts, floorCol string, a, x runResult,
	row func(string, ...any), summary *[]string) {
	d := runStationFullChild(b, sc)
	speed := ""
	if sc.withBaselines {
		speed = fmt.Sprintf("%.2f× vs (a), %.2f× vs (b)", a.makespan.Seconds()/d.makespan.Seconds(), x.makespan.Seconds()/d.makespan.Seconds())
	}
	row("| %s | %s | %.1f | %s | %.3f | %s | RSS %.0f MB, CPU %.1f s (%.2f s/GB); %s |", sc.name, fullMethod,
		d.makespan.Seconds(), floorCol, d.makespan.Seconds()/f.floor, speed,
		d.rssMB, d.cpuSec, d.cpuSec/math.Max(d.gb, 1e-9), d.note)
	*summary = append(*summary, fmt.Sprintf("- %s (%d phones, %d hubs, %s): full station %.3f× floor; RSS peak %.0f MB; CPU %.1f s for %.1f GB; %s.",
		sc.name, sc.phones, sc.hubs, sc.profile, d.makespan.Seconds()/f.floor, d.rssMB, d.cpuSec, d.gb, d.note))
}

// plugToFirstByteFull plugs one fresh phone at a time into one running
// station in auto mode and returns the summary line: plug (the virtual phone
// attaching) to the engine handing its first APK byte to the phone's
// transport. Facts, agent push, agent start and channel are inside.
func plugToFirstByteFull(b *testing.B, port int, set appSet, plugs int) string {
	fs := startFullStation(b, port, set, true)
	defer fs.stop(b)
	time.Sleep(time.Second) // the station is up and tracking before the first plug
	var got []float64
	transports := map[string]int{}
	for range plugs {
		func() {
			ph := startAgentChildPhones(b, simConfig{Phones: 1, Hubs: 1, Profile: "pixel7", ADB: "127.0.0.1:" + itoa(port)})
			defer ph.Close()
			serial := ph.Serials()[0]
			deadline := time.Now().Add(60 * time.Second)
			for time.Now().Before(deadline) {
				for _, s := range fs.s.Engine().Status() {
					if s.Serial == serial && s.FirstByteAt.After(ph.plugged) {
						got = append(got, s.FirstByteAt.Sub(ph.plugged).Seconds())
						transports[s.Transport]++
						return
					}
				}
				time.Sleep(5 * time.Millisecond)
			}
			b.Fatal("(d): no first byte within 60 s of the plug")
		}()
		time.Sleep(2 * time.Second) // the unplug is seen before the next plug
	}
	sort.Float64s(got)
	return fmt.Sprintf("plug-to-first-byte, full station with agent push (1 phone, %d plugs): median %.3f s, min %.3f s, max %.3f s; transport %v",
		plugs, got[len(got)/2], got[0], got[len(got)-1], transports)
}

// BenchmarkStationFullOnly runs only row (d) (and its plug-to-first-byte)
// for one scenario, to work on the full station without the baselines. It
// is skipped unless PRELOAD_BENCH_FULL_ONLY names a scenario (hub-bound or
// phone-bound); it writes no doc.
func BenchmarkStationFullOnly(b *testing.B) {
	name := os.Getenv("PRELOAD_BENCH_FULL_ONLY")
	if name == "" {
		b.Skip("set PRELOAD_BENCH_FULL_ONLY=hub-bound or phone-bound")
	}
	if _, err := exec.LookPath("adb"); err != nil {
		b.Skip("adb not installed")
	}
	for i := 0; i < b.N; i++ {
		if i > 0 {
			break
		}
		port := startADB(b)
		var sizes []int
		for _, mb := range benchSizesMB {
			sizes = append(sizes, mb*sim.MB-8_000)
		}
		set := buildApps(b, "bench", sizes)
		sc := scenario{name: name, phones: 8, hubs: 8, profile: "mixed"}
		switch name {
		case "hub-bound":
			sc.phones, sc.hubs = 32, 4
		case "memory-64":
			sc.phones, sc.hubs = 64, 8
		}
		hubOf := make([]int, sc.phones)
		for i := range hubOf {
			hubOf[i] = i%sc.hubs + 1
		}
		f := floorFor(set.apps, hubOf, sim.DefaultUSB())
		d := runStationFull(b, port, sc, set)
		fmt.Print(d.timeline)
		fmt.Printf("%s %s: %.1f s, floor %.1f, ÷ floor %.3f, RSS %.0f MB, CPU %.1f s; %s\n", sc.name, fullMethod,
			d.makespan.Seconds(), f.floor, d.makespan.Seconds()/f.floor, d.rssMB, d.cpuSec, d.note)
		if out := os.Getenv("PRELOAD_BENCH_FULL_OUT"); out != "" {
			js, _ := json.Marshal(fullResult{MakespanS: d.makespan.Seconds(), RSSMB: d.rssMB, CPUS: d.cpuSec, GB: d.gb, Installed: d.installed, Note: d.note})
			if err := os.WriteFile(out, js, 0o644); err != nil {
				b.Fatal(err)
			}
			continue
		}
		fmt.Println(plugToFirstByteFull(b, port, set, 3))
	}
}

// handNotes returns the hand-written part of the existing doc (from its
// first "### " heading on), kept below the generated tables.
func handNotes(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	s := string(b)
	for i := 0; i+4 <= len(s); i++ {
		if (i == 0 || s[i-1] == '\n') && s[i:i+4] == "### " {
			return "\n" + s[i:]
		}
	}
	return ""
}

// agentTreeDoc says which agent code the run was built with: the pipelined
// agent installs were being written while this benchmark was, so the doc
// names the commit. PRELOAD_BENCH_GIT is the repository (default the module
// root); PRELOAD_BENCH_CLEAN=1 says the run was built from `git archive
// HEAD` plus the benchmark's own files, so others' uncommitted edits are out.
func agentTreeDoc() string {
	repo := os.Getenv("PRELOAD_BENCH_GIT")
	if repo == "" {
		repo = "../.."
	}
	git := func(args ...string) string {
		out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).Output()
		if err != nil {
			return "unknown"
		}
		return strings.TrimSpace(string(out))
	}
	paths := []string{"--", "backend/agent", "backend/phone", "backend/install/transport_agent.go"}
	s := fmt.Sprintf("Code: HEAD %s; last commit touching the agent path (backend/agent, backend/phone, install/transport_agent.go): %s. ",
		git("log", "-1", "--format=%h %s"), git(append([]string{"log", "-1", "--format=%h %s (%cd)", "--date=format:%H:%M"}, paths...)...))
	if os.Getenv("PRELOAD_BENCH_CLEAN") == "1" {
		s += "Built from `git archive HEAD` plus this benchmark's files: uncommitted edits in the work tree are not in it.\n\n"
	} else if dirty := git(append([]string{"status", "--porcelain"}, paths...)...); dirty != "" {
		s += "Built from the work tree, which had uncommitted edits there: " + strings.Join(strings.Fields(dirty), " ") + ".\n\n"
	} else {
		s += "Built from the work tree, clean on that path.\n\n"
	}
	return s
}
