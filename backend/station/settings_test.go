package station

import (
	"context"
	"path/filepath"
	"testing"

	"preloadstation/backend/install"
	"preloadstation/backend/store"
)

func TestEngineSettings(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for k, v := range map[string]any{SettingHubRate: 40e6, SettingPhoneRate: 38e6, SettingHubConcurrency: 4, SettingReserveBytes: int64(1 << 30)} {
		if err := store.SetSetting(ctx, st, k, v); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		in   install.Config
		want install.Config
	}{
		{"from settings", install.Config{},
			install.Config{HubRate: 40e6, PhoneRate: 38e6, HubConcurrency: 4, Plan: install.PlanOptions{ReserveBytes: 1 << 30}}},
		{"config wins", install.Config{HubRate: 1, PhoneRate: 2, HubConcurrency: 3, Plan: install.PlanOptions{ReserveBytes: 5}},
			install.Config{HubRate: 1, PhoneRate: 2, HubConcurrency: 3, Plan: install.PlanOptions{ReserveBytes: 5}}},
	}
	for _, tc := range tests {
		got := tc.in
		if err := engineSettings(ctx, st, &got); err != nil {
			t.Fatal(err)
		}
		if got.HubRate != tc.want.HubRate || got.PhoneRate != tc.want.PhoneRate ||
			got.HubConcurrency != tc.want.HubConcurrency || got.Plan.ReserveBytes != tc.want.Plan.ReserveBytes {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
