// Package event is the hub's one internal event stream: camera and sensor
// health, sensor readings and incident steps flow through it from ingest to
// alerts, the time series and the dashboard.
//
// Producers call Sink.Publish; a Sink returns once the event is durably
// accepted (spooled or stored), which is what lets MQTT acknowledge a QoS 1
// message only after nothing can lose it.
package event

import (
	"context"
	"time"
)

// Type names an event. The dashboard maps them onto the websocket message
// types of the public interface (camera, sensor, incident).
type Type string

const (
	CameraState   Type = "camera.state"   // Data: CameraStatus, a state transition
	CameraSample  Type = "camera.sample"  // Data: CameraStatus, periodic health sample
	CameraEvent   Type = "camera.event"   // Data: CameraAnalytics, the camera's own MQTT event
	SensorReading Type = "sensor.reading" // Data: SensorReadingData
	SensorState   Type = "sensor.state"   // Data: SensorStatus, a state transition
	IncidentStep  Type = "incident"       // Data: Incident, after each of its steps
)

// Event is one thing that happened to one device or incident.
type Event struct {
	Type     Type      `json:"type"`
	Time     time.Time `json:"time"`
	Township string    `json:"township"`
	Village  string    `json:"village"`
	Device   string    `json:"device,omitempty"`
	Data     any       `json:"data"`
}

// Sink consumes events. Publish must not block for long: it returns once the
// event is durably accepted, or an error if it could not be.
type Sink interface {
	Publish(ctx context.Context, ev Event) error
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, ev Event) error

func (f SinkFunc) Publish(ctx context.Context, ev Event) error { return f(ctx, ev) }

// Device states shared by cameras and sensors.
const (
	StateOnline      = "online"
	StateDegraded    = "degraded"
	StateOffline     = "offline"
	StateUnknown     = "unknown"
	StateMaintenance = "maintenance"
)

// CameraStatus is a camera's state and live health. It is both the payload
// of camera events and a row of GET /api/v1/cameras.
type CameraStatus struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Source   string    `json:"source,omitempty"` // gb28181 for a GB/T 28181 channel; absent for an RTSP camera
	Township string    `json:"township"`
	Village  string    `json:"village"`
	State    string    `json:"state"`
	Prev     string    `json:"prev,omitempty"`  // previous state, on transitions
	Cause    string    `json:"cause,omitempty"` // refused | timeout | auth | not_found | no_video | stalled | low_fps | protocol | ...
	Since    time.Time `json:"since"`
	// DownSince is, for an offline camera, when the outage it is in began:
	// unlike Since (its live state's), kept across restarts of the hub.
	DownSince       time.Time `json:"down_since,omitzero"`
	Watch           bool      `json:"watch"`
	FPS             float64   `json:"fps"`
	BitrateKbps     float64   `json:"bitrate_kbps"`
	LastFrameAgeMs  int64     `json:"last_frame_age_ms"`
	KeyframeMs      int64     `json:"keyframe_interval_ms,omitempty"`
	Codec           string    `json:"codec,omitempty"`
	Width           int       `json:"width,omitempty"`
	Height          int       `json:"height,omitempty"`
	PacketsLost     uint64    `json:"packets_lost"`
	LossRatio       float64   `json:"loss_ratio"`
	Errors          uint64    `json:"errors"`
	Reconnects      uint64    `json:"reconnects"`
	LastError       string    `json:"last_error,omitempty"`
	Uptime24h       float64   `json:"uptime_24h"`
	MaintenanceEnd  time.Time `json:"maintenance_until,omitzero"`
	MaintenanceNote string    `json:"maintenance_note,omitempty"`
}

// CameraAnalytics is an event a camera publishes itself over MQTT.
type CameraAnalytics struct {
	Camera string         `json:"camera"`
	Kind   string         `json:"kind"` // motion | tamper | line_crossing | plate
	Detail map[string]any `json:"detail,omitempty"`
	Flags  []string       `json:"flags,omitempty"` // e.g. "ts_out_of_range"
}

// SensorReadingData is one report of a sensor.
type SensorReadingData struct {
	Sensor  string   `json:"sensor"`
	Kind    string   `json:"kind"`
	Value   float64  `json:"value"`             // booleans as 0/1
	IsBool  bool     `json:"is_bool,omitempty"` // Value came from a boolean (alarm on = 1)
	Unit    string   `json:"unit,omitempty"`
	Battery *float64 `json:"battery,omitempty"`
	// Fields holds further named values (Zigbee2MQTT: linkquality, tamper, battery_low...).
	Fields map[string]float64 `json:"fields,omitempty"`
	Flags  []string           `json:"flags,omitempty"` // e.g. "ts_out_of_range"
}

// SensorStatus is a sensor's state; payload of sensor.state and a row of
// GET /api/v1/sensors.
type SensorStatus struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	Township  string    `json:"township"`
	Village   string    `json:"village"`
	State     string    `json:"state"`
	Prev      string    `json:"prev,omitempty"`
	Cause     string    `json:"cause,omitempty"` // last_will | status | silent | ...
	Since     time.Time `json:"since"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
	LastValue *float64  `json:"last_value"`
	Battery   *float64  `json:"battery"`
}
