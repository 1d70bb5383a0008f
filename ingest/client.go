package ingest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"snowhub/configs"
)

// Message is one MQTT message as the client hands it over; Ack sends the
// QoS 1 acknowledgement.
type Message = paho.Message

// Client is the part of an MQTT client ingest uses. Production uses paho
// (NewPahoClient); tests use a fake, so routing, parsing, deduplication and
// the acknowledgement rules are tested without a broker.
type Client interface {
	// Connect starts connecting and returns at once; the client retries
	// for ever and calls Handlers.OnConnect on every (re)connect.
	Connect()
	// Subscribe subscribes to every filter and waits for the broker's answer.
	Subscribe(filters map[string]byte, timeout time.Duration) error
	// Unsubscribe drops filters and waits for the broker's answer.
	Unsubscribe(filters []string, timeout time.Duration) error
	// Publish sends without waiting (never wait in a message handler).
	Publish(topic string, qos byte, retained bool, payload []byte)
	// Disconnect closes the connection; unacknowledged messages stay with
	// the broker for the next session.
	Disconnect()
}

// Handlers are the client's calls into ingest. OnMessage is called in
// arrival order, one message at a time (paho's ordered delivery): it may
// block, which is the back-pressure that holds the broker's in-flight
// window instead of piling up goroutines.
type Handlers struct {
	OnConnect      func()
	OnLost         func(error)
	OnReconnecting func()
	OnMessage      func(Message)
	// WillTopic, when set, is the session's last will (QoS 1, retained):
	// a prefecture hub's "offline" (HubHooks).
	WillTopic   string
	WillPayload []byte
}

// ClientFactory builds the MQTT client for a configuration.
// tc, when set, replaces the TLS settings of m.
type ClientFactory func(m configs.MQTTConfig, tc *tls.Config, h Handlers) (Client, error)

// NewPahoClient is the production ClientFactory.
func NewPahoClient(m configs.MQTTConfig, tc *tls.Config, h Handlers) (Client, error) {
	opts := paho.NewClientOptions().AddBroker(m.Broker).SetClientID(m.ClientID).
		// A persistent session: the broker keeps our subscriptions and
		// queues QoS 1 messages while we are away or restarting.
		SetCleanSession(false).SetStore(newClientStore()).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(2 * time.Second).
		SetMaxReconnectInterval(30 * time.Second).SetKeepAlive(30 * time.Second).
		// Ordered delivery, one message at a time: a device's alarm-on and
		// alarm-off, or its last will and its next report, cannot overtake
		// each other, and a slow store slows the broker down instead of
		// piling up one goroutine per message.
		SetOrderMatters(true).
		// We acknowledge only once the event is durable.
		SetAutoAckDisabled(true).
		SetDefaultPublishHandler(func(_ paho.Client, msg paho.Message) { h.OnMessage(msg) }).
		SetOnConnectHandler(func(paho.Client) { h.OnConnect() }).
		SetConnectionLostHandler(func(_ paho.Client, err error) { h.OnLost(err) }).
		SetReconnectingHandler(func(paho.Client, *paho.ClientOptions) { h.OnReconnecting() })
	if m.Username != "" {
		opts.SetUsername(m.Username).SetPassword(m.Password)
	}
	if h.WillTopic != "" {
		opts.SetBinaryWill(h.WillTopic, h.WillPayload, 1, true)
	}
	if tc != nil {
		opts.SetTLSConfig(tc)
	} else if m.CAFile != "" || m.CertFile != "" {
		tc, err := tlsConfig(m)
		if err != nil {
			return nil, err
		}
		opts.SetTLSConfig(tc)
	}
	return &pahoClient{c: paho.NewClient(opts)}, nil
}

type pahoClient struct{ c paho.Client }

func (p *pahoClient) Connect() { p.c.Connect() }

func (p *pahoClient) Subscribe(filters map[string]byte, timeout time.Duration) error {
	// nil callback: messages go to the default handler, which also takes
	// what a persistent session delivers before this subscription returns.
	tok := p.c.SubscribeMultiple(filters, nil)
	if !tok.WaitTimeout(timeout) {
		return fmt.Errorf("subscribe: no answer within %s", timeout)
	}
	return tok.Error()
}

func (p *pahoClient) Unsubscribe(filters []string, timeout time.Duration) error {
	tok := p.c.Unsubscribe(filters...)
	if !tok.WaitTimeout(timeout) {
		return fmt.Errorf("unsubscribe: no answer within %s", timeout)
	}
	return tok.Error()
}

func (p *pahoClient) Publish(topic string, qos byte, retained bool, payload []byte) {
	p.c.Publish(topic, qos, retained, payload)
}

func (p *pahoClient) Disconnect() { p.c.Disconnect(250) }

// TLSConfig is the TLS the hub's MQTT clients use for mqtt.ca_file,
// cert_file and key_file (the notifier's MQTT out shares it).
func TLSConfig(m configs.MQTTConfig) (*tls.Config, error) { return tlsConfig(m) }

func tlsConfig(m configs.MQTTConfig) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if m.CAFile != "" {
		pem, err := os.ReadFile(m.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.ca_file: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt.ca_file %s: no certificate found", m.CAFile)
		}
	}
	if m.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(m.CertFile, m.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.cert_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
