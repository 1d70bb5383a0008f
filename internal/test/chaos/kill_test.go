package chaos

import (
	"fmt"
	"testing"
	"time"

	"snowhub/internal/test/testenv"
)

// SIGKILL during a burst of 1,000 QoS 1 alarms, twice (once during the
// redeliveries of the first kill): every alarm that carries its own
// timestamp is recorded exactly once; the 200 identical {"value":1} alarms
// on one topic (no timestamp: bytes alone cannot tell a redelivery from a
// new alarm) are each recorded at least once; device retransmissions of a
// timestamped reading are recorded once.
func TestKillDuringBurst(t *testing.T) {
	mq := testenv.StartMosquitto(t)
	db := testenv.StartInfluxDB(t, "snowhub")
	const sensors, perSensor, identical = 40, 20, 200
	var list []string
	for i := 0; i < sensors; i++ {
		list = append(list, fmt.Sprintf("smoke-%02d smoke", i))
	}
	list = append(list, "smoke-same smoke")
	h := newHub(t, spec{mqttURL: mq.URL, influxURL: db.URL, sensors: list, deviceRate: 1000})
	h.start()

	pub := publisher(t, mq.URL, "chaos-devices")
	start := time.Now().Add(-time.Minute)
	sent := 0
	for i := 0; i < sensors*perSensor+identical; i++ {
		switch i {
		case 300:
			h.kill() // mid-burst: some handled, some in flight, some queued
			h.startNoWait()
		case 700:
			h.kill() // again, while the first kill's messages are redelivered
			h.startNoWait()
		}
		if i%5 == 0 && sent < identical {
			publish(t, pub, "snowbright/sensors/smoke-same/event", `{"value":1}`)
			sent++
			continue
		}
		n := i - sent
		sensor, seq := n%sensors, n/sensors
		p := tsReading(start.Add(time.Duration(seq)*time.Second), seq)
		topic := fmt.Sprintf("snowbright/sensors/smoke-%02d/event", sensor)
		publish(t, pub, topic, p)
		if seq%7 == 0 {
			publish(t, pub, topic, p) // the device sends it again: the same reading
		}
	}
	for sent < identical {
		publish(t, pub, "snowbright/sensors/smoke-same/event", `{"value":1}`)
		sent++
	}
	testenv.WaitFor(t, 30*time.Second, "the hub back", func() bool { return h.ready()["mqtt"] == "ok" })

	want := sensors*perSensor + identical
	p := stable(t, db, want, 90*time.Second)
	for i := 0; i < sensors; i++ {
		id := fmt.Sprintf("smoke-%02d", i)
		if n := p.perSensor[id]; n != perSensor {
			t.Errorf("%s: %d readings recorded, published %d", id, n, perSensor)
		}
		if d := len(p.perTime[id]); d != perSensor {
			t.Errorf("%s: %d distinct readings recorded, published %d", id, d, perSensor)
		}
	}
	same := p.perSensor["smoke-same"]
	if same < identical {
		t.Errorf("smoke-same: %d of %d identical alarms recorded: lost %d", same, identical, identical-same)
	}
	t.Logf("figures: published %d timestamped (%d distinct) and %d identical untimestamped; recorded timestamped %d (duplicates %d), untimestamped %d (extra copies %d)",
		sensors*perSensor+sensors*((perSensor+6)/7), sensors*perSensor, identical,
		p.total()-same, p.total()-same-sensors*perSensor, same, same-identical)
	if len(h.incidents()) == 0 {
		t.Error("no incident from 1,000 smoke alarms")
	}
}
