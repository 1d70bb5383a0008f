package ingest

import (
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"
)

// Listen binds, so the hub's own client can be built with the broker's
// address and credential before anything runs; nothing is served (no
// CONNACK) until Start.
func TestEmbeddedBrokerListenBindsStartServes(t *testing.T) {
	defer goleak.VerifyNone(t)
	b, err := NewBroker(BrokerOptions{Listen: "127.0.0.1:0", DataDir: t.TempDir(), Config: county(1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Listen(); err != nil {
		t.Fatal(err)
	}
	addr := b.Addr()
	if !strings.HasPrefix(addr, "tcp://127.0.0.1:") || strings.HasSuffix(addr, ":0") {
		t.Fatalf("Addr after Listen = %q, want the bound tcp://127.0.0.1:PORT", addr)
	}
	user, pass := b.HubCredential()
	connect := func() error {
		c := paho.NewClient(paho.NewClientOptions().AddBroker(addr).SetClientID("hub-listen").
			SetUsername(user).SetPassword(pass).SetConnectTimeout(700 * time.Millisecond).
			SetAutoReconnect(false).SetConnectRetry(false))
		tok := c.Connect()
		if !tok.WaitTimeout(3 * time.Second) {
			return errTimeout
		}
		if tok.Error() == nil {
			c.Disconnect(50)
		}
		return tok.Error()
	}
	if err := connect(); err == nil {
		t.Fatal("a client connected before Start: the broker served after Listen alone")
	}
	if err := b.Start(); err != nil {
		t.Fatal(err)
	}
	if err := connect(); err != nil {
		t.Fatalf("connect after Start: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

// A broker that was bound but never started closes at once and releases
// its socket and its session store.
func TestEmbeddedBrokerCloseWithoutStart(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	for _, listen := range []bool{false, true} {
		b, err := NewBroker(BrokerOptions{Listen: "127.0.0.1:0", DataDir: dir, Config: county(1)})
		if err != nil {
			t.Fatal(err)
		}
		if listen {
			if err := b.Listen(); err != nil {
				t.Fatal(err)
			}
		}
		done := make(chan error, 1)
		go func() { done <- b.Close() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("listen=%v: Close: %v", listen, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("listen=%v: Close without Start hangs", listen)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string { return "connect did not finish" }

var errTimeout error = timeoutErr{}
