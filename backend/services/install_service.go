package services

import (
	"errors"

	"preloadstation/backend/install"
	"preloadstation/backend/store"
)

// Error codes of the install service (frontend: "errors.<code>").
const (
	CodePhoneUnknown = "phone_unknown"
	CodePhoneAbsent  = "phone_absent"
	CodePhoneBusy    = "phone_busy"
	CodeEngineDown   = "engine_not_running"
)

// InstallService is the install engine as the UI sees it: start/stop per
// phone, per selection or all, auto/manual mode, plans and history. It only
// delegates to install.Engine and install.HistoryStore.
type InstallService struct {
	deps    Deps
	engine  *install.Engine
	history install.HistoryStore
}

// NewInstallService binds eng; the history is read from deps.Store.
func NewInstallService(deps Deps, eng *install.Engine) *InstallService {
	return &InstallService{deps: deps, engine: eng, history: install.HistoryStore{S: deps.Store}}
}

func installErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, install.ErrUnknownPhone):
		return newError(CodePhoneUnknown, err)
	case errors.Is(err, install.ErrPhoneAbsent):
		return newError(CodePhoneAbsent, err)
	case errors.Is(err, install.ErrBusy):
		return newError(CodePhoneBusy, err)
	case errors.Is(err, install.ErrNotServing):
		return newError(CodeEngineDown, err)
	}
	return wrap(err)
}

// Start begins installing on one phone.
func (s *InstallService) Start(serial string) error { return installErr(s.engine.Start(serial)) }

// Stop cancels one phone's session, mid-APK if need be.
func (s *InstallService) Stop(serial string) error { return installErr(s.engine.Stop(serial)) }

// StartSelection starts the listed phones (every connected phone when empty).
// The result maps serials that did not start to their error code.
func (s *InstallService) StartSelection(serials []string) (map[string]string, error) {
	return codes(s.engine.StartMany(serials)), nil
}

// StopSelection stops the listed phones (every phone when empty).
func (s *InstallService) StopSelection(serials []string) (map[string]string, error) {
	return codes(s.engine.StopMany(serials)), nil
}

// StartAll starts every connected phone.
func (s *InstallService) StartAll() (map[string]string, error) { return s.StartSelection(nil) }

// StopAll stops every phone.
func (s *InstallService) StopAll() (map[string]string, error) { return s.StopSelection(nil) }

func codes(errs map[string]error) map[string]string {
	out := map[string]string{}
	for serial, err := range errs {
		var e *Error
		if errors.As(installErr(err), &e) {
			out[serial] = e.Code
		}
	}
	return out
}

// SetAuto switches auto mode (install as soon as a ready phone appears) on or off.
func (s *InstallService) SetAuto(auto bool) error {
	s.engine.SetAuto(auto)
	return nil
}

// Auto reports whether auto mode is on.
func (s *InstallService) Auto() (bool, error) { return s.engine.Auto(), nil }

// Retry starts a new session on a phone whose last session ended (the new
// plan skips what is already installed).
func (s *InstallService) Retry(serial string) error { return installErr(s.engine.Start(serial)) }

// Status is every phone the engine knows, with its session counters.
func (s *InstallService) Status() ([]install.PhoneStatus, error) { return s.engine.Status(), nil }

// PlanView is a plan with the skip reasons already in both languages.
type PlanView struct {
	install.Plan
	Reasons []ReasonText `json:"reasons"` // same order as Plan.Skip
}

// ReasonText is one skip reason, translated.
type ReasonText struct {
	Package string `json:"package"`
	Code    string `json:"code"`
	EN      string `json:"en"`
	ZH      string `json:"zh"`
}

// Plan is what a session on serial would install now, and what it would skip and why.
func (s *InstallService) Plan(serial string) (*PlanView, error) {
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	p, err := s.engine.PlanFor(ctx, serial)
	if err != nil {
		return nil, installErr(err)
	}
	v := &PlanView{Plan: p}
	for _, sk := range p.Skip {
		en, zh := sk.Reason.Message()
		v.Reasons = append(v.Reasons, ReasonText{Package: sk.App.Package, Code: sk.Reason.Code, EN: en, ZH: zh})
	}
	return v, nil
}

// Session returns one session with its records.
func (s *InstallService) Session(uuid string) (*store.InstallSession, error) {
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	sess, err := s.history.Session(ctx, uuid)
	if err != nil {
		return nil, wrap(err)
	}
	return &sess, nil
}

// Hint returns the operator hint for a failure code on a phone brand, in both languages.
func (s *InstallService) Hint(code, brand string) (*install.Hint, error) {
	h, ok := install.OperatorHint(code, brand)
	if !ok {
		return nil, &Error{Code: CodeNotFound, Message: "no hint for " + code}
	}
	return &h, nil
}
