package timeseries

import (
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

// uniqueTime nudges a point's time forward by nanoseconds so that no two
// points of one series share a timestamp: InfluxDB would keep only the last
// of them. Because the spool holds the encoded line, a replay after a crash
// rewrites the very same point, which InfluxDB stores once.
func (w *Writer) uniqueTime(p *write.Point) {
	key := p.Name()
	for _, t := range p.TagList() {
		key += "," + t.Key + "=" + t.Value
	}
	ts := p.Time().UnixNano()
	w.tsMu.Lock()
	if last, ok := w.lastTS[key]; ok && ts <= last {
		ts = last + 1
		p.SetTime(time.Unix(0, ts))
	}
	w.lastTS[key] = ts
	if len(w.lastTS) > 200000 { // bounded: series of removed devices age out
		clear(w.lastTS)
	}
	w.tsMu.Unlock()
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
