package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"snowhub/configs"
	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
)

// withDeviceUsers is county(4) with a gateway of village v1 and a camera
// user of cam-1 (village v2).
func withDeviceUsers() *configs.Config {
	cfg := county(4)
	cfg.MQTT.DeviceUsers = []configs.DeviceUser{
		{Username: "gw-v1", Password: "gw-v1-password", Villages: []string{"v1"}},
		{Username: "cam-user", Password: "cam-user-password", Devices: []string{"cam-1"}},
	}
	return cfg
}

// logBuf keeps what a component logs, for assertions.
type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startBroker(t *testing.T, cfg *configs.Config) *Broker {
	b, _ := startBrokerLog(t, cfg)
	return b
}

func startBrokerLog(t *testing.T, cfg *configs.Config) (*Broker, *logBuf) {
	t.Helper()
	c := *cfg
	c.MQTT.EmbeddedListen = "127.0.0.1:0"
	log := &logBuf{}
	b, err := NewBroker(BrokerOptions{Listen: c.MQTT.EmbeddedListen, Config: &c, Logger: slog.New(slog.NewTextHandler(log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, log
}

// startHubIngest starts ingest as the hub does on its embedded broker.
func startHubIngest(t *testing.T, b *Broker, cfg *configs.Config, sink event.Sink) *Ingest {
	t.Helper()
	c := *cfg
	c.MQTT.Broker = b.Addr()
	c.MQTT.Username, c.MQTT.Password = b.HubCredential()
	c.MQTT.DeviceRateLimit = 1000
	in, err := New(Options{Config: &c, Sink: sink, TLS: b.ClientTLS()})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	testenv.WaitFor(t, 10*time.Second, "ingest connected", func() bool { return in.Ready() == nil })
	return in
}

// device connects as user with client id; it returns the client and the
// connection error.
func device(t *testing.T, broker, user, pass, id string) (paho.Client, error) {
	t.Helper()
	o := paho.NewClientOptions().AddBroker(broker).SetClientID(id).SetCleanSession(false).SetAutoReconnect(false)
	if user != "" {
		o.SetUsername(user).SetPassword(pass)
	}
	c := paho.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(5 * time.Second) {
		return c, fmt.Errorf("connect timed out")
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c, tok.Error()
}

func (r *recorder) sensorValues(id string) []float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []float64
	for _, ev := range r.events {
		if d, ok := ev.Data.(event.SensorReadingData); ok && d.Sensor == id {
			out = append(out, d.Value)
		}
	}
	return out
}

// A device user cannot take the hub's session (its client id), cannot
// log in as the hub, and cannot publish another village's sensor topic or
// subscribe to the hub's topics; its own devices' messages arrive.
func TestBrokerDeviceUsersKeepToTheirOwn(t *testing.T) {
	cfg := withDeviceUsers()
	b, log := startBrokerLog(t, cfg)
	rec := newRecorder()
	in := startHubIngest(t, b, cfg, rec)

	// The hub's client id, with a valid device login: refused, and the
	// hub stays connected.
	if _, err := device(t, b.Addr(), "gw-v1", "gw-v1-password", cfg.MQTT.ClientID); err == nil {
		t.Fatal("a device user took the hub's client id")
	}
	// The hub's username with any password a configuration could hold.
	for _, pass := range []string{"", "gw-v1-password", cfg.MQTT.Password} {
		if _, err := device(t, b.Addr(), cfg.MQTT.HubUsername(), pass, "x"); err == nil {
			t.Fatalf("logged in as the hub with %q", pass)
		}
	}
	// Another user's client id.
	if _, err := device(t, b.Addr(), "gw-v1", "gw-v1-password", "cam-user"); err == nil {
		t.Fatal("a device user took another user's client id")
	}
	time.Sleep(200 * time.Millisecond)
	if err := in.Ready(); err != nil {
		t.Fatalf("the hub lost its session: %v", err)
	}
	if !strings.Contains(log.String(), "client id is the hub's own") {
		t.Fatalf("the takeover attempt is not logged:\n%s", log.String())
	}

	gw, err := device(t, b.Addr(), "gw-v1", "gw-v1-password", "gw-v1/1")
	if err != nil {
		t.Fatal(err)
	}
	// Subscribing to the hub's topics is refused (0x80).
	for _, f := range []string{"snowbright/#", "snowbright/sensors/+/event", "#", "zigbee2mqtt/+"} {
		tok := gw.Subscribe(f, 1, nil)
		tok.WaitTimeout(5 * time.Second)
		if res := tok.(*paho.SubscribeToken).Result()[f]; res != 0x80 {
			t.Errorf("subscribe %s: granted %#x, want refused", f, res)
		}
	}
	// Its own village's sensor arrives. s-0000 is in v1, s-0001 in v2.
	gw.Publish("snowbright/sensors/s-0000/event", 0, false, `{"value":7}`).Wait()
	testenv.WaitFor(t, 5*time.Second, "own sensor recorded", func() bool { return len(rec.sensorValues("s-0000")) == 1 })
	// Another village's sensor (QoS 0: dropped; QoS 1: the broker
	// disconnects the device).
	gw.Publish("snowbright/sensors/s-0001/event", 0, false, `{"value":0}`).Wait()
	gw.Publish("snowbright/sensors/s-0001/event", 1, false, `{"value":0}`).WaitTimeout(2 * time.Second)
	gw.Publish("snowbright/out/incidents/x", 0, false, `{}`).WaitTimeout(time.Second)
	time.Sleep(300 * time.Millisecond)
	if v := rec.sensorValues("s-0001"); len(v) != 0 {
		t.Fatalf("another village's sensor was spoofed: %v", v)
	}
}

// On loopback without device users (the demo), anonymous devices publish
// device topics, but the hub's client id is still the hub's alone and
// nothing of the hub's can be read.
func TestBrokerAnonymousCannotBeTheHub(t *testing.T) {
	cfg := county(2)
	b := startBroker(t, cfg)
	rec := newRecorder()
	in := startHubIngest(t, b, cfg, rec)
	if _, err := device(t, b.Addr(), "", "", cfg.MQTT.ClientID); err == nil {
		t.Fatal("an anonymous client took the hub's client id")
	}
	if err := in.Ready(); err != nil {
		t.Fatalf("the hub lost its session: %v", err)
	}
	c, err := device(t, b.Addr(), "", "", "sim-1")
	if err != nil {
		t.Fatal(err)
	}
	tok := c.Subscribe("snowbright/#", 1, nil)
	tok.WaitTimeout(5 * time.Second)
	if res := tok.(*paho.SubscribeToken).Result()["snowbright/#"]; res != 0x80 {
		t.Errorf("anonymous subscribe to the hub's topics: granted %#x", res)
	}
	c.Publish("snowbright/sensors/s-0000/event", 1, false, `{"value":3}`).Wait()
	testenv.WaitFor(t, 5*time.Second, "reading recorded", func() bool { return len(rec.sensorValues("s-0000")) == 1 })
}

// A publish announcing 100 MB is refused from its fixed header: the broker
// never allocates it. Before, three such packets held 631 MB.
func TestBrokerMaxPacketFromMaxPayload(t *testing.T) {
	cfg := county(1)
	b := startBroker(t, cfg)
	addr := strings.TrimPrefix(b.Addr(), "tcp://")
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var conns []net.Conn
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		id := fmt.Sprintf("big-%d", i)
		// CONNECT, MQTT 3.1.1, clean session, keepalive 60.
		vh := append([]byte{0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, byte(len(id))}, id...)
		c.Write(append([]byte{0x10, byte(len(vh))}, vh...))
		ack := make([]byte, 4)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(ack); err != nil || ack[0] != 0x20 || ack[3] != 0 {
			t.Fatalf("connack: % x %v", ack, err)
		}
		// PUBLISH QoS 0 with a remaining length of 100 MB, and 64 KiB of it.
		c.Write([]byte{0x30, 0x80, 0x80, 0x80, 0x30})
		c.Write(make([]byte, 64<<10))
	}
	time.Sleep(500 * time.Millisecond)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	const ceiling = 32 << 20
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("heap grew %.1f MiB (ceiling %d MiB)", float64(grew)/(1<<20), ceiling>>20)
	if grew > ceiling {
		t.Fatalf("heap grew %d MiB for three oversized packets; ceiling %d MiB", grew>>20, ceiling>>20)
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 16)); err == nil {
			t.Fatal("the connection with an oversized packet stays open")
		}
		c.Close()
	}
}

// TLS on the embedded listener, with a certificate made here: a device
// and the hub's client (paho, trusting the CA by mqtt.ca_file) connect
// over TLS; a plain-TCP client does not get in.
func TestBrokerTLS(t *testing.T) {
	files := testenv.TLSCert(t)
	cfg := withDeviceUsers()
	cfg.MQTT.EmbeddedCertFile, cfg.MQTT.EmbeddedKeyFile = files.CertFile, files.KeyFile
	b := startBroker(t, cfg)
	if !strings.HasPrefix(b.Addr(), "ssl://") {
		t.Fatalf("Addr %s", b.Addr())
	}
	// The hub's client through mqtt.ca_file (the path an external TLS
	// broker takes), not the pinned embedded one.
	c := *cfg
	c.MQTT.Broker = b.Addr()
	c.MQTT.Username, c.MQTT.Password = b.HubCredential()
	c.MQTT.CAFile = files.CAFile
	rec := newRecorder()
	in, err := New(Options{Config: &c, Sink: rec})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	testenv.WaitFor(t, 10*time.Second, "ingest connected over TLS", func() bool { return in.Ready() == nil })

	tc, err := tlsConfig(configs.MQTTConfig{CAFile: files.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	o := paho.NewClientOptions().AddBroker(b.Addr()).SetClientID("gw-v1").SetUsername("gw-v1").SetPassword("gw-v1-password").SetTLSConfig(tc)
	dev := paho.NewClient(o)
	if tok := dev.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("device over TLS: %v", tok.Error())
	}
	defer dev.Disconnect(50)
	dev.Publish("snowbright/sensors/s-0000/event", 1, false, `{"value":5}`).Wait()
	testenv.WaitFor(t, 5*time.Second, "reading over TLS", func() bool { return len(rec.sensorValues("s-0000")) == 1 })

	plain := "tcp://" + strings.TrimPrefix(b.Addr(), "ssl://")
	if _, err := device(t, plain, "gw-v1", "gw-v1-password", "gw-v1/plain"); err == nil {
		t.Fatal("plain TCP got through a TLS listener")
	}

	// The hub's own pinned client, as internal/app wires it.
	startHubIngest(t, b, cfg, newRecorder())
}

// With embedded_client_ca_file, a device needs a certificate of that CA;
// the hub's own client gets in with the listener's certificate.
func TestBrokerTLSClientCertificates(t *testing.T) {
	files := testenv.TLSCert(t)
	other := testenv.TLSCert(t) // another CA's client certificate
	cfg := withDeviceUsers()
	cfg.MQTT.EmbeddedCertFile, cfg.MQTT.EmbeddedKeyFile, cfg.MQTT.EmbeddedClientCAFile = files.CertFile, files.KeyFile, files.CAFile
	b := startBroker(t, cfg)
	rec := newRecorder()
	startHubIngest(t, b, cfg, rec)

	connect := func(certFile, keyFile string) error {
		tc, err := tlsConfig(configs.MQTTConfig{CAFile: files.CAFile, CertFile: certFile, KeyFile: keyFile})
		if err != nil {
			t.Fatal(err)
		}
		c := paho.NewClient(paho.NewClientOptions().AddBroker(b.Addr()).SetClientID("gw-v1").
			SetUsername("gw-v1").SetPassword("gw-v1-password").SetTLSConfig(tc).SetAutoReconnect(false))
		tok := c.Connect()
		if !tok.WaitTimeout(5 * time.Second) {
			return fmt.Errorf("timeout")
		}
		if tok.Error() == nil {
			c.Publish("snowbright/sensors/s-0000/event", 1, false, `{"value":9}`).WaitTimeout(5 * time.Second)
			c.Disconnect(50)
		}
		return tok.Error()
	}
	if err := connect("", ""); err == nil {
		t.Fatal("a device without a certificate got in")
	}
	if err := connect(other.ClientCertFile, other.ClientKeyFile); err == nil {
		t.Fatal("a certificate of another CA got in")
	}
	if err := connect(files.ClientCertFile, files.ClientKeyFile); err != nil {
		t.Fatalf("a device with the CA's certificate: %v", err)
	}
	testenv.WaitFor(t, 5*time.Second, "the reading over mutual TLS", func() bool { return len(rec.sensorValues("s-0000")) == 1 })
}

// A reload's device users apply at once: a new one logs in, a removed one
// no longer does.
func TestBrokerUpdateAppliesDeviceUsers(t *testing.T) {
	cfg := withDeviceUsers()
	b := startBroker(t, cfg)
	if _, err := device(t, b.Addr(), "gw-new", "gw-new-password", "gw-new"); err == nil {
		t.Fatal("an unconfigured user got in")
	}
	next := *cfg
	next.MQTT.DeviceUsers = []configs.DeviceUser{{Username: "gw-new", Password: "gw-new-password", Devices: []string{"s-0001"}}}
	b.Update(&next)
	if _, err := device(t, b.Addr(), "gw-new", "gw-new-password", "gw-new"); err != nil {
		t.Fatalf("the new device user: %v", err)
	}
	if _, err := device(t, b.Addr(), "gw-v1", "gw-v1-password", "gw-v1"); err == nil {
		t.Fatal("a removed device user still gets in")
	}
}
