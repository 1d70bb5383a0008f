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
