package notify

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"snowhub/internal/test/testenv"
)

// MQTT out through a real Mosquitto: a subscriber sees every step of an
// incident, in order, QoS 1, and the last one retained.
func TestMQTTOutThroughMosquitto(t *testing.T) {
	broker := testenv.StartMosquitto(t)
	cfg := parseNotify(t, `  channels:
    - {id: out, type: mqtt, retain: true, devices: true}
  routes:
    - {channels: [out]}
`)
	var mu sync.Mutex
	var got []WebhookBody
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL).SetClientID("test-sub"))
	if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber: %v", tok.Error())
	}
	defer sub.Disconnect(100)
	tok := sub.Subscribe("snowbright/out/incidents/INC-7", 1, func(_ mqtt.Client, m mqtt.Message) {
		var b WebhookBody
		_ = json.Unmarshal(m.Payload(), &b)
		mu.Lock()
		got = append(got, b)
		mu.Unlock()
	})
	tok.WaitTimeout(5 * time.Second)

	src := NewMemSource()
	n := startNotifier(t, t.TempDir(), cfg, src, func(o *Options) {
		o.MQTT = MQTTOptions{Broker: broker.URL, ClientID: "snowhub-test"}
	})
	actions := []string{"open", "dispatch", "accept", "assign", "resolve", "evaluate", "review"}
	for _, a := range actions {
		s := openStep(0, "zhaoren", "critical")
		s.Incident, s.Action = "INC-7", a
		src.Add(s)
	}
	waitFor(t, 10*time.Second, "every step", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= len(actions) })
	mu.Lock()
	for i, b := range got[:len(actions)] {
		if b.Action != actions[i] {
			t.Errorf("message %d is %q, want %q (in order)", i, b.Action, actions[i])
		}
	}
	mu.Unlock()

	// The retained last step greets a late subscriber; devices go out too.
	late := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(broker.URL).SetClientID("test-late"))
	late.Connect().WaitTimeout(5 * time.Second)
	defer late.Disconnect(100)
	ret := make(chan string, 4)
	late.Subscribe("snowbright/out/#", 1, func(_ mqtt.Client, m mqtt.Message) { ret <- m.Topic() })
	n.PublishDevice(t.Context(), "cam-0001", []byte(`{"id":"cam-0001","state":"offline"}`))
	seen := map[string]bool{}
	deadline := time.After(5 * time.Second)
	for !seen["snowbright/out/incidents/INC-7"] || !seen["snowbright/out/devices/cam-0001"] {
		select {
		case topic := <-ret:
			seen[topic] = true
		case <-deadline:
			t.Fatalf("late subscriber saw %v", seen)
		}
	}
}
