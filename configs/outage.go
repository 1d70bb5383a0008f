package configs

import (
	"slices"
	"time"
)

// CountyOutageConfig makes an outage wider than a village one matter for
// the technicians (docs/incidents.md, "County outage"): devices of more than
// Villages villages gone down within alerts.group_window of each other, or
// every device behind one upstream gone down together, open one incident of
// kind county_outage, and the village incidents it covers wait until the
// common cause is back.
type CountyOutageConfig struct {
	Villages int `yaml:"villages"` // more villages than this down together: one county outage; default 3
	// Settle is how long after the first device of the outage is back the
	// villages still down get their own incidents (the others reconnect
	// meanwhile); default 5m.
	Settle    time.Duration `yaml:"settle"`
	Severity  string        `yaml:"severity"` // default major
	Upstreams []Upstream    `yaml:"upstreams"`
}

// Upstream is what several devices reach the hub through: an NVR, a
// village uplink, a platform. Its devices are those named, every device of
// its villages and the cameras whose RTSP url names one of its hosts.
type Upstream struct {
	ID       string   `yaml:"id"`
	Name     string   `yaml:"name"`
	Kind     string   `yaml:"kind"` // nvr | uplink | platform
	Devices  []string `yaml:"devices"`
	Villages []string `yaml:"villages"`
	Hosts    []string `yaml:"hosts"`
}

// UpstreamKinds are the kinds of a configured upstream.
var UpstreamKinds = []string{"nvr", "uplink", "platform"}

// OwnerTechnicians is the holder of what the technicians handle (a county
// outage): an owner beside the townships and the county, so no township
// may take it as its id.
const OwnerTechnicians = "technicians"

func applyCountyOutageDefaults(o *CountyOutageConfig) {
	def(&o.Villages, 3)
	def(&o.Settle, 5*time.Minute)
	def(&o.Severity, "major")
	for i := range o.Upstreams {
		def(&o.Upstreams[i].Name, o.Upstreams[i].ID)
	}
}

func validateCountyOutage(p *problems, c *Config, villages map[string]string) {
	o := c.Alerts.CountyOutage
	if o.Villages < 1 {
		p.add("alerts.county_outage.villages", "must be at least 1")
	}
	if o.Settle < 0 {
		p.add("alerts.county_outage.settle", "must not be negative")
	}
	if !slices.Contains(Severities, o.Severity) {
		p.add("alerts.county_outage.severity", "%q: use critical, major or minor", o.Severity)
	}
	for i, t := range c.Townships {
		if t.ID == OwnerTechnicians {
			p.add(pathf("townships[%d].id", i), "%q is the technicians' (who handle a county outage): choose another id", t.ID)
		}
	}
	devices := map[string]bool{}
	for _, cam := range c.Cameras {
		devices[cam.ID] = true
	}
	for _, s := range c.Sensors {
		devices[s.ID] = true
	}
	seen := map[string]bool{}
	for i, u := range o.Upstreams {
		base := pathf("alerts.county_outage.upstreams[%d]", i)
		switch {
		case !idRE.MatchString(u.ID):
			p.add(base+".id", "%q: an upstream needs an id of 1-64 letters, digits, '.', '_' or '-'", u.ID)
		case seen[u.ID]:
			p.add(base+".id", "duplicate upstream %q", u.ID)
		}
		seen[u.ID] = true
		if !slices.Contains(UpstreamKinds, u.Kind) {
			p.add(base+".kind", "%q: use nvr, uplink or platform", u.Kind)
		}
		if len(u.Devices)+len(u.Villages)+len(u.Hosts) == 0 {
			p.add(base, "an upstream names its devices, villages or hosts")
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
		for j, h := range u.Hosts {
			if h == "" {
				p.add(pathf("%s.hosts[%d]", base, j), "an empty host")
			}
		}
	}
}
