package login

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"snowhub/internal/event"
)

// Security events of the audit trail (等级保护 2.0 level 3 asks for every
// user's security events, with time, account, address and result). The
// refused logins are the dashboard's (they go through its per-address
// limiter); what only this service sees is written here.
const (
	AuditLogin          = "login"           // a login succeeded
	AuditLogout         = "logout"          // a session was ended by its person
	AuditSessionExpired = "session_expired" // idle timeout or absolute lifetime, when the hub noticed it
	AuditSessionRevoked = "session_revoked" // the account was removed or its password changed
	AuditLockout        = "lockout"         // too many failed logins locked a name
	AuditUnlock         = "unlock"          // the security administrator lifted a lock
)

type remoteKey struct{}

// WithRemote carries the peer's address of a login or logout into the
// service, for the audit record.
func WithRemote(ctx context.Context, remote string) context.Context {
	return context.WithValue(ctx, remoteKey{}, remote)
}

func remoteOf(ctx context.Context) string {
	r, _ := ctx.Value(remoteKey{}).(string)
	return r
}

// audit writes a to the trail. It is called outside s.mu, and only on a
// login (which has just spent an argon2id check), a logout, a refused
// request or the websocket's once-a-second check: a request whose session
// is renewed writes nothing. A write that fails is logged and counted
// (snowhub_audit_write_failed_total), never dropped unsaid.
func (s *Service) audit(a event.AuditEntry) {
	if s.o.Audit == nil {
		return
	}
	if a.At.IsZero() {
		a.At = s.o.Now()
	}
	a.At = a.At.UTC()
	if err := s.o.Audit(a); err != nil {
		s.auditFailed.WithLabelValues(a.Action).Inc()
		s.o.Logger.Error("安全事件未写入审计 (security event not audited)", "action", a.Action, "name", a.User, "err", err)
	}
}

// Collectors are the service's metrics.
func (s *Service) Collectors() []prometheus.Collector { return []prometheus.Collector{s.auditFailed} }

func newAuditFailed() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "snowhub_audit_write_failed_total",
		Help: "Security events (login, logout, session expired or revoked, lockout) whose audit record could not be written, by action."}, []string{"action"})
	for _, a := range []string{AuditLogin, AuditLogout, AuditSessionExpired, AuditSessionRevoked, AuditLockout, AuditUnlock} {
		c.WithLabelValues(a)
	}
	return c
}

func loginResult(secondFactor bool) string {
	if secondFactor {
		return "成功，密码与动态口令 / ok, password and second factor (TOTP)"
	}
	return "成功，仅密码 / ok, password only (no second factor)"
}

// endedWhy says why a session ended by time: its absolute lifetime or its
// idle timeout.
func endedWhy(sess Session, now time.Time) string {
	if !now.Before(sess.Expires) {
		return fmt.Sprintf("会话已达最长时间（%s 登录）/ absolute lifetime reached (logged in %s)",
			sess.Created.In(chinaTime).Format("01-02 15:04"), sess.Created.UTC().Format(time.RFC3339))
	}
	return fmt.Sprintf("空闲超时（最后使用 %s）/ idle timeout (last used %s)",
		sess.LastUsed.In(chinaTime).Format("01-02 15:04:05"), sess.LastUsed.UTC().Format(time.RFC3339))
}

const revokedWhy = "账号已删除、停用或改了角色与范围，或密码已更改 / account removed, disabled or re-scoped, or password changed"

func lockoutResult(failures int, until time.Time) string {
	return fmt.Sprintf("登录失败 %d 次，锁定至 %s / %d failed logins: locked until %s",
		failures, until.In(chinaTime).Format("15:04:05"), failures, until.UTC().Format(time.RFC3339))
}
