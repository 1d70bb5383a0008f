package app

import (
	"crypto/sha256"

	"snowhub/configs"
	"snowhub/internal/auth"
)

// Who a request is: the users' bearer tokens, indexed by their hash,
// rebuilt with each configuration.

// setTokens indexes cfg's users by their token's hash; a village user acts
// within its village's township.
func (h *Hub) setTokens(cfg *configs.Config) {
	m := make(map[[32]byte]auth.Principal, len(cfg.Users))
	top := h.topo()
	for _, u := range cfg.Users {
		if u.Token == "" {
			continue
		}
		p := auth.Principal{Name: u.Name, Role: u.Role, Township: u.Township, Village: u.Village, Department: u.Department}
		if p.Role == auth.RoleVillage {
			p.Township = top.VillageTownship[u.Village] // a village center acts within its township
		}
		m[sha256.Sum256([]byte(u.Token))] = p
	}
	h.tokens.Store(&m)
}

// authenticate looks a bearer token up by its hash, so the comparison does
// not leak the token's bytes through timing.
func (h *Hub) authenticate(token string) (auth.Principal, bool) {
	if token == "" {
		return auth.Principal{}, false
	}
	p, ok := (*h.tokens.Load())[sha256.Sum256([]byte(token))]
	return p, ok
}
