package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"preloadstation/backend/library"
)

// Limits of the API.
const (
	MaxJSONBody      = 64 << 10 // ordinary JSON requests
	MaxReportBody    = 4 << 20  // one batch of install reports
	MaxReportsBatch  = 1000
	DefaultMaxUpload = 1 << 30 // APK upload cap unless configured
)

// Server is the catalog's HTTP JSON API. See docs/catalog.md.
type Server struct {
	Cat         *Catalog
	Log         *slog.Logger
	MaxUpload   int64         // APK upload cap; 0 = DefaultMaxUpload
	TokenTTL    time.Duration // operator token lifetime; 0 = 12h
	LoginMax    int           // failed logins per IP+user per window; 0 = 5
	LoginWindow time.Duration // 0 = 5 min
	limiter     *limiter
	dummyHash   []byte
}

// NewServer builds the API around a catalog.
func NewServer(cat *Catalog, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{Cat: cat, Log: log}
	return s
}

func (s *Server) init() {
	if s.limiter == nil {
		max, win := s.LoginMax, s.LoginWindow
		if max <= 0 {
			max = 5
		}
		if win <= 0 {
			win = 5 * time.Minute
		}
		s.limiter = newLimiter(max, win, s.Cat.now)
		// Compared against when the user does not exist, so a wrong name
		// costs as long as a wrong password (no user enumeration by timing).
		s.dummyHash, _ = bcrypt.GenerateFromPassword([]byte("not-a-password"), bcrypt.MinCost)
	}
}

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	s.init()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true})
	})
	mux.HandleFunc("POST /api/v1/stations/register", s.register)
	mux.HandleFunc("POST /api/v1/login", s.station(s.login))
	mux.HandleFunc("POST /api/v1/logout", s.operator(s.logout))
	mux.HandleFunc("GET /api/v1/station", s.station(s.stationInfo))
	mux.HandleFunc("PUT /api/v1/stations/{id}/config", s.admin(s.stationConfig))
	mux.HandleFunc("GET /api/v1/apps", s.station(s.apps))
	mux.HandleFunc("POST /api/v1/apps", s.admin(s.upload))
	mux.HandleFunc("GET /api/v1/apps/{sha}/apk", s.station(s.download))
	mux.HandleFunc("GET /api/v1/apps/{sha}/icon", s.station(s.icon))
	mux.HandleFunc("GET /api/v1/lists", s.admin(s.lists))
	mux.HandleFunc("PUT /api/v1/lists/{name}", s.admin(s.setList))
	mux.HandleFunc("GET /api/v1/list", s.operator(s.optimizedList))
	mux.HandleFunc("POST /api/v1/reports", s.station(s.reports))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, apiErr(http.StatusNotFound, CodeNotFound, "no such endpoint", "没有该接口"))
	})
	return mux
}

// Serve answers on ln until ctx is cancelled, then shuts down gracefully
// (up to 10 s for running downloads) and returns once stopped.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	<-errc
	return nil
}

// ---- auth ----------------------------------------------------------------

type ctxKey int

const (
	keyStation ctxKey = iota
	keyUser
)

func stationOf(r *http.Request) Station { return r.Context().Value(keyStation).(Station) }
func userOf(r *http.Request) User       { return r.Context().Value(keyUser).(User) }

var errNoStation = apiErr(http.StatusUnauthorized, CodeUnauthorized, "station key missing or wrong", "工作站密钥缺失或错误")

// station requires the X-Station-Key header of a registered station.
func (s *Server) station(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("X-Station-Key")
		if key == "" || len(key) > 128 {
			writeErr(w, errNoStation)
			return
		}
		var st Station
		if err := s.Cat.DB.WithContext(r.Context()).Where("key_hash = ?", hashSecret(key)).First(&st).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				writeErr(w, errNoStation)
			} else {
				s.internal(w, r, err)
			}
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), keyStation, st)))
	}
}

// operator requires a station key and an unexpired token issued on that station.
func (s *Server) operator(next http.HandlerFunc) http.HandlerFunc {
	return s.station(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" || len(tok) > 128 {
			writeErr(w, apiErr(http.StatusUnauthorized, CodeUnauthorized, "log in first", "请先登录"))
			return
		}
		st := stationOf(r)
		var t Token
		err := s.Cat.DB.WithContext(r.Context()).Where("hash = ? AND expires_at > ?", hashSecret(tok), s.Cat.now()).First(&t).Error
		if err != nil || t.StationID != st.ID {
			if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
				s.internal(w, r, err)
				return
			}
			writeErr(w, apiErr(http.StatusUnauthorized, CodeUnauthorized, "the login expired or belongs to another station: log in again", "登录已过期或属于其他工作站，请重新登录"))
			return
		}
		var u User
		if err := s.Cat.DB.WithContext(r.Context()).First(&u, t.UserID).Error; err != nil || u.Disabled {
			writeErr(w, apiErr(http.StatusUnauthorized, CodeUnauthorized, "this user is disabled", "该用户已被停用"))
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), keyUser, u)))
	})
}

// admin requires an operator login with the admin role.
func (s *Server) admin(next http.HandlerFunc) http.HandlerFunc {
	return s.operator(func(w http.ResponseWriter, r *http.Request) {
		if userOf(r).Role != "admin" {
			writeErr(w, apiErr(http.StatusForbidden, CodeForbidden, "only an admin may do this", "只有管理员可以执行此操作"))
			return
		}
		next(w, r)
	})
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.Log.Error("catalog: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeErr(w, err)
}

// fail writes err: API errors as they are, anything else as internal.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *APIError
	if errors.As(err, &e) {
		writeErr(w, e)
		return
	}
	if library.CodeOf(err) == library.CodeInvalid {
		writeErr(w, badReq(err.Error(), "请求无效"))
		return
	}
	s.internal(w, r, err)
}

// decode reads a small JSON body strictly.
func decode(w http.ResponseWriter, r *http.Request, max int64, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, max)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return apiErr(http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("the request body is larger than %d bytes", max), "请求体过大")
		}
		return badReq("invalid JSON: "+err.Error(), "JSON 无效")
	}
	if dec.More() {
		return badReq("invalid JSON: trailing data", "JSON 无效：多余的数据")
	}
	return nil
}

// ---- handlers ------------------------------------------------------------

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Code string `json:"code"`
		Name string `json:"name"`
	}
	if err := decode(w, r, MaxJSONBody, &in); err != nil {
		writeErr(w, err)
		return
	}
	// Registration codes are guessable only by brute force: rate limit per IP too.
	key := "register|" + clientIP(r)
	if ok, wait := s.limiter.allow(key); !ok {
		tooMany(w, wait)
		return
	}
	st, stKey, err := s.Cat.RegisterStation(r.Context(), in.Code, in.Name)
	if err != nil {
		if ErrorCode(err) == CodeBadCode {
			s.limiter.fail(key)
		}
		s.fail(w, r, err)
		return
	}
	s.Log.Info("catalog: station registered", "station", st.UUID, "name", st.Name)
	writeJSON(w, http.StatusCreated, map[string]any{"stationId": st.UUID, "name": st.Name, "key": stKey})
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func tooMany(w http.ResponseWriter, wait time.Duration) {
	secs := int(wait.Seconds()) + 1
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeErr(w, apiErr(http.StatusTooManyRequests, CodeRateLimited,
		fmt.Sprintf("too many failed attempts: try again in %d s", secs), fmt.Sprintf("失败次数过多，请 %d 秒后再试", secs)))
}

// LoginResponse is what a successful login returns.
type LoginResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	User      User      `json:"user"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := decode(w, r, MaxJSONBody, &in); err != nil {
		writeErr(w, err)
		return
	}
	if !nameRE.MatchString(in.Username) || len(in.Password) == 0 || len(in.Password) > 72 {
		writeErr(w, badReq("username or password is malformed", "用户名或密码格式错误"))
		return
	}
	key := clientIP(r) + "|" + strings.ToLower(in.Username)
	if ok, wait := s.limiter.allow(key); !ok {
		tooMany(w, wait)
		return
	}
	var u User
	err := s.Cat.DB.WithContext(r.Context()).Where("username = ?", in.Username).First(&u).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		s.internal(w, r, err)
		return
	}
	hash := []byte(u.PasswordHash)
	if err != nil {
		hash = s.dummyHash
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(in.Password)) != nil || err != nil || u.Disabled {
		s.limiter.fail(key)
		writeErr(w, apiErr(http.StatusUnauthorized, CodeUnauthorized, "wrong username or password", "用户名或密码错误"))
		return
	}
	s.limiter.reset(key)
	ttl := s.TokenTTL
	if ttl <= 0 {
		ttl = 12 * time.Hour
	}
	tok := randomToken()
	st := stationOf(r)
	t := Token{Hash: hashSecret(tok), UserID: u.ID, StationID: st.ID, ExpiresAt: s.Cat.now().Add(ttl)}
	db := s.Cat.DB.WithContext(r.Context())
	if err := db.Create(&t).Error; err != nil {
		s.internal(w, r, err)
		return
	}
	now := s.Cat.now()
	db.Model(&Station{}).Where("id = ?", st.ID).Update("last_seen", now)
	db.Where("expires_at < ?", now).Delete(&Token{}) // housekeeping: expired logins
	writeJSON(w, http.StatusOK, LoginResponse{Token: tok, ExpiresAt: t.ExpiresAt, User: u})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if err := s.Cat.DB.WithContext(r.Context()).Where("hash = ?", hashSecret(tok)).Delete(&Token{}).Error; err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

// StationInfo is a station's view of itself.
type StationInfo struct {
	ID     string          `json:"id"`
	Name   string          `json:"name"`
	Config json.RawMessage `json:"config"`
}

func (s *Server) stationInfo(w http.ResponseWriter, r *http.Request) {
	st := stationOf(r)
	cfg := json.RawMessage(st.Config)
	if !json.Valid(cfg) {
		cfg = json.RawMessage("{}")
	}
	writeJSON(w, http.StatusOK, StationInfo{ID: st.UUID, Name: st.Name, Config: cfg})
}

func (s *Server) stationConfig(w http.ResponseWriter, r *http.Request) {
	var cfg json.RawMessage
	if err := decode(w, r, MaxJSONBody, &cfg); err != nil {
		writeErr(w, err)
		return
	}
	if err := s.Cat.SetStationConfig(r.Context(), r.PathValue("id"), cfg); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}

func (s *Server) apps(w http.ResponseWriter, r *http.Request) {
	var apps []App
	if err := s.Cat.DB.WithContext(r.Context()).Order("package, version_code DESC").Find(&apps).Error; err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"apps": apps})
}

// UploadResponse is the answer to an APK upload.
type UploadResponse struct {
	App       App  `json:"app"`
	Duplicate bool `json:"duplicate"`
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	max := s.MaxUpload
	if max <= 0 {
		max = DefaultMaxUpload
	}
	if r.ContentLength > max {
		writeErr(w, apiErr(http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("the APK is larger than the limit of %d bytes", max), fmt.Sprintf("APK 超过 %d 字节的上限", max)))
		return
	}
	body := http.MaxBytesReader(w, r.Body, max)
	a, dup, err := s.Cat.AddAppStream(r.Context(), body, max, r.URL.Query().Get("filename"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := http.StatusCreated
	if dup {
		status = http.StatusOK
	}
	writeJSON(w, status, UploadResponse{App: a, Duplicate: dup})
}

func (s *Server) appBySHA(w http.ResponseWriter, r *http.Request) (App, bool) {
	sha := r.PathValue("sha")
	if !library.ValidSHA256(sha) {
		writeErr(w, badReq("the app id must be a lower-case SHA-256", "应用标识须为小写 SHA-256"))
		return App{}, false
	}
	var a App
	if err := s.Cat.DB.WithContext(r.Context()).Where("sha256 = ?", sha).First(&a).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			writeErr(w, apiErr(http.StatusNotFound, CodeNotFound, "no such app", "没有该应用"))
		} else {
			s.internal(w, r, err)
		}
		return App{}, false
	}
	return a, true
}

func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	a, ok := s.appBySHA(w, r)
	if !ok {
		return
	}
	f, err := s.Cat.APKs.Open(a.SHA256)
	if err != nil {
		s.Log.Error("catalog: APK file unusable", "sha256", a.SHA256, "err", err)
		writeErr(w, apiErr(http.StatusNotFound, CodeNotFound, "the APK file is missing on the server", "服务器上缺少该 APK 文件"))
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		s.internal(w, r, err)
		return
	}
	// ETag = content hash: If-Range lets a resumed download continue only on the same bytes.
	w.Header().Set("ETag", `"`+a.SHA256+`"`)
	w.Header().Set("Content-Type", "application/vnd.android.package-archive")
	w.Header().Set("Cache-Control", "private, max-age=31536000, immutable")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.apk"`, a.Package))
	http.ServeContent(w, r, "", info.ModTime(), f)
}

func (s *Server) icon(w http.ResponseWriter, r *http.Request) {
	a, ok := s.appBySHA(w, r)
	if !ok {
		return
	}
	if len(a.Icon) == 0 {
		writeErr(w, apiErr(http.StatusNotFound, CodeNotFound, "the app has no icon", "该应用没有图标"))
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("ETag", `"`+a.SHA256+`"`)
	w.Write(a.Icon)
}

func (s *Server) lists(w http.ResponseWriter, r *http.Request) {
	ls, err := s.Cat.Lists(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"lists": ls})
}

func (s *Server) setList(w http.ResponseWriter, r *http.Request) {
	var spec ListSpec
	if err := decode(w, r, MaxJSONBody, &spec); err != nil {
		writeErr(w, err)
		return
	}
	l, err := s.Cat.SetList(r.Context(), r.PathValue("name"), spec)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, l)
}

// OptimizedList is the answer of GET /api/v1/list.
type OptimizedList struct {
	ID       uint       `json:"id"`
	Name     string     `json:"name"`
	Operator string     `json:"operator"`
	Group    string     `json:"group"`
	Items    []ListItem `json:"items"`
}

func (s *Server) optimizedList(w http.ResponseWriter, r *http.Request) {
	l, err := s.Cat.OptimizedList(r.Context(), userOf(r), stationOf(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, OptimizedList{ID: l.ID, Name: l.Name, Operator: l.Operator, Group: l.GroupName, Items: l.Items})
}

func (s *Server) reports(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Records []ReportIn `json:"records"`
	}
	if err := decode(w, r, MaxReportBody, &in); err != nil {
		writeErr(w, err)
		return
	}
	if len(in.Records) > MaxReportsBatch {
		writeErr(w, badReq(fmt.Sprintf("at most %d records per batch", MaxReportsBatch), fmt.Sprintf("每批最多 %d 条记录", MaxReportsBatch)))
		return
	}
	res, err := s.Cat.Ingest(r.Context(), stationOf(r).ID, in.Records)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
