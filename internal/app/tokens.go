package app

import (
	"crypto/sha256"
	"errors"

	"snowhub/configs"
	"snowhub/internal/auth"
	"snowhub/internal/event"
	"snowhub/internal/login"
)

// Who a request is: the users' bearer tokens, indexed by their hash,
// rebuilt with each configuration.

// setTokens indexes cfg's users' principals by their token's hash.
func (h *Hub) setTokens(cfg *configs.Config) {
	m := make(map[[32]byte]auth.Principal, len(cfg.Users))
	top := h.topo()
	for _, u := range cfg.Users {
		if u.Token == "" {
			continue
		}
		m[sha256.Sum256([]byte(u.Token))] = auth.UserPrincipal(u, top.Topology)
	}
	h.tokens.Store(&m)
	accs := map[string]login.Account{}
	for _, u := range cfg.Users {
		if u.PasswordHash != "" {
			accs[u.Name] = login.Account{Principal: auth.UserPrincipal(u, top.Topology), PasswordHash: u.PasswordHash, TOTPSecret: u.TOTPSecret}
		}
	}
	h.accounts.Store(&accs)
}

// newLogin is the login service over the configuration's accounts, with
// the configuration's auth settings as they are at each call.
func (h *Hub) newLogin() (*login.Service, error) {
	return login.New(login.Options{
		Accounts: h.loginAccount,
		UseRecovery: func(name, code string) bool {
			return h.accts != nil && h.accts.UseRecovery(name, code)
		},
		Settings: func() login.Settings {
			a := h.Config().Auth
			return login.Settings{IdleTimeout: a.IdleTimeout, Lifetime: a.SessionLifetime,
				LockoutFailures: a.LockoutFailures, LockoutWindow: a.LockoutWindow, LockoutFor: a.LockoutFor}
		},
		Logger: h.log.With("component", "login"),
		// The store is built after the login service and before anyone
		// can log in (Start).
		Audit: func(a event.AuditEntry) error {
			if h.alerts == nil {
				return errors.New("incident store not built")
			}
			return h.alerts.AuditSecurity(a)
		},
	})
}

// authenticate looks a bearer token up by its hash, so the comparison does
// not leak the token's bytes through timing.
func (h *Hub) authenticate(token string) (auth.Principal, bool) {
	if token == "" {
		return auth.Principal{}, false
	}
	if p, ok := (*h.tokens.Load())[sha256.Sum256([]byte(token))]; ok {
		return p, true
	}
	// An API key or a display made in the admin pages (accounts.db).
	if h.accts != nil {
		if k, ok := h.accts.Authenticate(token); ok {
			return k.Principal(), true
		}
	}
	return auth.Principal{}, false
}
