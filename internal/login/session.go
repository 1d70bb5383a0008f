package login

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"time"

	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// Session is one login. ID is the cookie's value: 32 random bytes; the
// service keeps only its hash.
type Session struct {
	ID           string    `json:"-"`
	Name         string    `json:"-"`
	Created      time.Time `json:"created"`
	LastUsed     time.Time `json:"last_used"`
	Expires      time.Time `json:"expires"`      // the absolute end
	IdleExpires  time.Time `json:"idle_expires"` // the end if unused from now
	SecondFactor bool      `json:"second_factor"`
	// MustChangePassword: opened with a temporary password, the session
	// may change it and nothing else until it has.
	MustChangePassword bool `json:"must_change_password,omitempty"`
	// MustEnrolSecondFactor: the account's role needs a second factor and
	// has none: the session may enrol one and nothing else until it has.
	MustEnrolSecondFactor bool `json:"must_enrol_second_factor,omitempty"`
	// stamp is the account's stamp when the session opened: a password
	// changed, or an account re-scoped or disabled, ends the sessions
	// opened before.
	stamp string
	role  string // the account's role when last seen, for the audit
}

func (s *Service) open(acc Account, st Settings, now time.Time) (*Session, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	sess := &Session{ID: base64.RawURLEncoding.EncodeToString(b), Name: acc.Principal.Name, Created: now, LastUsed: now,
		Expires: now.Add(st.Lifetime), IdleExpires: now.Add(st.IdleTimeout), SecondFactor: acc.TOTPSecret != "", MustChangePassword: acc.MustChange,
		MustEnrolSecondFactor: acc.NeedsSecondFactor && acc.TOTPSecret == "", stamp: acc.stamp(), role: acc.Principal.Role}
	s.mu.Lock()
	gone := s.pruneSessions(now, st)
	s.sessions[hashID(sess.ID)] = sess
	out := *sess
	s.mu.Unlock()
	s.o.Logger.Info("登录 (login)", "name", sess.Name, "second_factor", sess.SecondFactor)
	for _, g := range gone {
		s.expired(g, now)
	}
	return &out, nil
}

// expired logs and audits a session ended by time.
func (s *Service) expired(sess Session, now time.Time) {
	s.o.Logger.Info("会话过期 (session expired)", "name", sess.Name)
	s.audit(event.AuditEntry{At: now, User: sess.Name, Role: sess.role, Action: AuditSessionExpired, Result: endedWhy(sess, now)})
}

// revoked logs and audits a session ended because its account was
// removed or its password changed.
func (s *Service) revoked(sess Session, now time.Time) {
	s.o.Logger.Info("会话结束：账号已删除或密码已更改 (session ended: account removed or password changed)", "name", sess.Name)
	s.audit(event.AuditEntry{At: now, User: sess.Name, Role: sess.role, Action: AuditSessionRevoked, Result: revokedWhy})
}

// Session finds the session of id and renews its idle time: the session
// and the principal of its account as the configuration has it now (a
// role or scope changed applies at once; an account removed, or its
// password changed, ends the session).
func (s *Service) Session(id string) (Session, auth.Principal, bool) {
	if id == "" || len(id) > 64 {
		return Session{}, auth.Principal{}, false
	}
	st := s.o.Settings()
	now := s.o.Now()
	key := hashID(id)
	s.mu.Lock()
	sess := s.sessions[key]
	if sess == nil {
		s.mu.Unlock()
		return Session{}, auth.Principal{}, false
	}
	if ended(sess, st, now) {
		delete(s.sessions, key)
		gone := *sess
		s.mu.Unlock()
		s.expired(gone, now)
		return Session{}, auth.Principal{}, false
	}
	name, stamp := sess.Name, sess.stamp
	s.mu.Unlock()
	acc, ok := s.o.Accounts(name)
	if !ok || !equal(acc.stamp(), stamp) {
		if gone, ok := s.remove(key, sess); ok {
			s.revoked(gone, now)
		}
		return Session{}, auth.Principal{}, false
	}
	s.mu.Lock()
	sess.role = acc.Principal.Role
	sess.LastUsed = now
	sess.IdleExpires = minTime(now.Add(st.IdleTimeout), sess.Expires)
	out := *sess
	s.mu.Unlock()
	return out, acc.Principal, true
}

// remove drops the session at key if it is still sess, and returns what
// it was: false when another caller ended it first (the end is audited
// once).
func (s *Service) remove(key [32]byte, sess *Session) (Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[key] != sess {
		return Session{}, false
	}
	delete(s.sessions, key)
	return *sess, true
}

// Alive reports whether the session of id is still in force, without
// renewing it: an open websocket is no use of the session (a desk left
// open times out like any other), and it closes when this turns false.
// A session it finds ended is ended here (and audited), as Session does.
func (s *Service) Alive(id string) bool {
	st := s.o.Settings()
	now := s.o.Now()
	key := hashID(id)
	s.mu.Lock()
	sess := s.sessions[key]
	if sess == nil {
		s.mu.Unlock()
		return false
	}
	if ended(sess, st, now) {
		delete(s.sessions, key)
		gone := *sess
		s.mu.Unlock()
		s.expired(gone, now)
		return false
	}
	name, stamp := sess.Name, sess.stamp
	s.mu.Unlock()
	acc, ok := s.o.Accounts(name)
	if ok && equal(acc.stamp(), stamp) {
		return true
	}
	if gone, ok := s.remove(key, sess); ok {
		s.revoked(gone, now)
	}
	return false
}

// Renew takes the account as it is now into the session of id, after its
// person changed their own password (this session goes on, no longer
// bound to a temporary password; the others opened with the old one end
// at their next look) or enrolled a second factor.
func (s *Service) Renew(id string) (Session, bool) {
	key := hashID(id)
	s.mu.Lock()
	sess := s.sessions[key]
	if sess == nil {
		s.mu.Unlock()
		return Session{}, false
	}
	name := sess.Name
	s.mu.Unlock()
	acc, ok := s.o.Accounts(name)
	if !ok {
		return Session{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[key] != sess {
		return Session{}, false
	}
	sess.stamp, sess.MustChangePassword = acc.stamp(), acc.MustChange
	// A second factor enrolled in this session counts as its own: the
	// person has just shown a code of it.
	if acc.TOTPSecret != "" {
		sess.SecondFactor = true
	}
	sess.MustEnrolSecondFactor = acc.NeedsSecondFactor && !sess.SecondFactor
	return *sess, true
}

// Logout ends the session of id, audited with the address WithRemote put
// in ctx; false when there was none.
func (s *Service) Logout(ctx context.Context, id string) (Session, bool) {
	key := hashID(id)
	s.mu.Lock()
	sess := s.sessions[key]
	if sess == nil {
		s.mu.Unlock()
		return Session{}, false
	}
	delete(s.sessions, key)
	out := *sess
	s.mu.Unlock()
	s.o.Logger.Info("登出 (logout)", "name", out.Name)
	s.audit(event.AuditEntry{User: out.Name, Role: out.role, Action: AuditLogout, Remote: remoteOf(ctx), Result: "已登出 / logged out"})
	return out, true
}

// Count is the sessions open now (for tests and a later metrics slice).
func (s *Service) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// pruneSessions drops ended sessions, at most once a minute (under s.mu),
// and returns them to be audited once the lock is let go.
func (s *Service) pruneSessions(now time.Time, st Settings) []Session {
	if now.Sub(s.pruned) < time.Minute {
		return nil
	}
	s.pruned = now
	var gone []Session
	for k, sess := range s.sessions {
		if ended(sess, st, now) {
			delete(s.sessions, k)
			gone = append(gone, *sess)
		}
	}
	s.pruneFailures(now, st)
	return gone
}

// ended: past its absolute end, or unused for the idle timeout.
func ended(sess *Session, st Settings, now time.Time) bool {
	return !now.Before(sess.Expires) || now.Sub(sess.LastUsed) >= st.IdleTimeout
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
