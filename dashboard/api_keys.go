package dashboard

import (
	"net/http"
	"time"

	"snowhub/internal/accounts"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// API keys for machines and displays for wall screens (docs/accounts.md):
// long-lived credentials with a role and scope, shown once, sent only in
// the Authorization header, revoked at once (an open websocket of one
// closes within a second: watchToken).

// KeyService keeps the API keys (internal/accounts); the assembly's
// AccountService gives it.
type KeyService interface {
	Keys() []accounts.Key
	KeyByID(id string) (accounts.Key, bool)
	CreateKey(by auth.Principal, sp accounts.KeySpec) (accounts.Key, string, error)
	RevokeKey(by auth.Principal, id string) (accounts.Key, error)
}

func (s *Server) keyRoutes(api func(string, func(http.ResponseWriter, *http.Request, auth.Principal))) {
	api("GET /api/v1/keys", s.keyList)
	api("POST /api/v1/keys", s.keyCreate)
	api("DELETE /api/v1/keys/{id}", s.keyRevoke)
	api("GET /api/v1/displays", s.displayList)
	api("POST /api/v1/displays", s.displayCreate)
	api("DELETE /api/v1/displays/{id}", s.displayRevoke)
}

func (s *Server) keysAllowed(w http.ResponseWriter, p auth.Principal, action string) bool {
	return allowedTo(w, p, action, s.o.Keys != nil, "keys")
}

func shown(keys []accounts.Key, keep func(accounts.Key) bool) []accounts.Key {
	out := []accounts.Key{}
	for _, k := range keys {
		if keep(k) {
			out = append(out, k.Shown())
		}
	}
	return out
}

func isDisplay(k accounts.Key) bool { return k.Role == auth.RoleDisplay }

type withToken struct {
	Key   accounts.Key `json:"key"`
	Token string       `json:"token"`
	Note  string       `json:"note"`
}

const keyNote = "密钥只显示这一次，请立即填入使用它的系统或大屏；只通过 Authorization: Bearer 请求头发送 / the key is shown this once: put it into the system or screen that uses it now; send it only in the Authorization: Bearer header"

func (s *Server) keyList(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !s.keysAllowed(w, p, auth.AccountsRead) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": shown(s.o.Keys.Keys(), func(accounts.Key) bool { return true })})
}

func (s *Server) keyCreate(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !s.keysAllowed(w, p, auth.AccountsWrite) {
		return
	}
	var sp accounts.KeySpec
	if !decodeJSON(w, r, maxAccountBody, &sp, false, true) {
		return
	}
	s.createKey(w, p, sp)
}

func (s *Server) createKey(w http.ResponseWriter, p auth.Principal, sp accounts.KeySpec) {
	k, tok, err := s.o.Keys.CreateKey(p, sp)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, withToken{Key: k.Shown(), Token: tok, Note: keyNote})
}

func (s *Server) keyRevoke(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !s.keysAllowed(w, p, auth.KeysRevoke) {
		return
	}
	s.revokeKey(w, p, r.PathValue("id"))
}

func (s *Server) revokeKey(w http.ResponseWriter, p auth.Principal, id string) {
	k, err := s.o.Keys.RevokeKey(p, id)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, k.Shown())
}

func (s *Server) displayList(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !s.keysAllowed(w, p, auth.Displays) {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"displays": shown(s.o.Keys.Keys(), isDisplay)})
}

// displayCreate enrols a wall screen: a key of role display, county-wide,
// for as long as the county keeps the screen (no expiry unless given).
func (s *Server) displayCreate(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !s.keysAllowed(w, p, auth.Displays) {
		return
	}
	var req struct {
		Note    string     `json:"note"`
		Expires *time.Time `json:"expires"`
	}
	if !decodeJSON(w, r, maxAccountBody, &req, false, true) {
		return
	}
	s.createKey(w, p, accounts.KeySpec{Note: req.Note, Role: auth.RoleDisplay, Expires: req.Expires})
}

func (s *Server) displayRevoke(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !s.keysAllowed(w, p, auth.Displays) {
		return
	}
	if k, ok := s.o.Keys.KeyByID(r.PathValue("id")); !ok || !isDisplay(k) {
		writeErr(w, event.Refuse(event.ErrNotFound, "没有大屏 %s / no display %s", r.PathValue("id"), r.PathValue("id")))
		return
	}
	s.revokeKey(w, p, r.PathValue("id"))
}

type tokenKey struct{}

// tokenOf is the bearer token a request was authenticated by; "" for a
// session.
func tokenOf(r *http.Request) string {
	t, _ := r.Context().Value(tokenKey{}).(string)
	return t
}

// watchToken kicks c once the token it was opened with no longer
// authenticates as p (a key revoked or expired, a user removed or
// re-scoped by a reload); it returns when stop closes.
func (s *Server) watchToken(tok string, p auth.Principal, c *client, stop <-chan struct{}) {
	t := time.NewTicker(sessionCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if now, ok := s.o.Auth(tok); !ok || now != p {
				c.kick(sessionEndedReason)
				return
			}
		}
	}
}
