package web

import (
	"bytes"
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"preloadstation/backend/events"
)

//go:embed shim.js
var shimJS []byte

// TokenCookie is the cookie a browser gets after opening /?token=….
const TokenCookie = "preload_token"

// Options configure a Server.
type Options struct {
	Assets   fs.FS // the built frontend: index.html at its root
	Services []any // the same structs bound to Wails
	Events   *events.Broadcaster
	// Token, when set, is required on every request (bearer header, cookie, or
	// ?token= once, which sets the cookie). Without it only loopback Host
	// headers are accepted, so a DNS-rebinding page cannot reach the station.
	Token string
	Log   *slog.Logger
	// Heartbeat is the SSE keep-alive interval; 0 means 15 s.
	Heartbeat time.Duration
}

// Server is the headless station UI.
type Server struct {
	opts   Options
	bridge *Bridge
	index  []byte
	files  http.Handler
	up     *uploader
	mux    *http.ServeMux
}

// New builds the server; it fails if a service cannot be bound or the assets
// have no index.html.
func New(opts Options) (*Server, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Events == nil {
		opts.Events = events.NewBroadcaster()
	}
	if opts.Heartbeat == 0 {
		opts.Heartbeat = 15 * time.Second
	}
	b, err := NewBridge(opts.Services...)
	if err != nil {
		return nil, err
	}
	index, err := fs.ReadFile(opts.Assets, "index.html")
	if err != nil {
		return nil, fmt.Errorf("web: frontend has no index.html (run `make frontend`): %w", err)
	}
	s := &Server{opts: opts, bridge: b, index: injectShim(index), files: http.FileServerFS(opts.Assets), up: newUploader(b, opts.Log)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/call", s.handleCall)
	mux.HandleFunc("GET /api/events", s.handleEvents)
	mux.Handle("POST /api/upload", s.up) // upload.go
	mux.HandleFunc("GET /api/shim.js", s.handleShim)
	mux.HandleFunc("GET /", s.handleStatic)
	s.mux = mux
	return s, nil
}

// injectShim loads the shim before any of the app's scripts: module scripts are
// deferred, a classic script at the top of <head> runs first.
func injectShim(index []byte) []byte {
	tag := []byte(`<script src="/api/shim.js"></script>`)
	if i := bytes.Index(bytes.ToLower(index), []byte("<head>")); i >= 0 {
		i += len("<head>")
		return append(append(append([]byte{}, index[:i]...), tag...), index[i:]...)
	}
	return append(tag, index...)
}

// Handler is the whole HTTP API with access checks.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opts.Token == "" && !loopbackHost(r.Host) {
		http.Error(w, "forbidden host", http.StatusForbidden)
		return
	}
	// Browsers send Origin on cross-site requests; refuse them so another web
	// page cannot drive the station through the user's browser.
	if o := r.Header.Get("Origin"); o != "" {
		if u, err := url.Parse(o); err != nil || u.Host != r.Host {
			http.Error(w, "cross-origin request refused", http.StatusForbidden)
			return
		}
	}
	if s.opts.Token != "" {
		if q := r.URL.Query().Get("token"); q != "" && r.Method == http.MethodGet {
			if !s.tokenOK(q) {
				http.Error(w, "wrong token", http.StatusUnauthorized)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: TokenCookie, Value: q, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
			u := *r.URL
			qs := u.Query()
			qs.Del("token")
			u.RawQuery = qs.Encode()
			http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
			return
		}
		if !s.authorized(r) {
			if strings.HasPrefix(r.URL.Path, "/api/") {
				writeJSON(w, http.StatusUnauthorized, map[string]any{"error": &CallError{Code: CodeUnauthorized, Message: "a token is required: open the URL with ?token=…"}})
			} else {
				http.Error(w, "Preload Station: open this page with ?token=<token> (see the serve command's output).", http.StatusUnauthorized)
			}
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

func (s *Server) tokenOK(t string) bool {
	return subtle.ConstantTimeCompare([]byte(t), []byte(s.opts.Token)) == 1
}

func (s *Server) authorized(r *http.Request) bool {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") && s.tokenOK(strings.TrimPrefix(h, "Bearer ")) {
		return true
	}
	c, err := r.Cookie(TokenCookie)
	return err == nil && s.tokenOK(c.Value)
}

func loopbackHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// callRequest is the body of POST /api/call.
type callRequest struct {
	Service string            `json:"service"`
	Method  string            `json:"method"`
	Args    []json.RawMessage `json:"args"`
}

const maxCallBody = 8 << 20

func (s *Server) handleCall(w http.ResponseWriter, r *http.Request) {
	// Requiring JSON forces a CORS preflight for cross-site scripts, which we never answer.
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		writeJSON(w, http.StatusUnsupportedMediaType, map[string]any{"error": &CallError{Code: CodeBadRequest, Message: "Content-Type must be application/json"}})
		return
	}
	var req callRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, maxCallBody))
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": &CallError{Code: CodeBadRequest, Message: "bad request body: " + err.Error()}})
		return
	}
	start := time.Now()
	result, err := s.bridge.Call(r.Context(), req.Service, req.Method, req.Args)
	if err != nil {
		ce := FormatError(err).(*CallError)
		status := http.StatusOK // the call ran and the service said no
		switch ce.Code {
		case CodeBadRequest:
			status = http.StatusBadRequest
		case CodeUnknownMethod:
			status = http.StatusNotFound
		}
		s.opts.Log.Debug("call failed", "service", req.Service, "method", req.Method, "code", ce.Code, "err", ce.Message)
		writeJSON(w, status, map[string]any{"error": ce})
		return
	}
	s.opts.Log.Debug("call", "service", req.Service, "method", req.Method, "took", time.Since(start))
	writeJSON(w, http.StatusOK, map[string]any{"result": result})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) handleEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	ch, unsubscribe := s.opts.Events.Subscribe(256)
	defer unsubscribe()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 1000\n: connected\n\n")
	fl.Flush()
	tick := time.NewTicker(s.opts.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
			fl.Flush()
		case m, ok := <-ch:
			if !ok {
				return
			}
			b, err := json.Marshal(m)
			if err != nil {
				s.opts.Log.Warn("event not JSON-encodable", "name", m.Name, "err", err)
				continue
			}
			if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
				return
			}
			fl.Flush()
		}
	}
}

func (s *Server) handleShim(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(shimJS)
}

func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
	if p == "" || p == "index.html" {
		s.serveIndex(w)
		return
	}
	if _, err := fs.Stat(s.opts.Assets, p); err != nil {
		// Client-side routes without a file extension get the app; missing assets get 404.
		if errors.Is(err, fs.ErrNotExist) && path.Ext(p) == "" {
			s.serveIndex(w)
			return
		}
		http.NotFound(w, r)
		return
	}
	s.files.ServeHTTP(w, r)
}

func (s *Server) serveIndex(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(s.index)
}

// Serve serves on ln until ctx is cancelled, then shuts down: open event
// streams end because their request contexts derive from ctx.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("web: serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(shutCtx)
	<-errc // Serve has returned ErrServerClosed
	if err != nil {
		return fmt.Errorf("web: shutdown: %w", err)
	}
	return nil
}
