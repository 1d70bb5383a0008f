package accounts

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"snowhub/configs"
	"snowhub/internal/auth"
	"snowhub/internal/event"
	"snowhub/internal/password"
)

// fast keeps the tests quick; the hub hashes with password.Default.
var fast = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func topology() *configs.Topology {
	return &configs.Topology{
		TownshipName:    map[string]string{"zhaoren": "赵仁镇", "xiangong": "相公镇"},
		VillageTownship: map[string]string{"v-zr-01": "zhaoren"},
		Departments:     map[string]configs.Department{"water": {}},
	}
}

type trail struct {
	mu sync.Mutex
	e  []event.AuditEntry
}

func (t *trail) add(a event.AuditEntry) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.e = append(t.e, a)
	return nil
}

func (t *trail) actions() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var s []string
	for _, a := range t.e {
		s = append(s, a.User+":"+a.Action+":"+a.Target)
	}
	return strings.Join(s, " ")
}

func open(t *testing.T, path string, tr *trail) *Store {
	t.Helper()
	s, err := Open(Options{Path: path, Topology: topology, Params: fast, Audit: tr.add,
		Configured: func(n string) bool { return n == "ops" }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var admin = auth.Principal{Name: "root-admin", Role: auth.RoleAdmin}

func str(s string) *string { return &s }

func kind(err error) error {
	for _, k := range []error{event.ErrBadRequest, event.ErrConflict, event.ErrNotFound, event.ErrForbidden} {
		if errors.Is(err, k) {
			return k
		}
	}
	return err
}

func TestCreateChecksRoleAndScope(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "accounts.db"), &trail{})
	defer s.Close()
	for _, c := range []struct {
		name string
		sp   Spec
		want error // nil: created
	}{
		{"township", Spec{Name: "li.hua", Role: str("township"), Township: str("zhaoren"), Phone: str("13800135678")}, nil},
		{"village", Spec{Name: "wang", Role: str("village"), Village: str("v-zr-01")}, nil},
		{"department", Spec{Name: "shuiwu", Role: str("department"), Department: str("water")}, nil},
		{"taken", Spec{Name: "li.hua", Role: str("operator")}, event.ErrConflict},
		{"the file's name", Spec{Name: "ops", Role: str("operator")}, event.ErrConflict},
		{"bad name", Spec{Name: "Li Hua", Role: str("operator")}, event.ErrBadRequest},
		{"unknown role", Spec{Name: "zhao", Role: str("mayor")}, event.ErrBadRequest},
		{"a hub is no person", Spec{Name: "north", Role: str("hub")}, event.ErrBadRequest},
		{"township without its township", Spec{Name: "zhao", Role: str("township")}, event.ErrBadRequest},
		{"unknown township", Spec{Name: "zhao", Role: str("township"), Township: str("nowhere")}, event.ErrBadRequest},
		{"operator with a township", Spec{Name: "zhao", Role: str("operator"), Township: str("zhaoren")}, event.ErrBadRequest},
		{"unknown village", Spec{Name: "zhao", Role: str("village"), Village: str("v-none")}, event.ErrBadRequest},
		{"bad phone", Spec{Name: "zhao", Role: str("operator"), Phone: str("call me")}, event.ErrBadRequest},
	} {
		a, pw, err := s.Create(admin, c.sp)
		if kind(err) != c.want {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
			continue
		}
		if err != nil {
			if !strings.Contains(err.Error(), " / ") {
				t.Errorf("%s: the refusal is not in both languages: %v", c.name, err)
			}
			continue
		}
		if !a.MustChange || a.CreatedBy != admin.Name || password.CheckAccount(a.Name, pw) != nil {
			t.Errorf("%s: %+v with temporary password %q: want it to be changed at first login, by %s, and to pass the policy", c.name, a, pw, admin.Name)
		}
		if err := password.Verify(a.PasswordHash, pw); err != nil {
			t.Errorf("%s: the temporary password does not match its hash", c.name)
		}
	}
	if p := mustGet(t, s, "wang").Principal(topology()); p.Township != "zhaoren" {
		t.Errorf("a village account acts within its township: %+v", p)
	}
}

func mustGet(t *testing.T, s *Store, name string) Account {
	t.Helper()
	a, ok := s.Get(name)
	if !ok {
		t.Fatalf("no account %s", name)
	}
	return a
}

// The changes that must end the account's sessions change its stamp; the
// others do not; every change survives a reopen and is audited by whom.
func TestChangesEndSessionsAndPersist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.db")
	tr := &trail{}
	s := open(t, path, tr)
	_, temp, err := s.Create(admin, Spec{Name: "li.hua", Role: str("township"), Township: str("zhaoren")})
	if err != nil {
		t.Fatal(err)
	}
	stamp := mustGet(t, s, "li.hua").Stamp()
	step := func(what string, ends bool, f func() error) {
		t.Helper()
		if err := f(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		now := mustGet(t, s, "li.hua").Stamp()
		if (now != stamp) != ends {
			t.Errorf("%s: stamp changed %v, want %v", what, now != stamp, ends)
		}
		stamp = now
	}
	step("display name", false, func() error { _, err := s.Update(admin, "li.hua", Spec{DisplayName: str("李华")}); return err })
	step("re-scoped", true, func() error { _, err := s.Update(admin, "li.hua", Spec{Township: str("xiangong")}); return err })
	step("the same again: no change", false, func() error { _, err := s.Update(admin, "li.hua", Spec{Township: str("xiangong")}); return err })
	self := "Tiger#Lake2026"
	step("own password", true, func() error { _, err := s.ChangePassword("li.hua", temp, self); return err })
	if mustGet(t, s, "li.hua").MustChange {
		t.Error("still must change after changing")
	}
	step("disabled", true, func() error { _, err := s.SetState(admin, "li.hua", Disabled); return err })
	step("enabled", false, func() error { _, err := s.SetState(admin, "li.hua", Active); return err })
	var reset string
	step("reset", true, func() error { _, pw, err := s.ResetPassword(admin, "li.hua"); reset = pw; return err })
	if a := mustGet(t, s, "li.hua"); !a.MustChange || password.Verify(a.PasswordHash, reset) != nil {
		t.Errorf("after a reset: must change %v, the new temporary password matches: %v", a.MustChange, password.Verify(a.PasswordHash, reset))
	}
	s.Close()

	s = open(t, path, tr)
	defer s.Close()
	a := mustGet(t, s, "li.hua")
	if a.Township != "xiangong" || a.DisplayName != "李华" || a.Stamp() != stamp || a.State != Active {
		t.Errorf("after reopening: %+v", a)
	}
	want := "root-admin:account_created:li.hua root-admin:account_changed:li.hua root-admin:account_changed:li.hua " +
		"li.hua:password_changed:li.hua root-admin:account_disabled:li.hua root-admin:account_enabled:li.hua root-admin:password_reset:li.hua"
	if got := tr.actions(); got != want {
		t.Errorf("audit:\n got %s\nwant %s", got, want)
	}
	if _, err := s.SetState(admin, "nobody", Disabled); kind(err) != event.ErrNotFound {
		t.Errorf("disabling an unknown account: %v", err)
	}
	if _, err := s.Update(admin, "ops", Spec{DisplayName: str("x")}); kind(err) != event.ErrConflict {
		t.Errorf("editing the file's account: %v", err)
	}
}

func TestChangePasswordRules(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "accounts.db"), &trail{})
	defer s.Close()
	_, temp, err := s.Create(admin, Spec{Name: "li.hua", Role: str("operator")})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, current, new string
		want               error
	}{
		{"wrong current", "Not-the-one-1", "Tiger#Lake2026", event.ErrForbidden},
		{"same as current", temp, temp, event.ErrBadRequest},
		{"too short", temp, "Ab#12345", event.ErrBadRequest},
		{"contains the name", temp, "Li.Hua#2026x", event.ErrBadRequest},
		{"common", temp, "Admin@123456", event.ErrBadRequest},
		{"good", temp, "Tiger#Lake2026", nil},
		{"the old one no longer works", temp, "River#Bank2027", event.ErrForbidden},
	} {
		if _, err := s.ChangePassword("li.hua", c.current, c.new); kind(err) != c.want {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestSecondFactorEnrolRecoverReset(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.db")
	tr := &trail{}
	s := open(t, path, tr)
	p := auth.Principal{Name: "ops", Role: auth.RoleOperator} // the configuration's: enrolled here all the same
	if _, err := s.ConfirmEnrol(p, "123456"); kind(err) != event.ErrConflict {
		t.Errorf("confirm with nothing started: %v", err)
	}
	en, err := s.BeginEnrol("ops", "snowhub 长武县")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(en.URL, "otpauth://totp/") || !strings.HasPrefix(en.QR, "data:image/png;base64,") {
		t.Errorf("enrolment: %+v", en)
	}
	if _, err := s.ConfirmEnrol(p, "000000"); kind(err) != event.ErrBadRequest {
		t.Errorf("a wrong first code: %v", err)
	}
	code, _ := totp.GenerateCode(en.Secret, time.Now())
	codes, err := s.ConfirmEnrol(p, code)
	if err != nil || len(codes) != RecoveryCodes {
		t.Fatalf("confirm: %v, %d codes", err, len(codes))
	}
	if _, err := s.BeginEnrol("ops", "x"); kind(err) != event.ErrConflict {
		t.Errorf("a second enrolment over the first: %v", err)
	}
	s.Close()
	s = open(t, path, tr)
	defer s.Close()
	if f, ok := s.Factor("ops"); !ok || f.Secret != en.Secret {
		t.Fatalf("the factor after reopening: %+v %v", f, ok)
	}
	if !s.UseRecovery("ops", strings.ToUpper(strings.ReplaceAll(codes[4], "-", ""))) {
		t.Error("a recovery code typed in capitals without its dash is refused")
	}
	if s.UseRecovery("ops", codes[4]) {
		t.Error("a recovery code worked twice")
	}
	if s.UseRecovery("other", codes[5]) {
		t.Error("a recovery code worked for another name")
	}
	if err := s.ResetFactor(admin, "ops"); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Factor("ops"); ok || s.UseRecovery("ops", codes[5]) {
		t.Error("the factor or its codes outlived the reset")
	}
	if err := s.ResetFactor(admin, "ops"); kind(err) != event.ErrNotFound {
		t.Errorf("resetting nothing: %v", err)
	}
	if got := tr.actions(); !strings.Contains(got, "ops:totp_enrolled:ops ops:recovery_code_used:ops root-admin:totp_reset:ops") {
		t.Errorf("audit: %s", got)
	}
}

func TestKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.db")
	tr := &trail{}
	now := time.Date(2026, 12, 5, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, err := Open(Options{Path: path, Topology: topology, Params: fast, Audit: tr.add, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	expires := now.Add(time.Hour)
	k, tok, err := s.CreateKey(admin, KeySpec{Note: "12345 热线", Role: "township", Township: "zhaoren", Expires: &expires})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, KeyPrefix+k.ID+"_") || strings.Contains(k.Hash, tok) || k.Shown().Hash != "" {
		t.Errorf("key %+v, token %q", k, tok)
	}
	got, ok := s.Authenticate(tok)
	if p := got.Principal(); !ok || p.Role != "township" || p.Township != "zhaoren" || p.Name != "key:"+k.ID {
		t.Errorf("authenticate: %v %+v", ok, p)
	}
	if _, ok := s.Authenticate(tok + "x"); ok {
		t.Error("a changed token authenticates")
	}
	if got.LastUsed == nil || !got.LastUsed.Equal(now) {
		t.Errorf("last use not kept: %v", got.LastUsed)
	}
	for _, sp := range []KeySpec{{Role: "operator"}, {Note: "x", Role: "hub"}, {Note: "x", Role: "village"}} {
		if _, _, err := s.CreateKey(admin, sp); kind(err) != event.ErrBadRequest {
			t.Errorf("%+v: %v", sp, err)
		}
	}
	s.Close()
	if s, err = Open(Options{Path: path, Topology: topology, Params: fast, Audit: tr.add, Now: clock}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok := s.Authenticate(tok); !ok {
		t.Error("the key does not survive a reopen")
	}
	now = now.Add(2 * time.Hour)
	if _, ok := s.Authenticate(tok); ok {
		t.Error("an expired key authenticates")
	}
	now = now.Add(-2 * time.Hour)
	if _, err := s.RevokeKey(admin, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Authenticate(tok); ok {
		t.Error("a revoked key authenticates")
	}
	if _, err := s.RevokeKey(admin, k.ID); kind(err) != event.ErrConflict {
		t.Errorf("revoking twice: %v", err)
	}
	if got := tr.actions(); got != "root-admin:key_created:key:"+k.ID+" root-admin:key_revoked:key:"+k.ID {
		t.Errorf("audit: %s", got)
	}
}
