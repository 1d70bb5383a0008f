package prefecture

import (
	"encoding/json"
	"strings"
	"sync/atomic"

	"snowhub/configs"
	"snowhub/ingest"
)

// IngestHooks are what a hub of a prefecture asks of ingest's session:
// only its own devices' topics (unless it reports unknown devices), no
// other hub's device listed as unknown, and the hub's last will; the feed,
// the view and the action responder subscribe and read through onConnect
// and onMessage. foreign is the hub's set of other hubs' devices (nil
// unless it reports unknown devices), kept current on reload by its owner.
func IngestHooks(cfg *configs.Config, foreign *Foreign, onConnect func(c ingest.Client), onMessage func(ingest.Message) bool) ingest.HubHooks {
	if !cfg.Federated() {
		return ingest.HubHooks{}
	}
	h := ingest.HubHooks{}
	if len(cfg.Hub.Townships) > 0 { // a hub that owns nothing publishes no feed, so no will either
		h.WillTopic, h.WillPayload = Topics{cfg.MQTT.TopicPrefix}.Status(cfg.Hub.ID), willPayload(cfg.Hub.ID)
	}
	if !cfg.Hub.ReportUnknown {
		h.Subscriptions = DeviceTopics
	} else if foreign != nil {
		h.Foreign = foreign.Has
	}
	h.OnConnect, h.OnMessage = onConnect, onMessage
	return h
}

// DeviceTopics are the exact topics of the devices a hub owns: the broker
// sends it nothing of another hub's devices.
func DeviceTopics(cfg *configs.Config) map[string]byte {
	own := cfg.Owned()
	m, z := cfg.MQTT.TopicPrefix, cfg.MQTT.Z2MPrefix
	out := make(map[string]byte, 2*len(own.Sensors)+len(own.Cameras))
	for _, s := range own.Sensors {
		out[m+"/sensors/"+s.ID+"/event"] = 1
		out[m+"/sensors/"+s.ID+"/status"] = 1
		if s.Z2M != "" {
			out[z+"/"+s.Z2M] = 1
			out[z+"/"+s.Z2M+"/availability"] = 1
		}
	}
	for _, c := range own.Cameras {
		out[m+"/cameras/"+c.ID+"/event"] = 1
	}
	return out
}

// Foreign is the set of devices (and Zigbee2MQTT names) of the
// configuration that another hub owns: the hub that reports unknown
// devices does not list them. It follows reloads (Update), so a device
// added to another hub's township stops being "unknown" here without a
// restart.
type Foreign struct {
	set atomic.Pointer[map[string]bool]
}

// NewForeign builds the set from the whole configuration (not Owned()).
func NewForeign(cfg *configs.Config) *Foreign {
	f := &Foreign{}
	f.Update(cfg)
	return f
}

// Update rebuilds the set from a reloaded configuration. It is safe to
// call while ingest reads it. A nil *Foreign does nothing.
func (f *Foreign) Update(cfg *configs.Config) {
	if f == nil {
		return
	}
	own := cfg.Owned()
	mine := map[string]bool{}
	for _, s := range own.Sensors {
		mine[s.ID] = true
		if s.Z2M != "" {
			mine[s.Z2M] = true
		}
	}
	for _, c := range own.Cameras {
		mine[c.ID] = true
	}
	other := map[string]bool{}
	for _, s := range cfg.Sensors {
		if !mine[s.ID] {
			other[s.ID] = true
			if s.Z2M != "" {
				other[s.Z2M] = true
			}
		}
	}
	for _, c := range cfg.Cameras {
		if !mine[c.ID] {
			other[c.ID] = true
		}
	}
	f.set.Store(&other)
}

// Has reports whether another hub owns the device (or Zigbee2MQTT name).
func (f *Foreign) Has(id string) bool {
	if f == nil {
		return false
	}
	m := f.set.Load()
	return m != nil && (*m)[id]
}

// willPayload is the retained status the broker publishes when the hub's
// session dies: "offline", with no time (the view notes when it came).
func willPayload(hub string) []byte {
	b, _ := json.Marshal(Status{Hub: hub, State: "offline"})
	return b
}

// Router offers the session's messages to the view and the action
// responder (either may be nil); it takes every message under
// {prefix}/hubs/, so none of them reaches device ingest as a bad topic.
func Router(prefix string, client func() ingest.Client, v *View, a *Actions) func(ingest.Message) bool {
	t := Topics{prefix}
	return func(msg ingest.Message) bool {
		_, what, _, ok := t.parse(msg.Topic())
		if !ok {
			if _, under := cutHubs(prefix, msg.Topic()); under {
				msg.Ack() // under hubs/ but no topic of ours: not a device's either
				return true
			}
			return false
		}
		switch {
		case what == "actions" && a != nil:
			if c := client(); c != nil {
				a.receive(c, msg)
				return true
			}
		case what != "actions" && v != nil:
			v.receive(msg)
			return true
		}
		msg.Ack()
		return true
	}
}

func cutHubs(prefix, topic string) (string, bool) {
	return strings.CutPrefix(topic, prefix+"/hubs/")
}
