package securitytest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"snowhub/configs"
	"snowhub/internal/app"
	"snowhub/internal/password"
	"snowhub/internal/test/testenv"
)

// Tokens and passwords of the county under attack: each must never appear
// in an answer or in the log.
const (
	opsToken   = "OpsToken-Secret-000001"
	zrToken    = "ZrToken-Secret-000002"
	xgToken    = "XgToken-Secret-000003"
	techToken  = "TechToken-Secret-000004"
	adminToken = "AdminToken-Secret-05"
	villToken  = "VillToken-Secret-0006"
	hubToken   = "HubToken-Secret-00007" // another hub of the prefecture (role hub)
	audToken   = "AuditorToken-Secret-08"
	dispToken  = "DisplayToken-Secret-09"
	secToken   = "SecAdminToken-Secret-10"
	// zrPassword is the password of zr-person, a township desk's person
	// who logs in with name and password.
	zrPassword = "Zhaoren-Pass-2026"
	gwZrPass   = "GwSecret-zr-7d1e"
	gwXgPass   = "GwSecret-xg-93ab"
	camZrPass  = "CamSecret-zr-1234"
	camXgPass  = "CamSecret-xg-5678"
	influxPass = "InfluxSecret-5678"
	mqttPass   = "MqttSecret-hub-31"
	gbPass     = "GbSecret-devices-42"
	// GB/T 28181 devices, one in each township.
	gbZR = "61042800001320000001"
	gbXG = "61042800001320000002"
)

func countyYAML(listen, mqtt, data, influx, gbListen string) string {
	return fmt.Sprintf(`listen: %s
data_dir: %s
mqtt:
  embedded_listen: %s
  password: %s
  device_users:
    - {username: gw-zr, password: %s, villages: [v-zr-01]}
    - {username: gw-xg, password: %s, villages: [v-xg-01]}
influx: {url: %s, token: "snow:%s", bucket: snowhub}
county: {id: changwu, name: 长武县}
townships:
  - id: zhaoren
    name: 昭仁街道
    villages: [{id: v-zr-01, name: 东街社区}]
  - id: xiangong
    name: 相公镇
    villages: [{id: v-xg-01, name: 相公村}]
cameras:
  - {id: cam-zr, village: v-zr-01, url: "rtsp://admin:%s@127.0.0.1:1/x", watch: false}
  - {id: cam-xg, village: v-xg-01, url: "rtsp://admin:%s@127.0.0.1:1/x", watch: false}
sensors:
  - {id: smoke-zr, kind: smoke, village: v-zr-01}
  - {id: smoke-xg, kind: smoke, village: v-xg-01}
users:
  - {name: ops, role: operator, token: %s}
  - {name: zr-desk, role: township, township: zhaoren, token: %s}
  - {name: xg-desk, role: township, township: xiangong, token: %s}
  - {name: tech, role: technician, token: %s}
  - {name: admin, role: admin, token: %s}
  - {name: zr-v1, role: village, village: v-zr-01, token: %s}
  - {name: city, role: hub, token: %s}
  - {name: auditor, role: auditor, token: %s}
  - {name: wall-1, role: display, token: %s}
  - {name: sec, role: security_admin, token: %s}
  - {name: zr-person, role: township, township: zhaoren, password_hash: "%s"}
gb28181:
  id: "61042800002000000001"
  domain: "6104280000"
  listen: %s
  password: %s
  devices:
    - {id: "%s", village: v-zr-01}
    - {id: "%s", village: v-xg-01}
`, listen, data, mqtt, mqttPass, gwZrPass, gwXgPass, influx, influxPass, camZrPass, camXgPass,
		opsToken, zrToken, xgToken, techToken, adminToken, villToken, hubToken, audToken, dispToken, secToken, zrHash(), gbListen, gbPass, gbZR, gbXG)
}

// zrHash is zr-person's password hash, made once.
var zrHash = sync.OnceValue(func() string {
	h, err := password.Hash(zrPassword, password.Default)
	if err != nil {
		panic(err)
	}
	return h
})

// syncBuf is the hub's log.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// env is a running hub and everything it answered.
type env struct {
	t       *testing.T
	base    string
	mqtt    string
	path    string
	log     *syncBuf
	hub     *app.Hub
	mu      sync.Mutex
	answers []string
	secrets []string
}

func startHub(t *testing.T) *env {
	t.Helper()
	db := testenv.StartInfluxDB(t, "snowhub")
	dir := t.TempDir()
	e := &env{t: t, log: &syncBuf{}, path: filepath.Join(dir, "snowhub.yaml")}
	mq := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	body := countyYAML(fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), mq, filepath.Join(dir, "data"), db.URL,
		fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)))
	if err := os.WriteFile(e.path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := configs.Load(e.path)
	if err != nil {
		t.Fatal(err)
	}
	e.secrets = cfg.Secrets()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan *app.Hub, 1)
	go func() {
		done <- app.Run(ctx, app.Options{ConfigPath: e.path, Stderr: e.log, Reload: make(chan os.Signal), Ready: func(h *app.Hub) { ready <- h }})
	}()
	select {
	case e.hub = <-ready:
	case err := <-done:
		t.Fatalf("hub did not start: %v\n%s", err, e.log.String())
	case <-time.After(30 * time.Second):
		t.Fatal("hub did not start")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("hub did not stop")
		}
	})
	e.base, e.mqtt = "http://"+e.hub.Addr(), "tcp://"+mq
	// The hub serves before its MQTT session is subscribed; a device's
	// first alarm before that has no subscription to reach.
	testenv.WaitFor(t, 30*time.Second, "the hub's MQTT session", func() bool {
		resp, err := http.Get(e.base + "/readyz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var r map[string]string
		json.NewDecoder(resp.Body).Decode(&r)
		return r["mqtt"] == "ok"
	})
	return e
}

// do sends a request as token ("" for none) and keeps the answer.
func (e *env) do(method, path, token, body string) (int, string) {
	e.t.Helper()
	code, _, got := e.doCookie(method, path, token, "", body)
	return code, got
}

// doCookie is do with a session cookie ("" for none); it returns the
// answer's cookies too.
func (e *env) doCookie(method, path, token, session, body string) (int, []*http.Cookie, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if session != "" {
		req.AddCookie(&http.Cookie{Name: "snowhub_session", Value: session})
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	var hdr strings.Builder
	res.Header.Write(&hdr)
	e.mu.Lock()
	e.answers = append(e.answers, method+" "+path+"\n"+hdr.String()+string(b))
	e.mu.Unlock()
	return res.StatusCode, res.Cookies(), string(b)
}

// login logs zr-person in: the session cookie's value.
func (e *env) login(t *testing.T) string {
	t.Helper()
	code, cookies, body := e.doCookie("POST", "/api/v1/login", "", "", `{"name":"zr-person","password":"`+zrPassword+`"}`)
	for _, c := range cookies {
		if c.Name == "snowhub_session" && code == 200 {
			return c.Value
		}
	}
	t.Fatalf("login: %d %s", code, body)
	return ""
}

// loginAs logs name in with pw and returns the session cookie.
func (e *env) loginAs(t *testing.T, name, pw string) string {
	t.Helper()
	code, cookies, body := e.doCookie("POST", "/api/v1/login", "", "", `{"name":"`+name+`","password":"`+pw+`"}`)
	for _, c := range cookies {
		if c.Name == "snowhub_session" && code == 200 {
			return c.Value
		}
	}
	t.Fatalf("login as %s: %d %s", name, code, body)
	return ""
}

// account creates an account of the hub's as the admin, with the JSON
// fields besides its name, and returns its temporary password.
func (e *env) account(t *testing.T, name, fields string) string {
	t.Helper()
	code, body := e.do("POST", "/api/v1/accounts", adminToken, `{"name":"`+name+`",`+fields+`}`)
	var a struct {
		InitialPassword string `json:"initial_password"`
	}
	if json.Unmarshal([]byte(body), &a); code != 201 || a.InitialPassword == "" {
		t.Fatalf("create account %s: %d %s", name, code, body)
	}
	return a.InitialPassword
}

// postFrom posts body to path from the local address ip (another host of
// the loopback network) and returns the status.
func (e *env) postFrom(t *testing.T, ip, path, body string) int {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}).DialContext}}
	resp, err := c.Post(e.base+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s from %s: %v", path, ip, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// key makes an API key or a display as token at path and returns its id
// and secret.
func (e *env) key(t *testing.T, token, path, body string) (string, string) {
	t.Helper()
	code, got := e.do("POST", path, token, body)
	var k struct {
		Key   struct{ ID string }
		Token string
	}
	if json.Unmarshal([]byte(got), &k); code != 201 || k.Token == "" {
		t.Fatalf("POST %s: %d %s", path, code, got)
	}
	return k.Key.ID, k.Token
}

// alarm publishes a smoke alarm as the village's gateway.
func (e *env) alarm(user, pass, sensor string) {
	e.t.Helper()
	e.publish(user, pass, "snowbright/sensors/"+sensor+"/event", `{"value":1}`)
}

// publish sends one QoS 1 message as a device user.
func (e *env) publish(user, pass, topic, payload string) {
	e.t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(e.mqtt).SetClientID(user).SetUsername(user).SetPassword(pass))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		e.t.Fatalf("%s connect: %v", user, tok.Error())
	}
	defer c.Disconnect(50)
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		e.t.Fatalf("publish: %v", tok.Error())
	}
}

type incident struct {
	ID       string `json:"id"`
	Township string `json:"township"`
}

// incidents lists what ops sees, by township.
func (e *env) incidents() map[string]string {
	_, body := e.do("GET", "/api/v1/incidents", opsToken, "")
	var list []incident
	json.Unmarshal([]byte(body), &list)
	out := map[string]string{}
	for _, i := range list {
		out[i.Township] = i.ID
	}
	return out
}
