package services

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"preloadstation/backend/agent"
	"preloadstation/backend/catalog"
	"preloadstation/backend/device"
	"preloadstation/backend/events"
	"preloadstation/backend/install"
	"preloadstation/backend/library"
	"preloadstation/backend/store"
)

// Deps are what services are built from; app.go fills them in explicitly.
type Deps struct {
	// Context lives as long as the app; Shutdown cancels it, which cancels
	// every call still running.
	Context context.Context
	Store   *store.Store
	Emit    events.Emitter
	Log     *slog.Logger
	Version string
	DataDir string
	// CallTimeout bounds one call into the store; 0 means 30 s.
	CallTimeout time.Duration

	// The station's running parts (backend/station builds them). A nil part
	// leaves its service out of the Set and the bindings.
	Devices     *device.Manager
	Agents      *agent.Manager
	AgentConfig *agent.StoreConfigurator
	Engine      *install.Engine
	Library     *library.Library
	Catalog     *catalog.Client
}

// Session is who is logged in at this station. The station has one operator
// at a time: the window and any browser on `serve` share it.
type Session struct {
	mu   sync.RWMutex
	user *store.User
}

// User returns the logged-in user, or nil.
func (s *Session) User() *store.User {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.user
}

func (s *Session) set(u *store.User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user = u
}

// Set is every bound service. Add a field here for a new service.
type Set struct {
	Session  *Session
	Auth     *AuthService
	Settings *SettingsService
	Station  *StationService
	Device   *DeviceService  // nil without deps.Devices
	Agent    *AgentService   // nil without deps.Agents
	Install  *InstallService // nil without deps.Engine
	Library  *LibraryService // nil without deps.Library
	Report   *ReportService
}

// New builds every service from deps.
func New(deps Deps) *Set {
	if deps.Emit == nil {
		deps.Emit = events.Nop{}
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.CallTimeout == 0 {
		deps.CallTimeout = 30 * time.Second
	}
	sess := &Session{}
	set := &Set{
		Session:  sess,
		Auth:     &AuthService{deps: deps, session: sess},
		Settings: &SettingsService{deps: deps, session: sess},
		Station:  &StationService{deps: deps, session: sess},
		Report:   NewReportService(deps, sess),
	}
	if deps.Devices != nil {
		set.Device = NewDeviceService(deps, sess, deps.Devices)
	}
	if deps.Agents != nil {
		set.Agent = NewAgentService(deps, sess, deps.Agents, deps.AgentConfig)
	}
	if deps.Engine != nil {
		set.Install = NewInstallService(deps, deps.Engine)
	}
	if deps.Library != nil {
		set.Library = NewLibraryService(deps, sess, deps.Library, deps.Catalog)
	}
	return set
}

// Bindings lists the structs to bind to the frontend, for Wails' Bind option
// and for backend/web's bridge. Add a line here for a new service.
func (s *Set) Bindings() []any {
	out := []any{s.Auth, s.Settings, s.Station, s.Report}
	// Domain services exist only when the station built their parts.
	if s.Device != nil {
		out = append(out, s.Device)
	}
	if s.Agent != nil {
		out = append(out, s.Agent)
	}
	if s.Install != nil {
		out = append(out, s.Install)
	}
	if s.Library != nil {
		out = append(out, s.Library)
	}
	return out
}

// callCtx is the context for one call: the app's lifetime with a timeout.
func (d Deps) callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(d.Context, d.CallTimeout)
}

// requireUser returns the logged-in user or an unauthenticated error.
func requireUser(s *Session) (*store.User, error) {
	u := s.User()
	if u == nil {
		return nil, &Error{Code: CodeUnauthenticated, Message: "log in first"}
	}
	return u, nil
}

// requireAdmin returns the logged-in admin or an error.
func requireAdmin(s *Session) (*store.User, error) {
	u, err := requireUser(s)
	if err != nil {
		return nil, err
	}
	if u.Role != store.RoleAdmin {
		return nil, &Error{Code: CodeForbidden, Message: "only an admin can do this"}
	}
	return u, nil
}
