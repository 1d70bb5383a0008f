package configs

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// SensorKinds are the sensor kinds with built-in meaning; "custom:NAME"
// names any other.
var SensorKinds = []string{"smoke", "water_level", "leak", "door", "motion", "panic", "power", "temperature", "humidity", "gas"}

// KindAliases are Zigbee2MQTT's names for sensor kinds (the key its
// devices report the value under), accepted in sensors[].kind and read as
// the kind they name: people copy them from the gateway's device page.
var KindAliases = map[string]string{"water_leak": "leak", "contact": "door", "occupancy": "motion", "gas": "gas", "smoke": "smoke"}

// The user roles of the public interface, as a configuration names them.
// What each may do is auth.Allow's to decide; auth's Role names are these.
const (
	RoleOperator   = "operator"
	RoleTownship   = "township"
	RoleTechnician = "technician"
	RoleAdmin      = "admin"
	RoleVillage    = "village"
	RoleDepartment = "department"
	// RoleHub is the role of another hub of the prefecture: its user, named
	// after the hub's id, may watch this hub's cameras' live video and
	// nothing else (docs/prefecture.md).
	RoleHub = "hub"
	// The 等级保护 roles (docs/accounts.md): the security administrator
	// (locks, second factors, sessions), the auditor (reads the audit
	// trail), and a wall screen left running (display: the wall, no action).
	RoleSecurityAdmin = "security_admin"
	RoleAuditor       = "auditor"
	RoleDisplay       = "display"
)

// Roles are the user roles of the public interface.
var Roles = []string{RoleOperator, RoleTownship, RoleTechnician, RoleAdmin, RoleVillage, RoleDepartment, RoleHub,
	RoleSecurityAdmin, RoleAuditor, RoleDisplay}

// RuleTypes are the incident rule types.
var RuleTypes = []string{"threshold", "alarm", "offline", "degraded", "rate", "camera_event"}

// Severities of incidents, most urgent first.
var Severities = []string{"critical", "major", "minor"}

var idRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// MinTokenLength keeps guessable tokens out of a public-safety network.
const MinTokenLength = 16

func pathf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

func validate(p *problems, c *Config) {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		p.add("listen", "%q is not host:port", c.Listen)
	}
	if c.Log.Level != "" && !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		p.add("log.level", "%q: use debug, info, warn or error", c.Log.Level)
	}
	if !slices.Contains([]string{"text", "json"}, c.Log.Format) {
		p.add("log.format", "%q: use text or json", c.Log.Format)
	}
	if b := c.MQTT.Broker; b != "" {
		u, err := url.Parse(b)
		if err != nil || u.Host == "" || !slices.Contains([]string{"tcp", "ssl", "tls", "mqtt", "mqtts", "ws", "wss"}, u.Scheme) {
			p.add("mqtt.broker", "%q is not a broker URL like tcp://host:1883 (empty starts the embedded broker)", RedactURL(b))
		}
	} else if _, _, err := net.SplitHostPort(c.MQTT.EmbeddedListen); err != nil {
		p.add("mqtt.embedded_listen", "%q is not host:port", c.MQTT.EmbeddedListen)
	}
	if c.MQTT.MaxPayload < 0 || c.MQTT.Workers < 0 || c.MQTT.DeviceRateLimit < 0 {
		p.add("mqtt", "max_payload, workers and device_rate must not be negative")
	}
	if u, err := url.Parse(c.Influx.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.add("influx.url", "%q is not an http(s) URL", RedactURL(c.Influx.URL))
	}

	ids := map[string]string{} // id → path of its first use, unique across the tree
	unique := func(path, id, what string) {
		if id == "" {
			p.add(path, "%s id is empty", what)
			return
		}
		if !idRE.MatchString(id) {
			p.add(path, "%q: ids are 1-64 letters, digits, '.', '_' or '-'", id)
			return
		}
		if first, ok := ids[id]; ok {
			p.add(path, "duplicate id %q (first used at %s)", id, first)
			return
		}
		ids[id] = path
	}
	if c.County.ID == "" {
		p.add("county.id", "the county needs an id")
	} else {
		unique("county.id", c.County.ID, "county")
	}
	villages := map[string]string{} // village → township
	townships := map[string]bool{}
	if len(c.Townships) == 0 {
		p.add("townships", "at least one township is needed")
	}
	for i, t := range c.Townships {
		unique(pathf("townships[%d].id", i), t.ID, "township")
		townships[t.ID] = true
		for j, v := range t.Villages {
			unique(pathf("townships[%d].villages[%d].id", i, j), v.ID, "village")
			villages[v.ID] = t.ID
		}
	}
	for i, cam := range c.Cameras {
		base := pathf("cameras[%d]", i)
		unique(base+".id", cam.ID, "camera")
		if _, ok := villages[cam.Village]; !ok {
			p.add(base+".village", "unknown village %q", cam.Village)
		}
		if msg := checkRTSP(cam.URL); msg != "" {
			p.add(base+".url", "%s", msg)
		}
		switch sub := cam.SubstreamURL; {
		case sub == SubstreamAuto:
			if _, ok := DeriveSubstream(cam.URL); !ok && checkRTSP(cam.URL) == "" {
				p.add(base+".substream_url", "auto: cannot derive a sub-stream from this url (Hikvision …/Channels/101, …/h264/ch1/main/av_stream; Dahua …?subtype=0; Uniview …/media/video1); give the sub-stream's url")
			}
		case sub != "":
			if msg := checkRTSP(sub); msg != "" {
				p.add(base+".substream_url", "%s", msg)
			} else if sub == cam.URL {
				p.add(base+".substream_url", "is the main stream's url")
			}
		}
		if !slices.Contains([]string{"auto", "tcp", "udp"}, cam.Transport) {
			p.add(base+".transport", "%q: use auto, tcp or udp", cam.Transport)
		}
		if cam.FPS < 0 || cam.FPS > 240 {
			p.add(base+".fps", "%v is not a frame rate", cam.FPS)
		}
	}
	cameras := map[string]bool{}
	for _, cam := range c.Cameras {
		cameras[cam.ID] = true
	}
	z2m := map[string]bool{}
	for i := range c.Sensors {
		if k, ok := KindAliases[c.Sensors[i].Kind]; ok {
			c.Sensors[i].Kind = k
		}
	}
	for i, s := range c.Sensors {
		base := pathf("sensors[%d]", i)
		unique(base+".id", s.ID, "sensor")
		if _, ok := villages[s.Village]; !ok {
			p.add(base+".village", "unknown village %q", s.Village)
		}
		if !slices.Contains(SensorKinds, s.Kind) && !(strings.HasPrefix(s.Kind, "custom:") && len(s.Kind) > 7) {
			p.add(base+".kind", "%q: use one of %s, or custom:NAME", s.Kind, strings.Join(SensorKinds, ", "))
		}
		if s.Z2M != "" {
			if z2m[s.Z2M] {
				p.add(base+".z2m", "Zigbee2MQTT name %q used twice", s.Z2M)
			}
			z2m[s.Z2M] = true
			if strings.ContainsAny(s.Z2M, "+#") {
				p.add(base+".z2m", "%q: MQTT topic names cannot hold + or #", s.Z2M)
			}
		}
		if s.Camera != "" && !cameras[s.Camera] {
			p.add(base+".camera", "unknown camera %q", s.Camera)
		}
		if s.ReportInterval < 0 {
			p.add(base+".report_interval", "must not be negative")
		}
	}

	departments := validatePeople(p, c, villages, unique)

	names := map[string]bool{}
	tokens := map[string]string{}
	if len(c.Users) == 0 {
		p.add("users", "at least one user is needed to use the pages and API")
	}
	for i, u := range c.Users {
		base := pathf("users[%d]", i)
		if u.Name == "" {
			p.add(base+".name", "a user needs a name")
		} else if names[u.Name] {
			p.add(base+".name", "duplicate user %q", u.Name)
		}
		names[u.Name] = true
		if !slices.Contains(Roles, u.Role) {
			p.add(base+".role", "%q: use one of %s", u.Role, strings.Join(Roles, ", "))
		}
		if u.Role == RoleHub && u.Name != "" && !hubIDRE.MatchString(u.Name) {
			p.add(base+".name", "%q: a hub user is named after the hub's id (lower-case letters, digits, '_')", u.Name)
		}
		switch {
		case u.Role == RoleTownship && u.Township == "":
			p.add(base+".township", "a township user needs its township")
		case u.Role == RoleTownship && !townships[u.Township]:
			p.add(base+".township", "unknown township %q", u.Township)
		case u.Role != RoleTownship && u.Township != "":
			p.add(base+".township", "only township users belong to a township (role is %s)", u.Role)
		}
		switch {
		case u.Role == RoleVillage && u.Village == "":
			p.add(base+".village", "a village user needs its village")
		case u.Village != "" && u.Role != RoleVillage:
			p.add(base+".village", "only village users belong to a village (role is %s)", u.Role)
		case u.Village != "" && villages[u.Village] == "":
			p.add(base+".village", "unknown village %q", u.Village)
		}
		switch {
		case u.Role == RoleDepartment && u.Department == "":
			p.add(base+".department", "a department user needs its department")
		case u.Department != "" && u.Role != RoleDepartment:
			p.add(base+".department", "only department users belong to a department (role is %s)", u.Role)
		case u.Department != "" && !departments[u.Department]:
			p.add(base+".department", "unknown department %q", u.Department)
		}
		validateLogin(p, base, u)
		switch {
		case u.Token == "" && u.PasswordHash != "" && u.Role != RoleHub:
			// A person who logs in with a password needs no token.
		case u.Token == "":
			p.add(base+".token", "no token: set token, token_file or %s, or password_hash to log in with a password", EnvName(u.Name))
		case len(u.Token) < MinTokenLength:
			p.add(base+".token", "too short: at least %d characters", MinTokenLength)
		case tokens[u.Token] != "":
			p.add(base+".token", "the same token as user %q", tokens[u.Token])
		default:
			tokens[u.Token] = u.Name
		}
	}

	validateAuth(p, c.Auth)
	validateAudit(p, c.Audit)
	validateDeviceUsers(p, c, villages)

	cd := c.Camera
	for _, d := range []struct {
		key string
		v   int64
	}{{"backoff_min", int64(cd.BackoffMin)}, {"backoff_max", int64(cd.BackoffMax)}, {"stall_after", int64(cd.StallAfter)},
		{"offline_after", int64(cd.OfflineAfter)}, {"settle", int64(cd.Settle)}, {"probe_interval", int64(cd.ProbeInterval)},
		{"probe_timeout", int64(cd.ProbeTimeout)}, {"sample_every", int64(cd.SampleEvery)},
		{"media_check_interval", int64(cd.MediaCheckInterval)}, {"grace", int64(cd.Grace)}} {
		if d.v <= 0 {
			p.add("camera."+d.key, "must be positive")
		}
	}
	if cd.BackoffMax < cd.BackoffMin {
		p.add("camera.backoff_max", "is shorter than backoff_min")
	}
	if cd.MaxConnecting < 0 {
		p.add("camera.max_connecting", "must be at least 1 (or absent: one per 40 cameras, 32-256)")
	}
	if cd.MaxChecks < 0 || (cd.MaxChecks > 0 && cd.MaxChecks < cd.MaxConnecting) {
		p.add("camera.max_checks", "must be at least max_connecting (or absent: half the file descriptors, at most 4096)")
	}

	a := c.Alerts
	for sev := range a.Deadlines {
		if !slices.Contains(Severities, sev) {
			p.add("alerts.deadlines."+sev, "unknown severity: use critical, major or minor")
		}
	}
	for _, sev := range a.HoldForCounty {
		if !slices.Contains(Severities, sev) {
			p.add("alerts.hold_for_county", "unknown severity %q", sev)
		}
	}
	if a.Storm.Window < 0 {
		p.add("alerts.storm.window", "must not be negative")
	}
	for _, k := range a.Storm.PerDevice {
		if k == "" {
			p.add("alerts.storm.per_device", "an empty kind")
		}
	}
	for i, r := range a.Rules {
		base := pathf("alerts.rules[%d]", i)
		if r.Name == "" {
			p.add(base+".name", "a rule needs a name")
		}
		if !slices.Contains(RuleTypes, r.Type) {
			p.add(base+".type", "%q: use one of %s", r.Type, strings.Join(RuleTypes, ", "))
		}
		if !slices.Contains(Severities, r.Severity) {
			p.add(base+".severity", "%q: use critical, major or minor", r.Severity)
		}
		switch r.Type {
		case "threshold":
			if r.Above == nil && r.Below == nil {
				p.add(base, "a threshold rule needs above or below")
			}
		case "rate":
			if r.Count < 1 || r.Within <= 0 {
				p.add(base, "a rate rule needs count ≥ 1 and within > 0")
			}
		case "camera_event":
			if r.Event == "" {
				p.add(base+".event", "a camera_event rule names the event (motion, tamper, line_crossing, plate)")
			}
		}
		for _, tod := range []struct{ key, v string }{{"from", r.From}, {"to", r.To}} {
			if tod.v != "" && !todRE.MatchString(tod.v) {
				p.add(base+"."+tod.key, "%q is not a time of day like 22:00", tod.v)
			}
		}
		if r.For < 0 {
			p.add(base+".for", "must not be negative")
		}
	}
	validateLoop(p, &c.Alerts)
	validateCountyOutage(p, c, villages)
	validateMaintenance(p, c.Maintenance)
	validateHub(p, c, townships)
	validateCivilCodes(p, c)
	validateGB28181(p, c, villages, townships)
	if c.Dashboard.History < 1 || c.Dashboard.ClientQueue < 1 {
		p.add("dashboard", "history and client_queue must be at least 1")
	}
	notifyLoad(p, c)
}

var todRE = regexp.MustCompile(`^([01]\d|2[0-3]):[0-5]\d$`)

func checkRTSP(raw string) string {
	if raw == "" {
		return "a camera needs its RTSP url"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Sprintf("not a URL: %s", strings.ReplaceAll(err.Error(), raw, RedactURL(raw)))
	}
	if u.Scheme != "rtsp" && u.Scheme != "rtsps" {
		return fmt.Sprintf("scheme %q: use rtsp:// or rtsps://", u.Scheme)
	}
	if u.Hostname() == "" {
		return "the URL has no host"
	}
	return ""
}

// RedactURL removes credentials from a URL so it can be logged or shown.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// Cut whatever stands between the scheme and an '@'.
		if i := strings.Index(raw, "://"); i >= 0 {
			if j := strings.LastIndex(raw, "@"); j > i {
				return raw[:i+3] + "***@" + raw[j+1:]
			}
		}
		return raw
	}
	if u.User != nil {
		u.User = url.User("***")
	}
	return u.String()
}
