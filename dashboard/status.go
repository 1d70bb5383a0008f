package dashboard

import (
	"errors"
	"net/http"

	"snowhub/internal/event"
)

// statuses are the HTTP statuses of the domain's refusals: the one mapping.
var statuses = map[error]int{
	event.ErrBadRequest: http.StatusBadRequest,
	event.ErrForbidden:  http.StatusForbidden,
	event.ErrNotFound:   http.StatusNotFound,
	event.ErrConflict:   http.StatusConflict,
	event.ErrTooLarge:   http.StatusRequestEntityTooLarge,
	event.ErrNoService:  http.StatusServiceUnavailable,
}

// HTTPStatus returns the status an error maps to: the sentinel it wraps,
// and 500 only for the hub's own failures.
func HTTPStatus(err error) int {
	for k, st := range statuses {
		if errors.Is(err, k) {
			return st
		}
	}
	var se *statusError
	if errors.As(err, &se) {
		return se.status
	}
	return http.StatusInternalServerError
}

// StatusRefusal is the error an HTTP status and its reason stand for (an
// owner hub's answer to a forwarded step, which carries the status): the
// sentinel of that status, or the status itself when it has none.
func StatusRefusal(status int, reason string) error {
	for k, st := range statuses {
		if st == status {
			return &event.Refusal{Kind: k, Reason: reason}
		}
	}
	return &statusError{status: status, reason: reason}
}

// statusError is a refusal whose status maps to no sentinel.
type statusError struct {
	status int
	reason string
}

func (e *statusError) Error() string { return e.reason }
