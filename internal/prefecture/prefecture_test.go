package prefecture_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/gorilla/websocket"

	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
)

// The prefecture tests run real processes: one Mosquitto, two owner hubs
// (north owns zhaoren, south owns xiangong) and one view hub (city), each
// a snowhub binary built once for the test binary.

var (
	snowhubBin string
	buildOnce  sync.Once
	buildErr   error
	buildDir   string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// build builds the snowhub binary once for the test binary.
func build(t *testing.T) {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "snowhub-prefecture")
		if buildErr != nil {
			return
		}
		snowhubBin = filepath.Join(buildDir, "snowhub")
		cmd := exec.Command("go", "build", "-o", snowhubBin, "snowhub/cmd/snowhub")
		cmd.Dir = testenv.RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build snowhub: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

const (
	opsToken  = "pref-operator-token-00001"
	deskToken = "pref-zhaoren-token-000001"
	nSmoke    = 8 // smoke sensors per township: a burst is one alarm each
)

func hubConfig(id, hubSection, listen, dataDir, broker string) string {
	var sensors strings.Builder
	for i := 1; i <= nSmoke; i++ {
		fmt.Fprintf(&sensors, "  - {id: smoke-zr-%d, kind: smoke, village: v-zr-01}\n  - {id: smoke-xg-%d, kind: smoke, village: v-xg-01}\n", i, i)
	}
	return fmt.Sprintf(`listen: %s
data_dir: %s
mqtt:
  broker: %s
  client_id: snowhub-%s
influx:
  url: http://127.0.0.1:9
  bucket: snowhub
county: {id: changwu, name: 长武县}
townships:
  - id: zhaoren
    name: 昭仁街道
    villages:
      - {id: v-zr-01, name: 东街社区}
  - id: xiangong
    name: 相公镇
    villages:
      - {id: v-xg-01, name: 相公村}
# The tests count one incident per alarm: smoke stays per device
# instead of joining a storm (alerts.storm).
alerts: {storm: {per_device: [smoke]}}
sensors:
%susers:
  - {name: county-ops, role: operator, token: %s}
  - {name: zhaoren-desk, role: township, township: zhaoren, token: %s}
%s
`, listen, dataDir, broker, id, sensors.String(), opsToken, deskToken, hubSection)
}

type hubProc struct {
	*testenv.Process
	base string
}

type prefecture struct {
	t                  *testing.T
	mq                 *testenv.Mosquitto
	north, south, city *hubProc
	pub                mqtt.Client
}

func startHub(t *testing.T, id, section, broker string) *hubProc {
	t.Helper()
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	path := filepath.Join(dir, "snowhub.yaml")
	if err := os.WriteFile(path, []byte(hubConfig(id, section, addr, filepath.Join(dir, "data"), broker)), 0o644); err != nil {
		t.Fatal(err)
	}
	return &hubProc{Process: testenv.StartProcess(t, addr, snowhubBin, "-config", path), base: "http://" + addr}
}

func startPrefecture(t *testing.T) *prefecture {
	t.Helper()
	testenv.Short(t)
	build(t)
	mq := testenv.StartMosquitto(t)
	p := &prefecture{t: t, mq: mq}
	p.north = startHub(t, "north", "hub: {id: north, townships: [zhaoren]}", mq.URL)
	p.south = startHub(t, "south", "hub: {id: south, townships: [xiangong]}", mq.URL)
	p.city = startHub(t, "city", "hub: {id: city, view: [all]}", mq.URL)
	opts := mqtt.NewClientOptions().AddBroker(mq.URL).SetClientID("pref-devices").SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(200 * time.Millisecond)
	p.pub = mqtt.NewClient(opts)
	if tok := p.pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("devices' client: %v", tok.Error())
	}
	t.Cleanup(func() { p.pub.Disconnect(100) })
	p.waitHubs(map[string]string{"north": event.HubReachable, "south": event.HubReachable})
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the view's hubs: %+v", p.hubs())
			for name, h := range map[string]*hubProc{"north": p.north, "south": p.south} {
				var ids []string
				for _, inc := range p.incidents(h, opsToken) {
					ids = append(ids, inc.ID+" "+inc.Device+" "+inc.State)
				}
				t.Logf("%s has %v", name, ids)
			}
		}
	})
	return p
}

func (p *prefecture) alarm(sensor string) {
	p.t.Helper()
	tok := p.pub.Publish("snowbright/sensors/"+sensor+"/event", 1, false, `{"value":true}`)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		p.t.Fatalf("publish %s: %v", sensor, tok.Error())
	}
}

func get(t *testing.T, base, token, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, b)
		}
	}
	return resp.StatusCode
}

func post(t *testing.T, base, token, path string, body any, out any) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", base+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode/100 == 2 {
		_ = json.Unmarshal(rb, out)
	}
	return resp.StatusCode, string(rb)
}

func (p *prefecture) incidents(h *hubProc, token string) []event.Incident {
	var list []event.Incident
	get(p.t, h.base, token, "/api/v1/incidents?state=all", &list)
	return list
}

func (p *prefecture) hubs() map[string]event.HubStatus {
	var list []event.HubStatus
	get(p.t, p.city.base, opsToken, "/api/v1/hubs", &list)
	m := map[string]event.HubStatus{}
	for _, h := range list {
		m[h.ID] = h
	}
	return m
}

func (p *prefecture) waitHubs(want map[string]string) {
	p.t.Helper()
	testenv.WaitFor(p.t, 20*time.Second, fmt.Sprintf("view's hubs %v", want), func() bool {
		got := p.hubs()
		for id, st := range want {
			if got[id].State != st {
				return false
			}
		}
		return true
	})
}

// byDevice indexes incidents by their device, failing on a device with two.
func byDevice(t *testing.T, list []event.Incident) map[string]event.Incident {
	t.Helper()
	m := map[string]event.Incident{}
	for _, inc := range list {
		if prev, ok := m[inc.Device]; ok {
			t.Fatalf("device %s has two incidents: %s and %s", inc.Device, prev.ID, inc.ID)
		}
		m[inc.Device] = inc
	}
	return m
}

// sameSteps fails unless the view shows every owner incident with the same
// steps, each once.
func sameSteps(t *testing.T, owner, view []event.Incident) {
	t.Helper()
	v := map[string]event.Incident{}
	for _, inc := range view {
		v[inc.ID] = inc
	}
	for _, o := range owner {
		got, ok := v[o.ID]
		if !ok {
			t.Errorf("incident %s of the owner is not on the view", o.ID)
			continue
		}
		if len(got.History) != len(o.History) || got.State != o.State {
			t.Errorf("incident %s: view has %d steps (%s), owner %d (%s)", o.ID, len(got.History), got.State, len(o.History), o.State)
		}
		seen := map[string]bool{}
		for _, s := range got.History {
			k := s.At.String() + s.Action
			if seen[k] {
				t.Errorf("incident %s: step %s at %s twice", o.ID, s.Action, s.At)
			}
			seen[k] = true
		}
	}
}

func TestPrefecture(t *testing.T) {
	p := startPrefecture(t)

	// An alarm in each owner's township is on the view within a second.
	start := time.Now()
	p.alarm("smoke-zr-1")
	p.alarm("smoke-xg-1")
	var took time.Duration
	testenv.WaitFor(t, 10*time.Second, "both alarms on the view", func() bool {
		m := byDevice(t, p.incidents(p.city, opsToken))
		_, a := m["smoke-zr-1"]
		_, b := m["smoke-xg-1"]
		took = time.Since(start)
		return a && b
	})
	t.Logf("alarm → view: %s", took)
	zr := byDevice(t, p.incidents(p.city, opsToken))["smoke-zr-1"]
	if !strings.HasPrefix(zr.ID, "INC-north-") {
		t.Errorf("north's incident id %s does not name its hub", zr.ID)
	}

	// A township user on the view sees its own township only.
	for _, inc := range p.incidents(p.city, deskToken) {
		if inc.Township != "zhaoren" {
			t.Errorf("zhaoren's desk sees %s of %s on the view", inc.ID, inc.Township)
		}
	}
	if n := len(p.incidents(p.city, deskToken)); n != 1 {
		t.Errorf("zhaoren's desk sees %d incidents on the view, want 1", n)
	}

	// The county accepts through the view; the owner records it as the
	// county's step, in its own API and audit.
	var acc event.Incident
	if code, body := post(t, p.city.base, opsToken, "/api/v1/incidents/"+zr.ID+"/accept", map[string]string{"note": "县里接单"}, &acc); code != 200 || acc.State != "accepted" {
		t.Fatalf("accept through the view: %d %s", code, body)
	}
	var own event.Incident
	get(t, p.north.base, opsToken, "/api/v1/incidents/"+zr.ID, &own)
	if own.State != "accepted" || own.History[len(own.History)-1].By != "county-ops" {
		t.Fatalf("north has %s, last step %+v; want accepted by county-ops", own.State, own.History[len(own.History)-1])
	}
	var audit []event.AuditEntry
	get(t, p.north.base, opsToken, "/api/v1/audit", &audit)
	found := false
	for _, a := range audit {
		found = found || (a.Incident == zr.ID && a.Action == "accept" && a.User == "county-ops" && strings.Contains(a.Remote, "hub city"))
	}
	if !found {
		t.Errorf("north's audit has no accept by county-ops through hub city: %+v", audit)
	}
	// A township desk may not act on another township's incident, at the owner.
	xg := byDevice(t, p.incidents(p.city, opsToken))["smoke-xg-1"]
	if code, body := post(t, p.city.base, deskToken, "/api/v1/incidents/"+xg.ID+"/accept", map[string]string{}, nil); code != 403 && code != 404 {
		t.Errorf("zhaoren's desk accepting xiangong's incident through the view: %d %s", code, body)
	}
	testenv.WaitFor(t, 5*time.Second, "the accept on the view's list", func() bool {
		return byDevice(t, p.incidents(p.city, opsToken))["smoke-zr-1"].State == "accepted"
	})

	// The wall raises an incident by hand in south's village through the
	// view: south makes it, and it comes back on the view's list.
	var raised event.Incident
	if code, body := post(t, p.city.base, opsToken, "/api/v1/incidents", map[string]any{"title": "路面塌陷", "kind": "road",
		"severity": "major", "village": "v-xg-01", "source": "wall"}, &raised); code != 201 || !strings.HasPrefix(raised.ID, "INC-south-") {
		t.Fatalf("raise through the view: %d %s", code, body)
	}
	testenv.WaitFor(t, 5*time.Second, "the raised incident on the view", func() bool {
		_, ok := byDevice(t, p.incidents(p.city, opsToken))[""]
		return ok
	})

	// SIGKILL north in a burst: the view says north is unreachable (not its
	// incidents gone); actions on its incidents are 503 naming it; after
	// the restart every incident and step is on the view once.
	for i := 2; i <= nSmoke/2; i++ {
		p.alarm(fmt.Sprintf("smoke-zr-%d", i))
	}
	p.north.Kill()
	for i := nSmoke/2 + 1; i <= nSmoke; i++ {
		p.alarm(fmt.Sprintf("smoke-zr-%d", i))
	}
	p.waitHubs(map[string]string{"north": event.HubUnreachable, "south": event.HubReachable})
	if h := p.hubs()["north"]; h.Since.IsZero() || time.Since(h.Since) > time.Minute {
		t.Errorf("unreachable since %s", h.Since)
	}
	// A wall connecting now is told at once (its snapshot), not only by
	// the "hub" message it would have had live.
	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(p.city.base, "http", "ws", 1)+"/ws?token="+opsToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, snap, err := ws.ReadMessage()
	ws.Close()
	if err != nil || !strings.Contains(string(snap), `"id":"north","state":"unreachable"`) {
		t.Errorf("the view's snapshot does not say north is unreachable: %.300s (%v)", snap, err)
	}
	if _, ok := byDevice(t, p.incidents(p.city, opsToken))["smoke-zr-1"]; !ok {
		t.Errorf("north's incidents vanished from the view while it is unreachable")
	}
	if code, body := post(t, p.city.base, opsToken, "/api/v1/incidents/"+zr.ID+"/resolve", map[string]string{"note": "x"}, nil); code != 503 || !strings.Contains(body, "north") {
		t.Errorf("action on an unreachable hub's incident: %d %s, want 503 naming north", code, body)
	}
	p.north.Start()
	p.waitHubs(map[string]string{"north": event.HubReachable})
	testenv.WaitFor(t, 20*time.Second, "every burst alarm on the view", func() bool {
		return len(byDevice(t, p.incidents(p.city, opsToken))) == nSmoke+2 // and xiangong's alarm and the raised one
	})
	owner := p.incidents(p.north, opsToken)
	if len(owner) != nSmoke {
		t.Errorf("north has %d incidents, want %d", len(owner), nSmoke)
	}
	testenv.WaitFor(t, 10*time.Second, "view in step with north", func() bool {
		sub := &testing.T{}
		sameSteps(sub, p.incidents(p.north, opsToken), p.incidents(p.city, opsToken))
		return !sub.Failed()
	})
	sameSteps(t, p.incidents(p.north, opsToken), p.incidents(p.city, opsToken))

	// SIGKILL the view and restart it: it rebuilds the same state from
	// the retained messages.
	before := p.incidents(p.city, opsToken)
	p.city.Kill()
	p.city.Start()
	testenv.WaitFor(t, 20*time.Second, "the view rebuilt", func() bool {
		return len(p.incidents(p.city, opsToken)) == len(before)
	})
	sameSteps(t, before, p.incidents(p.city, opsToken))

	// Restart Mosquitto: every hub reconnects; a new alarm still reaches
	// the view.
	// The test's Mosquitto saves its sessions each second
	// (autosave_interval 1): one killed within a second of the hubs'
	// subscriptions forgets them, which no running broker does.
	time.Sleep(1500 * time.Millisecond)
	p.mq.Kill()
	p.mq.Start()
	p.alarm("smoke-xg-2")
	testenv.WaitFor(t, 30*time.Second, "an alarm after the broker restart on the view", func() bool {
		_, ok := byDevice(t, p.incidents(p.city, opsToken))["smoke-xg-2"]
		return ok
	})
	p.waitHubs(map[string]string{"north": event.HubReachable, "south": event.HubReachable})
}
