package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Error codes of the catalog API, in {error:{code,message}} bodies.
const (
	CodeBadRequest   = "bad_request"
	CodeUnauthorized = "unauthorized"
	CodeForbidden    = "forbidden"
	CodeNotFound     = "not_found"
	CodeTooLarge     = "too_large"
	CodeRateLimited  = "rate_limited"
	CodeBadAPK       = "bad_apk"
	CodeBadCode      = "invalid_registration_code"
	CodeNoList       = "no_list"
	CodeInternal     = "internal"
	CodeUnavailable  = "unavailable" // client side: the server cannot be reached
)

// APIError is an error the catalog API returns, and the client reports.
type APIError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	ZH      string `json:"messageZh,omitempty"`
}

func (e *APIError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("catalog: %s (HTTP %d): %s", e.Code, e.Status, e.Message)
	}
	return fmt.Sprintf("catalog: %s: %s", e.Code, e.Message)
}

func apiErr(status int, code, msg, zh string) *APIError {
	return &APIError{Status: status, Code: code, Message: msg, ZH: zh}
}

// ErrorCode returns the API code of err, or "".
func ErrorCode(err error) string {
	var e *APIError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, err error) {
	var e *APIError
	if !errors.As(err, &e) {
		e = apiErr(http.StatusInternalServerError, CodeInternal, "internal error", "服务器内部错误")
	}
	writeJSON(w, e.Status, map[string]any{"error": e})
}
