package services

import (
	"errors"

	"preloadstation/backend/agent"
	"preloadstation/backend/events"
	"preloadstation/backend/store"
)

// AgentService shows each phone's agent and channel (ready, retrying, or
// served by direct ADB installs) and holds the station's "configuration from
// phones" switch. Logic lives in backend/agent.
type AgentService struct {
	deps    Deps
	session *Session
	m       *agent.Manager
	cfg     *agent.StoreConfigurator
}

// NewAgentService binds the agent manager and configurator built in app.go.
func NewAgentService(deps Deps, session *Session, m *agent.Manager, cfg *agent.StoreConfigurator) *AgentService {
	return &AgentService{deps: deps, session: session, m: m, cfg: cfg}
}

// States lists every attached phone's agent state.
func (s *AgentService) States() ([]agent.PhoneState, error) {
	return s.m.States(), nil
}

// Identify shows (on) or hides the slot label full-screen on the phone.
func (s *AgentService) Identify(serial string, on bool) error {
	if err := s.m.Identify(serial, on); err != nil {
		if errors.Is(err, agent.ErrNoChannel) {
			return &Error{Code: CodeNotFound, Message: "the phone has no agent channel: " + err.Error(), Err: err}
		}
		return &Error{Code: CodeNotFound, Message: err.Error(), Err: err}
	}
	return nil
}

// AllowConfigFromPhones reports whether a phone's page may configure the
// station (unset: only while the station is unconfigured).
func (s *AgentService) AllowConfigFromPhones() (bool, error) {
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	return s.cfg.AllowFromPhones(ctx), nil
}

// SetAllowConfigFromPhones turns configuration from phones on or off. Once
// the station is set up only an admin may change it.
func (s *AgentService) SetAllowConfigFromPhones(on bool) error {
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	if _, err := s.deps.Store.Station(ctx); err == nil {
		if _, err := requireAdmin(s.session); err != nil {
			return err
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return wrap(err)
	}
	if err := store.SetSetting(ctx, s.deps.Store, agent.SettingAllowFromPhones, on); err != nil {
		return wrap(err)
	}
	s.deps.Emit.Emit(events.SettingsChanged, SettingEvent{Key: agent.SettingAllowFromPhones, Value: on})
	s.m.RefreshPages() // pages show or hide the form at once
	return nil
}
