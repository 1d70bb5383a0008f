package configs

import (
	"strings"
	"testing"
)

func TestDeviceUsersValidated(t *testing.T) {
	base := `county: {id: c, name: C}
townships:
  - id: t1
    name: T1
    villages: [{id: v1, name: V1}]
sensors:
  - {id: smoke-1, kind: smoke, village: v1}
users:
  - {name: ops, role: operator, token: ops-token-0123456789}
mqtt:
`
	tests := []struct {
		name, mqtt, want string
	}{
		{"ok", "  device_users: [{username: gw, password: p, villages: [v1]}]\n", ""},
		{"the hub's own name", "  device_users: [{username: snowhub, password: p, villages: [v1]}]\n", `mqtt.device_users[0].username: "snowhub" is the hub's own MQTT user`},
		{"the hub's own name, set", "  username: hub\n  device_users: [{username: hub, password: p, devices: [smoke-1]}]\n", `"hub" is the hub's own MQTT user`},
		{"no grant", "  device_users: [{username: gw, password: p}]\n", "mqtt.device_users[0]: name what it publishes for"},
		{"unknown device", "  device_users: [{username: gw, password: p, devices: [nope]}]\n", `mqtt.device_users[0].devices[0]: unknown device "nope"`},
		{"unknown village", "  device_users: [{username: gw, password: p, villages: [v9]}]\n", `mqtt.device_users[0].villages[0]: unknown village "v9"`},
		{"slash in name", "  device_users: [{username: a/b, password: p, villages: [v1]}]\n", `a username holds no ':', '/'`},
		{"no password", "  device_users: [{username: gw, villages: [v1]}]\n", "mqtt.device_users[0].password: no password"},
		{"duplicate", "  device_users: [{username: gw, password: p, villages: [v1]}, {username: gw, password: q, villages: [v1]}]\n", `duplicate device user "gw"`},
		{"client id is a device's", "  client_id: gw\n  device_users: [{username: gw, password: p, villages: [v1]}]\n", `mqtt.client_id: "gw" is also a device user's name`},
		{"half TLS", "  embedded_cert_file: a.pem\n", "set both embedded_cert_file and embedded_key_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(base+tt.mqtt))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}
