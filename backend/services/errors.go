package services

import (
	"context"
	"errors"

	"preloadstation/backend/store"
)

// Error codes the frontend translates (frontend/src/lib/i18n/*.json, "errors.<code>").
const (
	CodeInternal        = "internal"
	CodeInvalid         = "invalid"
	CodeNotFound        = "not_found"
	CodeUnauthenticated = "unauthenticated"
	CodeForbidden       = "forbidden"
	CodeBadCredentials  = "bad_credentials"
	CodeUsernameTaken   = "username_taken"
	CodeInvalidUsername = "invalid_username"
	CodeWeakPassword    = "weak_password"
	CodeInvalidRole     = "invalid_role"
	CodeAlreadySetUp    = "already_set_up"
	CodeNotSetUp        = "not_set_up"
	CodeStationName     = "invalid_station_name"
	CodeTimeout         = "timeout"
	CodeUnknownSetting  = "unknown_setting"
)

// Error is what a bound method returns: a stable code for the UI plus an English
// message for logs and for callers that do not translate.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Err     error  `json:"-"`
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

// ErrorCode lets backend/web and the Wails error formatter read the code
// without importing this package.
func (e *Error) ErrorCode() string { return e.Code }

// newError wraps err with code.
func newError(code string, err error) *Error {
	return &Error{Code: code, Message: err.Error(), Err: err}
}

// storeCodes maps repository errors to UI codes; anything else is internal.
var storeCodes = []struct {
	err  error
	code string
}{
	{store.ErrBadCredentials, CodeBadCredentials},
	{store.ErrUsernameTaken, CodeUsernameTaken},
	{store.ErrInvalidUsername, CodeInvalidUsername},
	{store.ErrWeakPassword, CodeWeakPassword},
	{store.ErrInvalidRole, CodeInvalidRole},
	{store.ErrAlreadySetUp, CodeAlreadySetUp},
	{store.ErrInvalidStationName, CodeStationName},
	{store.ErrNotFound, CodeNotFound},
	{context.DeadlineExceeded, CodeTimeout},
}

// wrap gives err a code once, where the service first sees it.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	for _, m := range storeCodes {
		if errors.Is(err, m.err) {
			return newError(m.code, err)
		}
	}
	return newError(CodeInternal, err)
}
