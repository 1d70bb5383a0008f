package app

import (
	"crypto/sha256"

	"snowhub/configs"
	"snowhub/internal/auth"
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
