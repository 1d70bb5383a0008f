package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/time/rate"

	"snowhub/internal/event"
)

// delivery is one message on its way through a worker. A message whose
// sink failed is tried again with the same delivery, so it keeps its
// receive time, its rate-limit admission and what was already stored.
type delivery struct {
	msg      Message
	at       time.Time // receipt: the time of a reading without its own
	admitted bool      // passed the rate limit once; never limited again
	stored   bool      // the reading is durable; only the state change is left
}

// limiter is a device's rate limit. A reading that carries its own
// timestamp is limited on the device's clock, so a backlog the broker
// queued while the hub was away (published within the limit, delivered in
// one burst) is all kept; other messages are limited on the receive time.
type limiter struct{ device, receive *rate.Limiter }

func (in *Ingest) allow(id string, devTime time.Time, now time.Time) bool {
	r := in.cfg.Load().MQTT.DeviceRateLimit
	in.mu.Lock()
	defer in.mu.Unlock()
	l := in.limiters[id]
	if l == nil {
		burst := int(max(r, 1))
		l = &limiter{rate.NewLimiter(rate.Limit(r), burst), rate.NewLimiter(rate.Limit(r), burst)}
		if len(in.limiters) > 100000 { // bounded against a flood of random ids
			clear(in.limiters)
		}
		in.limiters[id] = l
	}
	if !devTime.IsZero() {
		return l.device.AllowN(devTime, 1)
	}
	return l.receive.AllowN(now, 1)
}

// recordMessage turns one message into events. It returns an error only when an
// event could not be made durable (the message is then not acknowledged);
// bad input is counted, logged and acknowledged (redelivering it would not
// make it better).
func (in *Ingest) recordMessage(ctx context.Context, d *delivery) error {
	topic, payload, dup := d.msg.Topic(), d.msg.Payload(), d.msg.Duplicate()
	cfg := in.cfg.Load()
	now := d.at
	kind, id, err := in.route(topic)
	if err != nil {
		in.bad(id, topic, payload, err)
		return nil
	}
	if kind == topicIgnored {
		return nil
	}
	if !d.admitted {
		in.m.messages.WithLabelValues(kindName[kind]).Inc()
	}
	if len(payload) > cfg.MQTT.MaxPayload {
		in.bad(id, topic, nil, reject(ReasonTooLarge, fmt.Sprintf("%d bytes, limit %d", len(payload), cfg.MQTT.MaxPayload)))
		return nil
	}

	in.mu.Lock()
	if kind == topicZ2MState || kind == topicZ2MAvailability {
		sid, ok := in.z2m[id]
		if !ok {
			in.mu.Unlock()
			in.noteUnknown(topic, id, now)
			return nil
		}
		id = sid
	}
	var s *sensor
	var cam camInfo
	known := false
	if kind == topicCameraEvent {
		cam, known = in.cameras[id]
	} else {
		s = in.sensors[id]
		known = s != nil
	}
	in.mu.Unlock()
	if !known {
		in.noteUnknown(topic, id, now)
		return nil
	}

	// Parse first: what identifies a reading (its own timestamp) decides
	// both the duplicate check and the clock of the rate limit.
	var (
		cev     CameraEvent
		r       Reading
		online  bool
		ts      string
		devTime time.Time
	)
	switch kind {
	case topicCameraEvent:
		cev, err = ParseCameraEvent(payload, now)
		ts = cev.TS
		if ts != "" {
			devTime = cev.Time
		}
	case topicSensorStatus, topicZ2MAvailability:
		online, err = ParseStatus(payload)
	case topicZ2MState:
		r, err = ParseZ2M(payload, s.cfg.Kind, now)
	default:
		r, err = ParseSensorEvent(payload, now)
	}
	if err != nil {
		in.bad(id, topic, payload, err)
		return nil
	}
	if r.TS != "" {
		ts, devTime = r.TS, r.Time
	}
	key, keyed := readingKey(topic, ts)
	if keyed && !d.stored && !d.admitted && in.seen.seen(key) {
		in.m.rejected.WithLabelValues(ReasonDuplicate).Inc()
		return nil
	}
	// A redelivery is never limited: the broker sends it again because we
	// have not acknowledged it, and dropping it would lose it for good.
	if !d.admitted && !dup && !in.allow(id, devTime, now) {
		in.bad(id, topic, nil, reject(ReasonRateLimited, "device exceeds its rate limit"))
		return nil
	}
	d.admitted = true

	switch kind {
	case topicCameraEvent:
		if err := in.o.Sink.Publish(ctx, event.Event{Type: event.CameraEvent, Time: cev.Time, Township: cam.township,
			Village: cam.village, Device: id, Data: event.CameraAnalytics{Camera: id, Kind: cev.Kind, Detail: cev.Detail, Flags: cev.Flags}}); err != nil {
			return err
		}
		if keyed {
			in.seen.add(key)
		}
		return nil
	case topicSensorStatus, topicZ2MAvailability:
		state, cause := event.StateOffline, "last_will"
		if online {
			state, cause = event.StateOnline, "status"
		}
		return in.transition(ctx, s, state, cause, now)
	}
	if !d.stored {
		in.mu.Lock()
		village, township := s.cfg.Village, s.township
		in.mu.Unlock()
		if err := in.o.Sink.Publish(ctx, event.Event{Type: event.SensorReading, Time: r.Time, Township: township, Village: village, Device: id,
			Data: event.SensorReadingData{Sensor: id, Kind: s.cfg.Kind, Value: r.Value, IsBool: r.IsBool, Unit: r.Unit,
				Battery: r.Battery, Fields: r.Fields, Flags: r.Flags}}); err != nil {
			return err
		}
		d.stored = true
		if keyed {
			in.seen.add(key)
		}
		in.mu.Lock()
		v := r.Value
		s.status.LastValue, s.status.LastSeen = &v, now
		if r.Battery != nil {
			b := *r.Battery
			s.status.Battery = &b
		}
		in.mu.Unlock()
	}
	// A report is proof of life.
	return in.transition(ctx, s, event.StateOnline, "report", now)
}

var kindName = map[topicKind]string{topicSensorEvent: "sensor_event", topicSensorStatus: "sensor_status",
	topicCameraEvent: "camera_event", topicZ2MState: "z2m", topicZ2MAvailability: "z2m_availability"}

// bad counts a rejected message and logs it at most once a minute per
// device (and a few lines a second in all: loglimit).
func (in *Ingest) bad(device, topic string, payload []byte, err error) {
	reason := ReasonOf(err)
	in.m.rejected.WithLabelValues(reason).Inc()
	// What a device sent is clipped before it is kept or logged.
	device, topic = clipKey(device), clipKey(topic)
	key := device
	if key == "" {
		key = topic
	}
	in.logLimit.Log(in.log, slog.LevelWarn, "rejected|"+key, "MQTT message rejected", "device", device, "topic", topic, "reason", reason, "err", err)
	if dl := in.cfg.Load().MQTT.DeadLetterTopic; dl != "" && in.client != nil && payload != nil {
		in.client.Publish(dl+"/"+reason, 0, false, payload) // fire and forget: never wait in a handler
	}
}
