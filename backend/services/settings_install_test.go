package services

import (
	"context"
	"testing"

	"preloadstation/backend/install"
)

func TestInstallCapsRoundTripToEngineConfig(t *testing.T) {
	s, _ := newSet(t)
	if err := s.Settings.SetInstallCaps(InstallCaps{HubConcurrency: 2}); code(err) != CodeUnauthenticated {
		t.Fatalf("logged out: %v", err)
	}
	if _, err := s.Station.Setup(SetupRequest{StationName: "Shop", AdminUsername: "admin", AdminPassword: "secret-pass"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Settings.SetInstallCaps(InstallCaps{HubConcurrency: -1}); code(err) != CodeInvalid {
		t.Fatalf("negative: %v", err)
	}
	if got, err := s.Settings.InstallCaps(); err != nil || !got.FastestOrder {
		t.Fatalf("default caps %+v %v: the fastest order is on by default", got, err)
	}
	want := InstallCaps{HubConcurrency: 3, HubRateMBps: 35, PhoneRateMBps: 20.5, FastestOrder: false}
	if err := s.Settings.SetInstallCaps(want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Settings.InstallCaps()
	if err != nil || *got != want {
		t.Fatalf("caps %+v %v", got, err)
	}
	// The engine reads the same keys at start.
	cfg, err := install.LoadConfig(context.Background(), s.Auth.deps.Store, "Shop")
	if err != nil || cfg.HubConcurrency != 3 || cfg.HubRate != 35e6 || cfg.PhoneRate != 20.5e6 || cfg.Plan.PipelineOrder {
		t.Fatalf("engine config %+v %v", cfg, err)
	}
}

// TestInstallCapsApplyToTheRunningEngine: saving the caps changes the
// running engine at once, not at its next start.
func TestInstallCapsApplyToTheRunningEngine(t *testing.T) {
	s, _ := newSet(t)
	eng := install.NewEngine(install.Config{Plan: install.PlanOptions{PipelineOrder: true}}, install.Deps{})
	s.Settings.deps.Engine = eng
	if _, err := s.Station.Setup(SetupRequest{StationName: "Shop", AdminUsername: "admin", AdminPassword: "secret-pass"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Settings.SetInstallCaps(InstallCaps{HubConcurrency: 2, HubRateMBps: 30, PhoneRateMBps: 12.5, FastestOrder: false}); err != nil {
		t.Fatal(err)
	}
	if c := eng.Settings(); c.HubConcurrency != 2 || c.HubRate != 30e6 || c.PhoneRate != 12.5e6 || c.Plan.PipelineOrder {
		t.Fatalf("engine settings after save: %+v", c)
	}
}
