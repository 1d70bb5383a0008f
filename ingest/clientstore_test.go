package ingest

import (
	"io"
	"sync"
	"testing"

	"github.com/eclipse/paho.mqtt.golang/packets"
)

// What paho does on a reconnect: the lost connection's writer is still
// encoding a QoS 1 publish while resume Gets it from the store and sets its
// DUP flag. With paho's memory store both touch one packet (the race
// detector fails this test); ours hands resume a packet of its own.
func TestClientStoreResendRacesWithNothing(t *testing.T) {
	s := newClientStore()
	s.Open()
	pub := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	pub.Qos, pub.MessageID, pub.TopicName, pub.Payload = 1, 7, "snowbright/sensors/s-1/event", []byte(`{"value":1}`)
	s.Put("o.7", pub)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the old connection's writer
		defer wg.Done()
		for i := 0; i < 100; i++ {
			_ = pub.Write(io.Discard)
		}
	}()
	for i := 0; i < 100; i++ { // resume
		p, ok := s.Get("o.7").(*packets.PublishPacket)
		if !ok {
			t.Fatal("stored publish not returned")
		}
		p.Dup = true
		if p.MessageID != 7 || string(p.Payload) != `{"value":1}` {
			t.Fatalf("got message %d %q", p.MessageID, p.Payload)
		}
	}
	wg.Wait()
	if pub.Dup {
		t.Fatal("the resend marked the packet being written")
	}
	if keys := s.All(); len(keys) != 1 || keys[0] != "o.7" {
		t.Fatalf("keys %v", keys)
	}
	s.Del("o.7")
	if s.Get("o.7") != nil || len(s.All()) != 0 {
		t.Fatal("deleted packet still there")
	}
}
