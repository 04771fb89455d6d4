package services

import (
	"context"
	"testing"

	"preloadstation/backend/agent"
	"preloadstation/backend/store"
)

func TestAgentServiceAllowConfigFromPhones(t *testing.T) {
	s, _ := newSet(t)
	st := s.Station.deps.Store
	cfg := &agent.StoreConfigurator{Store: st}
	as := NewAgentService(s.Station.deps, s.Session, agent.NewManager(agent.Options{}), cfg)

	if on, _ := as.AllowConfigFromPhones(); !on {
		t.Fatal("unconfigured station must allow configuration from phones")
	}
	if err := as.SetAllowConfigFromPhones(false); err != nil { // nobody to ask yet: anyone at the station may
		t.Fatal(err)
	}
	if on, _ := as.AllowConfigFromPhones(); on {
		t.Fatal("switch did not stick")
	}
	if _, _, err := st.SetupStation(context.Background(), store.Setup{StationName: "S", AdminUsername: "admin", AdminPassword: "password1"}); err != nil {
		t.Fatal(err)
	}
	if err := as.SetAllowConfigFromPhones(true); code(err) != CodeUnauthenticated {
		t.Fatalf("configured station, nobody logged in: %v", err)
	}
	u, err := st.Authenticate(context.Background(), "admin", "password1")
	if err != nil {
		t.Fatal(err)
	}
	s.Session.set(u)
	if err := as.SetAllowConfigFromPhones(true); err != nil {
		t.Fatal(err)
	}
	if on, _ := as.AllowConfigFromPhones(); !on {
		t.Fatal("admin could not turn it on")
	}
	if err := as.Identify("NOPE", true); code(err) != CodeNotFound {
		t.Fatalf("identify unknown phone: %v", err)
	}
	if states, _ := as.States(); len(states) != 0 {
		t.Fatalf("states %v", states)
	}
}
