package ingest

import (
	"time"

	"snowhub/configs"
)

// prefixes are the topic prefixes ingest answers to: the configured ones,
// and after a reload that changed them, the previous ones too, so messages
// already on their way on the old topics are recorded, not discarded.
type prefixes struct {
	topic, z2m       string
	oldTopic, oldZ2M string
	hasOld           bool
}

func filters(topic, z2m string) map[string]byte {
	return map[string]byte{
		topic + "/sensors/+/event":  1,
		topic + "/sensors/+/status": 1,
		topic + "/cameras/+/event":  1,
		z2m + "/+":                  1,
		z2m + "/+/availability":     1,
	}
}

// setPrefixes puts new topic prefixes in force: subscribe to the new
// topics first, then unsubscribe the old ones, so nothing published in
// between is lost; the old prefixes stay routable for what is in flight.
func (in *Ingest) setPrefixes(m configs.MQTTConfig) {
	cur := in.prefix.Load()
	if cur != nil && cur.topic == m.TopicPrefix && cur.z2m == m.Z2MPrefix {
		return
	}
	next := &prefixes{topic: m.TopicPrefix, z2m: m.Z2MPrefix}
	if cur != nil {
		next.oldTopic, next.oldZ2M, next.hasOld = cur.topic, cur.z2m, true
	}
	in.prefix.Store(next)
	if cur == nil || in.client == nil || !in.connected.Load() {
		return // onConnect subscribes to the new topics
	}
	if in.o.Hub.Subscriptions != nil {
		return // per-device subscriptions: resubscribe moves them, new ones first
	}
	if err := in.client.Subscribe(filters(next.topic, next.z2m), 30*time.Second); err != nil {
		in.log.Error("MQTT subscribe to the new topic prefixes failed; the old ones are kept", "err", err)
		return
	}
	old := filters(cur.topic, cur.z2m)
	for f := range filters(next.topic, next.z2m) {
		delete(old, f)
	}
	var drop []string
	for f := range old {
		drop = append(drop, f)
	}
	if len(drop) > 0 {
		if err := in.client.Unsubscribe(drop, 30*time.Second); err != nil {
			in.log.Warn("MQTT unsubscribe from the old topic prefixes failed; their messages are still recorded", "err", err)
		}
	}
	in.log.Info("MQTT topic prefixes changed; resubscribed", "topic_prefix", next.topic, "z2m_prefix", next.z2m)
}

// route sorts a topic by what it carries and the device it names, under
// the current prefixes, or the previous ones after a change.
func (in *Ingest) route(topic string) (topicKind, string, error) {
	p := in.prefix.Load()
	kind, id, err := parseTopic(p.topic, p.z2m, topic)
	if err == nil && kind == topicIgnored && p.hasOld {
		return parseTopic(p.oldTopic, p.oldZ2M, topic)
	}
	return kind, id, err
}
