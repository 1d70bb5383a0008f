package login

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"snowhub/internal/auth"
	"snowhub/internal/password"
)

const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newService(t *testing.T) (*Service, *clock, map[string]Account) {
	t.Helper()
	fast := password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	h, _ := password.Hash("Xuelang-2026", fast)
	accs := map[string]Account{
		"zr-desk": {Principal: auth.Principal{Name: "zr-desk", Role: auth.RoleTownship, Township: "zhaoren"}, PasswordHash: h},
		"admin":   {Principal: auth.Principal{Name: "admin", Role: auth.RoleAdmin}, PasswordHash: h, TOTPSecret: secret},
		"tokenly": {Principal: auth.Principal{Name: "tokenly", Role: auth.RoleOperator}},
	}
	c := &clock{t: time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC)}
	var mu sync.Mutex
	s, err := New(Options{
		Accounts: func(n string) (Account, bool) { mu.Lock(); defer mu.Unlock(); a, ok := accs[n]; return a, ok },
		Settings: func() Settings {
			return Settings{IdleTimeout: 30 * time.Minute, Lifetime: 12 * time.Hour, LockoutFailures: 5, LockoutWindow: 15 * time.Minute, LockoutFor: 15 * time.Minute}
		},
		Now: c.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, c, accs
}

func TestLogin(t *testing.T) {
	s, c, _ := newService(t)
	ctx := context.Background()
	code := func() string { x, _ := totp.GenerateCode(secret, c.now()); return x }
	for _, tc := range []struct {
		name, pw, otp string
		want          error
	}{
		{"zr-desk", "Xuelang-2026", "", nil},
		{"zr-desk", "xuelang-2026", "", ErrWrong},
		{"nobody", "Xuelang-2026", "", ErrWrong},
		{"tokenly", "", "", ErrWrong}, // a token-only user has no password login
		{"admin", "Xuelang-2026", "", ErrNeedOTP},
		{"admin", "wrong-password", "", ErrWrong}, // the second factor is asked only after the password
		{"admin", "Xuelang-2026", "000000", ErrWrong},
		{"admin", "Xuelang-2026", code(), nil},
	} {
		sess, err := s.Login(ctx, tc.name, tc.pw, tc.otp)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s/%q/%q: %v, want %v", tc.name, tc.pw, tc.otp, err, tc.want)
		}
		if err == nil {
			if len(sess.ID) != 43 { // 32 bytes, base64url
				t.Errorf("session id %q", sess.ID)
			}
			if _, p, ok := s.Session(sess.ID); !ok || p.Name != tc.name {
				t.Errorf("%s: session not found (%v %v)", tc.name, p, ok)
			}
		}
	}
	// The same code a second time is refused (one use).
	c.add(0)
	if _, err := s.Login(ctx, "admin", "Xuelang-2026", code()); !errors.Is(err, ErrWrong) {
		t.Errorf("a code used twice: %v", err)
	}
	c.add(30 * time.Second)
	if _, err := s.Login(ctx, "admin", "Xuelang-2026", code()); err != nil {
		t.Errorf("the next step's code: %v", err)
	}
}

func TestLockout(t *testing.T) {
	s, c, _ := newService(t)
	ctx := context.Background()
	for _, name := range []string{"zr-desk", "nobody"} { // an unknown name locks the same way
		for i := 1; i <= 4; i++ {
			if _, err := s.Login(ctx, name, "guess", ""); !errors.Is(err, ErrWrong) {
				t.Fatalf("%s failure %d: %v", name, i, err)
			}
			c.add(time.Minute)
		}
		_, err := s.Login(ctx, name, "guess", "")
		var le *LockedError
		if !errors.As(err, &le) {
			t.Fatalf("%s 5th failure: %v, want locked", name, err)
		}
		if want := c.now().Add(15 * time.Minute); !le.Until.Equal(want) {
			t.Errorf("locked until %v, want %v", le.Until, want)
		}
		if !strings.Contains(le.Error(), "解锁") || !strings.Contains(le.Error(), le.Until.UTC().Format(time.RFC3339)) {
			t.Errorf("the reason does not say when: %v", le)
		}
	}
	// The right password is refused while locked, and works once it ends.
	if _, err := s.Login(ctx, "zr-desk", "Xuelang-2026", ""); !errors.As(err, new(*LockedError)) {
		t.Errorf("right password while locked: %v", err)
	}
	c.add(15 * time.Minute)
	if _, err := s.Login(ctx, "zr-desk", "Xuelang-2026", ""); err != nil {
		t.Errorf("after the lock: %v", err)
	}
	// Failures spread wider than the window do not lock.
	for i := 0; i < 8; i++ {
		if _, err := s.Login(ctx, "zr-desk", "guess", ""); !errors.Is(err, ErrWrong) {
			t.Fatalf("spread failure %d: %v", i, err)
		}
		c.add(4 * time.Minute)
	}
	// A burst at once still stops at five.
	c.add(time.Hour)
	var wg sync.WaitGroup
	var mu sync.Mutex
	wrong := 0
	for range 20 {
		wg.Go(func() {
			_, err := s.Login(ctx, "admin", "guess", "")
			mu.Lock()
			if errors.Is(err, ErrWrong) {
				wrong++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if wrong != 4 {
		t.Errorf("a burst of 20 had %d plain refusals before the lock, want 4", wrong)
	}
}

func TestSessionTimeouts(t *testing.T) {
	s, c, accs := newService(t)
	ctx := context.Background()
	open := func() string {
		sess, err := s.Login(ctx, "zr-desk", "Xuelang-2026", "")
		if err != nil {
			t.Fatal(err)
		}
		return sess.ID
	}
	// Idle: used every 29 minutes it lives; 31 minutes unused it ends.
	id := open()
	for range 4 {
		c.add(29 * time.Minute)
		if _, _, ok := s.Session(id); !ok {
			t.Fatal("a session in use ended")
		}
	}
	c.add(31 * time.Minute)
	if _, _, ok := s.Session(id); ok {
		t.Error("an idle session lives on")
	}
	// Absolute: kept busy, it still ends 12 h after login.
	id = open()
	for i := 0; i < 12*60/20; i++ {
		c.add(20 * time.Minute)
		_, _, ok := s.Session(id)
		if want := i < 12*60/20-1; ok != want {
			t.Fatalf("after %v: alive %v, want %v", time.Duration(i+1)*20*time.Minute, ok, want)
		}
	}
	// Logout ends it; a second logout finds nothing.
	id = open()
	if _, ok := s.Logout(ctx, id); !ok {
		t.Error("logout found no session")
	}
	if _, _, ok := s.Session(id); ok {
		t.Error("a logged-out session lives on")
	}
	if _, ok := s.Logout(ctx, id); ok {
		t.Error("a second logout found one")
	}
	// A role changed applies at once; a password changed ends the session.
	id = open()
	a := accs["zr-desk"]
	a.Principal.Role = auth.RoleVillage
	accs["zr-desk"] = a
	if _, p, ok := s.Session(id); !ok || p.Role != auth.RoleVillage {
		t.Errorf("role change: %v %v", p, ok)
	}
	a.PasswordHash, _ = password.Hash("Another-2026", password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	accs["zr-desk"] = a
	if _, _, ok := s.Session(id); ok {
		t.Error("a session outlived its password")
	}
	if _, _, ok := s.Session("nope"); ok {
		t.Error("an unknown id has a session")
	}
}

// An account of the hub's store ends its sessions when its stamp changes
// (re-scoped, disabled, reset); Renew keeps the one session whose person
// changed their own password, and the others end.
func TestStampEndsSessionsAndRenewKeepsOne(t *testing.T) {
	s, _, accs := newService(t)
	ctx := context.Background()
	a := accs["zr-desk"]
	a.Stamp, a.MustChange = "1|"+a.PasswordHash, true
	accs["zr-desk"] = a
	one, err := s.Login(ctx, "zr-desk", "Xuelang-2026", "")
	if err != nil {
		t.Fatal(err)
	}
	two, err := s.Login(ctx, "zr-desk", "Xuelang-2026", "")
	if err != nil {
		t.Fatal(err)
	}
	if !one.MustChangePassword {
		t.Error("a session opened with a temporary password does not say it must be changed")
	}
	// The person changes the password: the store's stamp moves on.
	a.Stamp, a.MustChange = "1|new-hash", false
	accs["zr-desk"] = a
	cur, ok := s.Renew(one.ID)
	if !ok || cur.MustChangePassword {
		t.Fatalf("renew: %v, must change %v", ok, cur.MustChangePassword)
	}
	if _, _, ok := s.Session(one.ID); !ok {
		t.Error("the renewed session ended")
	}
	if s.Alive(two.ID) {
		t.Error("the other session, opened with the old password, is alive")
	}
	// Re-scoped: every session ends at its next look.
	a.Stamp = "2|new-hash"
	accs["zr-desk"] = a
	if s.Alive(one.ID) {
		t.Error("a session outlived its account's re-scoping")
	}
	if _, ok := s.Renew(one.ID); ok {
		t.Error("an ended session was renewed")
	}
}
