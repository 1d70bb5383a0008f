// Benchmarks of MQTT ingest against a real Mosquitto.
//
//	go test -run '^$' -bench . ./bench/mqtt
package mqtt_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"snowhub/configs"
	"snowhub/ingest"
	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
)

func county(b *testing.B, sensors int) *configs.Config {
	y := "county: {id: c, name: C}\ntownships:\n  - id: t1\n    name: T1\n    villages:\n      - {id: v1, name: V1}\nsensors:\n"
	for i := 0; i < sensors; i++ {
		y += fmt.Sprintf("  - {id: s-%04d, kind: water_level, village: v1}\n", i)
	}
	y += "users:\n  - {name: ops, role: operator, token: ops-token-0123456789}\n"
	c, err := configs.Parse("b.yaml", []byte(y))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

type countSink struct {
	n    atomic.Int64
	mu   sync.Mutex
	lat  []time.Duration
	file *os.File // a durable write per event, when set
}

func (s *countSink) Publish(_ context.Context, ev event.Event) error {
	if d, ok := ev.Data.(event.SensorReadingData); ok {
		if s.file != nil {
			s.mu.Lock()
			fmt.Fprintf(s.file, "%s %v\n", d.Sensor, d.Value)
			s.mu.Unlock()
		}
		if d.Unit != "" { // the publish time, in ns, rides in the unit
			var sent int64
			fmt.Sscan(d.Unit, &sent)
			s.mu.Lock()
			s.lat = append(s.lat, time.Since(time.Unix(0, sent)))
			s.mu.Unlock()
		}
		s.n.Add(1)
	}
	return nil
}

func publishAll(b *testing.B, url string, n, sensors int, rate int, stamp bool) {
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("pub-%d", time.Now().UnixNano())).SetMaxResumePubInFlight(1000))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Error(tok.Error()) // may run in its own goroutine: no Fatal
		return
	}
	defer c.Disconnect(100)
	var last paho.Token
	tick := time.Duration(0)
	if rate > 0 {
		tick = time.Second / time.Duration(rate)
	}
	next := time.Now()
	for i := 0; i < n; i++ {
		unit := ""
		if stamp {
			unit = fmt.Sprint(time.Now().UnixNano())
		}
		last = c.Publish(fmt.Sprintf("snowbright/sensors/s-%04d/event", i%sensors), 1, false, fmt.Sprintf(`{"value":%d,"unit":"%s"}`, i, unit))
		if tick > 0 {
			next = next.Add(tick)
			time.Sleep(time.Until(next))
		}
	}
	last.WaitTimeout(30 * time.Second)
}

// BenchmarkIngestVsRaw: sustained events/s from Mosquitto into the event
// stream, against a raw paho subscriber with a no-op handler, same run.
func BenchmarkIngestVsRaw(b *testing.B) {
	mq := testenv.StartMosquitto(b)
	const n, sensors = 100000, 1000
	cfg := county(b, sensors)

	// Raw paho, QoS 1, no-op handler.
	var raw atomic.Int64
	rc := paho.NewClient(paho.NewClientOptions().AddBroker(mq.URL).SetClientID("raw").SetOrderMatters(false))
	rc.Connect().Wait()
	rc.Subscribe("snowbright/sensors/+/event", 1, func(paho.Client, paho.Message) { raw.Add(1) }).Wait()
	b.ResetTimer()
	start := time.Now()
	go publishAll(b, mq.URL, n, sensors, 0, false)
	for raw.Load() < n {
		time.Sleep(time.Millisecond)
	}
	rawRate := float64(n) / time.Since(start).Seconds()
	rc.Disconnect(100)

	sink := &countSink{}
	c := *cfg
	c.MQTT.Broker, c.MQTT.ClientID, c.MQTT.DeviceRateLimit = mq.URL, "hub", 1e6
	in, _ := ingest.New(ingest.Options{Config: &c, Sink: sink})
	in.Start(context.Background())
	for in.Ready() != nil {
		time.Sleep(10 * time.Millisecond)
	}
	start = time.Now()
	go publishAll(b, mq.URL, n, sensors, 0, false)
	for sink.n.Load() < n {
		time.Sleep(time.Millisecond)
	}
	ingestRate := float64(n) / time.Since(start).Seconds()
	in.Close()
	b.StopTimer()
	b.ReportMetric(rawRate, "raw-msg/s")
	b.ReportMetric(ingestRate, "ingest-events/s")
	b.ReportMetric(ingestRate/rawRate, "ratio")
}

// BenchmarkLatency1000: publish → event latency at 1,000 msg/s, acking
// after a durable append (write per event, fsync every 100 ms as the spool
// does) and acking on receipt.
func BenchmarkLatency1000(b *testing.B) {
	mq := testenv.StartMosquitto(b)
	cfg := county(b, 100)
	for _, durable := range []bool{false, true} {
		sink := &countSink{}
		if durable {
			f, _ := os.Create(filepath.Join(b.TempDir(), "spool"))
			defer f.Close()
			sink.file = f
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				t := time.NewTicker(100 * time.Millisecond)
				for {
					select {
					case <-stop:
						return
					case <-t.C:
						f.Sync()
					}
				}
			}()
		}
		c := *cfg
		c.MQTT.Broker, c.MQTT.ClientID, c.MQTT.DeviceRateLimit = mq.URL, fmt.Sprintf("hub-%v", durable), 1e6
		in, _ := ingest.New(ingest.Options{Config: &c, Sink: sink})
		in.Start(context.Background())
		for in.Ready() != nil {
			time.Sleep(10 * time.Millisecond)
		}
		const n = 5000
		publishAll(b, mq.URL, n, 100, 1000, true)
		for sink.n.Load() < n {
			time.Sleep(time.Millisecond)
		}
		in.Close()
		sort.Slice(sink.lat, func(i, j int) bool { return sink.lat[i] < sink.lat[j] })
		name := "receipt"
		if durable {
			name = "durable"
		}
		b.ReportMetric(float64(sink.lat[len(sink.lat)/2].Microseconds()), name+"-p50-µs")
		b.ReportMetric(float64(sink.lat[len(sink.lat)*99/100].Microseconds()), name+"-p99-µs")
	}
}
