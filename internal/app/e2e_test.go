package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/gorilla/websocket"

	"snowhub/alerts"
	"snowhub/camera/simcam"
	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
)

const (
	opsToken     = "e2e-operator-token-000001"
	zhaorenToken = "e2e-zhaoren-token-0000001"
	xiangToken   = "e2e-xiangong-token-000001"
	techToken    = "e2e-technician-token-0001"
)

// e2eConfig is a two-township county with a GStreamer camera, two simulated
// cameras (one watched, one probed) and a smoke sensor in each township.
func e2eConfig(listen, dataDir, mqttURL, influxURL, gstURL, simBase string) string {
	return fmt.Sprintf(`listen: %s
data_dir: %s
mqtt:
  broker: %s
  client_id: snowhub-e2e
influx:
  url: %s
  bucket: snowhub
  flush_interval: 200ms
county: {id: changwu, name: 长武县}
camera:
  stall_after: 2s
  offline_after: 3s
  settle: 1s
  probe_interval: 3s
  backoff_max: 2s
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
  - {id: cam-gst, name: 312国道 昭仁路口, village: v-zr-01, url: %q, transport: tcp, watch: true}
  - {id: cam-sim-1, name: 相公 集市, village: v-xg-01, url: %q, transport: tcp, watch: true}
  - {id: cam-sim-2, name: 相公村 村委会, village: v-xg-01, url: %q, transport: tcp, watch: false}
sensors:
  - {id: smoke-0001, kind: smoke, village: v-zr-01, camera: cam-gst}
  - {id: smoke-0002, kind: smoke, village: v-xg-01}
users:
  - {name: county-ops, role: operator, token: %s}
  - {name: zhaoren-desk, role: township, township: zhaoren, token: %s}
  - {name: xiangong-desk, role: township, township: xiangong, token: %s}
  - {name: tech-1, role: technician, token: %s}
`, listen, dataDir, mqttURL, influxURL, gstURL, simBase+"/cam-sim-1", simBase+"/cam-sim-2", opsToken, zhaorenToken, xiangToken, techToken)
}

type e2eEnv struct {
	t      *testing.T
	hub    *Hub
	base   string
	mq     *testenv.Mosquitto
	db     *testenv.InfluxDB
	sim    *simcam.Server
	cancel context.CancelFunc
	done   chan error
	path   string
	// transitions, when set, is the table the hub runs (Options.Transitions).
	transitions []alerts.Transition
}

func startE2E(t *testing.T) *e2eEnv {
	t.Helper()
	mq := testenv.StartMosquitto(t)
	db := testenv.StartInfluxDB(t, "snowhub")
	gst := testenv.StartGstRTSP(t, testenv.RTSPOptions{})
	sim, err := simcam.New(simcam.Options{Listen: "127.0.0.1:0", Cameras: []simcam.Camera{
		{Path: "/cam-sim-1", Behaviour: "normal"}, {Path: "/cam-sim-2", Behaviour: "normal"}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := sim.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	dir := t.TempDir()
	path := filepath.Join(dir, "snowhub.yaml")
	body := e2eConfig(fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), filepath.Join(dir, "data"), mq.URL, db.URL, gst.URL, strings.TrimSuffix(sim.URL("/"), "/"))
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = ctx
	e := &e2eEnv{t: t, mq: mq, db: db, sim: sim, path: path}
	t.Cleanup(cancel)
	e.start()
	t.Cleanup(e.stop)
	return e
}

// start runs the hub on the environment's configuration.
func (e *e2eEnv) start() {
	t := e.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done = cancel, make(chan error, 1)
	ready := make(chan *Hub, 1)
	go func() {
		e.done <- Run(ctx, Options{ConfigPath: e.path, Stderr: testWriter{t}, Ready: func(h *Hub) { ready <- h }, Transitions: e.transitions})
	}()
	select {
	case e.hub = <-ready:
	case err := <-e.done:
		t.Fatalf("hub did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("hub did not start within 30 s")
	}
	e.base = "http://" + e.hub.Addr()
}

func (e *e2eEnv) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	e.cancel = nil
	select {
	case err := <-e.done:
		if err != nil {
			e.t.Errorf("hub stopped with error: %v", err)
		}
	case <-time.After(10 * time.Second):
		e.t.Error("hub did not stop within 10 s of SIGTERM")
	}
}

func (e *e2eEnv) get(token, path string, out any) int {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("GET %s: %v: %s", path, err, b)
		}
	}
	return resp.StatusCode
}

func (e *e2eEnv) post(token, path string, body any, out any) (int, string) {
	e.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", e.base+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode/100 == 2 {
		_ = json.Unmarshal(rb, out)
	}
	return resp.StatusCode, string(rb)
}

func (e *e2eEnv) cameras(token string) map[string]event.CameraStatus {
	var list []event.CameraStatus
	e.get(token, "/api/v1/cameras", &list)
	m := map[string]event.CameraStatus{}
	for _, c := range list {
		m[c.ID] = c
	}
	return m
}

func (e *e2eEnv) incidents(token string) []event.Incident {
	var list []event.Incident
	e.get(token, "/api/v1/incidents?state=open", &list)
	return list
}

func publish(t *testing.T, broker, topic, payload string) {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker).SetClientID(fmt.Sprintf("e2e-pub-%d", time.Now().UnixNano())))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", broker, tok.Error())
	}
	defer c.Disconnect(100)
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
}

// TestHubEndToEnd runs the whole hub against a real Mosquitto, InfluxDB and
// GStreamer RTSP server: cameras come online, a smoke alarm over MQTT becomes
// an incident of the right township only, the wall hears of it over the
// websocket, the township desk accepts it, and the time series holds it all.
func TestHubEndToEnd(t *testing.T) {
	e := startE2E(t)

	testenv.WaitFor(t, 30*time.Second, "all three cameras online", func() bool {
		m := e.cameras(opsToken)
		return m["cam-gst"].State == "online" && m["cam-sim-1"].State == "online" && m["cam-sim-2"].State == "online"
	})
	// A township desk sees only its own cameras.
	if m := e.cameras(zhaorenToken); len(m) != 1 || m["cam-gst"].ID == "" {
		t.Fatalf("zhaoren desk sees cameras %v, want only cam-gst", keys(m))
	}
	if m := e.cameras(opsToken); m["cam-gst"].Township != "zhaoren" || m["cam-gst"].FPS <= 0 {
		t.Fatalf("cam-gst status = %+v", m["cam-gst"])
	}

	ws := dialWS(t, e.base, opsToken, "")
	first := readWS(t, ws)
	if first.Type != "snapshot" {
		t.Fatalf("first websocket message is %q, want snapshot", first.Type)
	}

	publish(t, e.mq.URL, "snowbright/sensors/smoke-0001/event", `{"value":true,"battery":90}`)

	var inc event.Incident
	testenv.WaitFor(t, 10*time.Second, "a smoke incident for the zhaoren desk", func() bool {
		for _, i := range e.incidents(zhaorenToken) {
			if i.Device == "smoke-0001" {
				inc = i
				return true
			}
		}
		return false
	})
	if inc.Township != "zhaoren" || inc.Severity != "critical" {
		t.Fatalf("incident = %+v", inc)
	}
	for _, i := range e.incidents(xiangToken) {
		if i.ID == inc.ID {
			t.Fatalf("the xiangong desk sees zhaoren's incident %s", i.ID)
		}
	}
	// The wall hears of it without asking.
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := readWS(t, ws)
		if m.Type == "incident" && bytes.Contains(m.Data, []byte(inc.ID)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no incident message on the wall's websocket")
		}
	}

	// The other township may not act on it; its own may.
	if code, _ := e.post(xiangToken, "/api/v1/incidents/"+inc.ID+"/accept", map[string]string{}, nil); code != http.StatusForbidden && code != http.StatusNotFound {
		t.Fatalf("xiangong accepting zhaoren's incident: %d, want 403 or 404", code)
	}
	if inc.State == "opened" {
		if code, body := e.post(opsToken, "/api/v1/incidents/"+inc.ID+"/dispatch", map[string]string{"note": "to zhaoren"}, nil); code != 200 {
			t.Fatalf("dispatch: %d %s", code, body)
		}
	}
	var accepted event.Incident
	if code, body := e.post(zhaorenToken, "/api/v1/incidents/"+inc.ID+"/accept", map[string]string{"note": "on my way"}, &accepted); code != 200 {
		t.Fatalf("accept: %d %s", code, body)
	}
	if accepted.State != "accepted" {
		t.Fatalf("state after accept = %q", accepted.State)
	}

	// The time series holds the camera transitions, the reading and the steps.
	testenv.WaitFor(t, 20*time.Second, "points in InfluxDB", func() bool {
		for _, q := range []string{
			`SELECT count(*) FROM device_state WHERE device = 'cam-gst'`,
			`SELECT count(*) FROM sensor_reading WHERE sensor = 'smoke-0001'`,
			`SELECT count(*) FROM incident_step`,
		} {
			b, err := e.db.Query("snowhub", q)
			if err != nil || !bytes.Contains(b, []byte(`"values"`)) {
				return false
			}
		}
		return true
	})

	// SIGTERM: the hub stops within 10 s and the wall gets a close frame.
	e.stop()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			if !websocket.IsCloseError(err, websocket.CloseGoingAway, websocket.CloseServiceRestart, websocket.CloseNormalClosure) {
				t.Fatalf("websocket ended with %v, want a close frame", err)
			}
			break
		}
	}
}

type wsMsg struct {
	Seq  uint64          `json:"seq"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

func dialWS(t *testing.T, base, token, query string) *websocket.Conn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(base, "http") + "/ws?token=" + token + query
	c, resp, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {base}})
	if err != nil {
		if resp != nil {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("dial %s: %v: %s %s", u, err, resp.Status, b)
		}
		t.Fatalf("dial %s: %v", u, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func readWS(t *testing.T, c *websocket.Conn) wsMsg {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var m wsMsg
	if err := c.ReadJSON(&m); err != nil {
		t.Fatalf("websocket read: %v", err)
	}
	return m
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// testWriter sends the hub's log to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
