package alerts

import (
	"unicode/utf8"

	"snowhub/internal/event"
)

// Audit fields are capped in bytes (docs/security.md): an entry is at most
// a few KiB whatever a caller sent, so refused attempts cannot grow the log
// faster than the per-user refusal rate times this.
const (
	maxAuditField  = 256
	maxAuditResult = 1024
)

func capAudit(a event.AuditEntry) event.AuditEntry {
	a.User = capString(a.User, maxAuditField)
	a.Role = capString(a.Role, maxAuditField)
	a.Action = capString(a.Action, maxAuditField)
	a.Incident = capString(a.Incident, maxAuditField)
	a.Target = capString(a.Target, maxAuditField)
	a.Remote = capString(a.Remote, maxAuditField)
	a.Result = capString(a.Result, maxAuditResult)
	return a
}

// capString cuts s to at most n bytes on a rune boundary, marking the cut.
func capString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
