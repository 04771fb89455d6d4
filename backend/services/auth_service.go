package services

import (
	"errors"

	"preloadstation/backend/events"
	"preloadstation/backend/store"
)

// AuthService logs operators in and out and manages user accounts.
type AuthService struct {
	deps    Deps
	session *Session
}

// UserInfo is a user as the UI sees it (never the hash).
type UserInfo struct {
	ID          uint   `json:"id"`
	Username    string `json:"username"`
	Role        string `json:"role"`
	DisplayName string `json:"displayName"`
}

func userInfo(u *store.User) *UserInfo {
	if u == nil {
		return nil
	}
	return &UserInfo{ID: u.ID, Username: u.Username, Role: u.Role, DisplayName: u.DisplayName}
}

// SessionEvent is the payload of events.SessionChanged.
type SessionEvent struct {
	User *UserInfo `json:"user"`
}

// Login checks the password and makes the user the station's current operator.
func (a *AuthService) Login(username, password string) (*UserInfo, error) {
	ctx, cancel := a.deps.callCtx()
	defer cancel()
	if _, err := a.deps.Store.Station(ctx); errors.Is(err, store.ErrNotFound) {
		return nil, &Error{Code: CodeNotSetUp, Message: "the station is not set up yet"}
	}
	u, err := a.deps.Store.Authenticate(ctx, username, password)
	if err != nil {
		a.deps.Log.Info("login refused", "username", store.NormalizeUsername(username))
		return nil, wrap(err)
	}
	a.session.set(u)
	a.deps.Log.Info("login", "username", u.Username, "role", u.Role)
	info := userInfo(u)
	a.deps.Emit.Emit(events.SessionChanged, SessionEvent{User: info})
	return info, nil
}

// Logout ends the current operator's session.
func (a *AuthService) Logout() error {
	if u := a.session.User(); u != nil {
		a.deps.Log.Info("logout", "username", u.Username)
	}
	a.session.set(nil)
	a.deps.Emit.Emit(events.SessionChanged, SessionEvent{})
	return nil
}

// CurrentUser returns the logged-in user, or null.
func (a *AuthService) CurrentUser() (*UserInfo, error) {
	return userInfo(a.session.User()), nil
}

// NewUserRequest is the form for creating a user.
type NewUserRequest struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	Role        string `json:"role"`
	DisplayName string `json:"displayName"`
}

// CreateUser adds an operator or admin; admins only.
func (a *AuthService) CreateUser(req NewUserRequest) (*UserInfo, error) {
	if _, err := requireAdmin(a.session); err != nil {
		return nil, err
	}
	ctx, cancel := a.deps.callCtx()
	defer cancel()
	u, err := a.deps.Store.CreateUser(ctx, store.NewUser{Username: req.Username, Password: req.Password, Role: req.Role, DisplayName: req.DisplayName})
	if err != nil {
		return nil, wrap(err)
	}
	return userInfo(u), nil
}

// ListUsers lists every account; admins only.
func (a *AuthService) ListUsers() ([]UserInfo, error) {
	if _, err := requireAdmin(a.session); err != nil {
		return nil, err
	}
	ctx, cancel := a.deps.callCtx()
	defer cancel()
	users, err := a.deps.Store.Users(ctx)
	if err != nil {
		return nil, wrap(err)
	}
	out := make([]UserInfo, 0, len(users))
	for i := range users {
		out = append(out, *userInfo(&users[i]))
	}
	return out, nil
}

// ChangePassword changes the logged-in user's own password.
func (a *AuthService) ChangePassword(oldPassword, newPassword string) error {
	u, err := requireUser(a.session)
	if err != nil {
		return err
	}
	ctx, cancel := a.deps.callCtx()
	defer cancel()
	if _, err := a.deps.Store.Authenticate(ctx, u.Username, oldPassword); err != nil {
		return wrap(err)
	}
	return wrap(a.deps.Store.SetPassword(ctx, u.ID, newPassword))
}
