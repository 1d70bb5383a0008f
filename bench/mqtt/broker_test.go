package mqtt_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"snowhub/ingest"
	"snowhub/internal/test/testenv"
)

// BenchmarkBrokerBurst: 10 publishers each send 10,000 QoS 1 messages as
// fast as their acknowledgements come, through the embedded broker and,
// in the same run, through Mosquitto, into the hub's ingest. It reports
// what each broker acknowledged and what reached the hub (they must be
// equal: an acknowledged message is the broker's promise) and the
// embedded broker's throughput as a ratio to Mosquitto's.
//
//	go test -run '^$' -bench BrokerBurst ./bench/mqtt
func BenchmarkBrokerBurst(b *testing.B) {
	const publishers, each = 10, 10000
	cfg := county(b, publishers)
	cfg.MQTT.DeviceRateLimit = 1e6 // the hub's per-device limit is not what is measured

	run := func(name, addr, user, password string) (acked int64, stored int64, rate float64) {
		sink := &countSink{}
		c := *cfg
		c.MQTT.Broker = addr // the client id stays the configuration's: the embedded broker's flow control knows the hub by it
		c.MQTT.Username, c.MQTT.Password = user, password
		in, err := ingest.New(ingest.Options{Config: &c, Sink: sink})
		if err != nil {
			b.Fatal(err)
		}
		if err := in.Start(context.Background()); err != nil {
			b.Fatal(err)
		}
		defer in.Close()
		for in.Ready() != nil {
			time.Sleep(10 * time.Millisecond)
		}
		var ack atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for p := range publishers {
			pub := paho.NewClient(paho.NewClientOptions().AddBroker(addr).SetClientID(fmt.Sprintf("%s-burst-%d", name, p)))
			if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
				b.Fatalf("%s: publisher: %v", name, tok.Error())
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer pub.Disconnect(100)
				toks := make([]paho.Token, 0, each)
				for i := range each {
					toks = append(toks, pub.Publish(fmt.Sprintf("snowbright/sensors/s-%04d/event", p), 1, false, fmt.Sprintf(`{"value":%d}`, i)))
				}
				for _, tok := range toks {
					if tok.WaitTimeout(2*time.Minute) && tok.Error() == nil {
						ack.Add(1)
					}
				}
			}()
		}
		wg.Wait()
		// Wait while messages keep arriving; 10 s without one is the end.
		last, lastAt := sink.n.Load(), time.Now()
		for sink.n.Load() < ack.Load() && time.Since(lastAt) < 10*time.Second {
			time.Sleep(5 * time.Millisecond)
			if n := sink.n.Load(); n != last {
				last, lastAt = n, time.Now()
			}
		}
		b.Logf("%s: %d acknowledged, %d stored after %s", name, ack.Load(), sink.n.Load(), time.Since(start).Round(time.Millisecond))
		el := time.Since(start)
		time.Sleep(500 * time.Millisecond) // anything more would show now
		return ack.Load(), sink.n.Load(), float64(sink.n.Load()) / el.Seconds()
	}

	for range b.N {
		mq := testenv.StartMosquitto(b)
		mAck, mStored, mRate := run("mosquitto", mq.URL, "", "")
		mq.Stop()

		br, err := ingest.NewBroker(ingest.BrokerOptions{Listen: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(b)), DataDir: b.TempDir(), Config: cfg})
		if err != nil {
			b.Fatal(err)
		}
		if err := br.Start(); err != nil {
			b.Fatal(err)
		}
		user, pw := br.HubCredential()
		eAck, eStored, eRate := run("embedded", br.Addr(), user, pw)
		br.Close()

		if eStored != eAck || mStored != mAck {
			b.Errorf("acknowledged but not stored: embedded %d of %d, mosquitto %d of %d", eAck-eStored, eAck, mAck-mStored, mAck)
		}
		b.ReportMetric(float64(mStored), "mosquitto-stored")
		b.ReportMetric(float64(eStored), "embedded-stored")
		b.ReportMetric(mRate, "mosquitto-msg/s")
		b.ReportMetric(eRate, "embedded-msg/s")
		b.ReportMetric(eRate/mRate, "ratio")
	}
}
