package services

import (
	"errors"

	"preloadstation/backend/events"
	"preloadstation/backend/store"
)

// StationService answers "is this station set up?" and runs first-run setup.
type StationService struct {
	deps    Deps
	session *Session
}

// StationStatus is what the UI needs at start: set up or not, and who is logged in.
type StationStatus struct {
	SetUp   bool           `json:"setUp"`
	Station *store.Station `json:"station"`
	User    *UserInfo      `json:"user"`
	Version string         `json:"version"`
}

// Status reports the station and the current user.
func (s *StationService) Status() (*StationStatus, error) {
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	st, err := s.deps.Store.Station(ctx)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, wrap(err)
	}
	return &StationStatus{SetUp: st != nil, Station: st, User: userInfo(s.session.User()), Version: s.deps.Version}, nil
}

// SetupRequest is the first-run form.
type SetupRequest struct {
	StationName   string `json:"stationName"`
	AdminUsername string `json:"adminUsername"`
	AdminPassword string `json:"adminPassword"`
}

// Setup creates the station and its admin in one step and logs the admin in.
func (s *StationService) Setup(req SetupRequest) (*StationStatus, error) {
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	st, admin, err := s.deps.Store.SetupStation(ctx, store.Setup{
		StationName: req.StationName, AdminUsername: req.AdminUsername, AdminPassword: req.AdminPassword,
	})
	if err != nil {
		return nil, wrap(err)
	}
	s.session.set(admin)
	s.deps.Log.Info("station set up", "name", st.Name, "admin", admin.Username)
	status := &StationStatus{SetUp: true, Station: st, User: userInfo(admin), Version: s.deps.Version}
	s.deps.Emit.Emit(events.StationChanged, status)
	s.deps.Emit.Emit(events.SessionChanged, SessionEvent{User: status.User})
	return status, nil
}

// Rename changes the station's name; admins only.
func (s *StationService) Rename(name string) (*store.Station, error) {
	if _, err := requireAdmin(s.session); err != nil {
		return nil, err
	}
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	st, err := s.deps.Store.RenameStation(ctx, name)
	if err != nil {
		return nil, wrap(err)
	}
	s.deps.Emit.Emit(events.StationChanged, &StationStatus{SetUp: true, Station: st, User: userInfo(s.session.User()), Version: s.deps.Version})
	return st, nil
}
