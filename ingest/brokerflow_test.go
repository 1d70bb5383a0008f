package ingest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"snowhub/internal/test/testenv"
)

// A burst of 30,000 QoS 1 messages from six publishers, each sending as
// fast as its acknowledgements come, through the embedded broker with its
// session store on disk: every message the broker acknowledged reaches the
// hub (it stored about two in three before the hub's session had flow
// control).
func TestEmbeddedBrokerBurstLosesNothing(t *testing.T) {
	testenv.Short(t)
	const publishers, each = 6, 5000
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cfg := county(publishers)
	cfg.MQTT.DeviceRateLimit = 1e6 // the hub's own per-device limit is not what is tested
	b, err := NewBroker(BrokerOptions{Listen: addr, DataDir: t.TempDir(), Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rec := newRecorder()
	c := *cfg
	c.MQTT.Broker = b.Addr()
	c.MQTT.Username, c.MQTT.Password = b.HubCredential()
	in, err := New(Options{Config: &c, Sink: rec})
	if err != nil {
		t.Fatal(err)
	}
	in.Start(context.Background())
	defer in.Close()
	testenv.WaitFor(t, 10*time.Second, "connected", func() bool { return in.Ready() == nil })

	var wg sync.WaitGroup
	acked := make([]int, publishers)
	for p := range publishers {
		pub := publisher(t, b.Addr(), fmt.Sprintf("burst-%d", p))
		wg.Add(1)
		go func() {
			defer wg.Done()
			toks := make([]paho.Token, 0, each)
			for i := range each {
				toks = append(toks, pub.Publish(fmt.Sprintf("snowbright/sensors/s-%04d/event", p), 1, false, fmt.Sprintf(`{"value":%d}`, i)))
			}
			for _, tok := range toks {
				if tok.WaitTimeout(60*time.Second) && tok.Error() == nil {
					acked[p]++
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, n := range acked {
		total += n
	}
	if total != publishers*each {
		t.Fatalf("%d of %d messages acknowledged", total, publishers*each)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		d, _ := rec.counts()
		if d >= total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged messages reached the hub", d, total)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := b.Ready(); err != nil {
		t.Errorf("Ready() = %v after a burst the hub kept up with", err)
	}
}
