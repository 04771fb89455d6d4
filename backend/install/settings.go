package install

import (
	"context"
	"time"

	"preloadstation/backend/store"
)

// Setting keys of the install engine (values are JSON, as store.SetSetting writes them).
const (
	SettingAuto           = "install.auto"           // bool, default true
	SettingReserveMB      = "install.reserveMB"      // free /data never used, default 500
	SettingPipelineOrder  = "install.pipelineOrder"  // bool, default true
	SettingHubRateMBps    = "install.hubRateMBps"    // cap per hub, MB/s; 0 = none
	SettingPhoneRateMBps  = "install.phoneRateMBps"  // cap per phone, MB/s; 0 = none
	SettingHubConcurrency = "install.hubConcurrency" // transfers at once per hub; 0 = none
	SettingMaxAttempts    = "install.maxAttempts"    // per app, default 3
	SettingStallSeconds   = "install.stallSeconds"   // no-progress limit, default 15
	SettingCommitSeconds  = "install.commitSeconds"  // commit limit, default 300
)

// LoadConfig reads the engine's settings from the store over defaults.
func LoadConfig(ctx context.Context, s *store.Store, station string) (Config, error) {
	c := Config{Station: station}
	var err error
	get := func(key string, def float64) float64 {
		if err != nil {
			return def
		}
		var v float64
		v, err = store.GetSetting(ctx, s, key, def)
		return v
	}
	getBool := func(key string, def bool) bool {
		if err != nil {
			return def
		}
		var v bool
		v, err = store.GetSetting(ctx, s, key, def)
		return v
	}
	c.Auto = getBool(SettingAuto, true)
	c.Plan.PipelineOrder = getBool(SettingPipelineOrder, true)
	c.Plan.ReserveBytes = int64(get(SettingReserveMB, 500) * 1e6)
	c.HubRate = get(SettingHubRateMBps, 0) * 1e6
	c.PhoneRate = get(SettingPhoneRateMBps, 0) * 1e6
	c.HubConcurrency = int(get(SettingHubConcurrency, 0))
	c.MaxAttempts = int(get(SettingMaxAttempts, 3))
	c.StallTimeout = time.Duration(get(SettingStallSeconds, 15) * float64(time.Second))
	c.CommitTimeout = time.Duration(get(SettingCommitSeconds, 300) * float64(time.Second))
	if err != nil {
		return Config{}, err
	}
	c.defaults()
	return c, nil
}
