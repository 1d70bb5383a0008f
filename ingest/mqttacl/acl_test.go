package mqttacl

import (
	"testing"

	"snowhub/configs"
)

func TestModel(t *testing.T) {
	y := `county: {id: c, name: C}
townships:
  - id: t1
    name: T1
    villages: [{id: v1, name: V1}, {id: v2, name: V2}]
cameras:
  - {id: cam-1, village: v1, url: "rtsp://10.0.0.1/a"}
sensors:
  - {id: smoke-1, kind: smoke, village: v1}
  - {id: smoke-2, kind: smoke, village: v2, z2m: zr-smoke-2}
  - {id: door-9, kind: door, village: v2, z2m: other-door}
mqtt:
  device_users:
    - {username: gw-v1, password: p1, villages: [v1]}
    - {username: cam, password: p2, devices: [cam-1]}
    - {username: z2m, password: p3, z2m_prefix: "zr-"}
users:
  - {name: ops, role: operator, token: ops-token-0123456789}
`
	cfg, err := configs.Parse("c.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	m := Build(cfg)
	pub := []struct {
		user, topic string
		anon, want  bool
	}{
		{"gw-v1", "snowbright/sensors/smoke-1/event", false, true},
		{"gw-v1", "snowbright/sensors/smoke-1/status", false, true},
		{"gw-v1", "snowbright/cameras/cam-1/event", false, true},
		{"gw-v1", "snowbright/sensors/smoke-2/event", false, false},
		{"gw-v1", "snowbright/out/incidents/x", false, false},
		{"cam", "snowbright/cameras/cam-1/event", false, true},
		{"cam", "snowbright/sensors/smoke-1/event", false, false},
		{"z2m", "zigbee2mqtt/zr-smoke-2", false, true},
		{"z2m", "zigbee2mqtt/zr-smoke-2/availability", false, true},
		{"z2m", "zigbee2mqtt/other-door", false, false},
		{"z2m", "zigbee2mqtt/bridge/state", false, false},
		{"snowhub", "snowbright/out/incidents/x", false, true},
		{"", "snowbright/sensors/anything/event", true, true},
		{"", "snowbright/out/incidents/x", true, false},
		{"", "zigbee2mqtt/bridge/state", true, false},
		{"", "snowbright/sensors/+/event", true, false},
		{"stranger", "snowbright/sensors/smoke-1/event", false, false},
	}
	for _, c := range pub {
		if got := m.MayPublish(c.user, c.topic, c.anon); got != c.want {
			t.Errorf("MayPublish(%q, %q, anon %v) = %v", c.user, c.topic, c.anon, got)
		}
	}
	sub := []struct {
		user, filter string
		anon, want   bool
	}{
		{"z2m", "zigbee2mqtt/zr-smoke-2/set", false, true},
		{"z2m", "zigbee2mqtt/+/set", false, false},
		{"gw-v1", "snowbright/sensors/smoke-1/event", false, false},
		{"", "snowbright/#", true, false},
		{"", "+/sensors/#", true, false},
		{"", "#", true, false},
		{"", "$share/g/snowbright/sensors/+/event", true, false},
		{"", "$share/g/zigbee2mqtt/#", true, false},
		{"", "lights/street/1", true, true},
		{"snowhub", "#", false, true},
	}
	for _, c := range sub {
		if got := m.MaySubscribe(c.user, c.filter, c.anon); got != c.want {
			t.Errorf("MaySubscribe(%q, %q, anon %v) = %v", c.user, c.filter, c.anon, got)
		}
	}
	ids := []struct {
		user, id   string
		anon, want bool
	}{
		{"gw-v1", "gw-v1", false, true},
		{"gw-v1", "gw-v1/2", false, true},
		{"gw-v1", "gw-v1-2", false, false},
		{"gw-v1", "cam", false, false},
		{"gw-v1", "snowhub", false, false},
		{"", "snowhub", true, false},
		{"", "sim-1", true, true},
		{"snowhub", "snowhub", false, true},
	}
	for _, c := range ids {
		if got := m.ClientIDAllowed(c.user, c.id, c.anon); got != c.want {
			t.Errorf("ClientIDAllowed(%q, %q, anon %v) = %v", c.user, c.id, c.anon, got)
		}
	}
}
