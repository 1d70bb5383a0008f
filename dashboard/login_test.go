package dashboard

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pquerna/otp/totp"

	"snowhub/configs"
	"snowhub/internal/auth"
	"snowhub/internal/login"
	"snowhub/internal/password"
)

const otpSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

// startLoginServer is a server whose people log in: zr-desk (a township
// desk), admin (no second factor), sec (with one).
func startLoginServer(t *testing.T, secure bool) *Server {
	t.Helper()
	fast := password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	h, _ := password.Hash("Xuelang-2026", fast)
	accs := map[string]login.Account{
		"zr-desk": {Principal: auth.Principal{Name: "zr-desk", Role: auth.RoleTownship, Township: "zhaoren"}, PasswordHash: h},
		"admin":   {Principal: auth.Principal{Name: "admin", Role: auth.RoleAdmin}, PasswordHash: h},
		"sec":     {Principal: auth.Principal{Name: "sec", Role: auth.RoleSecurityAdmin}, PasswordHash: h, TOTPSecret: otpSecret},
	}
	svc, err := login.New(login.Options{
		Accounts: func(n string) (login.Account, bool) { a, ok := accs[n]; return a, ok },
		Settings: func() login.Settings {
			return login.Settings{IdleTimeout: time.Minute, Lifetime: time.Hour, LockoutFailures: 5, LockoutWindow: 15 * time.Minute, LockoutFor: 15 * time.Minute}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &configs.Config{Listen: "127.0.0.1:0", Auth: configs.AuthConfig{SecureCookies: secure}}
	s, err := New(Options{Config: func() *configs.Config { return cfg },
		Auth:      func(tok string) (auth.Principal, bool) { p, ok := principals[tok]; return p, ok },
		Cameras:   fakeCameras{},
		Incidents: &fakeIncidents{},
		Login:     svc,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newBrowser(t *testing.T, s *Server) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: "http://" + s.Addr(), c: &http.Client{Jar: jar}}
}

func (b *browser) do(method, path, body string, hdr ...string) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest(method, b.base+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	got, _ := io.ReadAll(res.Body)
	return res, string(got)
}

func (b *browser) login(name, pw, otp string) (*http.Response, string) {
	b.t.Helper()
	body, _ := json.Marshal(map[string]string{"name": name, "password": pw, "otp": otp})
	return b.do("POST", "/api/v1/login", string(body))
}

func TestLoginAnswers(t *testing.T) {
	s := startLoginServer(t, false)
	b := newBrowser(t, s)
	for _, c := range []struct {
		name, pw, otp string
		code          int
		says          string
	}{
		{"zr-desk", "wrong-one", "", 401, "wrong name, password or code"},
		{"nobody", "Xuelang-2026", "", 401, "wrong name, password or code"},
		{"", "", "", 400, "name and password"},
		{"sec", "Xuelang-2026", "", 428, `"need":"otp"`},
		{"sec", "Xuelang-2026", "123456", 401, "wrong"},
	} {
		res, body := b.login(c.name, c.pw, c.otp)
		if res.StatusCode != c.code || !strings.Contains(body, c.says) {
			t.Errorf("%s/%s/%s: %d %s, want %d saying %q", c.name, c.pw, c.otp, res.StatusCode, body, c.code, c.says)
		}
		if len(res.Cookies()) != 0 {
			t.Errorf("%s: a refused login set a cookie", c.name)
		}
	}
	code, _ := totp.GenerateCode(otpSecret, time.Now())
	if res, body := b.login("sec", "Xuelang-2026", code); res.StatusCode != 200 || !strings.Contains(body, `"second_factor":true`) {
		t.Errorf("login with the code: %d %s", res.StatusCode, body)
	}
	// A malformed body is 400, not a refused login.
	if res, _ := b.do("POST", "/api/v1/login", "{"); res.StatusCode != 400 {
		t.Errorf("bad JSON: %d", res.StatusCode)
	}
}

func TestLoginCookieAndSession(t *testing.T) {
	s := startLoginServer(t, false)
	b := newBrowser(t, s)
	res, body := b.login("zr-desk", "Xuelang-2026", "")
	if res.StatusCode != 200 {
		t.Fatalf("login: %d %s", res.StatusCode, body)
	}
	var ck *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "snowhub_session" {
			ck = c
		}
	}
	switch {
	case ck == nil:
		t.Fatalf("no snowhub_session cookie: %v", res.Header["Set-Cookie"])
	case !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Secure:
		t.Errorf("cookie attributes: %s", res.Header.Get("Set-Cookie"))
	case len(ck.Value) != 43:
		t.Errorf("session id of %d characters, want 43 (32 random bytes)", len(ck.Value))
	case strings.Contains(body, ck.Value):
		t.Error("the answer repeats the session id")
	}
	// The cookie is accepted where a token is: me, the API, the websocket.
	if res, body := b.do("GET", "/api/v1/me", ""); res.StatusCode != 200 || !strings.Contains(body, `"via":"session"`) || !strings.Contains(body, `"township":"zhaoren"`) {
		t.Errorf("me by cookie: %d %s", res.StatusCode, body)
	}
	if res, body := b.do("GET", "/api/v1/cameras", ""); res.StatusCode != 200 || !strings.Contains(body, "cam-1") || strings.Contains(body, "cam-2") {
		t.Errorf("cameras by cookie: %d %s", res.StatusCode, body)
	}
	u, _ := url.Parse(b.base)
	hdr := http.Header{"Cookie": {"snowhub_session=" + ck.Value}}
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/ws", hdr)
	if err != nil {
		t.Fatalf("websocket by cookie: %v", err)
	}
	// It closes, with 4001, once the session ends (here: logged out by
	// another request), within the check's second.
	loggedOut := time.Now()
	_, lo := b.do("POST", "/api/v1/logout", "", "Cookie", "snowhub_session="+ck.Value)
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var closeErr error
	for closeErr == nil {
		_, _, closeErr = ws.ReadMessage()
	}
	took := time.Since(loggedOut)
	if ce, ok := closeErr.(*websocket.CloseError); !ok || ce.Code != SessionEndedCode {
		t.Errorf("websocket after logout: %v (logout said %q)", closeErr, lo)
	}
	// One check a second; the slack is for -race on a busy machine.
	if took > sessionCheckEvery+time.Second {
		t.Errorf("websocket closed %v after the logout, want within %v", took, sessionCheckEvery)
	}
	ws.Close()
	// Log in again for the rest.
	res, _ = b.login("zr-desk", "Xuelang-2026", "")
	if res.StatusCode != 200 {
		t.Fatalf("login again: %d", res.StatusCode)
	}
	for _, c := range res.Cookies() {
		if c.Name == "snowhub_session" {
			ck.Value = c.Value
		}
	}
	hdr.Set("Cookie", "snowhub_session="+ck.Value)
	// From another site, the cookie opens no websocket and changes nothing.
	hdr.Set("Origin", "http://evil.example")
	if _, r, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/ws", hdr); err == nil || r == nil || r.StatusCode != 403 {
		t.Errorf("cross-site websocket with the cookie: %v", err)
	}
	if res, _ := b.do("POST", "/api/v1/logout", "", "Origin", "http://evil.example"); res.StatusCode != 403 {
		t.Errorf("cross-site logout: %d", res.StatusCode)
	}
	if res, _ := b.do("POST", "/api/v1/logout", "", "Sec-Fetch-Site", "cross-site"); res.StatusCode != 403 {
		t.Errorf("cross-site logout (Sec-Fetch-Site): %d", res.StatusCode)
	}
	// The bearer token keeps working, beside the cookie, and a token is not
	// logged out.
	if res, body := b.do("GET", "/api/v1/me", "", "Authorization", "Bearer ops-token"); res.StatusCode != 200 || !strings.Contains(body, `"via":"token"`) {
		t.Errorf("me by token: %d %s", res.StatusCode, body)
	}
	if res, _ := b.do("POST", "/api/v1/logout", "", "Authorization", "Bearer ops-token"); res.StatusCode != 400 {
		t.Errorf("logout of a token: %d", res.StatusCode)
	}
	// Logout ends the session and clears the cookie.
	res, _ = b.do("POST", "/api/v1/logout", "", "Origin", b.base)
	if res.StatusCode != 204 || !strings.Contains(res.Header.Get("Set-Cookie"), "Max-Age=0") {
		t.Errorf("logout: %d %s", res.StatusCode, res.Header.Get("Set-Cookie"))
	}
	req, _ := http.NewRequest("GET", b.base+"/api/v1/me", nil)
	req.AddCookie(ck)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 401 {
		t.Errorf("the old cookie after logout: %v %v", res.StatusCode, err)
	}
}

func TestLoginLockout(t *testing.T) {
	s := startLoginServer(t, true)
	b := newBrowser(t, s)
	for i := 1; i <= 4; i++ {
		if res, _ := b.login("zr-desk", "guess-"+string(rune('0'+i)), ""); res.StatusCode != 401 {
			t.Fatalf("failure %d: %d", i, res.StatusCode)
		}
	}
	for _, pw := range []string{"guess-5", "Xuelang-2026"} { // the 5th locks; the right one then is refused
		res, body := b.login("zr-desk", pw, "")
		if res.StatusCode != 423 || !strings.Contains(body, "locked until") || !strings.Contains(body, "解锁") || res.Header.Get("Retry-After") == "" {
			t.Errorf("%s: %d %s", pw, res.StatusCode, body)
		}
	}
	// Another name is not locked; with secure_cookies its cookie is Secure.
	res, body := b.login("admin", "Xuelang-2026", "")
	if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Set-Cookie"), "Secure") {
		t.Errorf("admin: %d %s", res.StatusCode, res.Header.Get("Set-Cookie"))
	}
	// An administrator without a second factor logs in, and is told.
	if !strings.Contains(body, `"second_factor":false`) || !strings.Contains(body, "等保") {
		t.Errorf("admin without a second factor is not told: %s", body)
	}
	// Names tried one after another from one address: past 10 failures
	// the address waits (429), before any hash is computed.
	codes := []int{}
	for i := range 6 {
		res, _ := b.login("name-"+string(rune('a'+i)), "guess", "")
		codes = append(codes, res.StatusCode)
	}
	if want := []int{401, 401, 401, 401, 429, 429}; !slices.Equal(codes, want) {
		t.Errorf("names tried from one address: %v, want %v (6 failures before)", codes, want)
	}
	// A right password from that address waits too; successes spend nothing.
	if res, _ := b.login("admin", "Xuelang-2026", ""); res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
		t.Errorf("after the address's failures: %d", res.StatusCode)
	}
}
