package ingest

import (
	"fmt"
	"maps"
	"time"

	"snowhub/configs"
)

// HubHooks let a hub of a prefecture (internal/prefecture) share ingest's
// one broker session: its subscriptions, its last will, and the feed
// topics it reads besides. One session per hub keeps the broker's
// client-id binding (use_username_as_clientid) and makes the last will
// the hub's own death, not that of a side connection.
type HubHooks struct {
	// Subscriptions, when set, replaces the wildcard device filters: the
	// hub subscribes only to its own devices' topics, so the broker filters
	// and no other hub's device reaches it.
	Subscriptions func(cfg *configs.Config) map[string]byte
	// Foreign reports a device (or Zigbee2MQTT name) another hub owns: a
	// hub that subscribes to everything does not list it as unknown.
	Foreign func(id string) bool
	// WillTopic and WillPayload are the session's last will (QoS 1, retained).
	WillTopic   string
	WillPayload []byte
	// OnConnect runs after each (re)connect once ingest's own subscriptions
	// are in place, on a goroutine of ingest's (it may wait for the broker).
	OnConnect func(c Client)
	// OnMessage is offered every message first, in the session's order; it
	// returns true for a message it takes (and acknowledges) itself. It
	// must not block.
	OnMessage func(msg Message) bool
}

// AckPublisher is a Client that can also wait for the broker's
// acknowledgement of a QoS 1 publish (the feed advances its cursor after it).
type AckPublisher interface {
	PublishWait(topic string, qos byte, retained bool, payload []byte, timeout time.Duration) error
}

// PublishWait publishes and waits for the broker's acknowledgement.
func (p *pahoClient) PublishWait(topic string, qos byte, retained bool, payload []byte, timeout time.Duration) error {
	tok := p.c.Publish(topic, qos, retained, payload)
	if !tok.WaitTimeout(timeout) {
		return fmt.Errorf("publish %s: no acknowledgement within %s", topic, timeout)
	}
	return tok.Error()
}

// Client is the broker session (nil before Start), for the hub's feed and
// view to share.
func (in *Ingest) Client() Client {
	in.lifeMu.Lock()
	defer in.lifeMu.Unlock()
	return in.client
}

// Connected reports whether the session is up and subscribed.
func (in *Ingest) Connected() bool { return in.connected.Load() }

// deviceFilters are the filters of the device topics: every device's
// (wildcards), or with HubHooks.Subscriptions only this hub's.
func (in *Ingest) deviceFilters(p *prefixes) map[string]byte {
	if in.o.Hub.Subscriptions != nil {
		f := in.o.Hub.Subscriptions(in.cfg.Load())
		in.mu.Lock()
		in.subscribed = maps.Clone(f)
		in.mu.Unlock()
		return f
	}
	return filters(p.topic, p.z2m)
}

// resubscribe brings a connected session's per-device subscriptions in
// line with a reloaded configuration: new devices subscribed first, then
// removed ones unsubscribed. Wildcard subscriptions need nothing.
func (in *Ingest) resubscribe(cfg *configs.Config) {
	if in.o.Hub.Subscriptions == nil || in.client == nil || !in.connected.Load() {
		return // onConnect subscribes to the current set
	}
	next := in.o.Hub.Subscriptions(cfg)
	in.mu.Lock()
	prev := in.subscribed
	in.subscribed = maps.Clone(next)
	in.mu.Unlock()
	add := map[string]byte{}
	for f, q := range next {
		if _, ok := prev[f]; !ok {
			add[f] = q
		}
	}
	var gone []string
	for f := range prev {
		if _, ok := next[f]; !ok {
			gone = append(gone, f)
		}
	}
	if len(add) > 0 {
		if err := in.client.Subscribe(add, 30*time.Second); err != nil {
			in.log.Error("MQTT subscribe to the new devices failed; they are subscribed at the next connect", "err", err)
		}
	}
	if len(gone) > 0 {
		if err := in.client.Unsubscribe(gone, 30*time.Second); err != nil {
			in.log.Warn("MQTT unsubscribe from removed devices failed", "err", err)
		}
	}
}
