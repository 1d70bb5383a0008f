package app

import (
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"snowhub/internal/event"
)

// TestAdminCreatesAPersonWhoWorks: the system administrator creates a
// township person on the accounts page and is shown a temporary password
// once; the person logs in with it on a phone, must change it before
// anything else (a common password refused in words), lands on their
// desk, sees only their township, accepts an incident, and the history
// names them; disabled by the administrator, their open desk falls back
// to the login within a second or two.
func TestAdminCreatesAPersonWhoWorks(t *testing.T) {
	e := startUI(t, uiOptions{})
	zr := alarm(t, e, "smoke-0001") // zhaoren's
	xg := alarm(t, e, "smoke-0002") // xiangong's
	for _, inc := range []event.Incident{zr, xg} {
		e.post(uiOps, "/api/v1/incidents/"+inc.ID+"/dispatch", map[string]string{"note": "请处理"}, nil)
	}

	admin := newBrowser(t)
	admin.open(e.base + "/admin?token=" + uiAdmin)
	admin.waitJS("the accounts page", `!!document.getElementById('account-form') && !!document.querySelector('#accounts-table tr[data-name="zhaoren-wang"]')`, 15*time.Second)
	admin.axe("admin")
	if got := eval[string](admin, `document.querySelector('#accounts-table tr[data-name="zhaoren-wang"]').textContent`); !strings.Contains(got, "配置文件") {
		t.Errorf("a configured account is not marked as the file's: %q", got)
	}
	admin.fill("#acc-name", "zr-li")
	admin.fill("#acc-display", "李华")
	eval[bool](admin, `(() => { const r = document.getElementById('acc-role'); r.value = 'township'; r.dispatchEvent(new Event('change')); document.getElementById('acc-scope').value = 'zhaoren'; return true; })()`)
	admin.fill("#acc-phone", "13800135678")
	admin.click(`#account-form button[type=submit]`)
	admin.waitJS("the temporary password, once", `!!document.getElementById('temp-password-value')?.textContent`, 10*time.Second)
	temp := eval[string](admin, `document.getElementById('temp-password-value').textContent`)
	admin.screenshot("admin-temp-password")
	admin.click("#temp-password button")
	admin.waitJS("the new account in the list, waiting for its first login",
		`document.querySelector('#accounts-table tr[data-name="zr-li"] .acc-state')?.textContent.includes('待改初始密码')`, 10*time.Second)

	phone := newBrowserSized(t, 390, 844)
	phone.open(e.base + "/login")
	phone.waitJS("the login form", `!!document.getElementById('login-form')`, 10*time.Second)
	phone.fill("#login-name", "zr-li")
	phone.fill("#login-password", temp)
	phone.click(`#login-form button[type=submit]`)
	phone.waitJS("the password change, before anything else", `!!document.getElementById('password-form') && document.getElementById('password-status').textContent.includes('临时密码')`, 10*time.Second)
	phone.axe("password-change")
	phone.fill("#password-new", "Admin@123456")
	phone.fill("#password-again", "Admin@123456")
	phone.click(`#password-form button[type=submit]`)
	phone.waitJS("a common password refused in words", `document.getElementById('password-status').textContent.includes('常见密码')`, 10*time.Second)
	eval[bool](phone, `document.getElementById('password-new').value = document.getElementById('password-again').value = ''; true`)
	phone.fill("#password-new", "Tiger#Lake2026")
	phone.fill("#password-again", "Tiger#Lake2026")
	phone.click(`#password-form button[type=submit]`)
	phone.waitJS("the desk, as the new person", `location.pathname === '/township/zhaoren' && document.getElementById('status')?.textContent.startsWith('zr-li')`, 15*time.Second)
	phone.screenshot("desk-new-person-390")

	// Only their township, and their step in the history under their name.
	seen := eval[string](phone, `fetch('/api/v1/incidents').then(r => r.text())`)
	if !strings.Contains(seen, zr.ID) || strings.Contains(seen, xg.ID) {
		t.Errorf("the new person's incidents: want %s and not %s\n%.300s", zr.ID, xg.ID, seen)
	}
	sel := `article[data-id="` + zr.ID + `"]`
	phone.waitJS("the incident's accept button", `!!document.querySelector('`+sel+` button[data-action="accept"]')`, 10*time.Second)
	phone.click(sel + ` button[data-action="accept"]`)
	waitAPI(t, 10*time.Second, "the accept in the history by zr-li", func() bool {
		var inc event.Incident
		e.get(uiOps, "/api/v1/incidents/"+zr.ID, &inc)
		for _, s := range inc.History {
			if s.Action == "accept" && s.By == "zr-li" {
				return true
			}
		}
		return false
	})

	// Disabled: the open desk (its websocket) ends and asks for a login.
	admin.open(e.base + "/admin?token=" + uiAdmin)
	admin.waitJS("the person's row", `!!document.querySelector('#accounts-table tr[data-name="zr-li"] button[data-act="disable"]')`, 10*time.Second)
	eval[bool](admin, `window.confirm = () => true; true`)
	admin.click(`#accounts-table tr[data-name="zr-li"] button[data-act="disable"]`)
	phone.waitJS("the desk back at the login after the account was disabled", `!!document.getElementById('login-form')`, 3*time.Second)
	admin.waitJS("the account shown disabled", `document.querySelector('#accounts-table tr[data-name="zr-li"] .acc-state')?.textContent.includes('已停用')`, 10*time.Second)
}

// TestOperatorEnrolsASecondFactor: an operator's password login (a role
// auth.require_2fa lists by default) must enrol a second factor before
// anything else: the page shows a QR code and the key, takes the app's
// first code, shows ten recovery codes once, then the wall; the next login
// asks for the code, and a recovery code stands in for it once.
func TestOperatorEnrolsASecondFactor(t *testing.T) {
	e := startUI(t, uiOptions{})
	var created struct {
		InitialPassword string `json:"initial_password"`
	}
	if code, body := e.post(uiAdmin, "/api/v1/accounts", map[string]string{"name": "ops-zhang", "role": "operator"}, &created); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	const pw = "Lantern#Field2026"
	b := newBrowserSized(t, 390, 844)
	b.open(e.base + "/login")
	b.waitJS("the login form", `!!document.getElementById('login-form')`, 10*time.Second)
	b.fill("#login-name", "ops-zhang")
	b.fill("#login-password", created.InitialPassword)
	b.click(`#login-form button[type=submit]`)
	b.waitJS("the password change", `!!document.getElementById('password-form')`, 10*time.Second)
	b.fill("#password-new", pw)
	b.fill("#password-again", pw)
	b.click(`#password-form button[type=submit]`)
	b.waitJS("the enrolment, with its QR code and key", `!!document.getElementById('factor-form') && document.getElementById('factor-qr').naturalWidth > 0 && document.getElementById('factor-secret').textContent.length > 20`, 10*time.Second)
	b.axe("factor-enrolment")
	b.screenshot("factor-enrolment-390")
	// Nothing else is open to the session meanwhile.
	if got := eval[int](b, `fetch('/api/v1/incidents').then(r => r.status)`); got != 403 {
		t.Errorf("incidents before the second factor is enrolled: %d, want 403", got)
	}
	secret := strings.ReplaceAll(eval[string](b, `document.getElementById('factor-secret').textContent`), " ", "")
	b.fill("#factor-code", "000000")
	b.click(`#factor-form button[type=submit]`)
	b.waitJS("a wrong code refused in words", `document.getElementById('factor-status').textContent.includes('动态口令不对')`, 10*time.Second)
	eval[bool](b, `document.getElementById('factor-code').value = ''; true`)
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b.fill("#factor-code", code)
	b.click(`#factor-form button[type=submit]`)
	b.waitJS("ten recovery codes", `document.querySelectorAll('#recovery-codes li').length === 10`, 10*time.Second)
	recovery := eval[string](b, `document.querySelector('#recovery-codes li:nth-child(2)').textContent`)
	b.click("#recovery-done")
	b.waitJS("the wall, as the operator", `location.pathname === '/' && !!document.getElementById('logout')`, 15*time.Second)
	b.click("#logout")
	b.waitJS("the login page", `location.pathname === '/login' && !!document.getElementById('login-form')`, 10*time.Second)

	// The next login asks for the code; a recovery code stands in, once.
	login := func(otp string) (int, string) {
		var out map[string]any
		return e.post("", "/api/v1/login", map[string]string{"name": "ops-zhang", "password": pw, "otp": otp}, &out)
	}
	if code, body := login(""); code != 428 {
		t.Errorf("a login without the code: %d %s", code, body)
	}
	if code, body := login(recovery); code != 200 {
		t.Errorf("a login with a recovery code: %d %s", code, body)
	}
	if code, _ := login(recovery); code != 401 {
		t.Errorf("the same recovery code again: %d, want 401", code)
	}
}

// TestDisplayEnrolledAndRevoked: a county operator enrols a wall screen on
// the page and is shown its key once; the screen opened with it shows the
// wall's cameras and offers no step; revoked on the page, the screen's
// wall falls back to the login within a second or two.
func TestDisplayEnrolledAndRevoked(t *testing.T) {
	e := startUI(t, uiOptions{})
	ops := newBrowser(t)
	ops.open(e.base + "/admin?token=" + uiOps)
	ops.waitJS("the wall screens panel, and no accounts", `!!document.getElementById('displays-form') && !document.getElementById('accounts-table') && document.title.startsWith('大屏登记')`, 15*time.Second)
	ops.axe("displays")
	ops.fill("#displays-note", "指挥中心 2 号屏")
	ops.click(`#displays-form button[type=submit]`)
	ops.waitJS("the key, once", `(document.getElementById('temp-password-value')?.textContent || '').startsWith('snowhub_')`, 10*time.Second)
	key := eval[string](ops, `document.getElementById('temp-password-value').textContent`)
	ops.click("#temp-password button")
	ops.waitJS("the screen in the list", `[...document.querySelectorAll('#displays-table td')].some((td) => td.textContent === '指挥中心 2 号屏')`, 10*time.Second)

	wall := newBrowser(t)
	wall.open(e.base + "/?token=" + key)
	wall.waitJS("the wall's tiles, as the display", `document.querySelectorAll('.tile').length > 0 && !location.search.includes('token')`, 20*time.Second)
	if got := eval[int](wall, `fetch('/api/v1/incidents/none/acknowledge', {method: 'POST', headers: {Authorization: 'Bearer ' + localStorage.getItem('snowhub.token'), 'Content-Type': 'application/json'}, body: '{}'}).then(r => r.status)`); got != 403 && got != 404 {
		t.Errorf("a display takes a step: %d", got)
	}
	eval[bool](ops, `window.confirm = () => true; true`)
	ops.click(`#displays-table button[data-act="revoke"]`)
	wall.waitJS("the wall back at the login once revoked", `!!document.getElementById('login-form')`, 5*time.Second)
	ops.waitJS("the screen shown revoked", `document.querySelector('#displays-table .key-state')?.textContent.includes('已吊销')`, 10*time.Second)
}
