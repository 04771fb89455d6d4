package services

import (
	"fmt"

	"preloadstation/backend/events"
	"preloadstation/backend/install"
	"preloadstation/backend/store"
)

// InstallCaps are the engine's bandwidth and concurrency caps and its
// install order, as the Settings page edits them. Saved, and applied to the
// running engine at once: caps to transfers from their next chunk, the
// order from the next phone's session.
type InstallCaps struct {
	HubConcurrency int     `json:"hubConcurrency"` // transfers at once per hub; 0 = no cap
	HubRateMBps    float64 `json:"hubRateMBps"`    // per hub; 0 = no cap
	PhoneRateMBps  float64 `json:"phoneRateMBps"`  // per phone; 0 = no cap
	// FastestOrder: within one priority, the engine picks the fastest
	// order (install.pipelineOrder); off, list order.
	FastestOrder bool `json:"fastestOrder"`
}

// InstallCaps returns the saved caps.
func (s *SettingsService) InstallCaps() (*InstallCaps, error) {
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	var c InstallCaps
	var err error
	get := func(key string, def float64) float64 {
		if err != nil {
			return def
		}
		var v float64
		v, err = store.GetSetting(ctx, s.deps.Store, key, def)
		return v
	}
	c.HubConcurrency = int(get(install.SettingHubConcurrency, 0))
	c.HubRateMBps = get(install.SettingHubRateMBps, 0)
	c.PhoneRateMBps = get(install.SettingPhoneRateMBps, 0)
	if err == nil {
		c.FastestOrder, err = store.GetSetting(ctx, s.deps.Store, install.SettingPipelineOrder, true)
	}
	if err != nil {
		return nil, wrap(err)
	}
	return &c, nil
}

// SetInstallCaps saves the caps; admins only.
func (s *SettingsService) SetInstallCaps(c InstallCaps) error {
	if _, err := requireAdmin(s.session); err != nil {
		return err
	}
	if c.HubConcurrency < 0 || c.HubConcurrency > 64 || c.HubRateMBps < 0 || c.HubRateMBps > 10_000 || c.PhoneRateMBps < 0 || c.PhoneRateMBps > 10_000 {
		return &Error{Code: CodeInvalid, Message: fmt.Sprintf("caps out of range: %+v", c)}
	}
	ctx, cancel := s.deps.callCtx()
	defer cancel()
	for _, kv := range []struct {
		key string
		v   float64
	}{
		{install.SettingHubConcurrency, float64(c.HubConcurrency)},
		{install.SettingHubRateMBps, c.HubRateMBps},
		{install.SettingPhoneRateMBps, c.PhoneRateMBps},
	} {
		if err := store.SetSetting(ctx, s.deps.Store, kv.key, kv.v); err != nil {
			return wrap(err)
		}
	}
	if err := store.SetSetting(ctx, s.deps.Store, install.SettingPipelineOrder, c.FastestOrder); err != nil {
		return wrap(err)
	}
	if s.deps.Engine != nil {
		s.deps.Engine.SetCaps(c.HubRateMBps*1e6, c.PhoneRateMBps*1e6, c.HubConcurrency)
		s.deps.Engine.SetPipelineOrder(c.FastestOrder)
	}
	s.deps.Emit.Emit(events.SettingsChanged, SettingEvent{Key: "install.caps", Value: c})
	return nil
}
