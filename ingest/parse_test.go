package ingest

import (
	"math"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)

func TestParseTopic(t *testing.T) {
	tests := []struct {
		topic  string
		kind   topicKind
		id     string
		reason string
	}{
		{"snowbright/sensors/smoke-0001/event", topicSensorEvent, "smoke-0001", ""},
		{"snowbright/sensors/smoke-0001/status", topicSensorStatus, "smoke-0001", ""},
		{"snowbright/cameras/cam-0001/event", topicCameraEvent, "cam-0001", ""},
		{"snowbright/sensors//event", topicIgnored, "", ReasonBadTopic},
		{"snowbright/sensors/a+b/event", topicIgnored, "", ReasonBadTopic},
		{"snowbright/sensors/a\x01/event", topicIgnored, "", ReasonBadTopic},
		{"snowbright/other/x/event", topicIgnored, "", ""},
		{"zigbee2mqtt/door_1", topicZ2MState, "door_1", ""},
		{"zigbee2mqtt/door_1/availability", topicZ2MAvailability, "door_1", ""},
		{"zigbee2mqtt/bridge/state", topicIgnored, "", ""},
		{"zigbee2mqtt/door_1/set", topicIgnored, "", ""},
		{"elsewhere/x", topicIgnored, "", ""},
	}
	for _, tt := range tests {
		kind, id, err := parseTopic("snowbright", "zigbee2mqtt", tt.topic)
		if kind != tt.kind || id != tt.id || (tt.reason != "" && ReasonOf(err) != tt.reason) || (tt.reason == "" && err != nil) {
			t.Errorf("parseTopic(%q) = %v %q %v, want %v %q %s", tt.topic, kind, id, err, tt.kind, tt.id, tt.reason)
		}
	}
}

func TestParseSensorEvent(t *testing.T) {
	tests := []struct {
		payload string
		value   float64
		isBool  bool
		time    time.Time
		flag    bool
		reason  string
	}{
		{`{"ts":"2026-11-24T05:59:00Z","value":1.25,"unit":"m","battery":87}`, 1.25, false, now.Add(-time.Minute), false, ""},
		{`{"value":true}`, 1, true, now, false, ""},
		{`{"value":false}`, 0, true, now, false, ""},
		{`{"ts":"2031-01-01T00:00:00Z","value":3}`, 3, false, now, true, ""},
		{`{"ts":"2020-01-01T00:00:00Z","value":3}`, 3, false, now, true, ""},
		{`{"ts":"yesterday","value":3}`, 3, false, now, true, ""},
		{`{"value":"high"}`, 0, false, now, false, ReasonWrongType},
		{`{"value":"NaN"}`, 0, false, now, false, ReasonNotFinite},
		{`{"value":1e999}`, 0, false, now, false, ReasonWrongType},
		{`{"unit":"m"}`, 0, false, now, false, ReasonWrongType},
		{`{"value":1,"battery":"full"}`, 0, false, now, false, ReasonWrongType},
		{`{"value":`, 0, false, now, false, ReasonMalformedJSON},
		{`[1,2]`, 0, false, now, false, ReasonWrongType},
		{``, 0, false, now, false, ReasonMalformedJSON},
	}
	for _, tt := range tests {
		r, err := ParseSensorEvent([]byte(tt.payload), now)
		if tt.reason != "" {
			if ReasonOf(err) != tt.reason {
				t.Errorf("%s: err %v, want reason %s", tt.payload, err, tt.reason)
			}
			continue
		}
		if err != nil || r.Value != tt.value || r.IsBool != tt.isBool || !r.Time.Equal(tt.time) || (len(r.Flags) > 0) != tt.flag {
			t.Errorf("%s: got %+v %v", tt.payload, r, err)
		}
	}
}

// Payloads as Zigbee2MQTT documents them for common village devices.
func TestParseZ2M(t *testing.T) {
	tests := []struct {
		kind, payload string
		value         float64
		battery       float64
		field         string
		reason        string
	}{
		{"smoke", `{"battery":100,"battery_low":false,"linkquality":65,"smoke":true,"smoke_density":0,"tamper":false,"voltage":3100}`, 1, 100, "linkquality", ""},
		{"leak", `{"battery":93,"battery_low":false,"linkquality":120,"tamper":false,"water_leak":false}`, 0, 93, "tamper", ""},
		{"door", `{"battery":91,"contact":false,"linkquality":90,"voltage":3005}`, 1, 91, "voltage", ""},
		{"door", `{"battery":91,"contact":true,"linkquality":90}`, 0, 91, "linkquality", ""},
		{"motion", `{"battery":100,"illuminance":12,"occupancy":true,"linkquality":51}`, 1, 100, "illuminance", ""},
		{"temperature", `{"battery":88,"humidity":41.5,"temperature":21.3,"linkquality":70,"update":{"state":"idle"}}`, 21.3, 88, "humidity", ""},
		{"panic", `{"action":"sos","battery":77,"linkquality":40}`, 1, 77, "linkquality", ""},
		// A side field that merely contains "inf" is text, not a number.
		{"smoke", `{"battery":90,"smoke":true,"mode":"infrared","linkquality":65}`, 1, 90, "linkquality", ""},
		{"panic", `{"action":"sos","battery":70,"info":"info","linkquality":40}`, 1, 70, "linkquality", ""},
		{"smoke", `{"battery":90,"smoke":true,"linkquality":65,"density":"Infinity"}`, 0, 0, "", ReasonNotFinite},
		{"smoke", `{"battery":100,"linkquality":65}`, 0, 0, "", ReasonWrongType},
		{"smoke", `{"smoke":"maybe"}`, 0, 0, "", ReasonWrongType},
		{"smoke", `not json`, 0, 0, "", ReasonMalformedJSON},
	}
	for _, tt := range tests {
		r, err := ParseZ2M([]byte(tt.payload), tt.kind, now)
		if tt.reason != "" {
			if ReasonOf(err) != tt.reason {
				t.Errorf("%s %s: err %v, want %s", tt.kind, tt.payload, err, tt.reason)
			}
			continue
		}
		if err != nil || math.Abs(r.Value-tt.value) > 1e-9 || r.Battery == nil || *r.Battery != tt.battery {
			t.Errorf("%s %s: got %+v %v", tt.kind, tt.payload, r, err)
			continue
		}
		if _, ok := r.Fields[tt.field]; !ok {
			t.Errorf("%s: field %s missing from %v", tt.kind, tt.field, r.Fields)
		}
	}
}

func TestParseStatus(t *testing.T) {
	for payload, want := range map[string]bool{"online": true, "offline": false, `{"state":"online"}`: true, `{"state":"offline"}`: false, " ONLINE\n": true} {
		got, err := ParseStatus([]byte(payload))
		if err != nil || got != want {
			t.Errorf("ParseStatus(%q) = %v %v", payload, got, err)
		}
	}
	for _, payload := range []string{"", "maybe", `{"state":1}`, `{"state"`} {
		if _, err := ParseStatus([]byte(payload)); err == nil {
			t.Errorf("ParseStatus(%q) accepted", payload)
		}
	}
}

func TestParseCameraEvent(t *testing.T) {
	e, err := ParseCameraEvent([]byte(`{"ts":"2026-11-24T05:59:59Z","kind":"line_crossing","detail":{"line":"north"}}`), now)
	if err != nil || e.Kind != "line_crossing" || e.Detail["line"] != "north" || !e.Time.Equal(now.Add(-time.Second)) {
		t.Fatalf("got %+v %v", e, err)
	}
	if _, err := ParseCameraEvent([]byte(`{"kind":"dance"}`), now); ReasonOf(err) != ReasonWrongType {
		t.Fatalf("unknown kind: %v", err)
	}
}

func FuzzParseSensorEvent(f *testing.F) {
	for _, s := range []string{`{"ts":"2026-11-24T05:59:00Z","value":1.25,"unit":"m","battery":87}`, `{"value":true}`, `{"value":"NaN"}`, `[]`, `{"value":1e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseSensorEvent(b, now)
		if err == nil && (math.IsNaN(r.Value) || math.IsInf(r.Value, 0)) {
			t.Fatalf("accepted a value that is not finite: %v", r.Value)
		}
		if err != nil && ReasonOf(err) == "error" {
			t.Fatalf("error without a reason: %v", err)
		}
	})
}

func FuzzParseZ2M(f *testing.F) {
	for _, s := range []string{`{"battery":100,"smoke":true}`, `{"contact":false}`, `{"action":"sos"}`, `{"smoke":1e999}`} {
		f.Add([]byte(s), "smoke")
		f.Add([]byte(s), "door")
	}
	f.Fuzz(func(t *testing.T, b []byte, kind string) {
		r, err := ParseZ2M(b, kind, now)
		if err == nil && (math.IsNaN(r.Value) || math.IsInf(r.Value, 0)) {
			t.Fatalf("accepted a value that is not finite: %v", r.Value)
		}
	})
}
