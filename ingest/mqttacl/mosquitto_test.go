package mqttacl_test

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"snowhub/configs"
	"snowhub/ingest"
	"snowhub/ingest/mqttacl"
	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
)

const countyYAML = `
county: {id: c, name: C}
townships:
  - id: t1
    name: T1
    villages: [{id: v1, name: V1}]
  - id: t2
    name: T2
    villages: [{id: v2, name: V2}]
sensors:
  - {id: smoke-1, kind: smoke, village: v1}
  - {id: smoke-2, kind: smoke, village: v2}
  - {id: door-z, kind: door, village: v1, z2m: zr01-door}
mqtt:
  client_id: snowhub-north
  username: snowhub-north
  password: hub-password-0123
  max_payload: 4096
  device_users:
    - {username: gw-v1, password: gw-v1-password, villages: [v1]}
    - {username: z2m-zr01, password: z2m-password, z2m_prefix: zr01-}
users:
  - {name: ops, role: operator, token: ops-token-0123456789}
`

func load(t *testing.T) *configs.Config {
	t.Helper()
	cfg, err := configs.Parse("county.yaml", []byte(countyYAML))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// The password hash is mosquitto_passwd's: PBKDF2-SHA512, "$7$" form.
func TestHashPasswordFormat(t *testing.T) {
	h, err := mqttacl.HashPassword("secret123", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := strings.Split(h, "$")
	if len(p) != 5 || p[1] != "7" || p[2] != "1000" {
		t.Fatalf("hash %q", h)
	}
	salt, _ := base64.StdEncoding.DecodeString(p[3])
	want, _ := pbkdf2.Key(sha512.New, "secret123", salt, 1000, 64)
	if p[4] != base64.StdEncoding.EncodeToString(want) {
		t.Fatal("hash does not verify")
	}
}

type sink struct {
	mu   sync.Mutex
	seen map[string][]float64
}

func (s *sink) Publish(_ context.Context, ev event.Event) error {
	if d, ok := ev.Data.(event.SensorReadingData); ok {
		s.mu.Lock()
		s.seen[d.Sensor] = append(s.seen[d.Sensor], d.Value)
		s.mu.Unlock()
	}
	return nil
}

func (s *sink) n(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen[id])
}

func connect(t *testing.T, url, user, pass, id string) (paho.Client, bool) {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(id).SetUsername(user).SetPassword(pass).
		SetCleanSession(false).SetAutoReconnect(false))
	tok := c.Connect()
	ok := tok.WaitTimeout(5*time.Second) && tok.Error() == nil
	t.Cleanup(func() { c.Disconnect(50) })
	return c, ok
}

// The generated files, included by deploy/compose/mosquitto.conf, run a
// real Mosquitto 2.0: anonymous clients are refused; the hub logs in and reads
// its devices; a device user cannot take the hub's client id, cannot
// publish another village's sensor topic, cannot subscribe to the hub's
// topics; an oversized payload is refused.
func TestGeneratedMosquittoConfig(t *testing.T) {
	cfg := load(t)
	mq := startShipped(t, cfg)
	if out := mq.Output(); strings.Contains(out, "port 1883") {
		t.Fatalf("the shipped configuration opens a listener of its own on 1883:\n%s", out)
	}
	if _, ok := connect(t, mq.URL, "", "", "anon"); ok {
		t.Fatal("the shipped configuration admits anonymous clients")
	}

	c := *cfg
	c.MQTT.Broker = mq.URL
	rec := &sink{seen: map[string][]float64{}}
	in, err := ingest.New(ingest.Options{Config: &c, Sink: rec})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	testenv.WaitFor(t, 10*time.Second, "the hub logged in and subscribed", func() bool { return in.Ready() == nil })

	if _, ok := connect(t, mq.URL, "gw-v1", "wrong", "gw-v1"); ok {
		t.Fatal("a wrong password got in")
	}
	if _, ok := connect(t, mq.URL, "snowhub-north", "gw-v1-password", "x"); ok {
		t.Fatal("logged in as the hub with a device's password")
	}
	// The hub's client id: Mosquitto gives the device its username as
	// its id instead, so the hub's session stays the hub's.
	gw, ok := connect(t, mq.URL, "gw-v1", "gw-v1-password", "snowhub-north")
	if !ok {
		t.Fatal("the gateway cannot log in")
	}
	time.Sleep(300 * time.Millisecond)
	if err := in.Ready(); err != nil {
		t.Fatalf("the hub lost its session to a device using its client id: %v", err)
	}

	var got sync.Map
	for _, f := range []string{"snowbright/#", "#", "snowbright/sensors/+/event", "zigbee2mqtt/+"} {
		gw.Subscribe(f, 1, func(_ paho.Client, m paho.Message) { got.Store(m.Topic(), true) }).WaitTimeout(5 * time.Second)
	}
	// Own village, own topic: arrives at the hub.
	gw.Publish("snowbright/sensors/smoke-1/event", 1, false, `{"value":1}`).WaitTimeout(5 * time.Second)
	testenv.WaitFor(t, 5*time.Second, "the gateway's own sensor at the hub", func() bool { return rec.n("smoke-1") == 1 })
	// Another village's sensor: the broker drops it.
	gw.Publish("snowbright/sensors/smoke-2/event", 1, false, `{"value":0}`).WaitTimeout(5 * time.Second)
	// The Zigbee2MQTT gateway: its own friendly names only.
	z, ok := connect(t, mq.URL, "z2m-zr01", "z2m-password", "z2m-zr01")
	if !ok {
		t.Fatal("the z2m gateway cannot log in")
	}
	z.Publish("zigbee2mqtt/zr01-door", 1, false, `{"contact":false}`).WaitTimeout(5 * time.Second)
	z.Publish("snowbright/sensors/smoke-2/event", 1, false, `{"value":0}`).WaitTimeout(5 * time.Second)
	testenv.WaitFor(t, 5*time.Second, "the z2m gateway's own sensor at the hub", func() bool { return rec.n("door-z") == 1 })
	// Over mqtt.max_payload.
	gw.Publish("snowbright/sensors/smoke-1/event", 1, false, `{"value":2,"pad":"`+strings.Repeat("x", 8000)+`"}`).WaitTimeout(5 * time.Second)
	time.Sleep(500 * time.Millisecond)
	if n := rec.n("smoke-2"); n != 0 {
		t.Fatalf("another village's sensor was spoofed %d times", n)
	}
	if n := rec.n("smoke-1"); n != 1 {
		t.Fatalf("smoke-1 recorded %d times; the oversized message should have been refused", n)
	}
	n := 0
	got.Range(func(k, _ any) bool { n++; t.Logf("the gateway read %v", k); return true })
	if n != 0 {
		t.Fatalf("a device user read %d of the hub's topics", n)
	}
}

// startShipped runs Mosquitto 2.0 as deploy/compose does: its
// mosquitto.conf, including the files generated for cfg.
func startShipped(t *testing.T, cfg *configs.Config) *testenv.Mosquitto {
	t.Helper()
	dir := t.TempDir()
	if err := mqttacl.WriteMosquitto(cfg, dir, ""); err != nil {
		t.Fatal(err)
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
		return "user root\nlog_type error\nlog_type warning\nlog_type notice\n" + s
	})
}
