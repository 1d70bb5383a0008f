// Package ingest takes device events from MQTT: the canonical snowbright
// topics and Zigbee2MQTT gateways. It turns them into the hub's event
// stream, keeps each sensor's state, and survives any payload a device or
// gateway can send.
package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"time"
	"unicode"
)

// Reasons a message is rejected; the label of snowhub_mqtt_rejected_total.
const (
	ReasonMalformedJSON = "malformed_json"
	ReasonWrongType     = "wrong_type"
	ReasonNotFinite     = "not_finite"
	ReasonTooLarge      = "too_large"
	ReasonUnknownDevice = "unknown_device"
	ReasonBadTopic      = "bad_topic"
	ReasonDuplicate     = "duplicate"
	ReasonRateLimited   = "rate_limited"
	ReasonBadStatus     = "bad_status"
)

// FlagTimeOutOfRange marks an event whose own timestamp was too far from
// the receive time to trust: the receive time is used instead.
const FlagTimeOutOfRange = "ts_out_of_range"

// Accepted clock skew of a device's own timestamp.
const (
	maxFuture = 5 * time.Minute
	maxPast   = 7 * 24 * time.Hour
)

// rejectError is a payload the hub cannot use, with its reason.
type rejectError struct {
	reason string
	msg    string
}

func (e *rejectError) Error() string { return e.reason + ": " + e.msg }

func reject(reason, msg string) error { return &rejectError{reason, msg} }

// ReasonOf returns the rejection reason of an error from the parsers.
func ReasonOf(err error) string {
	var re *rejectError
	if errors.As(err, &re) {
		return re.reason
	}
	return "error"
}

type topicKind int

const (
	topicIgnored topicKind = iota
	topicSensorEvent
	topicSensorStatus
	topicCameraEvent
	topicZ2MState
	topicZ2MAvailability
)

// parseTopic sorts a topic into what it carries and the device it names.
func parseTopic(prefix, z2m, topic string) (topicKind, string, error) {
	for _, r := range topic {
		if r == '+' || r == '#' || unicode.IsControl(r) {
			return topicIgnored, "", reject(ReasonBadTopic, "topic holds a wildcard or control character")
		}
	}
	parts := strings.Split(topic, "/")
	if len(parts) == 4 && parts[0] == prefix {
		id := parts[2]
		if id == "" {
			return topicIgnored, "", reject(ReasonBadTopic, "empty device id")
		}
		switch parts[1] + "/" + parts[3] {
		case "sensors/event":
			return topicSensorEvent, id, nil
		case "sensors/status":
			return topicSensorStatus, id, nil
		case "cameras/event":
			return topicCameraEvent, id, nil
		}
		return topicIgnored, "", nil
	}
	if len(parts) >= 2 && parts[0] == z2m {
		if parts[1] == "bridge" {
			return topicIgnored, "", nil // the gateway's own state
		}
		if len(parts) == 2 {
			return topicZ2MState, parts[1], nil
		}
		if len(parts) == 3 && parts[2] == "availability" {
			return topicZ2MAvailability, parts[1], nil
		}
		return topicIgnored, "", nil // set/get requests and the like
	}
	return topicIgnored, "", nil
}

// Reading is a parsed sensor report.
type Reading struct {
	Time    time.Time
	TS      string // the device's own timestamp as sent ("" when none): what identifies the reading
	Value   float64
	IsBool  bool
	Unit    string
	Battery *float64
	Fields  map[string]float64
	Flags   []string
}

type sensorPayload struct {
	TS      *string          `json:"ts"`
	Value   json.RawMessage  `json:"value"`
	Unit    string           `json:"unit"`
	Battery *json.RawMessage `json:"battery"`
}

// ParseSensorEvent parses a snowbright/sensors/{id}/event payload:
// {"ts":"RFC3339","value":number|bool,"unit":"m","battery":87}.
func ParseSensorEvent(payload []byte, now time.Time) (Reading, error) {
	var p sensorPayload
	if err := strictJSON(payload, &p); err != nil {
		return Reading{}, err
	}
	r := Reading{Time: now, Unit: p.Unit}
	if len(p.Value) == 0 {
		return Reading{}, reject(ReasonWrongType, `"value" is missing`)
	}
	v, isBool, err := number(p.Value, "value")
	if err != nil {
		return Reading{}, err
	}
	r.Value, r.IsBool = v, isBool
	if p.Battery != nil {
		b, _, err := number(*p.Battery, "battery")
		if err != nil {
			return Reading{}, err
		}
		r.Battery = &b
	}
	if p.TS != nil {
		r.TS = *p.TS
		r.Time, r.Flags = deviceTime(*p.TS, now)
	}
	return r, nil
}

// deviceTime trusts a device's timestamp only within the accepted skew.
func deviceTime(ts string, now time.Time) (time.Time, []string) {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil || t.After(now.Add(maxFuture)) || t.Before(now.Add(-maxPast)) {
		return now, []string{FlagTimeOutOfRange}
	}
	return t.UTC(), nil // the instant the device meant; its offset is not the hub's
}

// number reads a JSON number or boolean (true = 1), refusing NaN and Inf.
func number(raw json.RawMessage, key string) (float64, bool, error) {
	raw = bytes.TrimSpace(raw)
	switch string(raw) {
	case "true":
		return 1, true, nil
	case "false":
		return 0, true, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err != nil {
		var s string
		if json.Unmarshal(raw, &s) == nil && notFinite[strings.ToLower(strings.TrimSpace(s))] {
			return 0, false, reject(ReasonNotFinite, key+" is not finite")
		}
		return 0, false, reject(ReasonWrongType, key+" is not a number or boolean")
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false, reject(ReasonNotFinite, key+" is not finite")
	}
	return f, false, nil
}

// notFinite are the spellings of NaN and the infinities a device may send
// as a string. Only the whole string counts: "infrared" or "info" in a
// side field is text, not a number.
var notFinite = map[string]bool{"nan": true, "inf": true, "+inf": true, "-inf": true,
	"infinity": true, "+infinity": true, "-infinity": true}

func strictJSON(payload []byte, v any) error {
	if err := json.Unmarshal(payload, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return reject(ReasonWrongType, err.Error())
		}
		return reject(ReasonMalformedJSON, err.Error())
	}
	return nil
}

// ParseStatus reads a status or availability payload: "online"/"offline",
// or Zigbee2MQTT's {"state":"online"}.
func ParseStatus(payload []byte) (online bool, err error) {
	s := strings.TrimSpace(string(payload))
	if strings.HasPrefix(s, "{") {
		var v struct {
			State string `json:"state"`
		}
		if err := json.Unmarshal(payload, &v); err != nil {
			return false, reject(ReasonMalformedJSON, err.Error())
		}
		s = v.State
	}
	switch strings.ToLower(s) {
	case "online":
		return true, nil
	case "offline":
		return false, nil
	}
	return false, reject(ReasonBadStatus, "status is neither online nor offline")
}

// z2mMain is the Zigbee2MQTT key that carries each sensor kind's value.
var z2mMain = map[string]string{
	"smoke": "smoke", "leak": "water_leak", "door": "contact", "motion": "occupancy",
	"temperature": "temperature", "humidity": "humidity", "gas": "gas", "water_level": "water_level",
	"power": "ac_connected", "panic": "action",
}

// ParseZ2M maps a Zigbee2MQTT device message onto a sensor of the given
// kind: the kind's key is the value (contact=false, a door open, is 1), the
// other numeric or boolean keys go to Fields.
func ParseZ2M(payload []byte, kind string, now time.Time) (Reading, error) {
	var m map[string]json.RawMessage
	if err := strictJSON(payload, &m); err != nil {
		return Reading{}, err
	}
	main := z2mMain[kind]
	r := Reading{Time: now, Fields: map[string]float64{}}
	found := false
	for k, raw := range m {
		if k == "last_seen" {
			var s string
			if json.Unmarshal(raw, &s) == nil {
				r.TS = s
				r.Time, r.Flags = deviceTime(s, now)
			}
			continue
		}
		if k == main && kind == "panic" {
			// Buttons report an action string ("single", "sos", ...).
			var s string
			if json.Unmarshal(raw, &s) == nil {
				r.Value, r.IsBool, found = 1, true, s != ""
				continue
			}
		}
		v, isBool, err := number(raw, k)
		if err != nil {
			if k == main || ReasonOf(err) == ReasonNotFinite {
				return Reading{}, err
			}
			continue // strings and objects we do not use (update, color...)
		}
		switch {
		case k == main:
			found = true
			r.Value, r.IsBool = v, isBool
			if kind == "door" { // contact=true means closed
				r.Value = 1 - v
			}
			if kind == "power" { // ac_connected=false is the alarm
				r.Value = 1 - v
			}
		case k == "battery":
			b := v
			r.Battery = &b
		default:
			r.Fields[k] = v
		}
	}
	if !found {
		return Reading{}, reject(ReasonWrongType, "no "+main+" key for a "+kind+" sensor")
	}
	if len(r.Fields) == 0 {
		r.Fields = nil
	}
	return r, nil
}

// CameraEvent is a camera's own analytics event.
type CameraEvent struct {
	Time   time.Time
	TS     string // the camera's own timestamp as sent ("" when none)
	Kind   string
	Detail map[string]any
	Flags  []string
}

var cameraEventKinds = map[string]bool{"motion": true, "tamper": true, "line_crossing": true, "plate": true}

// ParseCameraEvent parses snowbright/cameras/{id}/event.
func ParseCameraEvent(payload []byte, now time.Time) (CameraEvent, error) {
	var p struct {
		TS     *string        `json:"ts"`
		Kind   string         `json:"kind"`
		Detail map[string]any `json:"detail"`
	}
	if err := strictJSON(payload, &p); err != nil {
		return CameraEvent{}, err
	}
	if !cameraEventKinds[p.Kind] {
		return CameraEvent{}, reject(ReasonWrongType, "kind must be motion, tamper, line_crossing or plate")
	}
	e := CameraEvent{Time: now, Kind: p.Kind}
	if p.TS != nil {
		e.TS = *p.TS
		e.Time, e.Flags = deviceTime(*p.TS, now)
	}
	var trimmed bool
	if e.Detail, trimmed = trimDetail(p.Detail); trimmed {
		e.Flags = append(e.Flags, FlagDetailTrimmed)
	}
	return e, nil
}
