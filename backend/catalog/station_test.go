package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"preloadstation/backend/events"
	"preloadstation/backend/internal/apktest"
	"preloadstation/backend/library"
	"preloadstation/backend/store"
)

// apkHooks wraps the server: it sees every APK download and may cut or damage it.
type apkHooks struct {
	mu     sync.Mutex
	ranges []string // Range header of each APK request
	// onWrite may replace the bytes written (tamper) or block (kill mid-transfer);
	// n is the number of bytes of this response written so far.
	onWrite func(req int, n int64, p []byte) []byte
	sent    atomic.Int64
}

func (h *apkHooks) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/apk") {
			next.ServeHTTP(w, r)
			return
		}
		h.mu.Lock()
		h.ranges = append(h.ranges, r.Header.Get("Range"))
		req := len(h.ranges)
		h.mu.Unlock()
		next.ServeHTTP(&hookWriter{ResponseWriter: w, h: h, req: req}, r)
	})
}

func (h *apkHooks) Ranges() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.ranges...)
}

type hookWriter struct {
	http.ResponseWriter
	h   *apkHooks
	req int
	n   int64
}

func (w *hookWriter) Write(p []byte) (int, error) {
	q := p
	if w.h.onWrite != nil {
		q = w.h.onWrite(w.req, w.n, p)
	}
	k, err := w.ResponseWriter.Write(q)
	w.n += int64(k)
	w.h.sent.Add(int64(k))
	return k, err
}

func (w *hookWriter) Flush() { w.ResponseWriter.(http.Flusher).Flush() }

// catalogWithApp starts a server with one big APK on alice's list and a registered, logged-in station.
func catalogWithApp(t *testing.T, hooks *apkHooks, payload int) (*env, []byte, ListResult) {
	t.Helper()
	if err := apktest.Available(); err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	e := newEnv(t, "sqlite:"+t.TempDir()+"/c.db", hooks.wrap)
	e.registerStation()
	path := apktest.Build(t, t.TempDir(), apktest.Spec{Package: "com.example.big", VersionCode: 1, VersionName: "1", PayloadBytes: payload, Icon: true})
	data, _ := os.ReadFile(path)
	if _, dup, err := e.cat.AddAppFile(ctx, path); err != nil || dup {
		t.Fatal(err, dup)
	}
	e.cat.AddUser(ctx, "alice", "alicepass", "", "")
	if _, err := e.cat.SetList(ctx, "alice", ListSpec{Operator: "alice", Apps: []string{"com.example.big"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cl.Login(ctx, "alice", "alicepass"); err != nil {
		t.Fatal(err)
	}
	lr, err := e.cl.FetchList(ctx, "alice")
	if err != nil || lr.Offline || len(lr.List.Items) != 1 || !lr.List.Active {
		t.Fatalf("fetch list: %+v %v", lr, err)
	}
	e.lib.Downloader.Backoff = 20 * time.Millisecond
	return e, data, lr
}

func cachedSHA(t *testing.T, e *env, want []byte) {
	t.Helper()
	f, err := e.lib.Cache.Open(sha(want))
	if err != nil {
		t.Fatalf("not cached: %v", err)
	}
	defer f.Close()
	got, _ := io.ReadAll(f)
	if sha(got) != sha(want) {
		t.Fatal("cached bytes differ")
	}
}

// The catalog server dies in the middle of a download (listener and
// connections closed); when it is back, the station resumes with Range where
// it stopped, and the cached file hashes right.
func TestDownloadResumesAfterServerKilled(t *testing.T) {
	hooks := &apkHooks{}
	cut := make(chan int64, 1)
	release := make(chan struct{})
	const size = 6 << 20
	hooks.onWrite = func(req int, n int64, p []byte) []byte {
		if req == 1 && n >= size/3 {
			select {
			case cut <- n:
				<-release // hold the response open until the server is killed
			default:
			}
		}
		return p
	}
	e, data, lr := catalogWithApp(t, hooks, size)
	var sent int64
	go func() {
		sent = <-cut
		e.live.kill()
		close(release)
		time.Sleep(300 * time.Millisecond) // down for a while: the station retries and fails meanwhile
		e.live.start()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := e.cl.Predownload(ctx, lr.List.ID)
	if err != nil {
		t.Fatalf("predownload: %v (%+v)", err, res)
	}
	cachedSHA(t, e, data)
	rs := hooks.Ranges()
	if len(rs) < 2 || rs[0] != "" {
		t.Fatalf("requests %q: want a full request, then a resumed one", rs)
	}
	var from int64
	if _, err := fmt.Sscanf(rs[len(rs)-1], "bytes=%d-", &from); err != nil || from <= 0 || from > sent {
		t.Fatalf("resumed with Range %q; %d bytes had been sent before the kill", rs[len(rs)-1], sent)
	}
	// Bytes on the wire: the first part once, then the rest; not the whole file twice.
	if total := hooks.sent.Load(); total > int64(len(data))+sent-from+64<<10 {
		t.Fatalf("server sent %d bytes for a %d-byte file: the download restarted", total, len(data))
	}
	if _, err := os.Stat(e.lib.Cache.PartPath(sha(data))); !os.IsNotExist(err) {
		t.Fatal("the .part file was left behind")
	}
	t.Logf("killed after %d bytes, resumed from %d; %d bytes on the wire for %d", sent, from, hooks.sent.Load(), len(data))
}

// The server sends damaged bytes once: the station refuses them and fetches the APK again.
func TestTamperedDownloadRefusedAndFetchedAgain(t *testing.T) {
	hooks := &apkHooks{}
	hooks.onWrite = func(req int, n int64, p []byte) []byte {
		if req == 1 && n == 0 {
			q := append([]byte(nil), p...)
			q[len(q)-1] ^= 0x55
			return q
		}
		return p
	}
	e, data, lr := catalogWithApp(t, hooks, 256<<10)
	var mu sync.Mutex
	var states []library.Progress
	e.lib.Downloader.Emit = events.Func(func(name string, p any) {
		mu.Lock()
		states = append(states, p.(library.Progress))
		mu.Unlock()
	})
	res, err := e.cl.Predownload(context.Background(), lr.List.ID)
	if err != nil || res.Downloaded != 1 {
		t.Fatalf("predownload: %+v %v", res, err)
	}
	cachedSHA(t, e, data)
	if rs := hooks.Ranges(); len(rs) != 2 || rs[1] != "" {
		t.Fatalf("requests %q: want the damaged one, then a full fetch again", rs)
	}
	if res.Bytes != 2*int64(len(data)) {
		t.Fatalf("received %d bytes, want twice %d", res.Bytes, len(data))
	}
	mu.Lock()
	last := states[len(states)-1]
	mu.Unlock()
	if last.State != "done" || last.FilesDone != 1 {
		t.Fatalf("last progress %+v", last)
	}
	// Damage the cached file on disk: verification before install catches it.
	p := e.lib.Cache.Path(sha(data))
	b, _ := os.ReadFile(p)
	b[100] ^= 1
	os.WriteFile(p, append(b, 0), 0o644)
	if _, _, err := e.lib.Open(context.Background(), sha(data)); library.CodeOf(err) != library.CodeHashMismatch {
		t.Fatalf("damaged cache file opened: %v", err)
	}
}

// With the server down the station works on its last known list and cache.
func TestOfflineUsesLastKnownList(t *testing.T) {
	e, data, lr := catalogWithApp(t, &apkHooks{}, 1<<10)
	ctx := context.Background()
	if _, err := e.cl.Predownload(ctx, lr.List.ID); err != nil {
		t.Fatal(err)
	}
	var statuses []Status
	e.cl.Emit = events.Func(func(name string, p any) {
		if name == events.CatalogStatus {
			statuses = append(statuses, p.(Status))
		}
	})
	e.live.kill()
	got, err := e.cl.FetchList(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !got.Offline || got.List.ID != lr.List.ID || len(got.List.Items) != 1 || got.List.Items[0].App.SHA256 != sha(data) || !got.List.Active {
		t.Fatalf("offline list %+v", got)
	}
	if len(statuses) == 0 || statuses[len(statuses)-1].State != "offline" {
		t.Fatalf("statuses %+v", statuses)
	}
	f, app, err := e.lib.Open(ctx, sha(data))
	if err != nil || app.Source != store.SourceCatalog || len(app.Icon) == 0 {
		t.Fatalf("open offline: %v", err)
	}
	f.Close()
	if _, err := e.cl.Login(ctx, "alice", "alicepass"); ErrorCode(err) != CodeUnavailable {
		t.Fatalf("login with server down: %v", err)
	}
	if _, err := e.cl.FetchList(ctx, "bob"); err == nil {
		t.Fatal("a list for an operator never seen online")
	}
}

func TestOutboxExactlyOnceAcrossOutage(t *testing.T) {
	for _, db := range databases(t) {
		t.Run(db.name, func(t *testing.T) {
			skipNoPG(t, db)
			testOutbox(t, db.dsn(t))
		})
	}
}

// The server is down while installs happen: records pile up in the outbox;
// after it returns they arrive exactly once, even though the answer to the
// first delivery is lost (the station resends, the server dedupes).
func testOutbox(t *testing.T, dsn string) {
	var dropped atomic.Int32
	var dupSeen atomic.Int64
	dropFirstAnswer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/api/v1/reports" {
				next.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r) // the server stores the batch…
			var ir IngestResult
			json.Unmarshal(rec.Body.Bytes(), &ir)
			dupSeen.Add(int64(ir.Duplicate))
			if dropped.Add(1) == 1 {
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					conn.Close() // …but its answer never reaches the station
					return
				}
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
		})
	}
	e := newEnv(t, dsn, dropFirstAnswer)
	e.registerStation()
	e.live.kill()

	var mu sync.Mutex
	var last OutboxStatus
	ob := NewOutbox(e.st, e.cl, events.Func(func(name string, p any) {
		mu.Lock()
		last = p.(OutboxStatus)
		mu.Unlock()
	}))
	ob.Min, ob.Max, ob.Idle, ob.Batch = 20*time.Millisecond, 200*time.Millisecond, 50*time.Millisecond, 40
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ob.Serve(ctx) }()

	const n = 150
	for i := 0; i < n; i++ {
		r := ReportIn{UUID: newUUID(), Package: "com.example.app", Result: "installed", Serial: fmt.Sprintf("s%d", i%10), StartedAt: time.Now(), EndedAt: time.Now()}
		if err := ob.Enqueue(ctx, r); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			ob.Enqueue(ctx, r) // the same record queued twice stays one item
		}
		if i%25 == 0 {
			time.Sleep(30 * time.Millisecond) // installs trickle in while the server is down
		}
	}
	if err := ob.Enqueue(ctx, ReportIn{UUID: "nope"}); err == nil {
		t.Fatal("invalid record queued")
	}
	time.Sleep(200 * time.Millisecond)
	var onServer int64
	e.cat.DB.Model(&Report{}).Count(&onServer)
	st, _ := ob.Status(ctx)
	mu.Lock()
	failing := last.Failures
	mu.Unlock()
	if onServer != 0 || st.Pending != n || failing == 0 {
		t.Fatalf("while down: %d on server, %d pending, %d failures", onServer, st.Pending, failing)
	}

	e.live.start()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, _ = ob.Status(ctx)
		if st.Pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox never drained: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	e.cat.DB.Model(&Report{}).Count(&onServer)
	if onServer != n || st.Delivered != n {
		t.Fatalf("server has %d reports, outbox delivered %d; want exactly %d", onServer, st.Delivered, n)
	}
	if dropped.Load() < 2 || dupSeen.Load() == 0 {
		t.Fatalf("the lost answer was not resent (requests %d, duplicates %d)", dropped.Load(), dupSeen.Load())
	}
	t.Logf("%d records delivered exactly once; %d report requests, %d duplicates ignored by the server", n, dropped.Load(), dupSeen.Load())
}
