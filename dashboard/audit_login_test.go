package dashboard

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"snowhub/configs"
	"snowhub/internal/auth"
	"snowhub/internal/event"
	"snowhub/internal/login"
	"snowhub/internal/password"
)

// memAudit is the audit trail of the tests: what the login service writes,
// read back through GET /api/v1/audit as the engine's list is (newest
// first, the auditor's to read).
type memAudit struct {
	fakeIncidents
	mu   sync.Mutex
	list []event.AuditEntry
}

func (m *memAudit) write(a event.AuditEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.list = append(m.list, a)
	return nil
}

func (m *memAudit) Audit(p auth.Principal, _ time.Time, _ int) ([]event.AuditEntry, error) {
	if err := auth.Allow(p, auth.Audit, auth.Scope{}); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := slices.Clone(m.list)
	slices.Reverse(out)
	return out, nil
}

// Every security event of a person reaches the audit trail, with the
// account, its role and the address: a login (saying whether a second
// factor was used), a logout, a session ended by its idle timeout or
// revoked by a changed password, and the lock of a name.
func TestSecurityEventsReachTheAuditTrail(t *testing.T) {
	fast := password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	h, _ := password.Hash("Xuelang-2026", fast)
	var mu sync.Mutex
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	accs := map[string]login.Account{
		"zr-desk": {Principal: auth.Principal{Name: "zr-desk", Role: auth.RoleTownship, Township: "zhaoren"}, PasswordHash: h},
		"sec":     {Principal: auth.Principal{Name: "sec", Role: auth.RoleSecurityAdmin}, PasswordHash: h, TOTPSecret: otpSecret},
	}
	trail := &memAudit{}
	svc, err := login.New(login.Options{
		Accounts: func(n string) (login.Account, bool) { mu.Lock(); defer mu.Unlock(); a, ok := accs[n]; return a, ok },
		Settings: func() login.Settings {
			return login.Settings{IdleTimeout: time.Minute, Lifetime: time.Hour, LockoutFailures: 5, LockoutWindow: 15 * time.Minute, LockoutFor: 15 * time.Minute}
		},
		Now:   clock,
		Audit: trail.write,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &configs.Config{Listen: "127.0.0.1:0"}
	s, err := New(Options{Config: func() *configs.Config { return cfg },
		Auth: func(tok string) (auth.Principal, bool) {
			return auth.Principal{Name: "audit-1", Role: auth.RoleAuditor}, tok == "audit-token"
		},
		Cameras: fakeCameras{}, Incidents: trail, Login: svc,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	// newest reads the trail as the auditor does and returns its newest
	// entry of action.
	newest := func(action string) event.AuditEntry {
		t.Helper()
		res, body := newBrowser(t, s).do("GET", "/api/v1/audit", "", "Authorization", "Bearer audit-token")
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/v1/audit: %d %s", res.StatusCode, body)
		}
		var list []event.AuditEntry
		if err := json.Unmarshal([]byte(body), &list); err != nil {
			t.Fatal(err)
		}
		for _, a := range list {
			if a.Action == action {
				return a
			}
		}
		t.Fatalf("no %q entry in the audit trail: %s", action, body)
		return event.AuditEntry{}
	}
	check := func(a event.AuditEntry, user, role, says string, remote bool) {
		t.Helper()
		if a.User != user || a.Role != role || !strings.Contains(a.Result, says) || a.At.IsZero() {
			t.Errorf("%s: %+v, want user %s role %s saying %q", a.Action, a, user, role, says)
		}
		if remote && !strings.HasPrefix(a.Remote, "127.0.0.1:") {
			t.Errorf("%s: remote %q, want the peer's address", a.Action, a.Remote)
		}
	}
	// open logs name in and returns its session cookie.
	open := func(name, otp string) string {
		t.Helper()
		res, body := newBrowser(t, s).login(name, "Xuelang-2026", otp)
		for _, c := range res.Cookies() {
			if c.Name == SessionCookie && res.StatusCode == 200 {
				return SessionCookie + "=" + c.Value
			}
		}
		t.Fatalf("login %s: %d %s", name, res.StatusCode, body)
		return ""
	}
	me := func(cookie string) int {
		res, _ := newBrowser(t, s).do("GET", "/api/v1/me", "", "Cookie", cookie)
		return res.StatusCode
	}

	// A login, with and without a second factor; a logout.
	desk := open("zr-desk", "")
	check(newest(login.AuditLogin), "zr-desk", auth.RoleTownship, "password only", true)
	code, _ := totp.GenerateCode(otpSecret, clock())
	open("sec", code)
	check(newest(login.AuditLogin), "sec", auth.RoleSecurityAdmin, "second factor (TOTP)", true)
	if res, _ := newBrowser(t, s).do("POST", "/api/v1/logout", "", "Cookie", desk); res.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", res.StatusCode)
	}
	check(newest(login.AuditLogout), "zr-desk", auth.RoleTownship, "logged out", true)

	// Unused past the idle timeout, the session ends when the hub next sees it.
	idle := open("zr-desk", "")
	advance(2 * time.Minute)
	if code := me(idle); code != http.StatusUnauthorized {
		t.Fatalf("an idle session answered %d", code)
	}
	check(newest(login.AuditSessionExpired), "zr-desk", auth.RoleTownship, "idle timeout", false)

	// A password changed (a reload) revokes the sessions opened with the old one.
	old := open("zr-desk", "")
	h2, _ := password.Hash("Another-2026x", fast)
	mu.Lock()
	a := accs["zr-desk"]
	a.PasswordHash = h2
	accs["zr-desk"] = a
	mu.Unlock()
	if code := me(old); code != http.StatusUnauthorized {
		t.Fatalf("a session of the old password answered %d", code)
	}
	check(newest(login.AuditSessionRevoked), "zr-desk", auth.RoleTownship, "password changed", false)

	// Five failures lock the name: the lock itself is an entry, with the address.
	guess := newBrowser(t, s)
	for range 5 {
		guess.login("zr-desk", "guess-again", "")
	}
	check(newest(login.AuditLockout), "zr-desk", "", "locked until", true)
}
