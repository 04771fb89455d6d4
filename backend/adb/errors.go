package adb

import (
	"errors"
	"fmt"
	"strings"
)

// Error codes. Test with errors.Is; Code returns the short code the UI maps to
// translated text.
var (
	ErrServerDown     = errors.New("adb server not reachable")
	ErrDeviceNotFound = errors.New("device not found")
	ErrUnauthorized   = errors.New("device unauthorized")
	ErrOffline        = errors.New("device offline")
	ErrAuthorizing    = errors.New("device still authorizing")
	ErrStalled        = errors.New("no progress")
	ErrProtocol       = errors.New("adb protocol error")
	ErrFailed         = errors.New("adb command failed")
	ErrShortWrite     = errors.New("source ended before the announced size")
	ErrNotExist       = errors.New("no such file on device")
)

// Error is one failed adb call. It is created once, where the failure is first
// known, and carries its code (one of the Err* values above).
type Error struct {
	Op     string // "shell", "push", "host:devices-l", …
	Serial string // empty for host commands
	Code   error  // ErrServerDown, ErrDeviceNotFound, …
	Msg    string // the adb server's or device's own words, if any
	Err    error  // underlying I/O error, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("adb ")
	b.WriteString(e.Op)
	if e.Serial != "" {
		b.WriteString(" ")
		b.WriteString(e.Serial)
	}
	b.WriteString(": ")
	b.WriteString(e.Code.Error())
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap exposes both the code and the cause to errors.Is / errors.As.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Code, e.Err}
	}
	return []error{e.Code}
}

// codes maps error values to short stable strings for the UI.
var codes = []struct {
	err  error
	code string
}{
	{ErrServerDown, "adb_server_down"},
	{ErrDeviceNotFound, "device_not_found"},
	{ErrUnauthorized, "device_unauthorized"},
	{ErrOffline, "device_offline"},
	{ErrAuthorizing, "device_authorizing"},
	{ErrStalled, "stalled"},
	{ErrProtocol, "adb_protocol"},
	{ErrShortWrite, "short_source"},
	{ErrNotExist, "not_exist"},
	{ErrFailed, "adb_failed"},
}

// Code returns the short code of err ("stalled", "device_offline", …), or ""
// when err carries none.
func Code(err error) string {
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return ""
}

// failCode classifies the message of an adb server FAIL reply.
func failCode(msg string) error {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "not found"), strings.Contains(m, "no devices"):
		return ErrDeviceNotFound
	case strings.Contains(m, "unauthorized"):
		return ErrUnauthorized
	case strings.Contains(m, "authorizing"):
		return ErrAuthorizing
	case strings.Contains(m, "offline"):
		return ErrOffline
	}
	return ErrFailed
}

func newErr(op, serial string, code error, msg string, err error) *Error {
	return &Error{Op: op, Serial: serial, Code: code, Msg: msg, Err: err}
}

func protoErr(op, serial, format string, args ...any) *Error {
	return newErr(op, serial, ErrProtocol, fmt.Sprintf(format, args...), nil)
}
