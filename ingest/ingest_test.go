package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"snowhub/configs"
	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
)

// recorder is a sink that counts each sensor reading by its value, which
// the publishers make unique per sensor.
type recorder struct {
	mu     sync.Mutex
	seen   map[string]int // "sensor/value" → times recorded
	events []event.Event
	fail   atomic.Bool
}

func newRecorder() *recorder { return &recorder{seen: map[string]int{}} }

func (r *recorder) Publish(_ context.Context, ev event.Event) error {
	if r.fail.Load() {
		return errors.New("store unavailable")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
	if d, ok := ev.Data.(event.SensorReadingData); ok {
		r.seen[fmt.Sprintf("%s/%v", d.Sensor, d.Value)]++
	}
	return nil
}

func (r *recorder) counts() (distinct, dups int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range r.seen {
		distinct++
		dups += n - 1
	}
	return
}

func county(sensors int) *configs.Config {
	y := "county: {id: c, name: C}\ntownships:\n  - id: t1\n    name: T1\n    villages:\n      - {id: v1, name: V1}\n  - id: t2\n    name: T2\n    villages:\n      - {id: v2, name: V2}\n"
	y += "cameras:\n  - {id: cam-1, village: v2, url: rtsp://127.0.0.1/x}\nsensors:\n"
	for i := 0; i < sensors; i++ {
		y += fmt.Sprintf("  - {id: s-%04d, kind: water_level, village: v%d}\n", i, i%2+1)
	}
	y += "  - {id: door-z, kind: door, village: v1, z2m: door_gate}\n"
	y += "users:\n  - {name: ops, role: operator, token: ops-token-0123456789}\n"
	c, err := configs.Parse("test.yaml", []byte(y))
	if err != nil {
		panic(err)
	}
	return c
}

func startIngest(t *testing.T, cfg *configs.Config, broker, clientID string, sink event.Sink) (*Ingest, *prometheus.Registry) {
	t.Helper()
	c := *cfg
	c.MQTT.Broker, c.MQTT.ClientID = broker, clientID
	c.MQTT.DeviceRateLimit = 1000
	reg := prometheus.NewRegistry()
	in, err := New(Options{Config: &c, Sink: sink, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 15*time.Second, "ingest connected", func() bool { return in.Ready() == nil })
	return in, reg
}

func publisher(t *testing.T, broker, id string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID(id).SetCleanSession(false).
		SetStore(newClientStore()).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(200 * time.Millisecond).
		SetMaxReconnectInterval(time.Second))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

func reading(seq int) string {
	return fmt.Sprintf(`{"ts":"%s","value":%d}`, time.Now().UTC().Format(time.RFC3339Nano), seq)
}

// The broker restarts while 100 sensors publish at QoS 1: every message
// sent is recorded exactly once.
func TestBrokerRestartLosesNothing(t *testing.T) {
	mq := testenv.StartMosquitto(t)
	cfg := county(100)
	rec := newRecorder()
	in, _ := startIngest(t, cfg, mq.URL, "hub-restart", rec)
	defer in.Close()

	const perSensor = 20
	var wg sync.WaitGroup
	var sent atomic.Int64
	pubs := make([]paho.Client, 10)
	for i := range pubs {
		pubs[i] = publisher(t, mq.URL, fmt.Sprintf("pub-%d", i))
	}
	for s := 0; s < 100; s++ {
		wg.Add(1)
		go func(s int) {
			defer wg.Done()
			c := pubs[s%len(pubs)]
			for seq := 0; seq < perSensor; seq++ {
				// The same message (same device timestamp) on every retry:
				// a device retrying what the broker may already have.
				msg := reading(seq)
				tok := c.Publish(fmt.Sprintf("snowbright/sensors/s-%04d/event", s), 1, false, msg)
				// Keep retrying while the broker is away: QoS 1 is the
				// publisher's promise until the broker acknowledged.
				for !tok.WaitTimeout(20*time.Second) || tok.Error() != nil {
					time.Sleep(100 * time.Millisecond)
					tok = c.Publish(fmt.Sprintf("snowbright/sensors/s-%04d/event", s), 1, false, msg)
				}
				sent.Add(1)
				time.Sleep(25 * time.Millisecond)
			}
		}(s)
	}
	time.Sleep(200 * time.Millisecond)
	mq.Stop()
	time.Sleep(time.Second)
	mq.Start()
	wg.Wait()
	testenv.WaitFor(t, 30*time.Second, "every reading recorded", func() bool {
		d, _ := rec.counts()
		return d == 100*perSensor
	})
	if d, dups := rec.counts(); d != 100*perSensor || dups != 0 {
		t.Fatalf("recorded %d distinct readings with %d duplicates; sent %d", d, dups, sent.Load())
	}
}

// The hub stops without acknowledging (its store failed, or it died) while
// sensors publish: what was not acknowledged arrives at the next start.
func TestUnacknowledgedMessagesArriveAfterRestart(t *testing.T) {
	mq := testenv.StartMosquitto(t)
	cfg := county(10)
	rec := newRecorder()
	first, _ := startIngest(t, cfg, mq.URL, "hub-crash", rec)
	pub := publisher(t, mq.URL, "pub-crash")
	send := func(from, to int) {
		for seq := from; seq < to; seq++ {
			tok := pub.Publish(fmt.Sprintf("snowbright/sensors/s-%04d/event", seq%10), 1, false, reading(seq))
			if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
				t.Fatalf("publish: %v", tok.Error())
			}
		}
	}
	send(0, 50)
	testenv.WaitFor(t, 10*time.Second, "first 50 recorded", func() bool { d, _ := rec.counts(); return d == 50 })
	rec.fail.Store(true) // nothing more becomes durable
	send(50, 80)
	time.Sleep(300 * time.Millisecond)
	first.Close()
	send(80, 100) // while the hub is down: the broker queues them for our session
	rec.fail.Store(false)
	second, _ := startIngest(t, cfg, mq.URL, "hub-crash", rec)
	defer second.Close()
	testenv.WaitFor(t, 20*time.Second, "all 100 recorded", func() bool { d, _ := rec.counts(); return d == 100 })
}

// Bad input of every kind is counted by reason and never stops ingest; an
// unknown device is listed; a flooding device is limited while the others
// get through.
func TestBadInputIsCountedAndIngestGoesOn(t *testing.T) {
	mq := testenv.StartMosquitto(t)
	cfg := county(4)
	cfg.MQTT.MaxPayload = 1024
	rec := newRecorder()
	c := *cfg
	c.MQTT.Broker, c.MQTT.ClientID, c.MQTT.DeviceRateLimit = mq.URL, "hub-bad", 20
	reg := prometheus.NewRegistry()
	in, err := New(Options{Config: &c, Sink: rec, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	in.Start(context.Background())
	defer in.Close()
	testenv.WaitFor(t, 15*time.Second, "connected", func() bool { return in.Ready() == nil })
	pub := publisher(t, mq.URL, "pub-bad")
	p := func(topic, payload string) {
		if tok := pub.Publish(topic, 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	p("snowbright/sensors/s-0000/event", `{"value":`)
	p("snowbright/sensors/s-0000/event", `{"value":"NaN"}`)
	p("snowbright/sensors/s-0000/event", `{"value":"high"}`)
	p("snowbright/sensors/s-0000/event", fmt.Sprintf(`{"value":1,"pad":"%0900d%0900d"}`, 0, 0))
	p("snowbright/sensors/ghost-77/event", `{"value":1}`)
	for i := 0; i < 200; i++ { // a flood from s-0003
		pub.Publish("snowbright/sensors/s-0003/event", 0, false, fmt.Sprintf(`{"value":%d}`, i))
	}
	p("snowbright/sensors/s-0001/event", `{"value":2.5,"unit":"m","battery":80}`)
	p("zigbee2mqtt/door_gate", `{"battery":91,"contact":false,"linkquality":90}`)
	p("zigbee2mqtt/door_gate/availability", `{"state":"online"}`)

	testenv.WaitFor(t, 10*time.Second, "the good messages after the bad", func() bool {
		d, _ := rec.counts()
		return d >= 2+20 // s-0001, door-z, and at least the flood's burst
	})
	for reason, min := range map[string]float64{ReasonMalformedJSON: 1, ReasonNotFinite: 1, ReasonWrongType: 1,
		ReasonTooLarge: 1, ReasonUnknownDevice: 1, ReasonRateLimited: 1} {
		testenv.WaitFor(t, 5*time.Second, reason+" counted", func() bool {
			return testutil.ToFloat64(in.m.rejected.WithLabelValues(reason)) >= min
		})
	}
	if u := in.Unknown(); len(u) != 1 || u[0].ID != "ghost-77" {
		t.Fatalf("Unknown() = %+v", u)
	}
	var door event.SensorStatus
	for _, s := range in.Sensors() {
		if s.ID == "door-z" {
			door = s
		}
	}
	if door.State != event.StateOnline || door.LastValue == nil || *door.LastValue != 1 || door.Township != "t1" {
		b, _ := json.Marshal(door)
		t.Fatalf("door-z = %s", b)
	}
}

func TestSilentSensorGoesOffline(t *testing.T) {
	cfg := county(1)
	rec := newRecorder()
	clock := now
	in, err := New(Options{Config: cfg, Sink: rec, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.recordMessage(context.Background(), &delivery{msg: &fakeMsg{topic: "snowbright/sensors/s-0000/event", payload: []byte(`{"value":1}`), qos: 1}, at: clock}); err != nil {
		t.Fatal(err)
	}
	clock = now.Add(3 * time.Minute) // water level reports every minute: exactly three missed is not yet silent
	in.CheckSilence(clock)
	sensor := func() event.SensorStatus {
		for _, s := range in.Sensors() {
			if s.ID == "s-0000" {
				return s
			}
		}
		t.Fatal("s-0000 missing")
		return event.SensorStatus{}
	}
	if s := sensor(); s.State != event.StateOnline {
		t.Fatalf("state after 3 intervals = %s", s.State)
	}
	clock = now.Add(3*time.Minute + time.Second)
	in.CheckSilence(clock)
	s := sensor()
	if s.State != event.StateOffline || s.Cause != "silent" {
		t.Fatalf("state = %s cause %s, want offline/silent", s.State, s.Cause)
	}
	last := rec.events[len(rec.events)-1]
	if last.Type != event.SensorState || last.Township != "t1" {
		t.Fatalf("last event = %+v", last)
	}
}

// 1,000 sensors, one of them flooding: every other sensor's report still
// arrives, and the flood is limited and counted.
func TestFloodingSensorDoesNotBlindTheOthers(t *testing.T) {
	mq := testenv.StartMosquitto(t)
	cfg := county(1000)
	rec := newRecorder()
	c := *cfg
	c.MQTT.Broker, c.MQTT.ClientID, c.MQTT.DeviceRateLimit = mq.URL, "hub-flood", 50
	in, err := New(Options{Config: &c, Sink: rec, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	in.Start(context.Background())
	defer in.Close()
	testenv.WaitFor(t, 15*time.Second, "connected", func() bool { return in.Ready() == nil })

	flood := publisher(t, mq.URL, "pub-flood")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 5000; i++ {
			flood.Publish("snowbright/sensors/s-0000/event", 0, false, fmt.Sprintf(`{"value":%d}`, 100000+i))
		}
	}()
	pub := publisher(t, mq.URL, "pub-others")
	var last paho.Token
	for s := 1; s < 1000; s++ {
		last = pub.Publish(fmt.Sprintf("snowbright/sensors/s-%04d/event", s), 1, false, `{"value":7}`)
	}
	last.WaitTimeout(10 * time.Second)
	<-done
	testenv.WaitFor(t, 20*time.Second, "all 999 other sensors recorded", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		n := 0
		for k := range rec.seen {
			if strings.HasSuffix(k, "/7") {
				n++
			}
		}
		return n == 999
	})
	if got := testutil.ToFloat64(in.m.rejected.WithLabelValues(ReasonRateLimited)); got == 0 {
		t.Fatal("the flood was not rate limited")
	}
}

// Each device's messages reach the sink in the order it published them,
// under load from many devices at once (paho's ordered delivery into one
// worker per device; unordered callbacks once let them overtake).
func TestPerDeviceOrderIsKept(t *testing.T) {
	mq := testenv.StartMosquitto(t)
	cfg := county(20)
	rec := newRecorder()
	in, _ := startIngest(t, cfg, mq.URL, "hub-order", rec)
	defer in.Close()
	pub := publisher(t, mq.URL, "pub-order")
	const per = 150
	var last paho.Token
	for i := 0; i < per; i++ {
		for s := 0; s < 20; s++ {
			last = pub.Publish(fmt.Sprintf("snowbright/sensors/s-%04d/event", s), 1, false, fmt.Sprintf(`{"value":%d}`, i))
		}
	}
	// Generous waits: on a loaded machine 3,000 QoS 1 messages under -race
	// take a while; what is asserted is the order, not the speed.
	if !last.WaitTimeout(60*time.Second) || last.Error() != nil {
		t.Fatalf("last publish not acknowledged: %v", last.Error())
	}
	testenv.WaitFor(t, 60*time.Second, "every reading recorded", func() bool { d, _ := rec.counts(); return d == 20*per })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	next := map[string]float64{}
	for _, ev := range rec.events {
		d, ok := ev.Data.(event.SensorReadingData)
		if !ok {
			continue
		}
		if d.Value != next[d.Sensor] {
			t.Fatalf("%s: reading %v arrived when %v was due", d.Sensor, d.Value, next[d.Sensor])
		}
		next[d.Sensor]++
	}
}
