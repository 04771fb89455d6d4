package services

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"preloadstation/backend/events"
	"preloadstation/backend/store"
)

type recorder struct {
	mu     sync.Mutex
	events []events.Message
}

func (r *recorder) Emit(name string, payload any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, events.Message{Name: name, Payload: payload})
}

func (r *recorder) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.events {
		out = append(out, e.Name)
	}
	return out
}

func newSet(t *testing.T) (*Set, *recorder) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "station.db"))
	if err != nil {
		t.Fatal(err)
	}
	st.HashCost = bcrypt.MinCost
	t.Cleanup(func() { st.Close() })
	rec := &recorder{}
	return New(Deps{Context: context.Background(), Store: st, Emit: rec, Version: "test"}), rec
}

func code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func TestFirstRunLoginLogout(t *testing.T) {
	s, rec := newSet(t)

	status, err := s.Station.Status()
	if err != nil || status.SetUp || status.User != nil {
		t.Fatalf("fresh status %+v %v", status, err)
	}
	if _, err := s.Auth.Login("admin", "whatever1"); code(err) != CodeNotSetUp {
		t.Fatalf("login before setup: %v (code %q)", err, code(err))
	}
	if _, err := s.Station.Setup(SetupRequest{StationName: "Shop", AdminUsername: "admin", AdminPassword: "short"}); code(err) != CodeWeakPassword {
		t.Fatalf("weak password: code %q", code(err))
	}

	status, err = s.Station.Setup(SetupRequest{StationName: "Shop", AdminUsername: "Admin", AdminPassword: "secret-pass"})
	if err != nil {
		t.Fatal(err)
	}
	if !status.SetUp || status.User == nil || status.User.Role != store.RoleAdmin || status.Station.Name != "Shop" {
		t.Fatalf("after setup %+v", status)
	}
	if _, err := s.Station.Setup(SetupRequest{StationName: "X", AdminUsername: "b", AdminPassword: "secret-pass"}); code(err) != CodeAlreadySetUp {
		t.Fatalf("second setup: code %q", code(err))
	}

	if err := s.Auth.Logout(); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.Auth.CurrentUser(); u != nil {
		t.Fatalf("still logged in as %+v", u)
	}
	if _, err := s.Auth.ListUsers(); code(err) != CodeUnauthenticated {
		t.Fatalf("list users logged out: code %q", code(err))
	}
	if _, err := s.Auth.Login("admin", "wrong-pass"); code(err) != CodeBadCredentials {
		t.Fatalf("bad login: code %q", code(err))
	}
	u, err := s.Auth.Login("admin", "secret-pass")
	if err != nil || u.Username != "admin" {
		t.Fatalf("login %+v %v", u, err)
	}

	// Admin creates an operator; the operator cannot create users.
	if _, err := s.Auth.CreateUser(NewUserRequest{Username: "op1", Password: "operator1", Role: "operator"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Auth.CreateUser(NewUserRequest{Username: "op1", Password: "operator1"}); code(err) != CodeUsernameTaken {
		t.Fatalf("duplicate: code %q", code(err))
	}
	if _, err := s.Auth.Login("op1", "operator1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Auth.CreateUser(NewUserRequest{Username: "op2", Password: "operator2"}); code(err) != CodeForbidden {
		t.Fatalf("operator creating user: code %q", code(err))
	}

	want := []string{events.StationChanged, events.SessionChanged, events.SessionChanged, events.SessionChanged, events.SessionChanged}
	got := rec.names()
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %v, want %v", got, want)
		}
	}
}

func TestSettingsUI(t *testing.T) {
	s, rec := newSet(t)
	ui, err := s.Settings.UI()
	if err != nil || ui.Language != "" || ui.Theme != "system" {
		t.Fatalf("defaults %+v %v", ui, err)
	}
	if err := s.Settings.SetLanguage("zh-CN"); err != nil {
		t.Fatal(err)
	}
	if err := s.Settings.SetTheme("dark"); err != nil {
		t.Fatal(err)
	}
	if err := s.Settings.SetLanguage("fr"); code(err) != CodeInvalid {
		t.Fatalf("unknown language: code %q", code(err))
	}
	ui, _ = s.Settings.UI()
	if ui.Language != "zh-CN" || ui.Theme != "dark" {
		t.Fatalf("after set %+v", ui)
	}
	if n := len(rec.names()); n != 2 {
		t.Fatalf("%d events, want 2", n)
	}
}

func TestCallsCancelledWithAppContext(t *testing.T) {
	s, _ := newSet(t)
	ctx, cancel := context.WithCancel(context.Background())
	s2 := New(Deps{Context: ctx, Store: s.Auth.deps.Store})
	cancel()
	if _, err := s2.Station.Status(); err == nil {
		t.Fatal("call after shutdown succeeded")
	}
}
