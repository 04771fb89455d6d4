package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/crypto/bcrypt"

	"preloadstation/backend/events"
	"preloadstation/backend/services"
	"preloadstation/backend/store"
)

// Calc is a test service exercising every signature the bridge supports.
type Calc struct{ lastCtx context.Context }

type Pair struct {
	A int `json:"a"`
	B int `json:"b"`
}

type codedErr struct{}

func (codedErr) Error() string     { return "nope" }
func (codedErr) ErrorCode() string { return "custom_code" }

func (c *Calc) Add(p Pair) (int, error)                { return p.A + p.B, nil }
func (c *Calc) Concat(a, b string) string              { return a + b }
func (c *Calc) Fail() error                            { return codedErr{} }
func (c *Calc) Plain() (string, error)                 { return "", errors.New("boom") }
func (c *Calc) Nothing()                               {}
func (c *Calc) Panic() error                           { panic("oops") }
func (c *Calc) WithCtx(ctx context.Context, n int) int { c.lastCtx = ctx; return n * 2 }
func (c *Calc) hidden() int                            { return 1 }

var assets = fstest.MapFS{
	"index.html":    {Data: []byte("<!doctype html><html><head><title>x</title></head><body><script type=module src=/assets/app.js></script></body></html>")},
	"assets/app.js": {Data: []byte("console.log(1)")},
}

func newServer(t *testing.T, opts Options) *httptest.Server {
	t.Helper()
	if opts.Assets == nil {
		opts.Assets = assets
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts
}

type callResp struct {
	Result json.RawMessage `json:"result"`
	Error  *CallError      `json:"error"`
}

func call(t *testing.T, ts *httptest.Server, service, method string, args ...any) (int, callResp) {
	t.Helper()
	raw := make([]json.RawMessage, len(args))
	for i, a := range args {
		raw[i], _ = json.Marshal(a)
	}
	body, _ := json.Marshal(map[string]any{"service": service, "method": method, "args": raw})
	res, err := http.Post(ts.URL+"/api/call", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out callResp
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, out
}

func TestBridgeCalls(t *testing.T) {
	calc := &Calc{}
	ts := newServer(t, Options{Services: []any{calc}})
	tests := []struct {
		name    string
		method  string
		args    []any
		status  int
		result  string
		errCode string
	}{
		{"struct arg", "Add", []any{Pair{2, 3}}, 200, "5", ""},
		{"two args, one result", "Concat", []any{"ab", "cd"}, 200, `"abcd"`, ""},
		{"coded error", "Fail", nil, 200, "", "custom_code"},
		{"plain error", "Plain", nil, 200, "", CodeInternal},
		{"no results", "Nothing", nil, 200, "null", ""},
		{"panic recovered", "Panic", nil, 200, "", CodeInternal},
		{"context injected", "WithCtx", []any{21}, 200, "42", ""},
		{"unexported", "hidden", nil, 404, "", CodeUnknownMethod},
		{"unknown", "Nope", nil, 404, "", CodeUnknownMethod},
		{"wrong arg count", "Add", nil, 400, "", CodeBadRequest},
		{"wrong arg type", "Add", []any{"x"}, 400, "", CodeBadRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, r := call(t, ts, "Calc", tc.method, tc.args...)
			if status != tc.status {
				t.Fatalf("status %d, want %d", status, tc.status)
			}
			if tc.errCode != "" {
				if r.Error == nil || r.Error.Code != tc.errCode {
					t.Fatalf("error %+v, want code %s", r.Error, tc.errCode)
				}
				return
			}
			if r.Error != nil || string(r.Result) != tc.result {
				t.Fatalf("result %s err %+v, want %s", r.Result, r.Error, tc.result)
			}
		})
	}
	if calc.lastCtx == nil {
		t.Fatal("WithCtx did not get the request context")
	}
}

func TestCallNeedsJSON(t *testing.T) {
	ts := newServer(t, Options{Services: []any{&Calc{}}})
	res, err := http.Post(ts.URL+"/api/call", "text/plain", strings.NewReader(`{"service":"Calc","method":"Nothing","args":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("status %d", res.StatusCode)
	}
	req, _ := http.NewRequest("POST", ts.URL+"/api/call", strings.NewReader(`{"service":"Calc","method":"Nothing","args":[]}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "http://evil.example")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin call: status %d", res.StatusCode)
	}
}

func TestBindRejectsBadServices(t *testing.T) {
	type notPtr struct{}
	if _, err := NewBridge(notPtr{}); err == nil {
		t.Fatal("non-pointer accepted")
	}
	if _, err := NewBridge(&Calc{}, &Calc{}); err == nil {
		t.Fatal("duplicate service accepted")
	}
}

func TestIndexHasShimAndStatic(t *testing.T) {
	ts := newServer(t, Options{Services: []any{&Calc{}}})
	for _, p := range []string{"/", "/index.html", "/hub"} {
		body := get(t, ts.URL+p, nil, 200)
		if !strings.Contains(body, `<head><script src="/api/shim.js"></script><title>`) {
			t.Fatalf("%s: shim not first in head: %s", p, body)
		}
	}
	if body := get(t, ts.URL+"/api/shim.js", nil, 200); !strings.Contains(body, "window.go") || !strings.Contains(body, "EventsOnMultiple") {
		t.Fatal("shim.js content")
	}
	if body := get(t, ts.URL+"/assets/app.js", nil, 200); body != "console.log(1)" {
		t.Fatalf("asset: %q", body)
	}
	get(t, ts.URL+"/assets/missing.js", nil, 404)
}

func get(t *testing.T, url string, hdr map[string]string, want int) string {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultTransport.RoundTrip(req) // no redirects followed
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("GET %s: status %d, want %d: %s", url, res.StatusCode, want, b)
	}
	return string(b)
}

func TestToken(t *testing.T) {
	ts := newServer(t, Options{Services: []any{&Calc{}}, Token: "s3cret"})
	get(t, ts.URL+"/", nil, 401)
	get(t, ts.URL+"/api/shim.js", nil, 401)
	get(t, ts.URL+"/?token=wrong", nil, 401)
	get(t, ts.URL+"/", map[string]string{"Authorization": "Bearer s3cret"}, 200)
	get(t, ts.URL+"/", map[string]string{"Authorization": "Bearer nope"}, 401)

	// ?token= sets the cookie and redirects to the same page without the token.
	req, _ := http.NewRequest("GET", ts.URL+"/hub?token=s3cret&x=1", nil)
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/hub?x=1" {
		t.Fatalf("redirect %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == TokenCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly {
		t.Fatalf("cookie %+v", cookie)
	}
	get(t, ts.URL+"/", map[string]string{"Cookie": TokenCookie + "=s3cret"}, 200)

	// API calls without the token get a JSON error with a code.
	status, r := call(t, ts, "Calc", "Nothing")
	if status != 401 || r.Error == nil || r.Error.Code != CodeUnauthorized {
		t.Fatalf("api without token: %d %+v", status, r.Error)
	}
}

func TestNonLoopbackHostRefusedWithoutToken(t *testing.T) {
	ts := newServer(t, Options{Services: []any{&Calc{}}})
	req, _ := http.NewRequest("GET", ts.URL+"/", nil)
	req.Host = "evil.example:8620" // a DNS-rebinding page
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d", res.StatusCode)
	}
	for _, h := range []string{"127.0.0.1:1", "localhost:8620", "[::1]:8620", "localhost"} {
		if !loopbackHost(h) {
			t.Fatalf("%s not loopback", h)
		}
	}
}

func TestEventsSSE(t *testing.T) {
	b := events.NewBroadcaster()
	ts := newServer(t, Options{Services: []any{&Calc{}}, Events: b, Heartbeat: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	r := bufio.NewReader(res.Body)
	// The subscription exists once the first comment arrived.
	if line, _ := r.ReadString('\n'); !strings.HasPrefix(line, "retry:") {
		t.Fatalf("first line %q", line)
	}
	b.Emit(events.SessionChanged, map[string]string{"user": "admin"})
	pings := 0
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, ": ping") {
			pings++
		}
		if strings.HasPrefix(line, "data: ") {
			var m struct {
				Name    string            `json:"name"`
				Payload map[string]string `json:"payload"`
			}
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &m); err != nil {
				t.Fatal(err)
			}
			if m.Name != events.SessionChanged || m.Payload["user"] != "admin" {
				t.Fatalf("event %+v", m)
			}
			break
		}
	}
}

// TestServeStopsWithOpenStream checks Serve returns promptly on cancel even
// while an SSE client is connected.
func TestServeStopsWithOpenStream(t *testing.T) {
	s, err := New(Options{Assets: assets, Services: []any{&Calc{}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	res, err := http.Get("http://" + ln.Addr().String() + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Serve did not return after cancel with an open event stream")
	}
}

// TestRealServicesOverHTTP drives first-run setup and login through the bridge
// with the real service structs and a real store.
func TestRealServicesOverHTTP(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	st.HashCost = bcrypt.MinCost
	defer st.Close()
	b := events.NewBroadcaster()
	set := services.New(services.Deps{Context: context.Background(), Store: st, Emit: b, Version: "test"})
	ts := newServer(t, Options{Services: set.Bindings(), Events: b})

	_, r := call(t, ts, "StationService", "Status")
	if r.Error != nil || !strings.Contains(string(r.Result), `"setUp":false`) {
		t.Fatalf("status %s %+v", r.Result, r.Error)
	}
	_, r = call(t, ts, "StationService", "Setup", services.SetupRequest{StationName: "Shop", AdminUsername: "admin", AdminPassword: "pw"})
	if r.Error == nil || r.Error.Code != services.CodeWeakPassword {
		t.Fatalf("weak password: %+v", r.Error)
	}
	_, r = call(t, ts, "StationService", "Setup", services.SetupRequest{StationName: "Shop", AdminUsername: "admin", AdminPassword: "password1"})
	if r.Error != nil || !strings.Contains(string(r.Result), `"username":"admin"`) {
		t.Fatalf("setup %s %+v", r.Result, r.Error)
	}
	if strings.Contains(string(r.Result), "passwordHash") || strings.Contains(string(r.Result), `"key"`) {
		t.Fatalf("secret leaked: %s", r.Result)
	}
	call(t, ts, "AuthService", "Logout")
	_, r = call(t, ts, "AuthService", "Login", "admin", "wrong-one")
	if r.Error == nil || r.Error.Code != services.CodeBadCredentials {
		t.Fatalf("bad login %+v", r.Error)
	}
	_, r = call(t, ts, "AuthService", "Login", "admin", "password1")
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	_, r = call(t, ts, "AuthService", "CurrentUser")
	if !strings.Contains(string(r.Result), `"role":"admin"`) {
		t.Fatalf("current user %s", r.Result)
	}
}
