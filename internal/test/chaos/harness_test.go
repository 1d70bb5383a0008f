// Package chaos is the fault suite: the real snowhub binary, a real
// Mosquitto and a real InfluxDB, and the faults a county's hub meets
// (SIGKILL, a full disk, a broker killed, InfluxDB down, a corrupt spool).
// Each test states the promise it checks; docs/reliability.md lists them
// with their figures.
package chaos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"snowhub/internal/test/testenv"
)

const opsToken = "chaos-ops-token-0123456789"

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveHubBinary()
	os.Exit(code)
}

// syncBuf is the hub's output, written by the process, read by the test.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// hub is one snowhub process on a configuration of its own.
type hub struct {
	t       *testing.T
	bin     string
	dir     string // the configuration and, by default, data_dir
	dataDir string
	port    int
	env     []string
	path    string
	cmd     *exec.Cmd
	logs    *syncBuf
	base    string
}

// spec describes the county the hub serves.
type spec struct {
	mqttURL, influxURL string
	dataDir            string   // "" : under the test's directory
	sensors            []string // "id kind"
	deviceRate         float64
	clientID           string
	cameras            []string // "id url"
	env                []string // added to the process's environment (TZ=…)
}

func newHub(t *testing.T, s spec) *hub {
	t.Helper()
	h := &hub{t: t, bin: testenv.HubBinary(t), dir: t.TempDir(), port: testenv.FreePort(t), logs: &syncBuf{}}
	h.dataDir, h.env = s.dataDir, s.env
	if h.dataDir == "" {
		h.dataDir = filepath.Join(h.dir, "data")
	}
	h.base = fmt.Sprintf("http://127.0.0.1:%d", h.port)
	if s.clientID == "" {
		s.clientID = "snowhub-chaos"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "listen: 127.0.0.1:%d\ndata_dir: %s\n", h.port, h.dataDir)
	fmt.Fprintf(&b, "mqtt: {broker: %q, client_id: %s", s.mqttURL, s.clientID)
	if s.deviceRate > 0 {
		fmt.Fprintf(&b, ", device_rate: %v", s.deviceRate)
	}
	b.WriteString("}\n")
	fmt.Fprintf(&b, "influx: {url: %q, bucket: snowhub, flush_interval: 200ms}\n", s.influxURL)
	b.WriteString("county: {id: c, name: 长武县}\ntownships:\n  - id: t1\n    name: 昭仁街道\n    villages:\n      - {id: v1, name: 东街社区}\nsensors:\n")
	for _, sn := range s.sensors {
		f := strings.Fields(sn)
		fmt.Fprintf(&b, "  - {id: %s, kind: %s, village: v1}\n", f[0], f[1])
	}
	if len(s.cameras) > 0 {
		b.WriteString("cameras:\n")
		for _, c := range s.cameras {
			f := strings.Fields(c)
			fmt.Fprintf(&b, "  - {id: %s, village: v1, url: %q, transport: tcp, watch: true}\n", f[0], f[1])
		}
	}
	fmt.Fprintf(&b, "users:\n  - {name: ops, role: operator, token: %s}\n", opsToken)
	h.path = filepath.Join(h.dir, "snowhub.yaml")
	if err := os.WriteFile(h.path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.kill()
		if t.Failed() {
			t.Logf("hub output (tail):\n%s", tail(h.logs.String(), 6000))
		}
	})
	return h
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// start runs the hub and waits until it is connected to the broker.
func (h *hub) start() {
	h.t.Helper()
	h.startNoWait()
	testenv.WaitFor(h.t, 30*time.Second, "the hub connected to the broker", func() bool { return h.ready()["mqtt"] == "ok" })
}

func (h *hub) startNoWait() {
	h.t.Helper()
	h.cmd = exec.Command(h.bin, "-config", h.path)
	if len(h.env) > 0 {
		h.cmd.Env = append(os.Environ(), h.env...)
	}
	h.cmd.Stdout, h.cmd.Stderr = h.logs, h.logs
	h.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := h.cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
}

// kill is SIGKILL: a crash or a power cut of the process.
func (h *hub) kill() {
	if h.cmd != nil && h.cmd.Process != nil {
		h.cmd.Process.Signal(syscall.SIGKILL)
		h.cmd.Wait()
		h.cmd = nil
	}
}

// stop is SIGTERM: an orderly shutdown.
func (h *hub) stop() {
	if h.cmd != nil && h.cmd.Process != nil {
		h.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { h.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			h.cmd.Process.Signal(syscall.SIGKILL)
			<-done
		}
		h.cmd = nil
	}
}

// ready is /readyz, by component.
func (h *hub) ready() map[string]string {
	resp, err := http.Get(h.base + "/readyz")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var r map[string]string
	json.NewDecoder(resp.Body).Decode(&r)
	return r
}

func (h *hub) incidents() []map[string]any {
	req, _ := http.NewRequest("GET", h.base+"/api/v1/incidents?state=all", nil)
	req.Header.Set("Authorization", "Bearer "+opsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var l []map[string]any
	json.NewDecoder(resp.Body).Decode(&l)
	return l
}

// publisher is a device-side MQTT client with a persistent session: its
// unacknowledged QoS 1 messages are sent again after a reconnect.
func publisher(t *testing.T, url, id string) paho.Client {
	t.Helper()
	// A device keeps its session on flash; paho's memory store races with
	// itself on a resend after a reconnect (paho issue 703).
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(false).
		SetStore(paho.NewFileStore(t.TempDir())).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(200 * time.Millisecond).
		SetMaxReconnectInterval(time.Second).SetResumeSubs(true))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// publish sends one QoS 1 message and waits for the broker's PUBACK, so
// "published" means the broker has it.
func publish(t *testing.T, c paho.Client, topic, payload string) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		tok := c.Publish(topic, 1, false, payload)
		if tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
			return
		}
		if attempt == 20 {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// points is what InfluxDB holds of sensor readings: per sensor, the count
// of each timestamp (more than 1: a duplicate) and the total.
type points struct {
	perSensor map[string]int
	perTime   map[string]map[string]int // sensor → time → rows
}

func readings(t *testing.T, db *testenv.InfluxDB) points {
	t.Helper()
	b, err := db.Query("snowhub", `SELECT "value","sensor" FROM "sensor_reading"`)
	p := points{perSensor: map[string]int{}, perTime: map[string]map[string]int{}}
	if err != nil {
		if strings.Contains(err.Error(), "database not found") {
			return p
		}
		t.Fatal(err)
	}
	var r struct {
		Results []struct {
			Series []struct {
				Columns []string `json:"columns"`
				Values  [][]any  `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	for _, res := range r.Results {
		for _, s := range res.Series {
			for _, v := range s.Values {
				tm, _ := v[0].(string)
				sensor, _ := v[2].(string)
				p.perSensor[sensor]++
				if p.perTime[sensor] == nil {
					p.perTime[sensor] = map[string]int{}
				}
				p.perTime[sensor][tm]++
			}
		}
	}
	return p
}

func (p points) total() int {
	n := 0
	for _, c := range p.perSensor {
		n += c
	}
	return n
}

// duplicates counts rows beyond the first of each (sensor, time).
func (p points) duplicates() int {
	d := 0
	for _, m := range p.perTime {
		for _, c := range m {
			d += c - 1
		}
	}
	return d
}

// stable waits until InfluxDB's count of readings stops changing and
// reaches at least want.
func stable(t *testing.T, db *testenv.InfluxDB, want int, within time.Duration) points {
	t.Helper()
	var p points
	last, since := -1, time.Now()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		p = readings(t, db)
		if n := p.total(); n != last {
			last, since = n, time.Now()
		} else if n >= want && time.Since(since) > 2*time.Second {
			return p
		}
		time.Sleep(300 * time.Millisecond)
	}
	return p
}

// tsReading is a reading carrying the device's own timestamp.
func tsReading(at time.Time, v int) string {
	return fmt.Sprintf(`{"ts":%q,"value":%d}`, at.UTC().Format(time.RFC3339Nano), v)
}
