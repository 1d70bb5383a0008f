package prefecture_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"snowhub/configs"
	"snowhub/ingest/mqttacl"
	"snowhub/internal/event"
	pf "snowhub/internal/prefecture"
	"snowhub/internal/test/testenv"
)

// The prefecture's trust, attacked as a compromised owner would: three
// hub processes (north owns zhaoren, south owns xiangong, city views all)
// on one Mosquitto running the ACL snowhub -mosquitto-acl generates from
// their hubs: list. The attacker has north's box: its broker login. Each
// attack of the measured findings is replayed and refused, while the view
// still acts on south's incidents and plays south's camera.

const trustDevicesPassword = "pw-devices-0123456789"

func trustPassword(id string) string { return "pw-" + id + "-0123456789" }

func trustYAML(id, listen, dataDir, broker, camURL, list string) string {
	return fmt.Sprintf(`listen: %s
data_dir: %s
mqtt:
  broker: %s
  client_id: %s
  username: %s
  password: %s
  device_users:
    - {username: devices, password: %s, villages: [v-zr-01, v-xg-01]}
influx:
  url: http://127.0.0.1:9
  bucket: snowhub
camera: {viewer_linger: 1s}
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
cameras:
  - {id: cam-zr, name: 东街路口, village: v-zr-01, url: "rtsp://127.0.0.1:1/x", watch: false}
  - {id: cam-xg, name: 相公村口, village: v-xg-01, url: "%s", watch: false}
sensors:
  - {id: smoke-zr-1, kind: smoke, village: v-zr-01}
  - {id: smoke-xg-1, kind: smoke, village: v-xg-01}
users:
  - {name: county-ops, role: operator, token: %s}
  - {name: zhaoren-desk, role: township, township: zhaoren, token: %s}
  - {name: xiangong-desk, role: township, township: xiangong, token: %s}
  - {name: city, role: hub, token: %s}
%s
hub: {id: %s}
`, listen, dataDir, broker, id, id, trustPassword(id), trustDevicesPassword, camURL, opsToken, deskToken, xgDeskToken, cityHubToken, list, id)
}

// aclMosquitto starts Mosquitto with the shipped mosquitto.conf and the
// files snowhub -mosquitto-acl writes for each hub, concatenated.
func aclMosquitto(t *testing.T, yamls map[string]string) *testenv.Mosquitto {
	t.Helper()
	dir := t.TempDir()
	var acl, passwd, settings string
	for id, y := range yamls {
		cfg, err := configs.Parse(id+".yaml", []byte(y))
		if err != nil {
			t.Fatal(err)
		}
		f, err := mqttacl.Mosquitto(cfg, dir)
		if err != nil {
			t.Fatal(err)
		}
		acl, passwd, settings = acl+f.ACL+"\n", passwd+f.Passwd, f.Settings
	}
	for name, body := range map[string]string{"acl": acl, "passwd": passwd, "snowhub.conf": settings} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shipped, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "deploy/compose/mosquitto.conf"))
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	return testenv.StartMosquittoConf(t, func(port int) string {
		s := strings.Replace(string(shipped), "listener 1883\n", fmt.Sprintf("listener %d 127.0.0.1\n", port), 1)
		s = strings.ReplaceAll(s, "/mosquitto/data/", data+"/")
		s = strings.ReplaceAll(s, "/mosquitto/config/snowhub", dir)
		return "user root\nlog_type error\nlog_type warning\n" + s
	})
}

func mqttLogin(t *testing.T, url, user, password string) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID(user).SetUsername(user).SetPassword(password).SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", user, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func publish(t *testing.T, c mqtt.Client, topic string, retained bool, v any) {
	t.Helper()
	b, ok := v.([]byte)
	if !ok {
		b, _ = json.Marshal(v)
	}
	// A publish the ACL refuses is acknowledged and dropped by Mosquitto:
	// the token says nothing, what the hubs do says it all.
	c.Publish(topic, 1, retained, b).WaitTimeout(10 * time.Second)
}

func refused(t *testing.T, base, reason string) float64 {
	return gauge(t, base, "snowhub_prefecture_refused_total", `reason="`+reason+`"`)
}

func TestPrefectureTrust(t *testing.T) {
	testenv.Short(t)
	build(t)
	cam := testenv.StartGstRTSP(t, testenv.RTSPOptions{})
	addr := map[string]string{}
	for _, id := range []string{"north", "south", "city"} {
		addr[id] = fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	}
	list := fmt.Sprintf("hubs:\n  - {id: north, townships: [zhaoren], url: \"http://%s\"}\n  - {id: south, townships: [xiangong], url: \"http://%s\"}\n  - {id: city, view: [all]}",
		addr["north"], addr["south"])
	dirs := map[string]string{}
	yamls := map[string]string{}
	// The broker's port is not known before it starts: the files are
	// written with a placeholder and the address put in after.
	for id := range addr {
		dirs[id] = t.TempDir()
		yamls[id] = trustYAML(id, addr[id], filepath.Join(dirs[id], "data"), "tcp://BROKER", cam.URL, list)
	}
	mq := aclMosquitto(t, yamls)
	hubs := map[string]*hubProc{}
	for _, id := range []string{"north", "south", "city"} {
		path := filepath.Join(dirs[id], "snowhub.yaml")
		if err := os.WriteFile(path, []byte(strings.Replace(yamls[id], "tcp://BROKER", mq.URL, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
		hubs[id] = &hubProc{Process: testenv.StartProcess(t, addr[id], snowhubBin, "-config", path), base: "http://" + addr[id]}
	}
	north, south, city := hubs["north"], hubs["south"], hubs["city"]
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("city's log:\n%s", city.Output())
		}
	})
	viewHubs := func() map[string]event.HubStatus {
		var list []event.HubStatus
		get(t, city.base, opsToken, "/api/v1/hubs", &list)
		m := map[string]event.HubStatus{}
		for _, h := range list {
			m[h.ID] = h
		}
		return m
	}
	testenv.WaitFor(t, 30*time.Second, "the view to see both owners", func() bool {
		h := viewHubs()
		return h["north"].State == event.HubReachable && h["south"].State == event.HubReachable
	})

	// The legitimate path: an alarm at south is on the view; xiangong's
	// desk accepts it through the view, as itself, at south.
	devices := mqttLogin(t, mq.URL, "devices", trustDevicesPassword)
	publish(t, devices, "snowbright/sensors/smoke-xg-1/event", false, []byte(`{"value":true}`))
	var xg event.Incident
	testenv.WaitFor(t, 20*time.Second, "south's alarm on the view", func() bool {
		xg = byDevice(t, incidentsOf(t, city, opsToken))["smoke-xg-1"]
		return xg.ID != ""
	})
	var acc event.Incident
	if code, body := post(t, city.base, xgDeskToken, "/api/v1/incidents/"+xg.ID+"/accept", map[string]string{"note": "镇里接单"}, &acc); code != 200 || acc.State != "accepted" {
		t.Fatalf("accept through the view: %d %s", code, body)
	}
	// And the view plays south's camera, pulled from south's address.
	watch := func() {
		t.Helper()
		c, resp, err := dialLive(t, city.base, opsToken, "cam-xg")
		if err != nil {
			t.Fatalf("cam-xg on the view: %v (%v)", err, resp)
		}
		c.start(t)
		c.Close()
	}
	watch()

	// The attacker has north's box. North's hub dies (its last will says
	// so); its broker login is the attacker's.
	north.Kill()
	testenv.WaitFor(t, 20*time.Second, "the view to see north unreachable", func() bool {
		return viewHubs()["north"].State == event.HubUnreachable
	})
	evil := mqttLogin(t, mq.URL, "north", trustPassword("north"))

	// Finding 4: north's login reads no other hub's feed, requests or
	// replies. A marker on north's own feed, published after the view's
	// request to south was answered, ends the watch: whatever the broker
	// would have sent the attacker is before it.
	var stolen []string
	var mu sync.Mutex
	marker := make(chan struct{}, 1)
	for _, f := range []string{"snowbright/hubs/#", "snowbright/hubs/south/#", "snowbright/hubs/city/#", "snowbright/hubs/+/replies/city", "snowbright/hubs/south/actions/city"} {
		evil.Subscribe(f, 1, func(_ mqtt.Client, m mqtt.Message) {
			if m.Topic() == "snowbright/hubs/north/marker" {
				select {
				case marker <- struct{}{}:
				default:
				}
				return
			}
			if !strings.HasPrefix(m.Topic(), "snowbright/hubs/north/") {
				mu.Lock()
				stolen = append(stolen, m.Topic())
				mu.Unlock()
			}
		}).WaitTimeout(10 * time.Second)
	}
	if code, body := post(t, city.base, xgDeskToken, "/api/v1/incidents/"+xg.ID+"/hold", map[string]string{"reason": "等待供电所"}, nil); code != 200 {
		t.Fatalf("hold through the view: %d %s", code, body)
	}
	publish(t, evil, "snowbright/hubs/north/marker", false, []byte("x"))
	select {
	case <-marker:
	case <-time.After(20 * time.Second):
		t.Fatal("the attacker's marker on its own feed never came back")
	}
	mu.Lock()
	if len(stolen) > 0 {
		t.Errorf("north's login read %d messages of other hubs, e.g. %v", len(stolen), stolen[:min(3, len(stolen))])
	}
	mu.Unlock()

	// Finding 1: north's login asks south to act, as the view and as
	// itself, for the county and for xiangong's desk.
	forged := []pf.ActionRequest{
		{ID: "f1", User: "xiangong-desk", Incident: xg.ID, Action: "resume"},
		{ID: "f2", User: "county-ops", Incident: xg.ID, Action: "reassign", Request: event.ActionRequest{To: "zhaoren"}},
		{ID: "f3", User: "xiangong-desk", Create: &event.CreateRequest{Title: "伪造：相公村 粮库 起火", Kind: "fire", Severity: "critical", Village: "v-xg-01", Source: "wall"}},
		{ID: "f4", User: "county-ops", Incident: xg.ID, Action: "resolve", Request: event.ActionRequest{Note: "x"}},
	}
	for _, rq := range forged {
		publish(t, evil, "snowbright/hubs/south/actions/north", false, rq)
		publish(t, evil, "snowbright/hubs/south/actions/city", false, rq)
	}
	// A step the view forwards after them is answered after them.
	if code, body := post(t, city.base, xgDeskToken, "/api/v1/incidents/"+xg.ID+"/resume", map[string]string{"note": "供电所已到"}, nil); code != 200 {
		t.Errorf("resume through the view: %d %s", code, body)
	}
	var after []event.AuditEntry
	get(t, south.base, opsToken, "/api/v1/audit", &after)
	for _, a := range after {
		if strings.Contains(a.Remote, "hub north") || a.Action == "reassign" || a.Action == "resolve" || a.Action == "create" && a.User == "xiangong-desk" {
			t.Errorf("south obeyed a forged request: %+v", a)
		}
	}
	for _, inc := range incidentsOf(t, south, opsToken) {
		if strings.Contains(inc.Title, "伪造") {
			t.Errorf("south raised the forged incident %s", inc.ID)
		}
	}
	var own event.Incident
	get(t, south.base, opsToken, "/api/v1/incidents/"+xg.ID, &own)
	if own.Owner != "xiangong" || own.State != "accepted" {
		t.Errorf("south's incident is %s held by %s after the forged requests; want accepted by xiangong", own.State, own.Owner)
	}

	// Finding 2: north's login claims xiangong, south's camera and a video
	// address of its own, dated 2099, and raises a fake critical incident
	// in xiangong on its own feed.
	var tokens atomic.Int32
	var asked atomic.Int32
	trap := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		if strings.Contains(r.Header.Get("Authorization")+r.URL.RawQuery, cityHubToken) {
			tokens.Add(1)
		}
		http.NotFound(w, r)
	}))
	defer trap.Close()
	publish(t, evil, "snowbright/hubs/north/status", true, pf.Status{Hub: "north", State: "online",
		At: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), Townships: []string{"zhaoren", "xiangong"}, URL: trap.URL})
	publish(t, evil, "snowbright/hubs/north/status", true, pf.Status{Hub: "north", State: "online",
		At: time.Now().UTC(), Townships: []string{"zhaoren", "xiangong"}, URL: trap.URL})
	now := time.Now().UTC()
	publish(t, evil, "snowbright/hubs/north/cameras/cam-xg", true, pf.Message{Hub: "north", Kind: pf.KindCamera, At: now,
		Camera: &event.CameraStatus{ID: "cam-xg", Name: "相公村口", Township: "xiangong", Village: "v-xg-01", State: "online", Since: now}})
	fake := event.Incident{ID: "INC-north-20261203-9999", State: "dispatched", Severity: "critical", Kind: "fire", Title: "伪造：相公村 粮库 起火",
		Township: "xiangong", Village: "v-xg-01", Owner: "xiangong", Level: "township", OpenedAt: now,
		History: []event.Step{{At: now, Action: "open", By: "xiangong-desk"}}}
	publish(t, evil, "snowbright/hubs/north/incidents/"+fake.ID, true, pf.Message{Hub: "north", Kind: pf.KindIncident, Seq: 1 << 40, At: now, Incident: &fake})
	// The same incident placed in north's township but handed to xiangong's desk.
	handed := fake
	handed.ID, handed.Township, handed.Village = "INC-north-20261203-9998", "zhaoren", "v-zr-01"
	publish(t, evil, "snowbright/hubs/north/incidents/"+handed.ID, true, pf.Message{Hub: "north", Kind: pf.KindIncident, Seq: 1 << 40, At: now, Incident: &handed})
	testenv.WaitFor(t, 20*time.Second, "the view to take or refuse the forgeries", func() bool {
		return refused(t, city.base, pf.RefusedFuture) >= 1 && refused(t, city.base, pf.RefusedTownship) >= 3 ||
			viewHubs()["north"].State == event.HubReachable && len(incidentsOf(t, city, xgDeskToken)) > 1
	})
	if h := viewHubs()["north"]; strings.Join(h.Townships, ",") != "zhaoren" {
		t.Errorf("the view believes north owns %v", h.Townships)
	}
	for _, inc := range incidentsOf(t, city, xgDeskToken) {
		if inc.ID != xg.ID {
			t.Errorf("xiangong's desk on the view shows %s %q", inc.ID, inc.Title)
		}
	}
	// Ten tiles of south's camera: each pulled from south, none from the
	// address north announced, the view's credential sent nowhere else.
	for i := 0; i < 10; i++ {
		watch()
	}
	if n, k := asked.Load(), tokens.Load(); n > 0 || k > 0 {
		t.Errorf("%d of 10 live-video requests went to the address north announced, %d with the view's credential", n, k)
	}
	// The status of 2099 is refused: after the next one north's login
	// leaves without a will, the view still says north is gone.
	evil.Disconnect(100)
	publish(t, mqttLogin(t, mq.URL, "north", trustPassword("north")), "snowbright/hubs/north/status", true, pf.Status{Hub: "north", State: "offline", At: time.Now().UTC()})
	testenv.WaitFor(t, 20*time.Second, "north unreachable on the view", func() bool {
		return viewHubs()["north"].State == event.HubUnreachable
	})

	// Finding 3: north's login floods the view with cameras of 50 KB
	// names (ids nobody configured) and renames its own camera (each
	// message under the broker's packet limit, mqtt.max_payload).
	evil = mqttLogin(t, mq.URL, "north", trustPassword("north"))
	big := strings.Repeat("名", 50_000/3)
	publish(t, evil, "snowbright/hubs/north/cameras/cam-zr", true, pf.Message{Hub: "north", Kind: pf.KindCamera, At: time.Now().UTC(),
		Camera: &event.CameraStatus{ID: "cam-zr", Name: big, Township: "zhaoren", Village: "v-zr-01", State: "online", LastError: big[:6000]}})
	const fakes = 300
	base := refused(t, city.base, pf.RefusedUnknown)
	for i := 0; i < fakes; i++ {
		id := fmt.Sprintf("cam-fake-%04d", i)
		publish(t, evil, "snowbright/hubs/north/cameras/"+id, true, pf.Message{Hub: "north", Kind: pf.KindCamera, At: time.Now().UTC(),
			Camera: &event.CameraStatus{ID: id, Name: big, Township: "zhaoren", Village: "v-zr-01", State: "online"}})
	}
	var cams []event.CameraStatus
	testenv.WaitFor(t, 30*time.Second, "the view to take or refuse the flood", func() bool {
		cams = nil
		get(t, city.base, opsToken, "/api/v1/cameras", &cams)
		return refused(t, city.base, pf.RefusedUnknown)-base >= fakes || len(cams) > 2
	})
	raw, _ := json.Marshal(cams)
	if len(cams) != 2 || len(raw) > 64<<10 {
		t.Errorf("the view lists %d cameras in %d bytes after the flood; want its 2 configured ones", len(cams), len(raw))
	}
	for _, c := range cams {
		if c.ID == "cam-zr" && (c.Name != "东街路口" || len(c.LastError) > 512) {
			t.Errorf("cam-zr on the view: name of %d bytes, error of %d", len(c.Name), len(c.LastError))
		}
	}

	// The view still works with south: a step and the camera.
	if code, body := post(t, city.base, xgDeskToken, "/api/v1/incidents/"+xg.ID+"/hold", map[string]string{"reason": "再等"}, nil); code != 200 {
		t.Errorf("a step through the view after the attacks: %d %s", code, body)
	}
	watch()
}

func incidentsOf(t *testing.T, h *hubProc, token string) []event.Incident {
	var list []event.Incident
	get(t, h.base, token, "/api/v1/incidents?state=all", &list)
	return list
}
