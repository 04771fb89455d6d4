package phone

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"preloadstation/backend/agent/wire"
)

// The page is served by a deliberately tiny HTTP/1.1 server: one request per
// connection, Connection: close. net/http (with TLS, HTTP/2, multipart…)
// would more than double the agent binary, and every byte of the agent
// crosses USB on a phone's first plug (see BenchmarkPlugToChannelReady).

const (
	maxHeaderBytes = 16 << 10
	maxBodyBytes   = 16 << 10
)

type httpRequest struct {
	method, path string
	query        url.Values
	header       map[string]string // lower-case names
	body         []byte
}

var errBadRequest = errors.New("bad request")

func readRequest(br *bufio.Reader) (*httpRequest, error) {
	var total int
	line := func() (string, error) {
		l, err := br.ReadSlice('\n')
		total += len(l)
		if err != nil || total > maxHeaderBytes {
			return "", errBadRequest
		}
		return strings.TrimRight(string(l), "\r\n"), nil
	}
	first, err := line()
	if err != nil {
		return nil, err
	}
	parts := strings.Split(first, " ")
	if len(parts) != 3 || !strings.HasPrefix(parts[2], "HTTP/1.") {
		return nil, errBadRequest
	}
	u, err := url.ParseRequestURI(parts[1])
	if err != nil {
		return nil, errBadRequest
	}
	r := &httpRequest{method: parts[0], path: u.Path, query: u.Query(), header: map[string]string{}}
	for {
		l, err := line()
		if err != nil {
			return nil, err
		}
		if l == "" {
			break
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			return nil, errBadRequest
		}
		r.header[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	if te := r.header["transfer-encoding"]; te != "" {
		return nil, errBadRequest // browsers send Content-Length for small bodies
	}
	if cl := r.header["content-length"]; cl != "" {
		n, err := strconv.Atoi(cl)
		if err != nil || n < 0 || n > maxBodyBytes {
			return nil, errBadRequest
		}
		r.body = make([]byte, n)
		if _, err := io.ReadFull(br, r.body); err != nil {
			return nil, errBadRequest
		}
	}
	return r, nil
}

var statusText = map[int]string{200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed"}

func writeResponse(w io.Writer, status int, ctype string, body []byte) error {
	_, err := fmt.Fprintf(w, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
		status, statusText[status], ctype, len(body))
	if err == nil {
		_, err = w.Write(body)
	}
	return err
}

// servePage runs the page's HTTP server on l until ctx ends; it returns after
// every connection it started has finished.
func (a *Agent) servePage(ctx context.Context, l net.Listener) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.serveHTTP(ctx, c)
		}()
	}
}

func (a *Agent) serveHTTP(ctx context.Context, c net.Conn) {
	defer c.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	r, err := readRequest(bufio.NewReaderSize(c, 4096))
	if err != nil {
		writeResponse(c, 400, "text/plain; charset=utf-8", []byte("bad request\n"))
		return
	}
	c.SetReadDeadline(time.Time{})
	// Only the phone's own browser on loopback: a Host other than loopback is
	// DNS rebinding, an Origin other than this page is another site posting.
	host := r.header["host"]
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host != "127.0.0.1" && host != "localhost" && host != "[::1]" && host != "::1" {
		writeResponse(c, 403, "text/plain; charset=utf-8", []byte("forbidden\n"))
		return
	}
	if o := r.header["origin"]; o != "" && o != "http://"+r.header["host"] {
		writeResponse(c, 403, "text/plain; charset=utf-8", []byte("forbidden\n"))
		return
	}
	switch {
	case r.path == "/" && r.method == "GET":
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		writeResponse(c, 200, "text/html; charset=utf-8", a.renderPage(r))
	case r.path == "/state" && r.method == "GET":
		a.handleState(ctx, c, r)
	case r.path == "/events" && r.method == "GET":
		// The browser never sends more on this connection; a read returning
		// means it went away.
		go func() { io.Copy(io.Discard, c); cancel() }()
		a.handleEvents(ctx, c)
	case r.path == "/configure" && r.method == "POST":
		a.handleConfigure(ctx, c, r)
	case r.path == "/" || r.path == "/state" || r.path == "/events" || r.path == "/configure":
		writeResponse(c, 405, "text/plain; charset=utf-8", []byte("method not allowed\n"))
	default:
		writeResponse(c, 404, "text/plain; charset=utf-8", []byte("not found\n"))
	}
}

// pickLang chooses English or Simplified Chinese: ?lang= first, then the
// browser's Accept-Language (the phone's locale).
func pickLang(r *httpRequest) string {
	if l := r.query.Get("lang"); l == "zh" || l == "en" {
		return l
	}
	for _, part := range strings.Split(r.header["accept-language"], ",") {
		tag := strings.ToLower(strings.TrimSpace(strings.SplitN(part, ";", 2)[0]))
		switch {
		case strings.HasPrefix(tag, "zh"):
			return "zh"
		case strings.HasPrefix(tag, "en"):
			return "en"
		}
	}
	return "en"
}

// pageReplacers fill pageHTML's {{.T.key}} slots per language (escaped).
var pageReplacers = func() map[string][]string {
	m := map[string][]string{}
	for lang, strs := range pageStrings {
		var pairs []string
		for k, v := range strs {
			pairs = append(pairs, "{{.T."+k+"}}", html.EscapeString(v))
		}
		m[lang] = pairs
	}
	return m
}()

func (a *Agent) renderPage(r *httpRequest) []byte {
	lang := pickLang(r)
	st, _, _ := a.page.snapshot()
	init, _ := json.Marshal(st) // json escapes <, > and &: safe inside <script>
	strs, _ := json.Marshal(pageStrings[lang])
	htmlLang := "en"
	if lang == "zh" {
		htmlLang = "zh-CN"
	}
	pairs := append([]string{"{{.HTMLLang}}", htmlLang, "{{.Init}}", string(init), "{{.Strings}}", string(strs)}, pageReplacers[lang]...)
	return []byte(strings.NewReplacer(pairs...).Replace(pageHTML))
}

func (a *Agent) handleState(ctx context.Context, c net.Conn, r *httpRequest) {
	// Long-poll: ?since=N waits up to 25 s for a version above N.
	since, _ := strconv.ParseUint(r.query.Get("since"), 10, 64)
	st, v, ch := a.page.snapshot()
	if v <= since {
		select {
		case <-ch:
			st, v, _ = a.page.snapshot()
		case <-time.After(25 * time.Second):
		case <-ctx.Done():
			return
		}
	}
	b, _ := json.Marshal(map[string]any{"version": v, "state": st})
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	writeResponse(c, 200, "application/json", b)
}

func (a *Agent) handleEvents(ctx context.Context, c net.Conn) {
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"); err != nil {
		return
	}
	for {
		st, v, ch := a.page.snapshot()
		b, _ := json.Marshal(st)
		c.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprintf(c, "id: %d\ndata: %s\n\n", v, b); err != nil {
			return
		}
		select {
		case <-ch:
		case <-time.After(15 * time.Second): // a comment-free resend keeps idle connections honest
		case <-ctx.Done():
			return
		}
	}
}

func (a *Agent) handleConfigure(ctx context.Context, c net.Conn, r *httpRequest) {
	var form wire.ConfigForm
	if strings.HasPrefix(r.header["content-type"], "application/json") {
		if err := json.Unmarshal(r.body, &form); err != nil {
			writeResponse(c, 400, "text/plain; charset=utf-8", []byte("bad form\n"))
			return
		}
	} else {
		v, err := url.ParseQuery(string(r.body))
		if err != nil {
			writeResponse(c, 400, "text/plain; charset=utf-8", []byte("bad form\n"))
			return
		}
		form = wire.ConfigForm{StationName: v.Get("stationName"), CatalogURL: v.Get("catalogUrl"),
			RegistrationCode: v.Get("registrationCode"), Username: v.Get("username"), Password: v.Get("password"), List: v.Get("list")}
	}
	a.page.setConfig(wire.ConfigResult{State: "pending", Message: "Sent to the station…", MessageZH: "已发送到工作站…"})
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var res wire.ConfigResult
	if err := a.call(cctx, wire.TypeConfigure, form, &res); err != nil {
		res = wire.ConfigResult{State: "error", Message: "Could not reach the station: " + err.Error(),
			MessageZH: "无法连接工作站：" + err.Error()}
		if errors.Is(err, errNoStation) {
			res.Message, res.MessageZH = "The station is not connected.", "工作站未连接。"
		}
	}
	a.page.setConfig(res)
	b, _ := json.Marshal(res)
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	writeResponse(c, 200, "application/json", b)
}
