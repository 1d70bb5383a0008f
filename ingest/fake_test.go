package ingest

import (
	"context"
	"crypto/tls"
	"sync"
	"sync/atomic"
	"time"

	"snowhub/configs"
)

// fakeMsg is a message as a client hands it over; it records its Ack.
type fakeMsg struct {
	topic   string
	payload []byte
	dup     bool
	qos     byte
	acked   atomic.Int32
}

func (m *fakeMsg) Duplicate() bool   { return m.dup }
func (m *fakeMsg) Qos() byte         { return m.qos }
func (m *fakeMsg) Retained() bool    { return false }
func (m *fakeMsg) Topic() string     { return m.topic }
func (m *fakeMsg) MessageID() uint16 { return 1 }
func (m *fakeMsg) Payload() []byte   { return m.payload }
func (m *fakeMsg) Ack()              { m.acked.Add(1) }

// fakeClient stands in for paho: deliver calls the ordered handler as paho
// does, one message at a time.
type fakeClient struct {
	h          Handlers
	mu         sync.Mutex
	subscribed map[string]byte
	unsubs     []string
	published  []string
	disconnect atomic.Bool
}

func (f *fakeClient) Connect() { f.h.OnConnect() }
func (f *fakeClient) Subscribe(filters map[string]byte, _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for k, v := range filters {
		f.subscribed[k] = v
	}
	return nil
}
func (f *fakeClient) Unsubscribe(filters []string, _ time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range filters {
		delete(f.subscribed, k)
		f.unsubs = append(f.unsubs, k)
	}
	return nil
}
func (f *fakeClient) Publish(topic string, _ byte, _ bool, _ []byte) {
	f.mu.Lock()
	f.published = append(f.published, topic)
	f.mu.Unlock()
}
func (f *fakeClient) Disconnect() { f.disconnect.Store(true) }

func (f *fakeClient) deliver(m *fakeMsg) *fakeMsg { f.h.OnMessage(m); return m }

func (f *fakeClient) subs() map[string]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]byte{}
	for k, v := range f.subscribed {
		out[k] = v
	}
	return out
}

// fakeFactory returns a factory and, once Start ran, its client.
func fakeFactory() (ClientFactory, func() *fakeClient) {
	var mu sync.Mutex
	var c *fakeClient
	return func(_ configs.MQTTConfig, _ *tls.Config, h Handlers) (Client, error) {
			mu.Lock()
			defer mu.Unlock()
			c = &fakeClient{h: h, subscribed: map[string]byte{}}
			return c, nil
		}, func() *fakeClient {
			mu.Lock()
			defer mu.Unlock()
			return c
		}
}

// handleRaw handles one QoS 1 message as a worker would, received now.
func (in *Ingest) handleRaw(ctx context.Context, topic string, payload []byte, dup bool) error {
	return in.recordMessage(ctx, &delivery{msg: &fakeMsg{topic: topic, payload: payload, dup: dup, qos: 1}, at: in.o.Now()})
}
