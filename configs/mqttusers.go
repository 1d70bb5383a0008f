package configs

import (
	"slices"
	"strings"
)

// DefaultHubUsername is the hub's own MQTT user on the embedded broker
// when mqtt.username is empty.
const DefaultHubUsername = "snowhub"

// HubUsername is the user the hub logs in as: mqtt.username, or on the
// embedded broker "snowhub". No device user may have it.
func (m MQTTConfig) HubUsername() string {
	if m.Username != "" {
		return m.Username
	}
	return DefaultHubUsername
}

// validateDeviceUsers checks the MQTT logins of devices: each is unique,
// is not the hub's, has a password, and names what it may publish for.
func validateDeviceUsers(p *problems, c *Config, villages map[string]string) {
	devices := map[string]bool{}
	for _, cam := range c.Cameras {
		devices[cam.ID] = true
	}
	for _, s := range c.Sensors {
		devices[s.ID] = true
	}
	seen := map[string]bool{}
	for i, u := range c.MQTT.DeviceUsers {
		base := pathf("mqtt.device_users[%d]", i)
		switch {
		case u.Username == "":
			p.add(base+".username", "a device user needs a username")
		case u.Username == c.MQTT.HubUsername():
			p.add(base+".username", "%q is the hub's own MQTT user (mqtt.username)", u.Username)
		case seen[u.Username]:
			p.add(base+".username", "duplicate device user %q", u.Username)
		case strings.ContainsAny(u.Username, ":/#+ \t\r\n"):
			p.add(base+".username", "%q: a username holds no ':', '/', '#', '+' or spaces", u.Username)
		}
		seen[u.Username] = true
		if u.Password == "" {
			p.add(base+".password", "no password: set password or password_file")
		}
		if len(u.Devices) == 0 && len(u.Villages) == 0 && u.Z2MPrefix == "" {
			p.add(base, "name what it publishes for: devices, villages or z2m_prefix (a device user publishes only its own devices' topics)")
		}
		for j, d := range u.Devices {
			if !devices[d] {
				p.add(pathf("%s.devices[%d]", base, j), "unknown device %q", d)
			}
		}
		for j, v := range u.Villages {
			if _, ok := villages[v]; !ok {
				p.add(pathf("%s.villages[%d]", base, j), "unknown village %q", v)
			}
		}
		if strings.ContainsAny(u.Z2MPrefix, "+#/") {
			p.add(base+".z2m_prefix", "%q: a friendly-name prefix holds no '+', '#' or '/'", u.Z2MPrefix)
		}
	}
	if slices.ContainsFunc(c.MQTT.DeviceUsers, func(u DeviceUser) bool { return u.Username == c.MQTT.ClientID }) {
		p.add("mqtt.client_id", "%q is also a device user's name; the hub's client id must be its own", c.MQTT.ClientID)
	}
	if (c.MQTT.EmbeddedCertFile == "") != (c.MQTT.EmbeddedKeyFile == "") {
		p.add("mqtt.embedded_cert_file", "set both embedded_cert_file and embedded_key_file, or neither")
	}
	if c.MQTT.EmbeddedClientCAFile != "" && c.MQTT.EmbeddedCertFile == "" {
		p.add("mqtt.embedded_client_ca_file", "client certificates need the listener's own TLS (embedded_cert_file)")
	}
}
