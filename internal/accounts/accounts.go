// Package accounts keeps the people's accounts the hub itself holds (in
// accounts.db under data_dir), beside those the configuration declares:
// created, re-scoped, disabled and reset by an administrator without
// editing a file or restarting, each change applied at the next request
// and audited in the chained trail. A password set here is held to the
// account policy (password.CheckAccount); one set by an administrator is
// temporary and must be changed at the first login.
//
// The login service reads an account through Lookup; what a principal may
// do stays auth.Allow's.
package accounts

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"

	"snowhub/configs"
	"snowhub/internal/auth"
	"snowhub/internal/event"
	"snowhub/internal/password"
)

// States of an account.
const (
	Active   = "active"
	Disabled = "disabled"
)

// Account is one person's account as the hub keeps it.
type Account struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name,omitempty"`
	Role        string `json:"role"`
	Township    string `json:"township,omitempty"`
	Village     string `json:"village,omitempty"`
	Department  string `json:"department,omitempty"`
	Phone       string `json:"phone,omitempty"`
	State       string `json:"state"`

	PasswordHash    string    `json:"password_hash"`
	MustChange      bool      `json:"must_change"` // a temporary password: changed at the first login
	PasswordChanged time.Time `json:"password_changed"`
	// Generation counts the changes that end the account's sessions: a
	// role or scope changed, the account disabled, the password reset.
	Generation int `json:"generation"`

	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by"`
	Changed   time.Time `json:"changed"`
	ChangedBy string    `json:"changed_by"`
}

// Principal is the account's principal (a village account acts within
// its village's township).
func (a Account) Principal(top *configs.Topology) auth.Principal {
	p := auth.Principal{Name: a.Name, Role: a.Role, Township: a.Township, Village: a.Village, Department: a.Department}
	if p.Role == auth.RoleVillage && top != nil {
		p.Township = top.VillageTownship[a.Village]
	}
	return p
}

// Stamp changes whenever a session opened before must end: the password
// changed or reset, the role or scope changed, the account disabled.
func (a Account) Stamp() string { return fmt.Sprintf("%d|%s", a.Generation, a.PasswordHash) }

// Spec is what an administrator sets on an account. On an update a nil
// field is left as it is.
type Spec struct {
	Name        string  `json:"name"`
	DisplayName *string `json:"display_name"`
	Role        *string `json:"role"`
	Township    *string `json:"township"`
	Village     *string `json:"village"`
	Department  *string `json:"department"`
	Phone       *string `json:"phone"`
}

// Options build a Store.
type Options struct {
	Path string // the bbolt file, data_dir/accounts.db
	// Topology is the configuration's as it is now: a scope must name a
	// township, village or department of it.
	Topology func() *configs.Topology
	// Configured reports whether the configuration declares name: such an
	// account is the file's, and the hub neither creates nor edits one.
	Configured func(name string) bool
	// Audit writes a change to the chained audit trail; nil: logged only.
	Audit  func(event.AuditEntry) error
	Now    func() time.Time
	Logger *slog.Logger
	// Params hash the passwords (password.Default when zero).
	Params password.Params
}

// Audit actions of account changes.
const (
	AuditCreated         = "account_created"
	AuditChanged         = "account_changed"
	AuditDisabled        = "account_disabled"
	AuditEnabled         = "account_enabled"
	AuditPasswordReset   = "password_reset"
	AuditPasswordChanged = "password_changed"
)

var bucket = []byte("accounts")

// Store holds the hub's accounts: in bbolt, and in memory for the lookup
// every request makes.
type Store struct {
	o  Options
	db *bbolt.DB

	mu      sync.RWMutex
	acc     map[string]Account
	factors map[string]Factor  // second factors enrolled here, by name (factor.go)
	pending map[string]pending // enrolments started, waiting for their first code
	keys    map[string]Key     // API keys and displays, by their hash (keys.go)
}

// Open opens (or creates) the store at o.Path and reads its accounts.
func Open(o Options) (*Store, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Params == (password.Params{}) {
		o.Params = password.Default
	}
	if o.Configured == nil {
		o.Configured = func(string) bool { return false }
	}
	db, err := bbolt.Open(o.Path, 0o600, &bbolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		if errors.Is(err, bberrors.ErrTimeout) {
			return nil, fmt.Errorf("open %s: another process holds it: %w", o.Path, err)
		}
		return nil, fmt.Errorf("open %s: %w", o.Path, err)
	}
	s := &Store{o: o, db: db, acc: map[string]Account{}, factors: map[string]Factor{}, pending: map[string]pending{}, keys: map[string]Key{}}
	err = db.Update(func(tx *bbolt.Tx) error {
		return errors.Join(
			load(tx, bucket, "account", func(a Account) { s.acc[a.Name] = a }),
			load(tx, keyBucket, "key", func(k Key) { s.keys[k.Hash] = k }),
			load(tx, factorBucket, "second factor", func(f Factor) { s.factors[f.Name] = f }))
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("read %s: %w", o.Path, err)
	}
	return s, nil
}

// load creates bucket b if need be and hands each record in it, decoded,
// to keep.
func load[T any](tx *bbolt.Tx, b []byte, what string, keep func(T)) error {
	bk, err := tx.CreateBucketIfNotExists(b)
	if err != nil {
		return err
	}
	return bk.ForEach(func(k, v []byte) error {
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("%s %q: %w", what, k, err)
		}
		keep(x)
		return nil
	})
}

// Close closes the file.
func (s *Store) Close() error { return s.db.Close() }

// Get is the account of name kept here (not the configuration's).
func (s *Store) Get(name string) (Account, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.acc[name]
	return a, ok
}

// List is every account kept here, by name.
func (s *Store) List() []Account {
	s.mu.RLock()
	out := make([]Account, 0, len(s.acc))
	for _, a := range s.acc {
		out = append(out, a)
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// nameRE is an account's name: what a person types at the login, and
// what the history shows beside each step.
var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_.-]{1,63}$`)

// Create adds an account with a temporary password, which it returns
// (shown once; the person must change it at the first login).
func (s *Store) Create(by auth.Principal, sp Spec) (Account, string, error) {
	if !nameRE.MatchString(sp.Name) {
		return Account{}, "", event.Refuse(event.ErrBadRequest,
			"用户名 %q 无效：小写字母开头，2–64 个小写字母、数字或 _ . - / name %q: 2-64 lower-case letters, digits, _ . -, starting with a letter", sp.Name, sp.Name)
	}
	a := Account{Name: sp.Name, State: Active}
	apply(&a, sp)
	if err := s.check(a); err != nil {
		return Account{}, "", err
	}
	temp, hash, err := s.temporary()
	if err != nil {
		return Account{}, "", err
	}
	now := s.o.Now().UTC()
	a.PasswordHash, a.MustChange, a.PasswordChanged = hash, true, now
	a.Created, a.CreatedBy, a.Changed, a.ChangedBy = now, by.Name, now, by.Name
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.acc[a.Name]; ok || s.o.Configured(a.Name) {
		return Account{}, "", event.Refuse(event.ErrConflict, "用户名 %s 已存在 / the name %s is taken", a.Name, a.Name)
	}
	if err := s.put(a); err != nil {
		return Account{}, "", err
	}
	s.audit(by, AuditCreated, a.Name, describe(a))
	return a, temp, nil
}

// Update changes an account's display name, role, scope or phone. A role
// or scope changed ends its sessions.
func (s *Store) Update(by auth.Principal, name string, sp Spec) (Account, error) {
	return s.change(by, name, func(a *Account) (string, error) {
		before := *a
		apply(a, sp)
		if err := s.check(*a); err != nil {
			return "", err
		}
		if a.Role != before.Role || a.Township != before.Township || a.Village != before.Village || a.Department != before.Department {
			a.Generation++
		}
		if *a == before {
			return "", nil
		}
		return AuditChanged, nil
	}, func(before, after Account) string { return diff(before, after) })
}

// SetState disables or enables an account; disabling ends its sessions.
func (s *Store) SetState(by auth.Principal, name, state string) (Account, error) {
	if state != Active && state != Disabled {
		return Account{}, event.Refuse(event.ErrBadRequest, "状态 %q 无效：active 或 disabled / state %q: active or disabled", state, state)
	}
	if by.Name == name && state == Disabled {
		return Account{}, event.Refuse(event.ErrConflict, "不能停用自己的账号 / you cannot disable your own account")
	}
	return s.change(by, name, func(a *Account) (string, error) {
		if a.State == state {
			return "", nil
		}
		a.State = state
		if state == Disabled {
			a.Generation++
			return AuditDisabled, nil
		}
		return AuditEnabled, nil
	}, func(_, a Account) string { return "状态 / state: " + a.State })
}

// ResetPassword gives the account a new temporary password, which it
// returns (shown once), and ends its sessions.
func (s *Store) ResetPassword(by auth.Principal, name string) (Account, string, error) {
	temp, hash, err := s.temporary()
	if err != nil {
		return Account{}, "", err
	}
	a, err := s.change(by, name, func(a *Account) (string, error) {
		a.PasswordHash, a.MustChange, a.PasswordChanged = hash, true, s.o.Now().UTC()
		a.Generation++
		return AuditPasswordReset, nil
	}, func(_, _ Account) string {
		return "临时密码，首次登录须修改 / a temporary password, to be changed at the next login"
	})
	if err != nil {
		return Account{}, "", err
	}
	return a, temp, nil
}

// ChangePassword is a person changing their own password: old must be
// the current one, new must pass the account policy and differ from old.
// The sessions opened with the old password end (the caller renews its
// own).
func (s *Store) ChangePassword(name, old, new string) (Account, error) {
	a, ok := s.Get(name)
	if !ok {
		return Account{}, event.Refuse(event.ErrNotFound, "账号 %s 不由本平台保存 / account %s is not kept by the hub", name, name)
	}
	h, err := password.Parse(a.PasswordHash)
	if err != nil || !h.Verify(old) {
		return Account{}, event.Refuse(event.ErrForbidden, "原密码不对 / the current password is wrong")
	}
	if old == new {
		return Account{}, event.Refuse(event.ErrBadRequest, "新密码不能与原密码相同 / the new password must differ from the current one")
	}
	if err := password.CheckAccount(name, new); err != nil {
		return Account{}, event.Refuse(event.ErrBadRequest, "%s", err.Error())
	}
	hash, err := password.Hash(new, s.o.Params)
	if err != nil {
		return Account{}, err
	}
	self := auth.Principal{Name: a.Name, Role: a.Role}
	checked := a.PasswordHash
	return s.change(self, name, func(a *Account) (string, error) {
		if a.PasswordHash != checked {
			// Reset by an administrator while the old one was checked.
			return "", event.Refuse(event.ErrConflict, "密码刚被管理员重置，请重新登录 / the password was just reset: log in again")
		}
		a.PasswordHash, a.MustChange, a.PasswordChanged = hash, false, s.o.Now().UTC()
		return AuditPasswordChanged, nil
	}, func(_, _ Account) string { return "本人修改 / changed by the person" })
}

// change applies f to the account of name under the lock, writes it and
// audits the action f returns ("": nothing changed, nothing written).
func (s *Store) change(by auth.Principal, name string, f func(*Account) (string, error), result func(before, after Account) string) (Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.acc[name]
	if !ok {
		if s.o.Configured(name) {
			return Account{}, event.Refuse(event.ErrConflict, "账号 %s 在配置文件中声明，只能在文件中修改 / account %s is declared in the configuration: change it there", name, name)
		}
		return Account{}, event.Refuse(event.ErrNotFound, "没有账号 %s / no account %s", name, name)
	}
	before := a
	action, err := f(&a)
	if err != nil || action == "" {
		return a, err
	}
	a.Changed, a.ChangedBy = s.o.Now().UTC(), by.Name
	if err := s.put(a); err != nil {
		return Account{}, err
	}
	s.audit(by, action, a.Name, result(before, a))
	return a, nil
}

// put writes a (under s.mu) and then takes it in memory: what a lookup
// sees is always what the file holds.
func (s *Store) put(a Account) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if err := s.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucket).Put([]byte(a.Name), b) }); err != nil {
		return fmt.Errorf("账号未保存 / account not saved: %w", err)
	}
	s.acc[a.Name] = a
	return nil
}

func (s *Store) audit(by auth.Principal, action, target, result string) {
	e := event.AuditEntry{At: s.o.Now().UTC(), User: by.Name, Role: by.Role, Action: action, Target: target, Result: result}
	s.o.Logger.Info("账号变更 (account change)", "by", by.Name, "action", action, "account", target)
	if s.o.Audit == nil {
		return
	}
	if err := s.o.Audit(e); err != nil {
		s.o.Logger.Error("账号变更未写入审计 (account change not audited)", "action", action, "account", target, "err", err)
	}
}

// creatable are the roles an account kept here may have: a hub of the
// prefecture authenticates by a token of the configuration, not a login.
var creatable = slices.DeleteFunc(slices.Clone(configs.Roles), func(r string) bool { return r == configs.RoleHub })

// check says what is wrong with a's role and scope against the topology,
// every problem at once, in Chinese then English.
func (s *Store) check(a Account) error {
	var zh, en []string
	bad := func(z, e string, args ...any) {
		zh, en = append(zh, fmt.Sprintf(z, args...)), append(en, fmt.Sprintf(e, args...))
	}
	if !slices.Contains(creatable, a.Role) {
		bad("角色 %[1]q 无效（可选 %[2]s）", "role %[1]q: use one of %[2]s", a.Role, strings.Join(creatable, ", "))
	}
	var top *configs.Topology
	if s.o.Topology != nil {
		top = s.o.Topology()
	}
	need := func(field, have string, want bool, known func(string) bool) {
		switch {
		case want && have == "":
			bad("角色 %[1]s 需要 %[2]s", "role %[1]s needs its %[2]s", a.Role, field)
		case !want && have != "":
			bad("角色 %[1]s 不属于某个 %[2]s", "role %[1]s has no %[2]s", a.Role, field)
		case have != "" && top != nil && !known(have):
			bad("没有 %[1]s %[2]q", "no %[1]s %[2]q", field, have)
		}
	}
	need("township", a.Township, a.Role == auth.RoleTownship, func(v string) bool { _, ok := top.TownshipName[v]; return ok })
	need("village", a.Village, a.Role == auth.RoleVillage, func(v string) bool { _, ok := top.VillageTownship[v]; return ok })
	need("department", a.Department, a.Role == auth.RoleDepartment, func(v string) bool { _, ok := top.Departments[v]; return ok })
	if utf8.RuneCountInString(a.DisplayName) > 64 {
		bad("显示名至多 64 个字符", "display_name: at most 64 characters")
	}
	if a.Phone != "" && !phoneRE.MatchString(a.Phone) {
		bad("电话 %[1]q 无效（数字，可带 + 和 -）", "phone %[1]q: digits, with + and - allowed", a.Phone)
	}
	if len(zh) == 0 {
		return nil
	}
	return event.Refuse(event.ErrBadRequest, "%s / %s", strings.Join(zh, "；"), strings.Join(en, "; "))
}

var phoneRE = regexp.MustCompile(`^\+?[0-9][0-9-]{4,19}$`)

func apply(a *Account, sp Spec) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = strings.TrimSpace(*v)
		}
	}
	set(&a.DisplayName, sp.DisplayName)
	set(&a.Role, sp.Role)
	set(&a.Township, sp.Township)
	set(&a.Village, sp.Village)
	set(&a.Department, sp.Department)
	set(&a.Phone, sp.Phone)
}

func describe(a Account) string {
	s := "角色 / role: " + a.Role
	for _, f := range []struct{ k, v string }{{"township", a.Township}, {"village", a.Village}, {"department", a.Department}} {
		if f.v != "" {
			s += "; " + f.k + ": " + f.v
		}
	}
	return s
}

// diff names what an update changed, for the audit (the phone masked).
func diff(b, a Account) string {
	var out []string
	for _, f := range []struct{ k, was, is string }{
		{"display_name", b.DisplayName, a.DisplayName}, {"role", b.Role, a.Role}, {"township", b.Township, a.Township},
		{"village", b.Village, a.Village}, {"department", b.Department, a.Department}, {"phone", MaskPhone(b.Phone), MaskPhone(a.Phone)},
	} {
		if f.was != f.is {
			out = append(out, fmt.Sprintf("%s: %q → %q", f.k, f.was, f.is))
		}
	}
	return strings.Join(out, "; ")
}

// tempAlphabet leaves out the characters read one for another (0 O, 1 l I).
const tempAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// temporary makes a temporary password (14 characters of tempAlphabet in
// groups, with a symbol: it passes the policy) and its hash.
func (s *Store) temporary() (string, string, error) {
	for {
		var b strings.Builder
		for i := 0; i < 12; i++ {
			if i == 4 || i == 8 {
				b.WriteByte('-')
			}
			n, err := rand.Int(rand.Reader, big.NewInt(int64(len(tempAlphabet))))
			if err != nil {
				return "", "", err
			}
			b.WriteByte(tempAlphabet[n.Int64()])
		}
		pw := b.String()
		if password.CheckAccount("", pw) != nil {
			continue // no digit, or no upper case: draw again
		}
		h, err := password.Hash(pw, s.o.Params)
		return pw, h, err
	}
}
