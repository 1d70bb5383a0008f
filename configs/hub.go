package configs

import (
	"regexp"
	"slices"
)

// HubConfig places this hub in a prefecture of several hubs sharing one
// MQTT broker cluster and InfluxDB (docs/prefecture.md). With no hub
// section (ID empty) the hub owns every township and device, as a single
// county hub always has. With a hubs: list, ID picks this hub's entry and
// Townships, View and URL are filled from it (hubs.go); without one they
// are the old form's own keys, which no other hub can check.
type HubConfig struct {
	// ID names the hub on the broker: its feed is snowbright/hubs/{id}/...
	ID string `yaml:"id"`
	// Townships are the townships this hub owns: it ingests only their
	// cameras and sensors, runs their rules and keeps their incidents.
	Townships []string `yaml:"townships"`
	// ReportUnknown: this one hub also subscribes to every device topic and
	// lists devices no hub of the configuration knows.
	ReportUnknown bool `yaml:"report_unknown"`
	// View lists the hubs whose feeds this hub shows as if local (its wall,
	// lists and desks); "all" means every hub on the broker.
	View []string `yaml:"view"`
	// URL is where the other hubs reach this hub's HTTP (http://host:port),
	// published in its status: a view watching one of this hub's cameras
	// pulls the live video from here, logged in as its own user of role
	// "hub" (docs/prefecture.md). Empty: views cannot show its live video.
	URL string `yaml:"url"`
}

// HubUser is the user this hub presents to the other hubs of the
// prefecture when it watches their cameras: the user of role "hub" named
// after its id. Every hub loads the same users, so the owner knows it.
func (c *Config) HubUser() (User, bool) {
	for _, u := range c.Users {
		if u.Role == RoleHub && u.Name == c.Hub.ID && c.Hub.ID != "" {
			return u, true
		}
	}
	return User{}, false
}

// Federated reports whether the hub is one of a prefecture's hubs.
func (c *Config) Federated() bool { return c.Hub.ID != "" }

// OwnsTownship reports whether this hub owns the township's devices and
// incidents. A hub with no hub section owns everything.
func (c *Config) OwnsTownship(township string) bool {
	if !c.Federated() {
		return true
	}
	return slices.Contains(c.Hub.Townships, township)
}

// Owned is the configuration restricted to the devices of the townships
// this hub owns: what its cameras, ingest and rules work on. The county
// tree, users and everything else stay whole (a view shows the others'
// townships, and users act across hubs). Without a hub section it is c.
func (c *Config) Owned() *Config {
	if !c.Federated() {
		return c
	}
	tw := NewTopology(c).VillageTownship
	o := *c
	o.Cameras = nil
	for _, cam := range c.Cameras {
		if c.OwnsTownship(tw[cam.Village]) {
			o.Cameras = append(o.Cameras, cam)
		}
	}
	o.Sensors = nil
	for _, s := range c.Sensors {
		if c.OwnsTownship(tw[s.Village]) {
			o.Sensors = append(o.Sensors, s)
		}
	}
	return &o
}

// Views reports whether this hub shows hub id's feed: by the hubs: list
// when there is one (a hub not on it is viewed by nobody), else by
// hub.view.
func (c *Config) Views(id string) bool {
	if c.Listed() {
		return c.HubViews(c.Hub.ID, id)
	}
	return id != c.Hub.ID && (slices.Contains(c.Hub.View, "all") || slices.Contains(c.Hub.View, id))
}

// hubIDRE: a hub id is one MQTT topic level and a usable incident id part.
var hubIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_]{0,31}$`)

func validateHub(p *problems, c *Config, townships map[string]bool) {
	h := c.Hub
	if len(c.Hubs) > 0 {
		validateHubs(p, c, townships) // hubs.go: this hub's section from its entry
		if h.ID != "" && c.MQTT.Broker == "" {
			p.add("hub.id", "the hubs of a prefecture share one broker (Mosquitto, EMQX): set mqtt.broker; the embedded broker serves a single county hub")
		}
		return
	}
	if h.ID == "" {
		if len(h.Townships) > 0 || len(h.View) > 0 || h.ReportUnknown {
			p.add("hub.id", "a hub section needs an id (lower-case letters, digits, '_')")
		}
		return
	}
	if !hubIDRE.MatchString(h.ID) {
		p.add("hub.id", "%q: a hub id is 1-32 lower-case letters, digits or '_', beginning with a letter or digit", h.ID)
	}
	seen := map[string]bool{}
	for i, t := range h.Townships {
		switch {
		case !townships[t]:
			p.add(pathf("hub.townships[%d]", i), "unknown township %q", t)
		case seen[t]:
			p.add(pathf("hub.townships[%d]", i), "township %q listed twice", t)
		}
		seen[t] = true
	}
	for i, v := range h.View {
		switch {
		case v == "all":
		case v == h.ID:
			p.add(pathf("hub.view[%d]", i), "a hub does not view itself (%q is this hub)", v)
		case !hubIDRE.MatchString(v):
			p.add(pathf("hub.view[%d]", i), "%q is not a hub id (or \"all\")", v)
		}
	}
	if h.URL != "" {
		if msg := hubURLProblem(h.URL, len(h.Townships) > 0); msg != "" {
			p.add("hub.url", "%s", msg)
		}
	}
	if len(h.Townships) == 0 && len(h.View) == 0 {
		p.add("hub", "a hub owns townships, views other hubs, or both")
	}
	if c.MQTT.Broker == "" {
		// The embedded broker admits this hub and its own devices only:
		// no other hub could log in to read a feed or send an action.
		p.add("hub.id", "the hubs of a prefecture share one broker (Mosquitto, EMQX): set mqtt.broker; the embedded broker serves a single county hub")
	}
}
