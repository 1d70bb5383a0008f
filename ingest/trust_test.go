package ingest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"snowhub/configs"
	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
)

// startFake runs ingest against the fake client: routing, parsing,
// deduplication and the acknowledgement rules without a broker.
func startFake(t *testing.T, cfg *configs.Config, sink event.Sink, rate float64) (*Ingest, *fakeClient) {
	t.Helper()
	c := *cfg
	c.MQTT.DeviceRateLimit = rate
	factory, client := fakeFactory()
	in, err := New(Options{Config: &c, Sink: sink, Registry: prometheus.NewRegistry(), NewClient: factory})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	testenv.WaitFor(t, 5*time.Second, "subscribed", func() bool { return in.Ready() == nil })
	return in, client()
}

func waitAcked(t *testing.T, msgs ...*fakeMsg) {
	t.Helper()
	testenv.WaitFor(t, 5*time.Second, "messages acknowledged", func() bool {
		for _, m := range msgs {
			if m.acked.Load() == 0 {
				return false
			}
		}
		return true
	})
}

func (r *recorder) readings(sensor string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, ev := range r.events {
		if d, ok := ev.Data.(event.SensorReadingData); ok && d.Sensor == sensor {
			n++
		}
	}
	return n
}

// Two alarms with the same bytes and no timestamp are two alarms: the
// second, redelivered with DUP set, is stored, not dropped as a duplicate.
func TestIdenticalAlarmsWithoutTimestampAreBothStored(t *testing.T) {
	rec := newRecorder()
	_, fc := startFake(t, county(2), rec, 100)
	a := fc.deliver(&fakeMsg{topic: "snowbright/sensors/s-0000/event", payload: []byte(`{"value":1}`), qos: 1})
	b := fc.deliver(&fakeMsg{topic: "snowbright/sensors/s-0000/event", payload: []byte(`{"value":1}`), qos: 1, dup: true})
	waitAcked(t, a, b)
	if n := rec.readings("s-0000"); n != 2 {
		t.Fatalf("%d readings stored, want 2", n)
	}
}

// A reading the store refused is kept unacknowledged, /readyz says why,
// ingest resumes by itself when the store takes writes again, and the
// broker's redelivery of it afterwards is recognised (same device and
// timestamp) and stored once.
func TestRefusedWriteIsNotAckedAndResumes(t *testing.T) {
	rec := newRecorder()
	in, fc := startFake(t, county(2), rec, 100)
	rec.fail.Store(true)
	ts := `{"ts":"` + time.Now().UTC().Format(time.RFC3339Nano) + `","value":3}`
	m := fc.deliver(&fakeMsg{topic: "snowbright/sensors/s-0001/event", payload: []byte(ts), qos: 1})
	testenv.WaitFor(t, 5*time.Second, "/readyz fails", func() bool {
		err := in.Ready()
		return err != nil && strings.Contains(err.Error(), "unacknowledged") && strings.Contains(err.Error(), "store unavailable")
	})
	time.Sleep(300 * time.Millisecond)
	if m.acked.Load() != 0 {
		t.Fatal("a message the store refused was acknowledged")
	}
	rec.fail.Store(false)
	waitAcked(t, m)
	testenv.WaitFor(t, 5*time.Second, "ready again", func() bool { return in.Ready() == nil })
	redelivered := fc.deliver(&fakeMsg{topic: "snowbright/sensors/s-0001/event", payload: []byte(ts), qos: 1, dup: true})
	waitAcked(t, redelivered)
	if n := rec.readings("s-0001"); n != 1 {
		t.Fatalf("%d readings stored, want exactly 1", n)
	}
}

// A device's event and status topics go to the same worker, so its last
// will cannot overtake its report.
func TestOneDeviceOneWorker(t *testing.T) {
	cfg := county(1)
	cfg.MQTT.Workers = 16
	in, _ := startFake(t, cfg, newRecorder(), 100)
	for i := 0; i < 50; i++ {
		id := fmt.Sprintf("dev-%d", i)
		a, b := in.shard("snowbright/sensors/"+id+"/event"), in.shard("snowbright/sensors/"+id+"/status")
		c, d := in.shard("zigbee2mqtt/"+id), in.shard("zigbee2mqtt/"+id+"/availability")
		if a != b || c != d {
			t.Fatalf("%s: event on worker %d, status on %d; z2m state %d, availability %d", id, a, b, c, d)
		}
	}
}

// blockingSink holds every write until released.
type blockingSink struct {
	release chan struct{}
	mu      sync.Mutex
	n       int
}

func (b *blockingSink) Publish(ctx context.Context, _ event.Event) error {
	select {
	case <-b.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	b.mu.Lock()
	b.n++
	b.mu.Unlock()
	return nil
}

// A QoS 0 flood while the store is slow is dropped and counted at the
// edge: the client's callback never blocks on it, and no goroutine piles up.
func TestQoS0FloodIsDroppedAtTheEdge(t *testing.T) {
	sink := &blockingSink{release: make(chan struct{})}
	in, fc := startFake(t, county(1), sink, 1e6)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 5000; i++ {
			fc.deliver(&fakeMsg{topic: "snowbright/sensors/s-0000/event", payload: []byte(fmt.Sprintf(`{"value":%d}`, i))})
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the client's callback blocked on a QoS 0 flood")
	}
	if got := testutil.ToFloat64(in.m.rejected.WithLabelValues(ReasonOverflow)); got < 5000-queueLen-1 {
		t.Fatalf("%v QoS 0 messages counted as dropped at the edge", got)
	}
	close(sink.release)
}

// The rate limit never drops the backlog the broker delivers after the hub
// was away (readings timestamped within the limit), nor a redelivery; and
// it covers status messages.
func TestRateLimitKeepsBacklogAndLimitsStatus(t *testing.T) {
	rec := newRecorder()
	in, fc := startFake(t, county(2), rec, 1)
	start := time.Now().Add(-10 * time.Minute).UTC()
	var msgs []*fakeMsg
	for i := 0; i < 300; i++ { // one a second on the device's clock, delivered in one burst
		p := fmt.Sprintf(`{"ts":"%s","value":%d}`, start.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano), i)
		msgs = append(msgs, fc.deliver(&fakeMsg{topic: "snowbright/sensors/s-0000/event", payload: []byte(p), qos: 1}))
	}
	for i := 0; i < 20; i++ { // redeliveries without a timestamp, far above the limit
		msgs = append(msgs, fc.deliver(&fakeMsg{topic: "snowbright/sensors/s-0001/event", payload: []byte(`{"value":1}`), qos: 1, dup: true}))
	}
	waitAcked(t, msgs...)
	if n, m := rec.readings("s-0000"), rec.readings("s-0001"); n != 300 || m != 20 {
		t.Fatalf("backlog: %d of 300 stored; redeliveries: %d of 20", n, m)
	}
	var flood []*fakeMsg
	for i := 0; i < 200; i++ {
		st := []string{"online", "offline"}[i%2]
		flood = append(flood, fc.deliver(&fakeMsg{topic: "snowbright/sensors/s-0001/status", payload: []byte(st), qos: 1}))
	}
	waitAcked(t, flood...)
	if got := testutil.ToFloat64(in.m.rejected.WithLabelValues(ReasonRateLimited)); got < 150 {
		t.Fatalf("a status flood of 200 at 1/s limited only %v times", got)
	}
}

// Changing the topic prefix subscribes to the new topics before leaving
// the old ones, and a message still arriving on an old topic is recorded.
func TestTopicPrefixChangeDropsNothing(t *testing.T) {
	rec := newRecorder()
	cfg := county(1)
	in, fc := startFake(t, cfg, rec, 100)
	next := *in.cfg.Load()
	next.MQTT.TopicPrefix = "county2"
	in.Update(&next)
	subs := fc.subs()
	if _, ok := subs["county2/sensors/+/event"]; !ok {
		t.Fatalf("not subscribed to the new prefix: %v", subs)
	}
	if _, ok := subs["snowbright/sensors/+/event"]; ok {
		t.Fatalf("still subscribed to the old prefix: %v", subs)
	}
	a := fc.deliver(&fakeMsg{topic: "snowbright/sensors/s-0000/event", payload: []byte(`{"value":5}`), qos: 1})
	b := fc.deliver(&fakeMsg{topic: "county2/sensors/s-0000/event", payload: []byte(`{"value":6}`), qos: 1})
	waitAcked(t, a, b)
	if n := rec.readings("s-0000"); n != 2 {
		t.Fatalf("%d of 2 readings recorded across the prefix change", n)
	}
}

// Start and Close leave no goroutine behind; nothing is accepted after
// Close.
func TestStartCloseLeaksNothing(t *testing.T) {
	defer goleak.VerifyNone(t)
	factory, _ := fakeFactory()
	in, err := New(Options{Config: county(3), Sink: newRecorder(), NewClient: factory})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	if err := in.Start(context.Background()); err == nil {
		t.Fatal("Start after Close accepted")
	}
}

// FuzzHandle sends the whole path (routing, parsing, dedup, rate limit,
// state) any topic and payload: it never panics, and with a sink that
// takes everything it never holds a message back.
func FuzzHandle(f *testing.F) {
	f.Add("snowbright/sensors/s-0000/event", []byte(`{"ts":"2026-11-24T06:00:00Z","value":1}`), false)
	f.Add("snowbright/sensors/s-0001/status", []byte(`offline`), true)
	f.Add("zigbee2mqtt/door_gate", []byte(`{"contact":false,"mode":"infrared"}`), false)
	f.Add("zigbee2mqtt/door_gate/availability", []byte(`{"state":"online"}`), false)
	f.Add("snowbright/cameras/cam-1/event", []byte(`{"kind":"tamper","detail":{"a":1}}`), false)
	in, err := New(Options{Config: county(2), Sink: newRecorder()})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, topic string, payload []byte, dup bool) {
		if err := in.handleRaw(context.Background(), topic, payload, dup); err != nil {
			t.Fatalf("%q %q: %v", topic, payload, err)
		}
	})
}
