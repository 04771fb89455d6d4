package services

import (
	"fmt"

	"github.com/samber/lo"

	"preloadstation/backend/events"
	"preloadstation/backend/store"
)

// SettingsService reads and writes the station's settings.
type SettingsService struct {
	deps    Deps
	session *Session
}

// Setting keys known to the UI.
const (
	SettingLanguage = "ui.language"
	SettingTheme    = "ui.theme"
)

// Languages and themes the UI offers.
var (
	languages = []string{"en", "zh-CN"}
	themes    = []string{"system", "light", "dark"}
)

// UISettings are the settings anyone at the station may change, logged in or not.
type UISettings struct {
	Language string `json:"language"`
	Theme    string `json:"theme"`
}

// SettingEvent is the payload of events.SettingsChanged.
type SettingEvent struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// UI returns the language and theme ("" language means: follow the system).
func (s *SettingsService) UI() (*UISettings, error) {
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	lang, err := store.GetSetting(ctx, s.deps.Store, SettingLanguage, "")
	if err != nil {
		return nil, wrap(err)
	}
	theme, err := store.GetSetting(ctx, s.deps.Store, SettingTheme, "system")
	if err != nil {
		return nil, wrap(err)
	}
	return &UISettings{Language: lang, Theme: theme}, nil
}

// SetLanguage persists the UI language ("en" or "zh-CN").
func (s *SettingsService) SetLanguage(lang string) error {
	return s.setChoice(SettingLanguage, lang, languages)
}

// SetTheme persists the UI theme ("system", "light" or "dark").
func (s *SettingsService) SetTheme(theme string) error {
	return s.setChoice(SettingTheme, theme, themes)
}

func (s *SettingsService) setChoice(key, value string, allowed []string) error {
	if !lo.Contains(allowed, value) {
		return &Error{Code: CodeInvalid, Message: fmt.Sprintf("%s: %q is not one of %v", key, value, allowed)}
	}
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	if err := store.SetSetting(ctx, s.deps.Store, key, value); err != nil {
		return wrap(err)
	}
	s.deps.Emit.Emit(events.SettingsChanged, SettingEvent{Key: key, Value: value})
	return nil
}
