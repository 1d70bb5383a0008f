package ingest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"snowhub/internal/test/testenv"
)

// The embedded broker restarts with the hub: an alarm the hub had not
// acknowledged is delivered after the restart.
func TestEmbeddedBrokerKeepsSessionsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cfg := county(2)
	cfg.MQTT.ClientID = "hub-embedded"
	start := func() *Broker {
		b, err := NewBroker(BrokerOptions{Listen: addr, DataDir: dir, Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Start(); err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := start()
	rec := newRecorder()
	rec.fail.Store(true) // the hub cannot make it durable: no acknowledgement
	c := *cfg
	c.MQTT.Broker = b.Addr()
	c.MQTT.Username, c.MQTT.Password = b.HubCredential()
	in, _ := New(Options{Config: &c, Sink: rec})
	in.Start(context.Background())
	testenv.WaitFor(t, 10*time.Second, "connected", func() bool { return in.Ready() == nil })
	pub := publisher(t, b.Addr(), "pub-embedded")
	if tok := pub.Publish("snowbright/sensors/s-0001/event", 1, false, `{"value":42}`); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	time.Sleep(500 * time.Millisecond)
	in.Close()
	b.Close()

	b = start()
	defer b.Close()
	rec.fail.Store(false)
	// A new process: a new hub password, the same session.
	c.MQTT.Username, c.MQTT.Password = b.HubCredential()
	in2, _ := New(Options{Config: &c, Sink: rec})
	in2.Start(context.Background())
	defer in2.Close()
	testenv.WaitFor(t, 15*time.Second, "the unacknowledged alarm after the restart", func() bool {
		d, _ := rec.counts()
		return d == 1
	})
	// The broker resends the in-flight message on connect, possibly before
	// the subscription is confirmed; then the session is ready too.
	testenv.WaitFor(t, 10*time.Second, "ready after the restart", func() bool { return in2.Ready() == nil })
}
