// Package login lets people log in as themselves: a name and password
// checked against the account's argon2id hash, a second factor (TOTP) when
// the account has one, a lockout after repeated failures, and the
// sessions a login opens, each with an idle timeout and an absolute
// lifetime. Sessions live in memory: a restart logs everyone out, which
// for a hub that restarts rarely is the safe side.
//
// The accounts come from the assembly (Options.Accounts); in this slice
// they are the configuration's users. What a principal may do stays
// auth.Allow's.
package login

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"snowhub/internal/auth"
	"snowhub/internal/event"
	"snowhub/internal/password"
)

// Account is what a login checks.
type Account struct {
	Principal    auth.Principal
	PasswordHash string // PHC argon2id; "": no password login
	TOTPSecret   string // base32; "": no second factor
	// Stamp changes when the sessions opened before must end (an account
	// of the hub's store: re-scoped, disabled, reset); "": the password
	// hash is the stamp (a configured account: a changed hash ends them).
	Stamp string
	// MustChange: a temporary password; the session may only change it.
	MustChange bool
	// NeedsSecondFactor: the account's role must log in with a second
	// factor (auth.require_2fa); without one, the session may only enrol it.
	NeedsSecondFactor bool
}

func (a Account) stamp() string {
	if a.Stamp != "" {
		return a.Stamp
	}
	return a.PasswordHash
}

// Settings are the sessions' and the lockout's limits, read per call so
// a reload applies at once.
type Settings struct {
	IdleTimeout     time.Duration
	Lifetime        time.Duration
	LockoutFailures int
	LockoutWindow   time.Duration
	LockoutFor      time.Duration
}

// Options build a Service. Accounts and Settings are required.
type Options struct {
	Accounts func(name string) (Account, bool)
	Settings func() Settings
	Now      func() time.Time
	Logger   *slog.Logger
	// Audit writes a security event to the audit trail (the incident
	// store's chained log); nil: logged only.
	Audit func(event.AuditEntry) error
	// UseRecovery spends one of the account's recovery codes in place of
	// its TOTP code; nil: no recovery codes.
	UseRecovery func(name, code string) bool
}

// Refusals of a login. The answer never says whether the name exists: an
// unknown name, a wrong password and a wrong code are all ErrWrong.
var (
	ErrWrong = errors.New("用户名、密码或动态口令不对 / wrong name, password or code")
	// ErrNeedOTP: the password is right and the account has a second
	// factor; ask for the code and log in again with it.
	ErrNeedOTP = errors.New("请输入动态口令 / enter the code of your authenticator app (otp)")
)

// LockedError is a login refused because the name is locked.
type LockedError struct{ Until time.Time }

func (e *LockedError) Error() string {
	cn := e.Until.In(chinaTime)
	return fmt.Sprintf("登录失败次数过多，账号已锁定，%s 解锁 / too many failed logins: locked until %s",
		cn.Format("15:04:05"), e.Until.UTC().Format(time.RFC3339))
}

// chinaTime is how a person in the county reads the unlock time.
var chinaTime = time.FixedZone("CST", 8*3600)

// Service checks logins and keeps sessions.
type Service struct {
	o        Options
	hashing  chan struct{} // one argon2id check at a time (password.Default says why)
	dummy    password.Hashed
	mu       sync.Mutex
	sessions map[[32]byte]*Session
	failures map[string]*failures
	lastStep map[string]int64 // the last TOTP step accepted per name: a code is good once
	pruned   time.Time

	auditFailed *prometheus.CounterVec
}

// New builds a Service.
func New(o Options) (*Service, error) {
	if o.Accounts == nil || o.Settings == nil {
		return nil, errors.New("login: Accounts and Settings are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	// An unknown name is checked against this hash, so it costs the time
	// a real one does and its answer comes as late.
	phc, err := password.Hash("not a password of anyone", password.Default)
	if err != nil {
		return nil, err
	}
	dummy, _ := password.Parse(phc)
	return &Service{o: o, hashing: make(chan struct{}, 1), dummy: dummy,
		sessions: map[[32]byte]*Session{}, failures: map[string]*failures{}, lastStep: map[string]int64{},
		auditFailed: newAuditFailed()}, nil
}

// Login checks name, password and (when the account has a second factor)
// otp, and opens a session. Its errors are ErrWrong, ErrNeedOTP, a
// *LockedError, or ctx's. A success and a lock it causes are audited,
// with the address WithRemote put in ctx.
func (s *Service) Login(ctx context.Context, name, pw, otp string) (*Session, error) {
	remote := remoteOf(ctx)
	st := s.o.Settings()
	now := s.o.Now()
	if until, locked := s.locked(name, now); locked {
		return nil, &LockedError{Until: until}
	}
	acc, known := s.o.Accounts(name)
	known = known && acc.PasswordHash != ""
	ok, err := s.verify(ctx, acc.PasswordHash, known, pw)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, s.fail(name, remote, st, s.o.Now())
	}
	// Checks wait their turn (verify): a burst of guesses that passed the
	// first look before the lock is refused here, right or not.
	if until, locked := s.locked(name, s.o.Now()); locked {
		return nil, &LockedError{Until: until}
	}
	if acc.TOTPSecret != "" {
		if otp == "" {
			return nil, ErrNeedOTP
		}
		if !s.checkOTP(name, acc.TOTPSecret, otp, s.o.Now()) && !s.recovery(name, otp) {
			return nil, s.fail(name, remote, st, s.o.Now())
		}
	}
	now = s.o.Now()
	s.mu.Lock()
	delete(s.failures, name)
	s.mu.Unlock()
	sess, err := s.open(acc, st, now)
	if err == nil {
		s.audit(event.AuditEntry{At: now, User: acc.Principal.Name, Role: acc.Principal.Role, Action: AuditLogin,
			Remote: remote, Result: loginResult(sess.SecondFactor)})
	}
	return sess, err
}

// recovery spends a recovery code given in place of the TOTP code (longer
// than the 6 digits of one).
func (s *Service) recovery(name, code string) bool {
	return s.o.UseRecovery != nil && len(code) > 6 && len(code) <= 32 && s.o.UseRecovery(name, code)
}

// verify checks pw against phc (or the dummy hash for an unknown name),
// one check at a time.
func (s *Service) verify(ctx context.Context, phc string, known bool, pw string) (bool, error) {
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	defer func() { <-s.hashing }()
	if len(pw) > 4*password.MaxLength {
		pw = pw[:4*password.MaxLength] // hashed all the same: the time says nothing
	}
	if !known {
		s.dummy.Verify(pw)
		return false, nil
	}
	h, err := password.Parse(phc)
	if err != nil {
		// The configuration validated it; a hash that no longer parses is
		// the hub's fault, not the person's, but still no login.
		s.o.Logger.Error("a stored password hash does not parse", "err", err)
		s.dummy.Verify(pw)
		return false, nil
	}
	return h.Verify(pw), nil
}

func hashID(id string) [32]byte { return sha256.Sum256([]byte(id)) }

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
