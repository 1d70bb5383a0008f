package login

import (
	"crypto/rand"
	"encoding/base64"
	"time"

	"snowhub/internal/auth"
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
	// passwordHash is the hash the session was opened with: a password
	// changed in the configuration ends the sessions opened with the old.
	passwordHash string
}

func (s *Service) open(acc Account, st Settings, now time.Time) (*Session, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	sess := &Session{ID: base64.RawURLEncoding.EncodeToString(b), Name: acc.Principal.Name, Created: now, LastUsed: now,
		Expires: now.Add(st.Lifetime), IdleExpires: now.Add(st.IdleTimeout), SecondFactor: acc.TOTPSecret != "", passwordHash: acc.PasswordHash}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pruneSessions(now, st)
	s.sessions[hashID(sess.ID)] = sess
	s.o.Logger.Info("登录 (login)", "name", sess.Name, "second_factor", sess.SecondFactor)
	out := *sess
	return &out, nil
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
		s.mu.Unlock()
		s.o.Logger.Info("会话过期 (session expired)", "name", sess.Name)
		return Session{}, auth.Principal{}, false
	}
	name, hash := sess.Name, sess.passwordHash
	s.mu.Unlock()
	acc, ok := s.o.Accounts(name)
	if !ok || !equal(acc.PasswordHash, hash) {
		s.mu.Lock()
		delete(s.sessions, key)
		s.mu.Unlock()
		s.o.Logger.Info("会话结束：账号已删除或密码已更改 (session ended: account removed or password changed)", "name", name)
		return Session{}, auth.Principal{}, false
	}
	s.mu.Lock()
	sess.LastUsed = now
	sess.IdleExpires = minTime(now.Add(st.IdleTimeout), sess.Expires)
	out := *sess
	s.mu.Unlock()
	return out, acc.Principal, true
}

// Alive reports whether the session of id is still in force, without
// renewing it: an open websocket is no use of the session (a desk left
// open times out like any other), and it closes when this turns false.
func (s *Service) Alive(id string) bool {
	st := s.o.Settings()
	now := s.o.Now()
	s.mu.Lock()
	sess := s.sessions[hashID(id)]
	if sess == nil || ended(sess, st, now) {
		s.mu.Unlock()
		return false
	}
	name, hash := sess.Name, sess.passwordHash
	s.mu.Unlock()
	acc, ok := s.o.Accounts(name)
	return ok && equal(acc.PasswordHash, hash)
}

// Logout ends the session of id; false when there was none.
func (s *Service) Logout(id string) (Session, bool) {
	key := hashID(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessions[key]
	if sess == nil {
		return Session{}, false
	}
	delete(s.sessions, key)
	s.o.Logger.Info("登出 (logout)", "name", sess.Name)
	return *sess, true
}

// Count is the sessions open now (for tests and a later metrics slice).
func (s *Service) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// pruneSessions drops ended sessions, at most once a minute (under s.mu).
func (s *Service) pruneSessions(now time.Time, st Settings) {
	if now.Sub(s.pruned) < time.Minute {
		return
	}
	s.pruned = now
	for k, sess := range s.sessions {
		if ended(sess, st, now) {
			delete(s.sessions, k)
		}
	}
	s.pruneFailures(now, st)
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
