package dashboard

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"

	"snowhub/internal/loglimit"
)

// AuthAuditor records refused authentications in the audit trail (the
// incident store's); nil: they are counted and logged only.
type AuthAuditor interface {
	AuditAuthRefused(at time.Time, remote, why string) error
}

// authFailures counts, logs and audits the requests whose bearer token is
// missing or unknown, with the peer's address. The log and the audit go
// through limiters keyed by the address: a script trying tokens cannot
// fill the disk, and the entry that is written says how many were left out.
type authFailures struct {
	count   *prometheus.CounterVec
	log     *slog.Logger
	logs    *loglimit.Limiter
	audits  *loglimit.Limiter
	auditor AuthAuditor
	now     func() time.Time
}

func newAuthFailures(o Options) *authFailures {
	f := &authFailures{
		count: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "snowhub_http_auth_failed_total",
			Help: "HTTP requests refused 401 or 423 for a missing or unknown bearer token, an ended session or a failed login, by why (missing, unknown, query: an API key in the address, session, login, locked)."}, []string{"why"}),
		log: o.Logger, auditor: o.AuthAudit, now: o.Now,
		logs:   loglimit.New(loglimit.Options{Suppressed: loglimit.Counter("http"), Now: o.Now}),
		audits: loglimit.New(loglimit.Options{Now: o.Now}),
	}
	for _, why := range []string{"missing", "unknown", "query", "session", "login", "locked"} {
		f.count.WithLabelValues(why)
	}
	return f
}

func (f *authFailures) collectors() []prometheus.Collector {
	return []prometheus.Collector{f.count, f.logs.Suppressed()}
}

// refused records one refusal of r. A request without any token is
// counted only: a page's first load, a probe, a health check.
func (f *authFailures) refused(r *http.Request, why string) {
	f.count.WithLabelValues(why).Inc()
	if why == "missing" {
		return
	}
	remote := r.RemoteAddr
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	f.logs.Log(f.log, slog.LevelWarn, host, "HTTP 令牌无效，请求被拒绝 (HTTP request with an unknown bearer token refused)",
		"remote", remote, "path", clipPath(r.URL.Path))
	if f.auditor == nil {
		return
	}
	ok, left := f.audits.Allow(host)
	if !ok {
		return
	}
	result := "unknown token"
	if left > 0 {
		result = fmt.Sprintf("unknown token (%d more from this address since the last entry)", left)
	}
	if err := f.auditor.AuditAuthRefused(f.now(), remote, result); err != nil {
		f.log.Warn("refused authentication not audited", "err", err)
	}
}

// loginRefused records a refused login (why: login for a wrong name,
// password or code, locked for a locked name) with the name tried, as a
// refused token is: counted, logged and audited through the limiters, by
// address, so a script trying names cannot fill the disk.
func (f *authFailures) loginRefused(r *http.Request, name, why, result string) {
	f.count.WithLabelValues(why).Inc()
	remote := r.RemoteAddr
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	name = clipName(name)
	f.logs.Log(f.log, slog.LevelWarn, "login "+host, "登录被拒绝 (login refused)", "remote", remote, "name", name, "why", result)
	if f.auditor == nil {
		return
	}
	ok, left := f.audits.Allow("login " + host)
	if !ok {
		return
	}
	msg := fmt.Sprintf("login refused: name %q: %s", name, result)
	if left > 0 {
		msg += fmt.Sprintf(" (%d more from this address since the last entry)", left)
	}
	if err := f.auditor.AuditAuthRefused(f.now(), remote, msg); err != nil {
		f.log.Warn("refused login not audited", "err", err)
	}
}

// clipName bounds a name someone typed before it reaches the log and the
// audit: 64 bytes, printable.
func clipName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, s)
	if r := []rune(s); len(r) > 64 {
		s = string(r[:64]) + "…"
	}
	return s
}

func clipPath(p string) string {
	if len(p) > 128 {
		return p[:128] + "…"
	}
	return p
}
