package dashboard

import (
	"net/http"

	"snowhub/internal/login"

	"snowhub/internal/accounts"
	"snowhub/internal/auth"
	"snowhub/internal/event"
)

// The accounts the hub keeps (docs/accounts.md): the system administrator
// creates, re-scopes, disables and resets them; the security administrator
// sees them and lifts login locks; a person changes their own password.
// Every change is audited by the service, with who made it.

// AccountService manages accounts (the assembly's, over internal/accounts,
// the configuration's users and the login service's locks); nil: the
// routes answer 503.
type AccountService interface {
	// List is every account, the hub's and the configuration's, with its lock.
	List() []accounts.View
	Create(by auth.Principal, sp accounts.Spec) (accounts.View, string, error)
	Update(by auth.Principal, name string, sp accounts.Spec) (accounts.View, error)
	SetState(by auth.Principal, name, state string) (accounts.View, error)
	// ResetPassword gives a temporary password, returned once.
	ResetPassword(by auth.Principal, name string) (accounts.View, string, error)
	// Unlock lifts a login lock; false when the name was not locked.
	Unlock(by auth.Principal, name string) bool
	// ChangePassword is the person's own change.
	ChangePassword(name, current, new string) error
	// BeginEnrol starts the person's own second factor: a secret and its
	// QR code for an authenticator app.
	BeginEnrol(p auth.Principal) (accounts.Enrolment, error)
	// ConfirmEnrol keeps it once the app's first code is right, and
	// returns the recovery codes (shown once).
	ConfirmEnrol(p auth.Principal, code string) ([]string, error)
	// ResetFactor removes a person's second factor (a lost phone).
	ResetFactor(by auth.Principal, name string) error
}

// maxAccountBody bounds an account request: a few short fields.
const maxAccountBody = 4 << 10

func (s *Server) accountRoutes(api func(string, func(http.ResponseWriter, *http.Request, auth.Principal))) {
	api("GET /api/v1/accounts", s.accountList)
	api("POST /api/v1/accounts", s.accountCreate)
	api("PATCH /api/v1/accounts/{name}", s.accountUpdate)
	api("POST /api/v1/accounts/{name}/state", s.accountState)
	api("POST /api/v1/accounts/{name}/reset-password", s.accountReset)
	api("DELETE /api/v1/accounts/{name}/lock", s.accountUnlock)
	api("POST /api/v1/me/password", s.passwordChange)
	api("POST /api/v1/me/totp", s.totpBegin)
	api("POST /api/v1/me/totp/confirm", s.totpConfirm)
	api("DELETE /api/v1/accounts/{name}/totp", s.totpReset)
}

// accountsAllowed answers the refusal when p may not do action on
// accounts, or when there is no account service.
func (s *Server) accountsAllowed(w http.ResponseWriter, p auth.Principal, action string) bool {
	return allowedTo(w, p, action, s.o.Accounts != nil, "accounts")
}

// allowedTo answers the refusal when p may not do action (of the hub as a
// whole, no scope), or 503 when the service is not there.
func allowedTo(w http.ResponseWriter, p auth.Principal, action string, there bool, what string) bool {
	if err := auth.Allow(p, action, auth.Scope{}); err != nil {
		writeErr(w, err)
		return false
	}
	if !there {
		unavailable(w, what)
		return false
	}
	return true
}

func (s *Server) accountList(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !s.accountsAllowed(w, p, auth.AccountsRead) {
		return
	}
	list := s.o.Accounts.List()
	if p.Role != auth.RoleAdmin {
		// Phones are personal data: whole only on the admin's page.
		for i := range list {
			list[i].Phone = accounts.MaskPhone(list[i].Phone)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"accounts": list})
}

type withPassword struct {
	Account         accounts.View `json:"account"`
	InitialPassword string        `json:"initial_password"`
	Note            string        `json:"note"`
}

const initialNote = "临时密码只显示这一次，请当面或电话告知本人；首次登录须修改 / the temporary password is shown this once: give it to the person directly; it must be changed at the first login"

func (s *Server) accountCreate(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !s.accountsAllowed(w, p, auth.AccountsWrite) {
		return
	}
	var sp accounts.Spec
	if !decodeJSON(w, r, maxAccountBody, &sp, false, true) {
		return
	}
	v, pw, err := s.o.Accounts.Create(p, sp)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, withPassword{Account: v, InitialPassword: pw, Note: initialNote})
}

func (s *Server) accountUpdate(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !s.accountsAllowed(w, p, auth.AccountsWrite) {
		return
	}
	var sp accounts.Spec
	if !decodeJSON(w, r, maxAccountBody, &sp, false, true) {
		return
	}
	if sp.Name != "" && sp.Name != r.PathValue("name") {
		writeError(w, http.StatusBadRequest, "账号名不能修改 / an account's name cannot be changed")
		return
	}
	v, err := s.o.Accounts.Update(p, r.PathValue("name"), sp)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) accountState(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !s.accountsAllowed(w, p, auth.AccountsWrite) {
		return
	}
	var req struct {
		State string `json:"state"`
	}
	if !decodeJSON(w, r, maxAccountBody, &req, false, true) {
		return
	}
	v, err := s.o.Accounts.SetState(p, r.PathValue("name"), req.State)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) accountReset(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !s.accountsAllowed(w, p, auth.AccountsWrite) {
		return
	}
	v, pw, err := s.o.Accounts.ResetPassword(p, r.PathValue("name"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, withPassword{Account: v, InitialPassword: pw, Note: initialNote})
}

func (s *Server) accountUnlock(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !s.accountsAllowed(w, p, auth.Locks) {
		return
	}
	if !s.o.Accounts.Unlock(p, r.PathValue("name")) {
		writeErr(w, event.Refuse(event.ErrNotFound, "%s 没有被锁定 / %s is not locked", r.PathValue("name"), r.PathValue("name")))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// passwordChange is a person changing their own password, with the
// session they are logged in by (a temporary one is changed here before
// anything else is allowed). The session goes on; the account's other
// sessions end.
func (s *Server) passwordChange(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	sess := sessionOf(r)
	if sess == nil {
		writeError(w, http.StatusBadRequest, "修改密码需要登录会话，令牌没有密码 / a password is changed in a login session: a bearer token has none")
		return
	}
	if s.o.Accounts == nil {
		unavailable(w, "accounts")
		return
	}
	var req struct {
		Current string `json:"current"`
		New     string `json:"new"`
	}
	if !decodeJSON(w, r, maxLoginBody, &req, false, true) {
		return
	}
	if req.Current == "" || req.New == "" {
		writeError(w, http.StatusBadRequest, "请输入原密码和新密码 / current and new are needed")
		return
	}
	if err := s.o.Accounts.ChangePassword(p.Name, req.Current, req.New); err != nil {
		writeErr(w, err)
		return
	}
	cur, ok := s.o.Login.Renew(sess.ID)
	if !ok {
		writeError(w, http.StatusUnauthorized, "会话已结束，请用新密码登录 (the session has ended: log in with the new password)")
		return
	}
	writeJSON(w, http.StatusOK, me(p, &cur))
}

// sessionOnly answers 400 for a request that is not a login session's,
// and 503 without an account service.
func (s *Server) sessionOnly(w http.ResponseWriter, r *http.Request, what string) (*login.Session, bool) {
	sess := sessionOf(r)
	if sess == nil {
		writeError(w, http.StatusBadRequest, what+"需要登录会话，令牌不能 / "+what+" is for a login session: a bearer token cannot")
		return nil, false
	}
	if s.o.Accounts == nil {
		unavailable(w, "accounts")
		return nil, false
	}
	return sess, true
}

// totpBegin starts the person's own second factor.
func (s *Server) totpBegin(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if _, ok := s.sessionOnly(w, r, "绑定动态口令 "); !ok {
		return
	}
	e, err := s.o.Accounts.BeginEnrol(p)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

// totpConfirm keeps the second factor once the app's first code is right;
// the session counts as one with a second factor from then on.
func (s *Server) totpConfirm(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	sess, ok := s.sessionOnly(w, r, "绑定动态口令 ")
	if !ok {
		return
	}
	var req struct {
		Code string `json:"code"`
	}
	if !decodeJSON(w, r, maxLoginBody, &req, false, true) {
		return
	}
	codes, err := s.o.Accounts.ConfirmEnrol(p, req.Code)
	if err != nil {
		writeErr(w, err)
		return
	}
	s.o.Login.Spend(p.Name, req.Code) // seen once: good for no login

	cur, ok := s.o.Login.Renew(sess.ID)
	if !ok {
		writeError(w, http.StatusUnauthorized, "会话已结束，请重新登录 / the session has ended: log in again")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"recovery_codes": codes, "me": me(p, &cur),
		"note": "恢复码只显示这一次，每个只能用一次，请抄下或打印后妥善保存 / the recovery codes are shown this once, each good for one login: write them down or print them and keep them safe"})
}

func (s *Server) totpReset(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	if !s.accountsAllowed(w, p, auth.Factors) {
		return
	}
	if err := s.o.Accounts.ResetFactor(p, r.PathValue("name")); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// mustChangeAllows are what a session opened with a temporary password,
// or without the second factor its role needs, may do first: see who it
// is, change the password, enrol the factor, log out.
var mustChangeAllows = map[string]bool{
	"GET /api/v1/me":               true,
	"POST /api/v1/me/password":     true,
	"POST /api/v1/me/totp":         true,
	"POST /api/v1/me/totp/confirm": true,
	"POST /api/v1/logout":          true,
}
