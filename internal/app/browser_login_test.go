package app

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"snowhub/internal/password"
)

// uiPerson logs in with a name and password (the county of the browser
// tests has no token for it).
const (
	uiPerson         = "zhaoren-wang"
	uiPersonPassword = "Zhaoren-Wang-2026"
)

var uiPersonHash = sync.OnceValue(func() string {
	h, err := password.Hash(uiPersonPassword, password.Default)
	if err != nil {
		panic(err)
	}
	return h
})

// TestLoginWithPassword: on a phone's width, a township person opens the
// login page, gets a wrong password refused in words, logs in with name
// and password, lands on their desk (the session in an HttpOnly cookie
// the page cannot read), logs out and is back at the login page; the desk
// opened again without a session offers the same login, which brings the
// desk back.
func TestLoginWithPassword(t *testing.T) {
	e := startUI(t, uiOptions{})
	b := newBrowserSized(t, 390, 844)
	b.open(e.base + "/login")
	b.waitJS("the login form", `!!document.getElementById('login-form') && document.activeElement?.id === 'login-name'`, 10*time.Second)
	b.axe("login")
	// English on the toggle, and back.
	b.click(".login button.lang")
	b.waitJS("the login in English", `document.querySelector('.login h1')?.textContent === 'Log in' && document.querySelector('label[for=login-password]')?.textContent === 'Password'`, 10*time.Second)
	b.click(".login button.lang")
	b.waitJS("the login in Chinese", `document.querySelector('.login h1')?.textContent === '登录' && document.activeElement?.id === 'login-name'`, 10*time.Second)
	b.fill("#login-name", uiPerson)
	b.fill("#login-password", "not-the-password")
	b.click(`#login-form button[type=submit]`)
	b.waitJS("a wrong password refused in words", `document.getElementById('login-status').textContent === '用户名、密码或动态口令不对'`, 10*time.Second)
	eval[bool](b, `document.getElementById('login-password').value = ''; true`)
	b.fill("#login-password", uiPersonPassword)
	b.screenshot("login-390")
	b.click(`#login-form button[type=submit]`)
	b.waitJS("the desk, as the person", `location.pathname === '/township/zhaoren' && document.getElementById('status')?.textContent.startsWith('`+uiPerson+`') && !!document.getElementById('logout')`, 15*time.Second)
	if eval[bool](b, `document.cookie.includes('snowhub_session') || !!localStorage.getItem('snowhub.token')`) {
		t.Error("the page can read its session, or keeps a token")
	}
	if w := eval[int](b, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the desk is %d px wide on a 390 px phone", w)
	}
	b.screenshot("desk-after-login-390")
	b.click("#logout")
	b.waitJS("the login page after logout", `location.pathname === '/login' && !!document.getElementById('login-form')`, 10*time.Second)

	// The desk without a session offers the login; it brings the desk back.
	b.open(e.base + "/township/zhaoren")
	b.waitJS("the desk's login box", `!!document.getElementById('login-form') && !document.getElementById('logout')`, 10*time.Second)
	b.fill("#login-name", uiPerson)
	b.fill("#login-password", uiPersonPassword)
	b.click(`#login-form button[type=submit]`)
	b.waitJS("the desk again", `location.pathname === '/township/zhaoren' && !!document.getElementById('logout')`, 15*time.Second)
}

// TestHashPasswordCommand: `snowhub -hash-password` prints a hash the
// configuration accepts and a login verifies; a weak password exits 2
// saying what it lacks, and prints nothing on stdout.
func TestHashPasswordCommand(t *testing.T) {
	var out, errs strings.Builder
	if err := Run(context.Background(), Options{HashPassword: true, Stdin: strings.NewReader(uiPersonPassword + "\n"), Stdout: &out, Stderr: &errs}); err != nil {
		t.Fatal(err)
	}
	h := strings.TrimSpace(out.String())
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=1,p=2$") || password.Verify(h, uiPersonPassword) != nil {
		t.Errorf("printed %q", h)
	}
	out.Reset()
	err := Run(context.Background(), Options{HashPassword: true, Stdin: strings.NewReader("weak\n"), Stdout: &out, Stderr: &errs})
	if err == nil || ExitCode(err) != 2 || !strings.Contains(err.Error(), "至少 8 个字符") || out.Len() != 0 {
		t.Errorf("a weak password: %v (exit %d), stdout %q", err, ExitCode(err), out.String())
	}
}
