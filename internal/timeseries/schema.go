package timeseries

import (
	"hash/maphash"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api/write"

	"snowhub/internal/event"
)

// Measurements; docs/timeseries.md describes each one's tags and fields.
// Tags are bounded sets only (devices, kinds, places, actions); incident
// ids, notes and users are fields.
const (
	MeasCameraHealth  = "camera_health"
	MeasDeviceState   = "device_state"
	MeasSensorReading = "sensor_reading"
	MeasCameraEvent   = "camera_event"
	MeasIncidentStep  = "incident_step"
)

// encode turns an event into line protocol; sample reports whether it is
// a health sample (droppable when the spool is full).
func (w *Writer) encode(ev event.Event) (lines [][]byte, sample bool) {
	var p *write.Point
	switch d := ev.Data.(type) {
	case event.CameraStatus:
		if ev.Type == event.CameraSample {
			p = write.NewPoint(MeasCameraHealth,
				tags("camera", d.ID, "township", d.Township, "village", d.Village),
				map[string]any{"fps": d.FPS, "bitrate_kbps": d.BitrateKbps, "frame_age_ms": d.LastFrameAgeMs,
					"loss_ratio": d.LossRatio, "packets_lost": int64(d.PacketsLost), "errors": int64(d.Errors),
					"reconnects": int64(d.Reconnects), "state": d.State}, ev.Time)
			sample = true
		} else {
			p = write.NewPoint(MeasDeviceState,
				tags("device", d.ID, "kind", "camera", "township", d.Township, "village", d.Village),
				map[string]any{"state": d.State, "prev": d.Prev, "cause": d.Cause}, ev.Time)
		}
	case event.SensorStatus:
		p = write.NewPoint(MeasDeviceState,
			tags("device", d.ID, "kind", d.Kind, "township", d.Township, "village", d.Village),
			map[string]any{"state": d.State, "prev": d.Prev, "cause": d.Cause}, ev.Time)
	case event.SensorReadingData:
		f := map[string]any{"value": d.Value}
		if d.Battery != nil {
			f["battery"] = *d.Battery
		}
		for k, v := range d.Fields {
			if k != "value" && k != "battery" {
				f[k] = v
			}
		}
		if len(d.Flags) > 0 {
			f["flags"] = joinFlags(d.Flags)
		}
		p = write.NewPoint(MeasSensorReading,
			tags("sensor", d.Sensor, "kind", d.Kind, "township", ev.Township, "village", ev.Village), f, ev.Time)
	case event.CameraAnalytics:
		p = write.NewPoint(MeasCameraEvent,
			tags("camera", d.Camera, "kind", d.Kind, "township", ev.Township, "village", ev.Village),
			map[string]any{"count": int64(1)}, ev.Time)
	case event.Incident:
		if len(d.History) == 0 {
			return nil, false
		}
		s := d.History[len(d.History)-1]
		f := map[string]any{"id": d.ID, "state": d.State, "from": s.From, "to": s.To, "by": s.By, "owner": d.Owner,
			"overdue": d.Overdue, "device": d.Device, "kind": d.Kind}
		if s.Note != "" {
			f["note"] = s.Note
		}
		if s.Rating != "" {
			f["rating"] = s.Rating
		}
		if !s.Deadline.IsZero() {
			f["deadline"] = s.Deadline.UTC().Format(time.RFC3339)
		}
		level := s.Level
		if level == "" {
			level = d.Level
		}
		p = write.NewPoint(MeasIncidentStep,
			tags("township", d.Township, "village", d.Village, "severity", d.Severity, "action", s.Action, "level", level),
			f, s.At)
	default:
		return nil, false
	}
	if w.o.Hub != "" {
		p.AddTag("hub", w.o.Hub)
	}
	w.uniqueTime(p)
	return [][]byte{[]byte(write.PointToLineProtocol(p, time.Nanosecond))}, sample
}

// uniqueTime keeps a point at its device time and breaks a tie only with
// another point of the same series at the very same nanosecond (InfluxDB
// would keep just the last of them): the later one moves forward by the
// fewest nanoseconds that are free. A reading older than the series' last
// point (a gateway's buffered hour, a device clock stepping back) is stored
// where it happened, not pulled after the newest. Because the spool holds
// the encoded line, a replay after a crash rewrites the very same point,
// which InfluxDB stores once.
func (w *Writer) uniqueTime(p *write.Point) {
	var h maphash.Hash
	h.SetSeed(seriesSeed)
	h.WriteString(p.Name())
	for _, t := range p.TagList() {
		h.WriteString("," + t.Key + "=" + t.Value)
	}
	key := h.Sum64()
	ts := p.Time().UnixNano()
	w.tsMu.Lock()
	at := ts
	for w.taken.has(seriesTime{key, at}) {
		at++
	}
	w.taken.add(seriesTime{key, at})
	w.tsMu.Unlock()
	if at != ts {
		p.SetTime(time.Unix(0, at))
	}
}

// seriesTime is one series (by the hash of its measurement and tags) at one
// nanosecond. Two series sharing a hash would at worst nudge a point by a
// nanosecond it did not need.
type seriesTime struct {
	series uint64
	ns     int64
}

var seriesSeed = maphash.MakeSeed()

// takenTimes remembers the instants written lately, in two generations so
// that it stays bounded (series of removed devices, old instants age out)
// without forgetting everything at once.
type takenTimes struct {
	cur, old map[seriesTime]struct{}
}

// takenGeneration is how many instants one generation holds: two of them
// cover far more than the points of one burst at one instant.
const takenGeneration = 100000

func (t *takenTimes) has(k seriesTime) bool {
	if _, ok := t.cur[k]; ok {
		return true
	}
	_, ok := t.old[k]
	return ok
}

func (t *takenTimes) add(k seriesTime) {
	if t.cur == nil || len(t.cur) >= takenGeneration {
		t.old, t.cur = t.cur, make(map[seriesTime]struct{}, 1024)
	}
	t.cur[k] = struct{}{}
}

func joinFlags(f []string) string {
	out := ""
	for i, s := range f {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

// tags builds a tag set from key, value pairs, leaving out empty values,
// which InfluxDB refuses.
func tags(kv ...string) map[string]string {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}
