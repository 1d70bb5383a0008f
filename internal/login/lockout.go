package login

import (
	"time"

	"snowhub/internal/event"
)

// failures are a name's recent failed logins. Unknown names are counted
// too, so a lock says nothing about whether the name exists.
type failures struct {
	at     []time.Time // within the window, oldest first
	locked time.Time   // locked until this time
}

// maxNames bounds the names tracked: a script trying random names cannot
// grow the map without end (the oldest are dropped by prune).
const maxNames = 100000

func (s *Service) locked(name string, now time.Time) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.failures[name]
	if f == nil || !now.Before(f.locked) {
		return time.Time{}, false
	}
	return f.locked, true
}

// fail records a failed login of name from remote: ErrWrong, or a
// *LockedError when this failure locks it (audited as a lockout).
func (s *Service) fail(name, remote string, st Settings, now time.Time) error {
	locks, err := s.count(name, st, now)
	if locks {
		s.audit(event.AuditEntry{At: now, User: clip(name), Action: AuditLockout, Remote: remote,
			Result: lockoutResult(st.LockoutFailures, err.(*LockedError).Until)})
	}
	return err
}

// count is fail under s.mu; locks: this failure locked the name.
func (s *Service) count(name string, st Settings, now time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) >= maxNames {
		s.pruneFailures(now, st)
		if len(s.failures) >= maxNames {
			clear(s.failures)
		}
	}
	f := s.failures[name]
	if f == nil {
		f = &failures{}
		s.failures[name] = f
	}
	if now.Before(f.locked) {
		// Another attempt locked it while this one was being checked.
		return false, &LockedError{Until: f.locked}
	}
	keep := f.at[:0]
	for _, t := range f.at {
		if now.Sub(t) < st.LockoutWindow {
			keep = append(keep, t)
		}
	}
	f.at = append(keep, now)
	if st.LockoutFailures > 0 && len(f.at) >= st.LockoutFailures {
		f.locked, f.at = now.Add(st.LockoutFor), nil
		s.o.Logger.Warn("登录失败次数过多，账号锁定 (too many failed logins: name locked)", "name", clip(name), "until", f.locked)
		return true, &LockedError{Until: f.locked}
	}
	return false, ErrWrong
}

func (s *Service) pruneFailures(now time.Time, st Settings) {
	for name, f := range s.failures {
		if now.After(f.locked) && (len(f.at) == 0 || now.Sub(f.at[len(f.at)-1]) >= st.LockoutWindow) {
			delete(s.failures, name)
		}
	}
}

// Unlock lifts name's lock and forgets its failures (the security
// administrator, at DELETE /api/v1/accounts/{name}/lock): audited as
// unlock, by whom; false when the name was not locked.
func (s *Service) Unlock(by, byRole, name string) bool {
	now := s.o.Now()
	s.mu.Lock()
	f := s.failures[name]
	was := f != nil && now.Before(f.locked)
	delete(s.failures, name)
	s.mu.Unlock()
	if was {
		s.o.Logger.Info("解除登录锁定 (lock lifted)", "name", clip(name), "by", by)
		s.audit(event.AuditEntry{At: now, User: by, Role: byRole, Action: AuditUnlock, Target: clip(name), Result: "已解除锁定 / lock lifted"})
	}
	return was
}

// Locked is when name's lock ends, if it is locked now.
func (s *Service) Locked(name string) (time.Time, bool) { return s.locked(name, s.o.Now()) }

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
