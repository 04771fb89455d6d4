package library

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"preloadstation/backend/events"
	"preloadstation/backend/internal/apktest"
	"preloadstation/backend/store"
)

func openLib(t *testing.T, capBytes int64) *Library {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cache, err := OpenCache(filepath.Join(dir, "cache"), capBytes, nil)
	if err != nil {
		t.Fatal(err)
	}
	return New(st, cache, nil)
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestCachePutOpenVerify(t *testing.T) {
	c, err := OpenCache(t.TempDir(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("apk"), 1000)
	sha := sum(data)
	if err := c.Put(sha, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(c.Path(sha), filepath.Join("sha256", sha[:2], sha+".apk")) {
		t.Fatalf("path %s is not content-addressed", c.Path(sha))
	}
	// Wrong hash and wrong size are refused and leave nothing behind.
	other := sum([]byte("x"))
	if err := c.Put(other, int64(len(data)), bytes.NewReader(data)); CodeOf(err) != CodeHashMismatch {
		t.Fatalf("wrong hash: got %v", err)
	}
	if err := c.Put(sha, 5, bytes.NewReader(data)); CodeOf(err) != CodeSizeMismatch {
		t.Fatalf("wrong size: got %v", err)
	}
	if c.Has(other) {
		t.Fatal("a refused Put left a file")
	}
	if tmps, _ := filepath.Glob(filepath.Join(c.Dir(), "sha256", "*", ".tmp-*")); len(tmps) > 0 {
		t.Fatalf("temp files left: %v", tmps)
	}
	f, err := c.Open(sha)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	// Damage the file (size changes): Open re-verifies, refuses and removes it.
	if err := os.WriteFile(c.Path(sha), append(data, 'X'), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Open(sha); CodeOf(err) != CodeHashMismatch {
		t.Fatalf("damaged file: got %v", err)
	}
	if c.Has(sha) {
		t.Fatal("damaged file still cached")
	}
	if _, err := c.Open(sha); CodeOf(err) != CodeNotCached {
		t.Fatalf("missing file: got %v", err)
	}
}

func TestAddFileCustomAPK(t *testing.T) {
	if err := apktest.Available(); err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	lib := openLib(t, 0)
	var changed atomic.Int32
	lib.Emit = events.Func(func(name string, _ any) {
		if name == events.LibraryChanged {
			changed.Add(1)
		}
	})
	src := t.TempDir()
	path := apktest.Build(t, src, apktest.Spec{Package: "com.example.custom", VersionCode: 7, VersionName: "1.7", Label: "Custom", LabelZH: "自定义", ABIs: []string{"arm64-v8a"}})
	data, _ := os.ReadFile(path)

	res, err := lib.AddFile(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if res.Duplicate || res.App.Package != "com.example.custom" || res.App.VersionCode != 7 || res.App.SHA256 != sum(data) ||
		res.App.Source != store.SourceCustom || res.App.LabelZH != "自定义" || res.App.ABIs != "arm64-v8a" || res.App.Size != int64(len(data)) {
		t.Fatalf("unexpected app %+v", res.App)
	}
	if changed.Load() != 1 {
		t.Fatalf("LibraryChanged emitted %d times", changed.Load())
	}
	// The original may vanish: the library has its own verified copy.
	os.Remove(path)
	f, app, err := lib.Open(ctx, res.App.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	got := new(bytes.Buffer)
	got.ReadFrom(f)
	f.Close()
	if app.ID != res.App.ID || !bytes.Equal(got.Bytes(), data) {
		t.Fatal("cached copy differs from the original")
	}

	// The same APK again is recognised as a duplicate.
	again := filepath.Join(src, "copy.apk.1")
	os.WriteFile(again, data, 0o644)
	res2, err := lib.AddFile(ctx, again)
	if err != nil || !res2.Duplicate || res2.App.ID != res.App.ID {
		t.Fatalf("duplicate: %+v %v", res2, err)
	}
	apps, _ := lib.Apps(ctx)
	if len(apps) != 1 || !apps[0].Cached {
		t.Fatalf("want 1 cached app, got %+v", apps)
	}

	// A bad APK: clear coded error, nothing changes.
	bad := filepath.Join(src, "bad.apk")
	os.WriteFile(bad, []byte("this is not a zip"), 0o644)
	before := lib.Cache.Entries()
	if _, err := lib.AddFile(ctx, bad); CodeOf(err) != CodeBadAPK || !strings.Contains(err.Error(), "not_zip") {
		t.Fatalf("bad APK: got %v", err)
	}
	truncated := filepath.Join(src, "trunc.apk")
	os.WriteFile(truncated, data[:len(data)/2], 0o644)
	if _, err := lib.AddFile(ctx, truncated); CodeOf(err) != CodeBadAPK {
		t.Fatalf("truncated APK: got %v", err)
	}
	apps, _ = lib.Apps(ctx)
	if len(apps) != 1 || len(lib.Cache.Entries()) != len(before) {
		t.Fatalf("a bad APK changed the library: %d apps, %d files", len(apps), len(lib.Cache.Entries()))
	}

	// Remove takes the app, its list entries and its file away.
	list, _ := lib.CreateList(ctx, "L")
	if err := lib.SetListItems(ctx, list.ID, []uint{res.App.ID}); err != nil {
		t.Fatal(err)
	}
	if err := lib.Remove(ctx, res.App.ID); err != nil {
		t.Fatal(err)
	}
	if lib.Cache.Has(res.App.SHA256) {
		t.Fatal("removed app's file still cached")
	}
	l, _ := lib.List(ctx, list.ID)
	if len(l.Items) != 0 {
		t.Fatal("removed app still on a list")
	}
}

// addRow puts bytes in the cache and an app row in the store.
func addRow(t *testing.T, lib *Library, source string, data []byte) store.App {
	t.Helper()
	sha := sum(data)
	if err := lib.Cache.Put(sha, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	a := store.App{SHA256: sha, Package: "com.example.p" + sha[:6], Size: int64(len(data)), Source: source}
	if err := lib.Store.DB.Create(&a).Error; err != nil {
		t.Fatal(err)
	}
	return a
}

func TestListsAndEvictionKeepsActiveList(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	lib := openLib(t, 3000)
	lib.Cache.now = func() time.Time { mu.Lock(); defer mu.Unlock(); now = now.Add(time.Second); return now }

	a := addRow(t, lib, store.SourceCatalog, bytes.Repeat([]byte{1}, 1000)) // oldest, on the active list
	b := addRow(t, lib, store.SourceCatalog, bytes.Repeat([]byte{2}, 1000)) // not needed
	c := addRow(t, lib, store.SourceCustom, bytes.Repeat([]byte{3}, 1000))  // custom: cannot be fetched again
	list, err := lib.CreateList(ctx, "Shop")
	if err != nil {
		t.Fatal(err)
	}
	if err := lib.SetListItems(ctx, list.ID, []uint{a.ID}); err != nil {
		t.Fatal(err)
	}
	if err := lib.ActivateList(ctx, list.ID); err != nil {
		t.Fatal(err)
	}
	// Need room for 1000 more bytes: only b may go, even though a is older.
	evicted := lib.Cache.Evict(1000, lib.keepFunc())
	if len(evicted) != 1 || evicted[0] != b.SHA256 {
		t.Fatalf("evicted %v, want only b", evicted)
	}
	if !lib.Cache.Has(a.SHA256) || !lib.Cache.Has(c.SHA256) {
		t.Fatal("evicted something the list or a custom app needs")
	}
	// Everything left is needed: stay over the cap rather than lose it.
	if ev := lib.Cache.Evict(5000, lib.keepFunc()); len(ev) != 0 {
		t.Fatalf("evicted needed files %v", ev)
	}

	// List editing rules.
	if err := lib.SetListItems(ctx, list.ID, []uint{a.ID, a.ID}); CodeOf(err) != CodeInvalid {
		t.Fatalf("duplicate item: %v", err)
	}
	if err := lib.SetListItems(ctx, list.ID, []uint{a.ID, 999}); CodeOf(err) != CodeNotFound {
		t.Fatalf("unknown app: %v", err)
	}
	if err := lib.SetListItems(ctx, list.ID, []uint{c.ID, a.ID}); err != nil {
		t.Fatal(err)
	}
	l, _ := lib.ActiveList(ctx)
	if len(l.Items) != 2 || l.Items[0].AppID != c.ID || l.Items[0].Priority != store.PriorityNormal || l.Items[1].Priority != store.PriorityNormal {
		t.Fatalf("order/priority wrong (the order is the position; priority is normal until marked): %+v", l.Items)
	}
	// "Install first" is the operator's mark, and survives a reorder.
	if err := lib.SetItemFirst(ctx, list.ID, a.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := lib.SetListItems(ctx, list.ID, []uint{a.ID, c.ID}); err != nil {
		t.Fatal(err)
	}
	l, _ = lib.ActiveList(ctx)
	if len(l.Items) != 2 || l.Items[0].AppID != a.ID || l.Items[0].Priority != store.PriorityFirst || l.Items[1].Priority != store.PriorityNormal {
		t.Fatalf("after marking %d first and reordering: %+v", a.ID, l.Items)
	}
	if err := lib.SetItemFirst(ctx, list.ID, a.ID, false); err != nil {
		t.Fatal(err)
	}
	if l, _ = lib.ActiveList(ctx); l.Items[0].Priority != store.PriorityNormal {
		t.Fatalf("unmarking: %+v", l.Items)
	}
	if err := lib.SetItemFirst(ctx, list.ID, 999, true); CodeOf(err) != CodeNotFound {
		t.Fatalf("marking an app not on the list: %v", err)
	}
	if _, err := lib.CreateList(ctx, "  "); CodeOf(err) != CodeInvalid {
		t.Fatalf("empty name: %v", err)
	}
	l2, _ := lib.CreateList(ctx, "Other")
	if err := lib.ActivateList(ctx, l2.ID); err != nil {
		t.Fatal(err)
	}
	lists, _ := lib.Lists(ctx)
	active := 0
	for _, x := range lists {
		if x.Active {
			active++
		}
	}
	if active != 1 {
		t.Fatalf("%d active lists", active)
	}
	if err := lib.RenameList(ctx, l2.ID, "Renamed"); err != nil {
		t.Fatal(err)
	}
	if err := lib.DeleteList(ctx, list.ID); err != nil {
		t.Fatal(err)
	}
	var ro store.AppList
	ro = store.AppList{Name: "From catalog", Source: store.SourceCatalog}
	lib.Store.DB.Create(&ro)
	if err := lib.SetListItems(ctx, ro.ID, nil); CodeOf(err) != CodeReadOnly {
		t.Fatalf("catalog list edited: %v", err)
	}
	if err := lib.Remove(ctx, a.ID); CodeOf(err) != CodeReadOnly {
		t.Fatalf("catalog app removed: %v", err)
	}
}

// fileServer serves blobs by hash like the catalog does, optionally damaging the first response.
type fileServer struct {
	blobs                 map[string][]byte
	tamper                atomic.Int32 // responses left to damage
	served                atomic.Int32
	inFlight, maxInFlight atomic.Int32
}

func (f *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for {
		m := f.maxInFlight.Load()
		if n <= m || f.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(20 * time.Millisecond) // let parallel downloads overlap
	sha := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), ".apk")
	b, ok := f.blobs[sha]
	if !ok {
		http.NotFound(w, r)
		return
	}
	f.served.Add(1)
	if f.tamper.Add(-1) >= 0 {
		b = append([]byte(nil), b...)
		b[len(b)/2] ^= 0xff
	}
	w.Header().Set("ETag", `"`+sha+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}

type urlSource string

func (u urlSource) DownloadRequest(ctx context.Context, sha string) (*http.Request, error) {
	return http.NewRequestWithContext(ctx, http.MethodGet, string(u)+"/"+sha+".apk", nil)
}

func TestPrefetchParallelVerifiedWithProgress(t *testing.T) {
	ctx := context.Background()
	lib := openLib(t, 0)
	fs := &fileServer{blobs: map[string][]byte{}}
	var wants []Want
	for i := 0; i < 10; i++ {
		b := bytes.Repeat([]byte{byte(i)}, 200<<10+i)
		sha := sum(b)
		fs.blobs[sha] = b
		wants = append(wants, Want{SHA256: sha, Size: int64(len(b)), Package: "p"})
	}
	fs.tamper.Store(1) // the first response is damaged: it must be refused and fetched again
	srv := httptest.NewServer(fs)
	defer srv.Close()

	var mu sync.Mutex
	var progress []Progress
	d := lib.Downloader
	d.Source = urlSource(srv.URL)
	d.Backoff = 10 * time.Millisecond
	d.Parallel = 3
	d.Emit = events.Func(func(name string, p any) {
		if name == events.LibraryProgress {
			mu.Lock()
			progress = append(progress, p.(Progress))
			mu.Unlock()
		}
	})
	start := time.Now()
	res, err := d.Prefetch(ctx, wants)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if res.Downloaded != 10 || res.Failed != 0 {
		t.Fatalf("result %+v", res)
	}
	if got := fs.served.Load(); got != 11 {
		t.Fatalf("server served %d responses, want 11 (10 + the damaged one again)", got)
	}
	if m := fs.maxInFlight.Load(); m > 3 || m < 2 {
		t.Fatalf("max parallel downloads %d, want 2..3", m)
	}
	for _, w := range wants {
		f, err := lib.Cache.Open(w.SHA256)
		if err != nil {
			t.Fatalf("%s not cached: %v", w.SHA256, err)
		}
		f.Close()
	}
	mu.Lock()
	last := progress[len(progress)-1]
	mu.Unlock()
	if last.State != "done" || last.FilesDone != 10 || last.BytesDone != last.BytesTotal {
		t.Fatalf("last progress %+v", last)
	}
	// Throttled: ~10/s of byte progress, plus one per finished file, start and end.
	if limit := int(elapsed.Seconds()*10) + 1 + 2*len(wants) + 2; len(progress) > limit {
		t.Fatalf("%d progress events in %v: not throttled (limit %d)", len(progress), elapsed, limit)
	}
	// Again: everything is cached, nothing is downloaded.
	res, err = d.Prefetch(ctx, wants)
	if err != nil || res.Cached != 10 || res.Downloaded != 0 || fs.served.Load() != 11 {
		t.Fatalf("second prefetch %+v %v (served %d)", res, err, fs.served.Load())
	}
	// An unknown hash fails without endless retries.
	bogus := Want{SHA256: sum([]byte("nope")), Size: 4}
	if _, err := d.Prefetch(ctx, []Want{bogus}); CodeOf(err) != CodeDownload {
		t.Fatalf("unknown hash: %v", err)
	}
}

func TestPrefetchEvictsOnlyUnneeded(t *testing.T) {
	ctx := context.Background()
	lib := openLib(t, 300<<10)
	old := addRow(t, lib, store.SourceCatalog, bytes.Repeat([]byte{9}, 100<<10))  // not on any list: may go
	custom := addRow(t, lib, store.SourceCustom, bytes.Repeat([]byte{8}, 60<<10)) // custom: stays
	fs := &fileServer{blobs: map[string][]byte{}}
	var wants []Want
	for i := 0; i < 2; i++ {
		b := bytes.Repeat([]byte{byte(i)}, 100<<10)
		fs.blobs[sum(b)] = b
		wants = append(wants, Want{SHA256: sum(b), Size: int64(len(b))})
	}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	lib.Downloader.Source = urlSource(srv.URL)
	lib.Downloader.Parallel = 1
	if _, err := lib.Downloader.Prefetch(ctx, wants); err != nil {
		t.Fatal(err)
	}
	if lib.Cache.Has(old.SHA256) {
		t.Fatal("the unneeded APK was not evicted to make room")
	}
	if !lib.Cache.Has(custom.SHA256) || !lib.Cache.Has(wants[0].SHA256) || !lib.Cache.Has(wants[1].SHA256) {
		t.Fatal("evicted a custom APK or a wanted one")
	}
	if u := lib.Cache.Usage(); u > 300<<10 {
		t.Fatalf("cache holds %d bytes, over its cap", u)
	}
}
