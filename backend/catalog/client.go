package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm"

	"preloadstation/backend/events"
	"preloadstation/backend/library"
	"preloadstation/backend/store"
)

// Client is the station's side of the catalog: it keeps the station key in
// the station store, the operator's login in memory, and the last list it
// fetched in the store so the station keeps working while the server is down.
type Client struct {
	Store *store.Store
	Lib   *library.Library
	HTTP  *http.Client   // nil = a client with a 30 s timeout for JSON calls
	Emit  events.Emitter // nil = none

	mu       sync.Mutex
	token    string
	operator string
	expires  time.Time
}

// NewClient wires a client and makes it the library's download source.
func NewClient(st *store.Store, lib *library.Library, emit events.Emitter) *Client {
	if emit == nil {
		emit = events.Nop{}
	}
	c := &Client{Store: st, Lib: lib, Emit: emit}
	if lib != nil {
		lib.Downloader.Source = c
	}
	return c
}

// Status is the payload of events.CatalogStatus.
type Status struct {
	State    string `json:"state"` // "online", "offline", "unregistered"
	URL      string `json:"url"`
	Operator string `json:"operator,omitempty"`
	List     string `json:"list,omitempty"`
	Error    string `json:"error,omitempty"`
}

func (c *Client) status(s Status) {
	if c.Emit != nil {
		c.Emit.Emit(events.CatalogStatus, s)
	}
}

func (c *Client) jsonClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// station returns the registered station (URL + key).
func (c *Client) station(ctx context.Context) (*store.Station, error) {
	st, err := c.Store.Station(ctx)
	if err != nil || st.CatalogURL == "" || st.CatalogID == "" {
		return nil, &APIError{Code: CodeUnauthorized, Message: "this station is not registered with a catalog server", ZH: "本工作站尚未在目录服务器注册"}
	}
	return st, nil
}

func normalizeURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", &APIError{Code: CodeBadRequest, Message: "the catalog URL must be http(s)://host[:port]", ZH: "目录服务器地址须为 http(s)://主机[:端口]"}
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// do sends a JSON request and decodes a JSON answer; API errors come back as *APIError,
// unreachable servers as *APIError with CodeUnavailable.
func (c *Client) do(ctx context.Context, hc *http.Client, method, base, path, key, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("X-Station-Key", key)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return &APIError{Code: CodeUnavailable, Message: "the catalog server cannot be reached: " + err.Error(), ZH: "无法连接目录服务器"}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return &APIError{Code: CodeUnavailable, Message: "the catalog server's answer was cut off: " + err.Error(), ZH: "目录服务器的响应被中断"}
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error *APIError `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != nil {
			e.Error.Status = resp.StatusCode
			return e.Error
		}
		code := CodeInternal
		if resp.StatusCode >= 500 {
			code = CodeUnavailable
		}
		return &APIError{Status: resp.StatusCode, Code: code, Message: "unexpected answer: " + resp.Status, ZH: "目录服务器返回了意外的响应"}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return &APIError{Status: resp.StatusCode, Code: CodeInternal, Message: "unreadable answer: " + err.Error(), ZH: "无法解析目录服务器的响应"}
		}
	}
	return nil
}

// Register spends a one-time code at the catalog server and stores the
// station key it issues (creating the station row if first-run setup has not).
func (c *Client) Register(ctx context.Context, serverURL, code, name string) (*store.Station, error) {
	base, err := normalizeURL(serverURL)
	if err != nil {
		return nil, err
	}
	var out struct {
		StationID string `json:"stationId"`
		Key       string `json:"key"`
	}
	if err := c.do(ctx, c.jsonClient(), http.MethodPost, base, "/api/v1/stations/register", "", "", map[string]string{"code": code, "name": name}, &out); err != nil {
		c.status(Status{State: "unregistered", URL: base, Error: err.Error()})
		return nil, err
	}
	st, err := c.Store.Station(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
		st = &store.Station{UUID: out.StationID, Name: name}
	case err != nil:
		return nil, err
	}
	st.Key, st.CatalogURL, st.CatalogID = out.Key, base, out.StationID
	if err := c.Store.DB.WithContext(ctx).Save(st).Error; err != nil {
		return nil, fmt.Errorf("catalog: save station key: %w", err)
	}
	c.status(Status{State: "online", URL: base})
	return st, nil
}

// Login logs an operator in at the catalog; the token is kept in memory only.
func (c *Client) Login(ctx context.Context, username, password string) (*LoginResponse, error) {
	st, err := c.station(ctx)
	if err != nil {
		return nil, err
	}
	var out LoginResponse
	if err := c.do(ctx, c.jsonClient(), http.MethodPost, st.CatalogURL, "/api/v1/login", st.Key, "", map[string]string{"username": username, "password": password}, &out); err != nil {
		if ErrorCode(err) == CodeUnavailable {
			c.status(Status{State: "offline", URL: st.CatalogURL, Error: err.Error()})
		}
		return nil, err
	}
	c.mu.Lock()
	c.token, c.operator, c.expires = out.Token, out.User.Username, out.ExpiresAt
	c.mu.Unlock()
	c.status(Status{State: "online", URL: st.CatalogURL, Operator: out.User.Username})
	return &out, nil
}

// Logout forgets the operator's token (and revokes it when the server is up).
func (c *Client) Logout(ctx context.Context) {
	c.mu.Lock()
	tok := c.token
	c.token, c.operator = "", ""
	c.mu.Unlock()
	if st, err := c.station(ctx); err == nil && tok != "" {
		c.do(ctx, c.jsonClient(), http.MethodPost, st.CatalogURL, "/api/v1/logout", st.Key, tok, nil, nil)
	}
}

// ListResult is the operator's list as the station will use it.
type ListResult struct {
	List    store.AppList `json:"list"`
	Offline bool          `json:"offline"` // the server was unreachable: this is the last known list
	Error   string        `json:"error,omitempty"`
}

// FetchList asks the catalog for the logged-in operator's optimized list,
// stores it (apps + list, made active) and returns it. When the server cannot
// be reached it returns the last list stored for that operator, Offline = true.
func (c *Client) FetchList(ctx context.Context, operator string) (ListResult, error) {
	c.mu.Lock()
	tok, who := c.token, c.operator
	c.mu.Unlock()
	if operator == "" {
		operator = who
	}
	st, err := c.station(ctx)
	if err != nil {
		return ListResult{}, err
	}
	if tok == "" || who != operator {
		return c.offlineList(ctx, st, operator, &APIError{Code: CodeUnauthorized, Message: "not logged in at the catalog", ZH: "尚未登录目录服务器"})
	}
	var out OptimizedList
	err = c.do(ctx, c.jsonClient(), http.MethodGet, st.CatalogURL, "/api/v1/list", st.Key, tok, nil, &out)
	if ErrorCode(err) == CodeUnavailable {
		return c.offlineList(ctx, st, operator, err)
	}
	if err != nil {
		return ListResult{}, err
	}
	list, err := c.saveList(ctx, operator, out)
	if err != nil {
		return ListResult{}, err
	}
	c.status(Status{State: "online", URL: st.CatalogURL, Operator: operator, List: list.Name})
	return ListResult{List: list}, nil
}

func (c *Client) offlineList(ctx context.Context, st *store.Station, operator string, cause error) (ListResult, error) {
	c.status(Status{State: "offline", URL: st.CatalogURL, Operator: operator, Error: cause.Error()})
	var l store.AppList
	err := c.Store.DB.WithContext(ctx).Where("source = ? AND operator = ?", store.SourceCatalog, operator).First(&l).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ListResult{}, cause
	}
	if err != nil {
		return ListResult{}, err
	}
	if err := c.Lib.ActivateList(ctx, l.ID); err != nil {
		return ListResult{}, err
	}
	list, err := c.Lib.List(ctx, l.ID)
	if err != nil {
		return ListResult{}, err
	}
	return ListResult{List: list, Offline: true, Error: cause.Error()}, nil
}

// saveList stores the catalog's list and its apps in the station store and
// makes it the active list.
func (c *Client) saveList(ctx context.Context, operator string, in OptimizedList) (store.AppList, error) {
	var listID uint
	err := c.Store.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var l store.AppList
		err := tx.Where("source = ? AND operator = ?", store.SourceCatalog, operator).First(&l).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			l = store.AppList{Source: store.SourceCatalog, Operator: operator}
		} else if err != nil {
			return err
		}
		l.Name, l.CatalogID = in.Name, strconv.FormatUint(uint64(in.ID), 10)
		if err := tx.Omit("Items").Save(&l).Error; err != nil {
			return err
		}
		if err := tx.Where("app_list_id = ?", l.ID).Delete(&store.AppListItem{}).Error; err != nil {
			return err
		}
		for i, it := range in.Items {
			a := it.App
			if !library.ValidSHA256(a.SHA256) {
				return &APIError{Code: CodeInternal, Message: "the catalog sent an app without a valid SHA-256", ZH: "目录服务器发送的应用缺少有效的 SHA-256"}
			}
			var app store.App
			err := tx.Where("sha256 = ?", a.SHA256).First(&app).Error
			if errors.Is(err, gorm.ErrRecordNotFound) {
				app = store.App{SHA256: a.SHA256, Source: store.SourceCatalog}
			} else if err != nil {
				return err
			}
			app.Package, app.Label, app.LabelZH = a.Package, a.Label, a.LabelZH
			app.VersionCode, app.VersionName, app.MinSDK, app.TargetSDK = a.VersionCode, a.VersionName, a.MinSDK, a.TargetSDK
			app.ABIs, app.Signer, app.Size = a.ABIs, a.Signer, a.Size
			app.CatalogID, app.FileName = strconv.FormatUint(uint64(a.ID), 10), a.FileName
			if err := tx.Save(&app).Error; err != nil {
				return err
			}
			if err := tx.Create(&store.AppListItem{AppListID: l.ID, AppID: app.ID, Position: i, Priority: it.Priority}).Error; err != nil {
				return err
			}
		}
		listID = l.ID
		return nil
	})
	if err != nil {
		return store.AppList{}, fmt.Errorf("catalog: store the list: %w", err)
	}
	if err := c.Lib.ActivateList(ctx, listID); err != nil {
		return store.AppList{}, err
	}
	list, err := c.Lib.List(ctx, listID)
	if err != nil {
		return list, err
	}
	c.fetchIcons(ctx, list)
	return c.Lib.List(ctx, listID)
}

// fetchIcons fills in missing app icons; best effort: a list without icons still installs.
func (c *Client) fetchIcons(ctx context.Context, list store.AppList) {
	st, err := c.station(ctx)
	if err != nil {
		return
	}
	hc := c.jsonClient()
	for _, it := range list.Items {
		if len(it.App.Icon) > 0 {
			continue
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, st.CatalogURL+"/api/v1/apps/"+it.App.SHA256+"/icon", nil)
		if err != nil {
			return
		}
		req.Header.Set("X-Station-Key", st.Key)
		resp, err := hc.Do(req)
		if err != nil {
			return
		}
		icon, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20+1))
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && err == nil && len(icon) <= 1<<20 {
			c.Store.DB.WithContext(ctx).Model(&store.App{}).Where("id = ?", it.App.ID).Update("icon", icon)
		}
	}
}

// DownloadRequest implements library.Source: the APK download URL with the station key.
func (c *Client) DownloadRequest(ctx context.Context, sha string) (*http.Request, error) {
	st, err := c.station(ctx)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, st.CatalogURL+"/api/v1/apps/"+sha+"/apk", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Station-Key", st.Key)
	return req, nil
}

// Predownload fetches the list's APKs into the cache before phones arrive.
func (c *Client) Predownload(ctx context.Context, listID uint) (library.Result, error) {
	return c.Lib.Predownload(ctx, listID)
}

// SendReports delivers one batch of install records.
func (c *Client) SendReports(ctx context.Context, recs []ReportIn) (IngestResult, error) {
	st, err := c.station(ctx)
	if err != nil {
		return IngestResult{}, err
	}
	var out IngestResult
	err = c.do(ctx, c.jsonClient(), http.MethodPost, st.CatalogURL, "/api/v1/reports", st.Key, "", map[string]any{"records": recs}, &out)
	return out, err
}
