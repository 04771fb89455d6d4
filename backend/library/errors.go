package library

import (
	"errors"
	"fmt"
)

// Error codes the UI maps to translated messages.
const (
	CodeBadAPK       = "library.bad_apk"
	CodeNotFound     = "library.not_found"
	CodeNotCached    = "library.not_cached"
	CodeHashMismatch = "library.hash_mismatch"
	CodeSizeMismatch = "library.size_mismatch"
	CodeDownload     = "library.download_failed"
	CodeIO           = "library.io"
	CodeInvalid      = "library.invalid"
	CodeReadOnly     = "library.read_only"
)

// Error is a library failure with a stable code and an English + Chinese message.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	ZH      string `json:"messageZh"`
	Err     error  `json:"-"`
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s (%s): %v", e.Code, e.Message, e.ZH, e.Err)
	}
	return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.ZH)
}

func (e *Error) Unwrap() error { return e.Err }

func newErr(code, msg, zh string, err error) *Error {
	return &Error{Code: code, Message: msg, ZH: zh, Err: err}
}

// CodeOf returns the code of the first *Error in err's chain, or "".
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
