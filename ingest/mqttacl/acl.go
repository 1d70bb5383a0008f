// Package mqttacl is who may do what on the hub's MQTT broker: the hub's
// own user, device users bound to their devices' topics, and the client ids
// each may use. The embedded broker enforces it in-process (ingest), and
// WriteMosquitto renders it as Mosquitto's password_file and acl_file, so
// both brokers follow one model (docs/mqtt.md, "Who may publish what").
package mqttacl

import (
	"sort"
	"strings"

	"snowhub/configs"
)

// Model is the access model of one configuration.
type Model struct {
	Hub        string // the hub's username
	HubClient  string // the hub's client id, reserved for Hub
	Prefix     string // canonical topic prefix
	Z2M        string // Zigbee2MQTT prefix
	DeadLetter string
	Users      map[string]*User // device users by name
}

// User is a device user: its password and the exact topics it may use.
type User struct {
	Name     string
	Password string
	Write    map[string]bool // topics it may publish (exact, no wildcards)
	Read     map[string]bool // filters it may subscribe (exact)
}

// Build computes the model of cfg: each device user's topics are those of
// the devices it names, of its villages' devices, and of the configured
// Zigbee2MQTT sensors whose friendly name begins with its z2m_prefix.
func Build(cfg *configs.Config) *Model {
	m := cfg.MQTT
	mod := &Model{Hub: m.HubUsername(), HubClient: m.ClientID, Prefix: m.TopicPrefix, Z2M: m.Z2MPrefix,
		DeadLetter: m.DeadLetterTopic, Users: map[string]*User{}}
	type dev struct {
		camera  bool
		village string
		z2m     string
	}
	devs := map[string]dev{}
	for _, c := range cfg.Cameras {
		devs[c.ID] = dev{camera: true, village: c.Village}
	}
	for _, s := range cfg.Sensors {
		devs[s.ID] = dev{village: s.Village, z2m: s.Z2M}
	}
	for _, du := range m.DeviceUsers {
		u := &User{Name: du.Username, Password: du.Password, Write: map[string]bool{}, Read: map[string]bool{}}
		grant := func(id string, d dev) {
			if d.camera {
				u.Write[m.TopicPrefix+"/cameras/"+id+"/event"] = true
				return
			}
			u.Write[m.TopicPrefix+"/sensors/"+id+"/event"] = true
			u.Write[m.TopicPrefix+"/sensors/"+id+"/status"] = true
			if d.z2m != "" {
				u.Write[m.Z2MPrefix+"/"+d.z2m] = true
				u.Write[m.Z2MPrefix+"/"+d.z2m+"/availability"] = true
				// A gateway reads the commands for its own devices.
				u.Read[m.Z2MPrefix+"/"+d.z2m+"/set"] = true
				u.Read[m.Z2MPrefix+"/"+d.z2m+"/get"] = true
			}
		}
		for _, id := range du.Devices {
			if d, ok := devs[id]; ok {
				grant(id, d)
			}
		}
		villages := map[string]bool{}
		for _, v := range du.Villages {
			villages[v] = true
		}
		for id, d := range devs {
			if villages[d.village] || (du.Z2MPrefix != "" && d.z2m != "" && strings.HasPrefix(d.z2m, du.Z2MPrefix)) {
				grant(id, d)
			}
		}
		mod.Users[du.Username] = u
	}
	return mod
}

// IsHub reports whether user is the hub's own user.
func (m *Model) IsHub(user string) bool { return user == m.Hub }

// ClientIDAllowed reports whether user may connect with client id id.
// The hub's client id is the hub's alone. A device user's client id is its
// username, or begins with "username/": usernames hold no '/', so no user
// can name another's session. anonymous is the loopback demo mode with no
// device users, where any id but the hub's is accepted.
func (m *Model) ClientIDAllowed(user, id string, anonymous bool) bool {
	if m.IsHub(user) {
		return true
	}
	if id == m.HubClient {
		return false
	}
	if anonymous {
		return true
	}
	return id == user || strings.HasPrefix(id, user+"/")
}

// MayPublish reports whether user may publish to topic. The hub may
// publish anything; a device user only its devices' topics; anonymous
// (loopback demo) clients any device topic and nothing else of the hub's.
func (m *Model) MayPublish(user, topic string, anonymous bool) bool {
	if m.IsHub(user) {
		return true
	}
	if u := m.Users[user]; u != nil {
		return u.Write[topic]
	}
	return anonymous && m.isDeviceTopic(topic)
}

// MaySubscribe reports whether user may subscribe to filter. Device users
// may subscribe only to their own gateways' command topics; anonymous
// clients to nothing within the hub's topics.
func (m *Model) MaySubscribe(user, filter string, anonymous bool) bool {
	if m.IsHub(user) {
		return true
	}
	if u := m.Users[user]; u != nil {
		return u.Read[filter]
	}
	if !anonymous {
		return false
	}
	// A shared subscription "$share/GROUP/FILTER" reads what FILTER does.
	if rest, ok := strings.CutPrefix(filter, "$share/"); ok {
		if _, f, ok := strings.Cut(rest, "/"); ok {
			filter = f
		}
	}
	for _, ns := range []string{m.Prefix, m.Z2M, m.DeadLetter} {
		if ns != "" && overlaps(filter, ns) {
			return false
		}
	}
	return true
}

// isDeviceTopic reports whether topic is one a device publishes on.
func (m *Model) isDeviceTopic(topic string) bool {
	if strings.ContainsAny(topic, "+#") {
		return false
	}
	if rest, ok := strings.CutPrefix(topic, m.Prefix+"/"); ok {
		p := strings.Split(rest, "/")
		return len(p) == 3 && p[1] != "" &&
			((p[0] == "sensors" && (p[2] == "event" || p[2] == "status")) || (p[0] == "cameras" && p[2] == "event"))
	}
	if rest, ok := strings.CutPrefix(topic, m.Z2M+"/"); ok {
		p := strings.Split(rest, "/")
		return p[0] != "" && p[0] != "bridge" && (len(p) == 1 || (len(p) == 2 && p[1] == "availability"))
	}
	return false
}

// overlaps reports whether filter can match a topic in namespace ns (ns
// itself or below it).
func overlaps(filter, ns string) bool {
	f, n := strings.Split(filter, "/"), strings.Split(ns, "/")
	for i, level := range n {
		if i >= len(f) {
			return false
		}
		switch f[i] {
		case "#":
			return true
		case "+", level:
		default:
			return false
		}
	}
	return true
}

// sortedKeys lists a set in order, for stable files.
func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
