package catalog

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"preloadstation/backend/library"
	"preloadstation/backend/store"
)

const pgEnv = "PRELOAD_TEST_POSTGRES"

// testDB is one database a test runs against.
type testDB struct {
	name string
	dsn  func(t testing.TB) string
}

// databases returns SQLite always and PostgreSQL when PRELOAD_TEST_POSTGRES is set.
func databases(t testing.TB) []testDB {
	dbs := []testDB{{"sqlite", func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "catalog.db") }}}
	if os.Getenv(pgEnv) != "" {
		dbs = append(dbs, testDB{"postgres", pgSchema})
	}
	return dbs
}

// skipNoPG is called by each test so the skip is visible in -v output.
func skipNoPG(t *testing.T, db testDB) {
	if db.name == "postgres" && os.Getenv(pgEnv) == "" {
		t.Skip(pgEnv + " is not set: PostgreSQL tests skipped (CI sets it; locally run scripts/ci-postgres.sh)")
	}
}

func TestPostgresConfigured(t *testing.T) {
	if os.Getenv(pgEnv) == "" {
		t.Skip(pgEnv + " is not set: every catalog test ran on SQLite only; PostgreSQL runs were skipped (CI sets it; locally: bash scripts/ci-postgres.sh and export " + pgEnv + "=postgres://preload:preload@127.0.0.1:5432/preload_test?sslmode=disable)")
	}
}

// pgSchema makes a fresh schema for this test and returns a DSN that uses it,
// so parallel runs on one database never collide. The schema is dropped after.
func pgSchema(t testing.TB) string {
	base := os.Getenv(pgEnv)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	admin, err := gorm.Open(postgres.Open(base), &gorm.Config{Logger: logger.Default.LogMode(logger.Silent)})
	if err != nil {
		t.Fatalf("PostgreSQL at %s: %v", pgEnv, err)
	}
	if err := admin.Exec("CREATE SCHEMA " + schema).Error; err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec("DROP SCHEMA " + schema + " CASCADE")
		if sqlDB, err := admin.DB(); err == nil {
			sqlDB.Close()
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a catalog server plus one station talking to it.
type env struct {
	t     testing.TB
	cat   *Catalog
	srv   *Server
	clk   *clock
	live  *liveServer
	url   string
	st    *store.Store
	lib   *library.Library
	cl    *Client
	admin string // admin token on the station
}

func newEnv(t testing.TB, dsn string, wrap func(http.Handler) http.Handler) *env {
	t.Helper()
	ctx := context.Background()
	db, err := OpenDB(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { CloseDB(db) })
	cat, err := NewCatalog(db, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Now().UTC()}
	cat.Now = clk.Now
	cat.BcryptCost = bcrypt.MinCost
	srv := NewServer(cat, nil)
	var h http.Handler = srv.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	live := startLive(t, h)
	dir := t.TempDir()
	st, err := store.Open(ctx, filepath.Join(dir, "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cache, err := library.OpenCache(filepath.Join(dir, "cache"), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	lib := library.New(st, cache, nil)
	cl := NewClient(st, lib, nil)
	return &env{t: t, cat: cat, srv: srv, clk: clk, live: live, url: live.url(), st: st, lib: lib, cl: cl}
}

// registerStation registers the env's station and logs the admin in on it.
func (e *env) registerStation() {
	e.t.Helper()
	ctx := context.Background()
	code, err := e.cat.NewStationCode(ctx, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.cl.Register(ctx, e.url, code, "Shop 1"); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.cat.AddUser(ctx, "root", "rootpass1", "admin", ""); err != nil {
		e.t.Fatal(err)
	}
	var lr LoginResponse
	if st, code := e.call("POST", "/api/v1/login", e.key(), "", map[string]string{"username": "root", "password": "rootpass1"}, &lr); st != 200 {
		e.t.Fatalf("admin login: %d %s", st, code)
	}
	e.admin = lr.Token
}

func (e *env) key() string {
	st, err := e.st.Station(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return st.Key
}

// call does one API request; body may be []byte (sent raw) or a value (JSON).
func (e *env) call(method, path, key, token string, body, out any) (int, string) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, e.url+path, rd)
	if key != "" {
		req.Header.Set("X-Station-Key", key)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		var er struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal(data, &er); err != nil || er.Error.Code == "" {
			e.t.Fatalf("%s %s: HTTP %d without a JSON error: %q", method, path, resp.StatusCode, data)
		}
		return resp.StatusCode, er.Error.Code
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: %v: %q", method, path, err, data)
		}
	}
	return resp.StatusCode, ""
}

// liveServer is an HTTP server that can be killed (listener and connections
// closed at once) and started again on the same address.
type liveServer struct {
	t    testing.TB
	h    http.Handler
	addr string
	mu   sync.Mutex
	hs   *http.Server
}

func startLive(t testing.TB, h http.Handler) *liveServer {
	l := &liveServer{t: t, h: h, addr: "127.0.0.1:0"}
	l.start()
	t.Cleanup(l.kill)
	return l
}

func (l *liveServer) url() string { return "http://" + l.addr }

func (l *liveServer) start() {
	l.t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", l.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		l.t.Fatal(err)
	}
	l.addr = ln.Addr().String()
	hs := &http.Server{Handler: l.h}
	l.mu.Lock()
	l.hs = hs
	l.mu.Unlock()
	go hs.Serve(ln)
}

func (l *liveServer) kill() {
	l.mu.Lock()
	hs := l.hs
	l.hs = nil
	l.mu.Unlock()
	if hs != nil {
		hs.Close()
	}
}
