package event

import (
	"errors"
	"fmt"
)

// Sentinel errors of the domain packages. A refusal wraps one of them with
// its reason; the HTTP layer maps them to statuses in one place
// (dashboard.HTTPStatus: 400, 403, 404, 409, 413, 503 in this order).
var (
	ErrBadRequest = errors.New("bad request")       // malformed, missing field
	ErrForbidden  = errors.New("forbidden")         // role or scope
	ErrNotFound   = errors.New("not found")         // absent, or not visible to the caller
	ErrConflict   = errors.New("conflict")          // wrong state
	ErrTooLarge   = errors.New("too large")         // a note or body over its limit
	ErrNoService  = errors.New("not available now") // a component is not running
)

// Refusal is a refusal with the reason a person reads. It wraps one of the
// sentinels, so errors.Is matches it.
type Refusal struct {
	Kind   error // one of the sentinels
	Reason string
}

func (e *Refusal) Error() string { return e.Reason }

// Unwrap lets errors.Is match the sentinel.
func (e *Refusal) Unwrap() error { return e.Kind }

// Refuse wraps a sentinel with its reason.
func Refuse(kind error, format string, args ...any) error {
	return &Refusal{Reason: fmt.Sprintf(format, args...), Kind: kind}
}

// Common refusals.
func Forbidden(reason string) error  { return Refuse(ErrForbidden, "%s", reason) }
func NotFound(what string) error     { return Refuse(ErrNotFound, "%s not found", what) }
func Conflict(reason string) error   { return Refuse(ErrConflict, "%s", reason) }
func BadRequest(reason string) error { return Refuse(ErrBadRequest, "%s", reason) }
func TooLarge(reason string) error   { return Refuse(ErrTooLarge, "%s", reason) }
