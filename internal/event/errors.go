package event

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors of the domain packages. A refusal wraps one of them with
// its reason; the HTTP layer maps them to statuses in one place (Status).
var (
	ErrBadRequest = errors.New("bad request")       // 400: malformed, missing field
	ErrForbidden  = errors.New("forbidden")         // 403: role or scope
	ErrNotFound   = errors.New("not found")         // 404: absent, or not visible to the caller
	ErrConflict   = errors.New("conflict")          // 409: wrong state
	ErrTooLarge   = errors.New("too large")         // 413: a note or body over its limit
	ErrNoService  = errors.New("not available now") // 503: a component is not running
)

// StatusError is a refusal with the reason a person reads. It wraps one of
// the sentinels; Status is kept for callers that built one by hand.
type StatusError struct {
	Status int
	Reason string
	Kind   error // one of the sentinels; nil: derived from Status
}

func (e *StatusError) Error() string { return e.Reason }

// Unwrap lets errors.Is match the sentinel.
func (e *StatusError) Unwrap() error {
	if e.Kind != nil {
		return e.Kind
	}
	for k, st := range statuses {
		if st == e.Status {
			return k
		}
	}
	return nil
}

var statuses = map[error]int{
	ErrBadRequest: http.StatusBadRequest,
	ErrForbidden:  http.StatusForbidden,
	ErrNotFound:   http.StatusNotFound,
	ErrConflict:   http.StatusConflict,
	ErrTooLarge:   http.StatusRequestEntityTooLarge,
	ErrNoService:  http.StatusServiceUnavailable,
}

// Errorf builds a StatusError.
func Errorf(status int, format string, args ...any) error {
	return &StatusError{Status: status, Reason: fmt.Sprintf(format, args...)}
}

// Refuse wraps a sentinel with its reason.
func Refuse(kind error, format string, args ...any) error {
	return &StatusError{Status: statuses[kind], Reason: fmt.Sprintf(format, args...), Kind: kind}
}

// HTTPStatus returns the status an error maps to: the sentinel it wraps,
// and 500 only for the hub's own failures.
func HTTPStatus(err error) int {
	for k, st := range statuses {
		if errors.Is(err, k) {
			return st
		}
	}
	var se *StatusError
	if errors.As(err, &se) && se.Status != 0 {
		return se.Status
	}
	return http.StatusInternalServerError
}

// Common refusals.
func Forbidden(reason string) error  { return Refuse(ErrForbidden, "%s", reason) }
func NotFound(what string) error     { return Refuse(ErrNotFound, "%s not found", what) }
func Conflict(reason string) error   { return Refuse(ErrConflict, "%s", reason) }
func BadRequest(reason string) error { return Refuse(ErrBadRequest, "%s", reason) }
func TooLarge(reason string) error   { return Refuse(ErrTooLarge, "%s", reason) }
