package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gorilla/websocket"

	"snowhub/internal/auth"
	"snowhub/internal/login"
)

// People logging in as themselves: POST /api/v1/login opens a session and
// sets its cookie, which every route then accepts as it accepts a bearer
// token; POST /api/v1/logout ends it; GET /api/v1/me says who is asking,
// how, and what their login lacks (docs/accounts.md).

// SessionCookie is the session cookie's name (the public interface).
const SessionCookie = "snowhub_session"

// LoginService checks people's logins and keeps their sessions
// (internal/login.Service); nil: the login routes answer 503 and no
// cookie is accepted.
type LoginService interface {
	Login(ctx context.Context, name, password, otp string) (*login.Session, error)
	// Session finds a session by its cookie and renews its idle time.
	Session(id string) (login.Session, auth.Principal, bool)
	// Logout ends a session. Login and Logout audit what they do, with
	// the address login.WithRemote puts in ctx; so does the service when
	// it finds a session expired or revoked, and when a name is locked.
	Logout(ctx context.Context, id string) (login.Session, bool)
	// Alive reports whether a session is still in force, without renewing
	// it: a websocket opened by it closes when it ends (watchSession).
	Alive(id string) bool
	// Renew takes the account's current password into a session after
	// its person changed it (the account's other sessions end).
	Renew(id string) (login.Session, bool)
	// Spend marks a TOTP code used (the one that confirmed an enrolment).
	Spend(name, code string)
}

// SessionEndedCode closes a websocket whose session ended (idle, logout,
// lifetime, account changed): the page shows the login, not a reconnect.
const SessionEndedCode = 4001

// sessionCheckEvery is how often an open websocket's session is looked at.
var sessionCheckEvery = time.Second

// watchSession kicks c once the session of id ends; it returns when stop
// closes (the connection is done).
func (s *Server) watchSession(id string, c *client, stop <-chan struct{}) {
	t := time.NewTicker(sessionCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			if !s.o.Login.Alive(id) {
				c.kick(sessionEndedReason)
				return
			}
		}
	}
}

const sessionEndedReason = "session ended"

// secondFactorRoles are the administrators 等级保护 2.0 level 3 asks to
// authenticate with two kinds of credential: they may log in without a
// second factor in this slice, and /api/v1/me says so.
var secondFactorRoles = []string{auth.RoleAdmin, auth.RoleSecurityAdmin, auth.RoleAuditor}

type sessionKey struct{}

// sessionOf is the session a request was authenticated by; nil for a
// bearer token.
func sessionOf(r *http.Request) *login.Session {
	s, _ := r.Context().Value(sessionKey{}).(*login.Session)
	return s
}

// cookieAuth authenticates r by its session cookie: ok false once it has
// answered (no session, a cross-site request).
func (s *Server) cookieAuth(w http.ResponseWriter, r *http.Request) (*http.Request, auth.Principal, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" || s.o.Login == nil {
		return r, auth.Principal{}, false
	}
	sess, p, ok := s.o.Login.Session(c.Value)
	if !ok {
		s.authFail.count.WithLabelValues("session").Inc()
		s.clearCookie(w, r)
		writeError(w, http.StatusUnauthorized, "会话已结束，请重新登录 (the session has ended: log in again)")
		return r, p, false
	}
	if s.crossSite(r) {
		writeError(w, http.StatusForbidden, "跨站请求被拒绝 (a cross-site request with the session cookie is refused)")
		return r, p, false
	}
	if sess.MustChangePassword && !mustChangeAllows[r.Pattern] {
		writeError(w, http.StatusForbidden, "请先修改临时密码 / change your temporary password first (POST /api/v1/me/password)")
		return r, p, false
	}
	if sess.MustEnrolSecondFactor && !mustChangeAllows[r.Pattern] {
		writeError(w, http.StatusForbidden, "请先绑定动态口令：等保三级要求此角色使用两种鉴别方式 / enrol a second factor first: this role logs in with two kinds of authentication (POST /api/v1/me/totp)")
		return r, p, false
	}
	return r.WithContext(context.WithValue(r.Context(), sessionKey{}, &sess)), p, true
}

// crossSite reports whether r, which carries the session cookie, may be a
// forgery by another site: a request that changes something, or a
// websocket upgrade (whose handshake SameSite does not always cover),
// from an origin other than the hub's own or dashboard.allowed_origins.
// Reads are left to SameSite=Strict.
func (s *Server) crossSite(r *http.Request) bool {
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && !websocket.IsWebSocketUpgrade(r) {
		return false
	}
	if r.Header.Get("Origin") != "" {
		return !s.checkOrigin(r)
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return true
	}
	return false
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, sess *login.Session) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: sess.ID, Path: "/", Expires: sess.Expires,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secure(r)})
}

func (s *Server) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secure(r)})
}

// secure: the cookie is sent over TLS only when the hub serves TLS, or is
// told it sits behind a proxy that does (auth.secure_cookies).
func (s *Server) secure(r *http.Request) bool {
	return r.TLS != nil || s.o.Config().Auth.SecureCookies
}

// Failed logins from one address: a burst of loginFailBurst, then one
// each loginFailEvery (429 past them).
const (
	loginFailBurst = 10
	loginFailEvery = 6 * time.Second
)

func hostOf(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// maxLoginBody bounds a login request: a name, a password, a code.
const maxLoginBody = 4 << 10

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if s.o.Login == nil {
		unavailable(w, "login")
		return
	}
	if s.crossSite(r) {
		writeError(w, http.StatusForbidden, "跨站请求被拒绝 (a cross-site login is refused)")
		return
	}
	var req struct {
		Name     string `json:"name"`
		Password string `json:"password"`
		OTP      string `json:"otp"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxLoginBody)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "请求应为 JSON {\"name\",\"password\",\"otp\"} (the body is JSON {\"name\",\"password\",\"otp\"})")
		return
	}
	if req.Name == "" || req.Password == "" {
		writeError(w, http.StatusBadRequest, "请输入用户名和密码 (name and password are needed)")
		return
	}
	// Each check costs both cores for 30 ms: an address whose logins keep
	// failing (names tried one after another, which no name's lock stops)
	// waits, before any hash is computed. Only failures spend, so a
	// township center behind one address logs its whole shift in at once.
	throttle := s.loginFails.limiter(hostOf(r))
	if throttle.Tokens() < 1 {
		wait := throttle.Reserve()
		d := wait.Delay()
		wait.Cancel()
		w.Header().Set("Retry-After", strconv.Itoa(int(d.Seconds())+1))
		writeError(w, http.StatusTooManyRequests, "此地址登录失败过多，请稍后再试 (too many failed logins from this address; try again later)")
		return
	}
	sess, err := s.o.Login.Login(login.WithRemote(r.Context(), r.RemoteAddr), req.Name, req.Password, req.OTP)
	var locked *login.LockedError
	if errors.As(err, &locked) || errors.Is(err, login.ErrWrong) {
		throttle.Allow()
	}
	switch {
	case err == nil:
	case errors.Is(err, login.ErrNeedOTP):
		writeJSON(w, http.StatusPreconditionRequired, map[string]any{"error": err.Error(), "need": "otp"})
		return
	case errors.As(err, &locked):
		s.authFail.loginRefused(r, req.Name, "locked", err.Error())
		w.Header().Set("Retry-After", strconv.Itoa(int(time.Until(locked.Until).Seconds())+1))
		writeJSON(w, http.StatusLocked, map[string]any{"error": err.Error(), "until": locked.Until.UTC()})
		return
	case errors.Is(err, login.ErrWrong):
		s.authFail.loginRefused(r, req.Name, "login", "wrong name, password or code")
		writeError(w, http.StatusUnauthorized, err.Error())
		return
	default:
		writeError(w, http.StatusServiceUnavailable, "登录暂不可用 (login not available now): "+err.Error())
		return
	}
	cur, p, ok := s.o.Login.Session(sess.ID)
	if !ok {
		writeError(w, http.StatusServiceUnavailable, "登录暂不可用 (login not available now)")
		return
	}
	s.log.Info("登录成功 (logged in)", "name", p.Name, "role", p.Role, "remote", r.RemoteAddr, "second_factor", cur.SecondFactor)
	s.setCookie(w, r, sess)
	writeJSON(w, http.StatusOK, me(p, &cur))
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	sess := sessionOf(r)
	if sess == nil {
		writeError(w, http.StatusBadRequest, "此请求不是会话，令牌无需登出 (this request carries no session: a bearer token is not logged out)")
		return
	}
	s.o.Login.Logout(login.WithRemote(r.Context(), r.RemoteAddr), sess.ID)
	s.log.Info("登出 (logged out)", "name", p.Name, "remote", r.RemoteAddr)
	s.clearCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
}

// meAnswer is GET /api/v1/me: the principal's fields as before, how it
// authenticated, and what its login lacks.
type meAnswer struct {
	auth.Principal
	Via          string         `json:"via"` // session | token
	Session      *login.Session `json:"session,omitempty"`
	SecondFactor bool           `json:"second_factor"`
	Notices      []string       `json:"notices,omitempty"`
}

func me(p auth.Principal, sess *login.Session) meAnswer {
	a := meAnswer{Principal: p, Via: "token"}
	if sess != nil {
		a.Via, a.Session, a.SecondFactor = "session", sess, sess.SecondFactor
	}
	if !a.SecondFactor && slices.Contains(secondFactorRoles, p.Role) {
		a.Notices = append(a.Notices, "管理员账号应启用第二因素（动态口令）：等保 2.0 三级要求两种鉴别方式 / an administrator should have a second factor (TOTP): 等保 2.0 level 3 asks for two kinds of authentication")
	}
	return a
}

func (s *Server) whoami(w http.ResponseWriter, r *http.Request, p auth.Principal) {
	writeJSON(w, http.StatusOK, me(p, sessionOf(r)))
}
