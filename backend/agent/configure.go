package agent

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"preloadstation/backend/agent/wire"
	"preloadstation/backend/store"
)

// PageBase is the station-wide part of every phone page.
type PageBase struct {
	Station     string
	Configured  bool
	AllowConfig bool
	Lists       []string
}

// Configurator validates and applies configuration sent from a phone's page,
// and says what the pages show.
type Configurator interface {
	Configure(ctx context.Context, serial string, form wire.ConfigForm) wire.ConfigResult
	PageInfo(ctx context.Context) PageBase
}

// SettingAllowFromPhones is the station setting (bool) that lets phones
// configure the station. Unset, it is on only while the station is unconfigured.
const SettingAllowFromPhones = "agent.allowConfigFromPhones"

// Settings the configuration form writes.
const (
	SettingOperator = "station.operator" // username of the operator logged in from a phone
	SettingList     = "station.list"     // the chosen app list's name
)

// CatalogRegistrar registers the station at a catalog server (catalog.Client).
type CatalogRegistrar interface {
	Register(ctx context.Context, serverURL, code, name string) (*store.Station, error)
}

// StoreConfigurator validates a phone's form against the local store (and the
// catalog server when one is given and the form names it).
type StoreConfigurator struct {
	Store   *store.Store
	Catalog CatalogRegistrar // nil: a form naming a catalog server is refused
	mu      sync.Mutex       // one configuration at a time, whichever phone sends it
}

// AllowFromPhones reports the setting, defaulting to "only while unconfigured".
func (c *StoreConfigurator) AllowFromPhones(ctx context.Context) bool {
	v, err := store.GetSetting[*bool](ctx, c.Store, SettingAllowFromPhones, nil)
	if err == nil && v != nil {
		return *v
	}
	_, err = c.Store.Station(ctx)
	return errors.Is(err, store.ErrNotFound)
}

// PageInfo implements Configurator.
func (c *StoreConfigurator) PageInfo(ctx context.Context) PageBase {
	b := PageBase{Station: "Preload Station", AllowConfig: c.AllowFromPhones(ctx)}
	if st, err := c.Store.Station(ctx); err == nil {
		b.Station, b.Configured = st.Name, true
	}
	var names []string
	c.Store.DB.WithContext(ctx).Model(&store.AppList{}).Order("name").Distinct().Pluck("name", &names)
	b.Lists = names
	return b
}

func fail(en, zh string) wire.ConfigResult {
	return wire.ConfigResult{State: "error", Message: en, MessageZH: zh}
}

// Configure implements Configurator. The phone is not trusted: every field
// is checked here, and nothing happens unless the operator allows it.
func (c *StoreConfigurator) Configure(ctx context.Context, serial string, f wire.ConfigForm) wire.ConfigResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.AllowFromPhones(ctx) {
		return fail("Configuration from phones is turned off on the station.", "工作站已关闭从手机配置。")
	}
	name := strings.TrimSpace(f.StationName)
	if name == "" {
		name = "Preload Station"
	}
	if f.CatalogURL = strings.TrimSpace(f.CatalogURL); f.CatalogURL != "" {
		u, err := url.Parse(f.CatalogURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fail("The catalog server URL must start with http:// or https://.", "目录服务器地址必须以 http:// 或 https:// 开头。")
		}
		if strings.TrimSpace(f.RegistrationCode) == "" {
			return fail("A registration code is needed with a catalog server.", "使用目录服务器时需要注册码。")
		}
		if c.Catalog == nil {
			return fail("This station cannot reach a catalog server yet; leave the URL empty to work locally.",
				"此工作站暂时无法连接目录服务器；留空地址即可在本地工作。")
		}
		if _, err := c.Catalog.Register(ctx, f.CatalogURL, strings.TrimSpace(f.RegistrationCode), name); err != nil {
			return fail("The catalog server refused the registration: "+err.Error(), "目录服务器拒绝注册："+err.Error())
		}
	}
	_, err := c.Store.Station(ctx)
	unconfigured := errors.Is(err, store.ErrNotFound)
	users, uerr := c.Store.Users(ctx)
	if uerr != nil {
		return fail("The station could not read its users.", "工作站无法读取用户。")
	}
	switch {
	case unconfigured:
		// First run from the phone: the form names the station and its first admin.
		if _, _, err := c.Store.SetupStation(ctx, store.Setup{StationName: name, AdminUsername: f.Username, AdminPassword: f.Password}); err != nil {
			return setupFailure(err)
		}
	case len(users) == 0:
		// Registered with the catalog just now, no local user yet.
		if _, err := c.Store.CreateUser(ctx, store.NewUser{Username: f.Username, Password: f.Password, Role: store.RoleAdmin}); err != nil {
			return setupFailure(err)
		}
	default:
		if _, err := c.Store.Authenticate(ctx, f.Username, f.Password); err != nil {
			return fail("Wrong operator login or password.", "操作员账号或密码错误。")
		}
	}
	if l := strings.TrimSpace(f.List); l != "" {
		var n int64
		c.Store.DB.WithContext(ctx).Model(&store.AppList{}).Where("name = ?", l).Count(&n)
		if n == 0 {
			return fail(fmt.Sprintf("There is no app list named %q.", l), fmt.Sprintf("没有名为“%s”的应用列表。", l))
		}
		if err := store.SetSetting(ctx, c.Store, SettingList, l); err != nil {
			return fail("The station could not save the list choice.", "工作站无法保存列表选择。")
		}
	}
	if err := store.SetSetting(ctx, c.Store, SettingOperator, store.NormalizeUsername(f.Username)); err != nil {
		return fail("The station could not save the operator.", "工作站无法保存操作员。")
	}
	return wire.ConfigResult{State: "ok", Message: "Station configured. You can unplug this phone.", MessageZH: "工作站已配置。可以拔下此手机。"}
}

func setupFailure(err error) wire.ConfigResult {
	switch {
	case errors.Is(err, store.ErrInvalidUsername):
		return fail("The operator login must be 3–32 letters, digits, '.', '_' or '-'.", "操作员账号须为 3–32 个字母、数字、“.”、“_”或“-”。")
	case errors.Is(err, store.ErrWeakPassword):
		return fail("The password must be at least 8 characters.", "密码至少需要 8 个字符。")
	case errors.Is(err, store.ErrInvalidStationName):
		return fail("The station name must be 1–64 characters.", "工作站名称须为 1–64 个字符。")
	case errors.Is(err, store.ErrAlreadySetUp):
		return fail("The station was configured meanwhile.", "工作站已在此期间被配置。")
	}
	return fail("The station could not apply the configuration: "+err.Error(), "工作站无法应用配置："+err.Error())
}

// SettingBootstrapKey holds the channel key used before the station has its
// own key (unconfigured): generated once, kept in the store.
const SettingBootstrapKey = "agent.bootstrapKey"

// StoreKey returns the station key from the store, or the bootstrap key while
// the station has none. Phones' key files are rewritten when it changes.
func StoreKey(s *store.Store) func(ctx context.Context) ([]byte, error) {
	var mu sync.Mutex
	return func(ctx context.Context) ([]byte, error) {
		if st, err := s.Station(ctx); err == nil && st.Key != "" {
			return []byte(st.Key), nil
		}
		mu.Lock()
		defer mu.Unlock()
		k, err := store.GetSetting(ctx, s, SettingBootstrapKey, "")
		if err != nil {
			return nil, err
		}
		if k == "" {
			if k, err = store.NewStationKey(); err != nil {
				return nil, err
			}
			if err := store.SetSetting(ctx, s, SettingBootstrapKey, k); err != nil {
				return nil, err
			}
		}
		if _, err := hex.DecodeString(k); err != nil {
			return nil, fmt.Errorf("bootstrap key is not hex")
		}
		return []byte(k), nil
	}
}
