package app

import (
	"errors"
	"path/filepath"
	"slices"

	"snowhub/configs"
	"snowhub/internal/accounts"
	"snowhub/internal/auth"
	"snowhub/internal/event"
	"snowhub/internal/login"
)

// The people's accounts: those the configuration declares (tokens.go
// indexes them) and those the hub keeps in data_dir/accounts.db, created
// in the admin page. A name the configuration declares is the file's: the
// store neither creates nor edits one, and the file's wins at a login.

// openAccounts opens the store of the hub's accounts.
func (h *Hub) openAccounts(cfg *configs.Config) error {
	st, err := accounts.Open(accounts.Options{
		Path:       filepath.Join(cfg.DataDir, "accounts.db"),
		Topology:   func() *configs.Topology { return h.topo().Topology },
		Configured: h.configured,
		Logger:     h.log.With("component", "accounts"),
		// The store is built before the incident store, and nobody can
		// change an account before Start.
		Audit: func(a event.AuditEntry) error {
			if h.alerts == nil {
				return errors.New("incident store not built")
			}
			return h.alerts.AuditSecurity(a)
		},
	})
	if err != nil {
		return err
	}
	h.accts = st
	h.deferClose("accounts", st.Close)
	return nil
}

// configured reports whether the configuration declares the user name.
func (h *Hub) configured(name string) bool {
	return slices.ContainsFunc(h.Config().Users, func(u configs.User) bool { return u.Name == name })
}

// loginAccount is the account a login checks: the configuration's, else
// an active one of the store; with the second factor its person enrolled
// in the hub when the file gives it none, and whether its role needs one.
func (h *Hub) loginAccount(name string) (login.Account, bool) {
	acc, ok := h.fileAccount(name)
	if !ok {
		if h.accts == nil || h.configured(name) {
			return login.Account{}, false
		}
		a, found := h.accts.Get(name)
		if !found || a.State != accounts.Active {
			return login.Account{}, false
		}
		acc = login.Account{Principal: a.Principal(h.topo().Topology), PasswordHash: a.PasswordHash,
			Stamp: a.Stamp(), MustChange: a.MustChange}
	}
	if acc.TOTPSecret == "" && h.accts != nil {
		if f, ok := h.accts.Factor(name); ok {
			acc.TOTPSecret = f.Secret
		}
	}
	acc.NeedsSecondFactor = slices.Contains(h.Config().Auth.RequireTwoFactor, acc.Principal.Role)
	return acc, true
}

// fileAccount is the configuration's account of name (one with a password).
func (h *Hub) fileAccount(name string) (login.Account, bool) {
	m := h.accounts.Load()
	if m == nil {
		return login.Account{}, false
	}
	a, ok := (*m)[name]
	return a, ok
}

// accountService is the admin page's view of both kinds of account, with
// the login service's locks (dashboard.AccountService).
type accountService struct{ h *Hub }

func (s accountService) view(v accounts.View) accounts.View {
	if _, ok := s.h.accts.Factor(v.Name); ok {
		v.SecondFactor = true
	}
	if until, ok := s.h.login.Locked(v.Name); ok {
		u := until.UTC()
		v.LockedUntil = &u
	}
	return v
}

func (s accountService) List() []accounts.View {
	var out []accounts.View
	for _, u := range s.h.Config().Users {
		if u.Role == auth.RoleHub {
			continue // another hub of the prefecture: a token, not a person
		}
		out = append(out, s.view(accounts.ConfigView(u)))
	}
	for _, a := range s.h.accts.List() {
		if !s.h.configured(a.Name) {
			out = append(out, s.view(a.View()))
		}
	}
	return out
}

func (s accountService) Create(by auth.Principal, sp accounts.Spec) (accounts.View, string, error) {
	a, pw, err := s.h.accts.Create(by, sp)
	return s.view(a.View()), pw, err
}

func (s accountService) Update(by auth.Principal, name string, sp accounts.Spec) (accounts.View, error) {
	a, err := s.h.accts.Update(by, name, sp)
	return s.view(a.View()), err
}

func (s accountService) SetState(by auth.Principal, name, state string) (accounts.View, error) {
	a, err := s.h.accts.SetState(by, name, state)
	return s.view(a.View()), err
}

func (s accountService) ResetPassword(by auth.Principal, name string) (accounts.View, string, error) {
	a, pw, err := s.h.accts.ResetPassword(by, name)
	if err == nil {
		// A reset lifts the lock: the person logs in with what they are given.
		s.h.login.Unlock(by.Name, by.Role, name)
	}
	return s.view(a.View()), pw, err
}

func (s accountService) Unlock(by auth.Principal, name string) bool {
	return s.h.login.Unlock(by.Name, by.Role, name)
}

func (s accountService) ChangePassword(name, current, new string) error {
	if s.h.configured(name) {
		return event.Refuse(event.ErrConflict, "账号 %s 在配置文件中声明，密码只能在文件中修改（snowhub -hash-password）/ account %s is declared in the configuration: its password is changed there (snowhub -hash-password)", name, name)
	}
	_, err := s.h.accts.ChangePassword(name, current, new)
	return err
}

func (s accountService) BeginEnrol(p auth.Principal) (accounts.Enrolment, error) {
	if a, ok := s.h.fileAccount(p.Name); ok && a.TOTPSecret != "" {
		return accounts.Enrolment{}, event.Refuse(event.ErrConflict, "动态口令在配置文件中设置 / the second factor is set in the configuration (totp_secret)")
	}
	return s.h.accts.BeginEnrol(p.Name, "snowhub "+s.h.Config().County.Name)
}

func (s accountService) ConfirmEnrol(p auth.Principal, code string) ([]string, error) {
	return s.h.accts.ConfirmEnrol(p, code)
}

func (s accountService) ResetFactor(by auth.Principal, name string) error {
	return s.h.accts.ResetFactor(by, name)
}

func (s accountService) Keys() []accounts.Key { return s.h.accts.Keys() }

func (s accountService) KeyByID(id string) (accounts.Key, bool) { return s.h.accts.KeyByID(id) }

func (s accountService) CreateKey(by auth.Principal, sp accounts.KeySpec) (accounts.Key, string, error) {
	return s.h.accts.CreateKey(by, sp)
}

func (s accountService) RevokeKey(by auth.Principal, id string) (accounts.Key, error) {
	return s.h.accts.RevokeKey(by, id)
}
