package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"snowhub/configs"
)

// SignatureHeader carries a webhook body's HMAC-SHA256 under the channel's
// secret: "sha256=" + hex. Receivers compute the same over the raw body.
const SignatureHeader = "X-Snowhub-Signature"

// StepHeader carries the step id: a repeat or a retry carries the same one.
const StepHeader = "X-Snowhub-Step"

// WebhookBody is what a webhook receives for each step.
type WebhookBody struct {
	StepID   string    `json:"step_id"`
	Repeat   int       `json:"repeat"` // 0 the first notice, n the n-th reminder
	Incident string    `json:"incident"`
	Action   string    `json:"action"`
	Step     string    `json:"step"` // the action in Chinese
	At       time.Time `json:"at"`
	Severity string    `json:"severity"`
	Title    string    `json:"title"`
	Township string    `json:"township"`
	Village  string    `json:"village,omitempty"`
	Deadline time.Time `json:"deadline,omitzero"`
	Link     string    `json:"link,omitempty"`
	Text     string    `json:"text"` // the rendered notice
	Data     any       `json:"data,omitempty"`
}

// Sign returns the signature header value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

type webhookSender struct {
	ch configs.NotifyChannel
	hc *http.Client
	r  *renderer
}

func (s *webhookSender) close() {}

func (s *webhookSender) send(ctx context.Context, m *message) error {
	n := m.Notices[0]
	body, _ := json.Marshal(s.r.webhookBody(n))
	hdr := http.Header{}
	hdr.Set(SignatureHeader, Sign(s.ch.Secret, body))
	hdr.Set(StepHeader, n.Step.ID)
	return postJSON(ctx, s.hc, s.ch.URL, hdr, body, nil)
}

// MQTTOptions is how the MQTT channel reaches the broker (the hub's own).
type MQTTOptions struct {
	Broker, ClientID, Username, Password string
	TopicPrefix                          string      // "snowbright"
	TLS                                  *tls.Config // the embedded broker's pinned certificate, or nil
}

type mqttSender struct {
	ch     configs.NotifyChannel
	o      MQTTOptions
	client mqtt.Client
	r      *renderer
}

func newMQTTSender(ch configs.NotifyChannel, o MQTTOptions, r *renderer) *mqttSender {
	opts := mqtt.NewClientOptions().AddBroker(o.Broker).SetClientID(o.ClientID).
		SetUsername(o.Username).SetPassword(o.Password).
		SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(10 * time.Second).SetCleanSession(true).SetOrderMatters(true)
	if o.TLS != nil {
		opts.SetTLSConfig(o.TLS)
	}
	c := mqtt.NewClient(opts)
	c.Connect() // retries in the background; publishes wait for it
	return &mqttSender{ch: ch, o: o, client: c, r: r}
}

func (s *mqttSender) close() { s.client.Disconnect(250) }

func (s *mqttSender) publish(ctx context.Context, topic string, retain bool, body []byte) error {
	if !s.client.IsConnectionOpen() {
		return &VendorError{Class: ClassTransient, Code: "network", Msg: "MQTT broker not connected"}
	}
	tok := s.client.Publish(topic, 1, retain, body)
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return &VendorError{Class: ClassTransient, Code: "timeout", Msg: ctx.Err().Error()}
	}
	if err := tok.Error(); err != nil {
		return &VendorError{Class: ClassTransient, Code: "publish", Msg: err.Error()}
	}
	return nil
}

func (s *mqttSender) send(ctx context.Context, m *message) error {
	n := m.Notices[0]
	body, _ := json.Marshal(s.r.webhookBody(n))
	return s.publish(ctx, s.o.TopicPrefix+"/out/incidents/"+n.Step.Incident, s.ch.Retain, body)
}

// publishDevice sends a camera's or sensor's state change, best effort
// (a device's state is re-sent on its next change, and retained).
func (s *mqttSender) publishDevice(ctx context.Context, id string, body []byte) error {
	return s.publish(ctx, s.o.TopicPrefix+"/out/devices/"+id, true, body)
}
