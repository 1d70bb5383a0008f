package ingest

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"time"

	"snowhub/configs"
	"snowhub/internal/event"
)

// Default report intervals by sensor kind: three missed reports and the
// sensor is offline ("silent").
var defaultInterval = map[string]time.Duration{
	"water_level": time.Minute, "temperature": time.Minute, "humidity": time.Minute,
}

const heartbeatInterval = 5 * time.Minute

type camInfo struct{ village, township string }

type sensor struct {
	cfg      configs.Sensor
	township string
	interval time.Duration

	// tmu serialises this sensor's transitions (its worker and the silence
	// check), so a state is committed in memory only after the sink took it.
	tmu    sync.Mutex
	status event.SensorStatus // guarded by Ingest.mu
}

// UnknownDevice is a device that publishes but is not configured, listed so
// a technician can add it.
type UnknownDevice struct {
	Topic     string    `json:"topic"`
	ID        string    `json:"id"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	Count     int       `json:"count"`
}

// Update applies a new configuration: the device list (sensors keep their
// state), device rates and topic prefixes (resubscribing without dropping
// what is in flight).
func (in *Ingest) Update(cfg *configs.Config) {
	villageTownship := configs.NewTopology(cfg).VillageTownship
	in.mu.Lock()
	next := map[string]*sensor{}
	in.z2m = map[string]string{}
	for _, s := range cfg.Sensors {
		cur := in.sensors[s.ID]
		if cur == nil {
			cur = &sensor{status: event.SensorStatus{ID: s.ID, State: event.StateUnknown, Since: in.o.Now()}}
		}
		cur.cfg, cur.township = s, villageTownship[s.Village]
		cur.status.Name, cur.status.Kind, cur.status.Village, cur.status.Township = s.Name, s.Kind, s.Village, cur.township
		cur.interval = s.ReportInterval
		if cur.interval == 0 {
			cur.interval = defaultInterval[s.Kind]
		}
		if cur.interval == 0 {
			cur.interval = heartbeatInterval
		}
		next[s.ID] = cur
		if s.Z2M != "" {
			in.z2m[s.Z2M] = s.ID
		}
		delete(in.unknown, s.ID)
	}
	in.sensors = next
	in.cameras = map[string]camInfo{}
	for _, c := range cfg.Cameras {
		in.cameras[c.ID] = camInfo{village: c.Village, township: villageTownship[c.Village]}
		delete(in.unknown, c.ID)
	}
	if foreign := in.o.Hub.Foreign; foreign != nil {
		// A device another hub now owns is no longer unknown here.
		for id := range in.unknown {
			if foreign(id) {
				delete(in.unknown, id)
			}
		}
	}
	if old := in.cfg.Load(); old != nil && old.MQTT.DeviceRateLimit != cfg.MQTT.DeviceRateLimit {
		clear(in.limiters) // rebuilt at the new rate on each device's next message
	}
	in.mu.Unlock()
	in.setPrefixes(cfg.MQTT)
	in.cfg.Store(cfg)
	in.resubscribe(cfg)
}

// transition moves a sensor to state and emits the change, if it is one.
// The new state is kept only once the sink accepted it, so a failed write
// is tried again by the redelivery instead of being forgotten.
func (in *Ingest) transition(ctx context.Context, s *sensor, state, cause string, now time.Time) error {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	in.mu.Lock()
	if s.status.State == state {
		in.mu.Unlock()
		return nil
	}
	st := s.status
	st.Prev, st.State, st.Cause, st.Since = s.status.State, state, cause, now
	in.mu.Unlock()
	if err := in.o.Sink.Publish(ctx, event.Event{Type: event.SensorState, Time: now, Township: st.Township,
		Village: st.Village, Device: st.ID, Data: st}); err != nil {
		return err
	}
	in.mu.Lock()
	s.status.Prev, s.status.State, s.status.Cause, s.status.Since = st.Prev, st.State, st.Cause, st.Since
	in.mu.Unlock()
	return nil
}

// watchSilence marks sensors offline after three missed reports.
func (in *Ingest) watchSilence() {
	defer in.wg.Done()
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-in.ctx.Done():
			return
		case <-t.C:
			in.CheckSilence(in.o.Now())
		}
	}
}

// CheckSilence marks offline every sensor not heard from for three report
// intervals.
func (in *Ingest) CheckSilence(now time.Time) {
	in.mu.Lock()
	in.expireUnknown(now)
	var silent []*sensor
	for _, s := range in.sensors {
		if s.status.State == event.StateOnline && !s.status.LastSeen.IsZero() && now.Sub(s.status.LastSeen) > 3*s.interval {
			silent = append(silent, s)
		}
	}
	in.mu.Unlock()
	for _, s := range silent {
		if err := in.transition(in.ctx, s, event.StateOffline, "silent", now); err != nil {
			in.log.Error("sensor state not recorded; tried again at the next check", "sensor", s.cfg.ID, "err", err)
		}
	}
}

func (in *Ingest) noteUnknown(topic, id string, now time.Time) {
	if in.o.Hub.Foreign != nil && in.o.Hub.Foreign(id) {
		return // another hub's device: neither unknown nor ours
	}
	// Only ids of at most 64 bytes are listed (their topics are then
	// bounded too); longer ones are bad topics, counted and logged clipped.
	if !listableID(id) {
		in.bad(id, topic, nil, reject(ReasonBadTopic, "device id longer than 64 bytes or not UTF-8"))
		return
	}
	in.m.rejected.WithLabelValues(ReasonUnknownDevice).Inc()
	in.mu.Lock()
	u := in.unknown[id]
	if u == nil {
		if len(in.unknown) >= maxUnknown {
			in.expireUnknown(now)
		}
		if len(in.unknown) >= maxUnknown {
			in.mu.Unlock()
			return
		}
		u = &UnknownDevice{Topic: topic, ID: id, FirstSeen: now}
		in.unknown[id] = u
		in.mu.Unlock()
		in.logLimit.Log(in.log, slog.LevelWarn, "unknown|"+id, "message from a device that is not configured; listed in /api/v1/sensors?unknown=1", "device", id, "topic", topic)
		in.mu.Lock()
	}
	u.LastSeen, u.Topic = now, topic
	u.Count++
	in.mu.Unlock()
}

// expireUnknown forgets unknown devices not heard from for unknownTTL.
// Called with in.mu held.
func (in *Ingest) expireUnknown(now time.Time) {
	for id, u := range in.unknown {
		if now.Sub(u.LastSeen) > unknownTTL {
			delete(in.unknown, id)
		}
	}
}

// Sensors is every configured sensor's state, by id.
func (in *Ingest) Sensors() []event.SensorStatus {
	in.mu.Lock()
	out := make([]event.SensorStatus, 0, len(in.sensors))
	for _, s := range in.sensors {
		out = append(out, s.status)
	}
	in.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Unknown lists devices that publish but are not configured.
func (in *Ingest) Unknown() []UnknownDevice {
	in.mu.Lock()
	out := make([]UnknownDevice, 0, len(in.unknown))
	for _, u := range in.unknown {
		out = append(out, *u)
	}
	in.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
