package alerts

import (
	"time"

	"snowhub/internal/event"
)

// AuditAuthRefused records a refused authentication (an unknown HTTP
// bearer token, a refused broker login) in the audit trail, with the peer's
// address: whoever tries credentials leaves a trace beside what the
// people did. The callers limit how often an address is written.
func (e *Engine) AuditAuthRefused(at time.Time, remote, result string) error {
	return e.store.audit(event.AuditEntry{At: at.UTC(), Action: "auth_refused", Remote: remote, Result: result})
}

// AuditSecurity records a person's security event (a login, a logout, a
// session expired or revoked, a lockout) in the same chained trail as
// their incident steps. Its time is the caller's; the chain keeps the
// order written.
func (e *Engine) AuditSecurity(a event.AuditEntry) error {
	if a.At.IsZero() {
		a.At = e.now()
	}
	a.At = a.At.UTC()
	return e.store.audit(a)
}
