package configs

import (
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// GB28181Config makes the hub the upper platform of GB/T 28181 devices:
// the cameras, NVRs and lower platforms that register to it over SIP
// (docs/gb28181.md). Absent (nil): no SIP server.
type GB28181Config struct {
	ID     string `yaml:"id"`     // the hub's 20-digit SIP id, as devices' 平台接入 page names it (SIP 服务器 ID)
	Domain string `yaml:"domain"` // the SIP domain (SIP 服务器域), by custom the id's first 10 digits
	Listen string `yaml:"listen"` // host:port served on UDP and TCP; default 0.0.0.0:5060
	// Password is the devices' shared password (注册密码); a device's own
	// wins. Usually from PasswordFile or SNOWHUB_GB28181_PASSWORD.
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	Realm        string `yaml:"realm"`  // digest realm; default: the domain
	Accept       string `yaml:"accept"` // known (default) | any | hold: what to do with a device not in devices
	// KeepaliveMisses missed keepalive intervals (each device's own) make a
	// device offline with cause keepalive_lost; default 3.
	KeepaliveMisses int `yaml:"keepalive_misses"`
	// RTPPorts is the UDP range kept for video ("30000-30500"); read by
	// the video issue, checked now so a configuration stays valid.
	RTPPorts string     `yaml:"rtp_ports"`
	Devices  []GBDevice `yaml:"devices"`
	// Channels place channels by id where their catalog's CivilCode does
	// not (or places them wrong): an entry wins over the CivilCode.
	Channels []GBChannel `yaml:"channels"`
}

// GBChannel places one channel of a device's catalog.
type GBChannel struct {
	ID       string `yaml:"id"`
	Township string `yaml:"township"`
	Village  string `yaml:"village"`
}

// GBDevice is one device the hub takes: its id, its own password if it
// has one, and where it stands.
type GBDevice struct {
	ID           string `yaml:"id"`
	Password     string `yaml:"password"`
	PasswordFile string `yaml:"password_file"`
	Township     string `yaml:"township"`
	Village      string `yaml:"village"`
}

// The accept modes of gb28181.accept.
var GBAcceptModes = []string{"known", "any", "hold"}

// MinGBPassword is the shortest device password taken: devices ship with
// 12345678, and a shorter one is guessed in minutes even at 5 tries a
// minute per address.
const MinGBPassword = 8

var gbIDRE = regexp.MustCompile(`^[0-9]{20}$`)

func applyGB28181Defaults(g *GB28181Config) {
	if g == nil {
		return
	}
	def(&g.Listen, "0.0.0.0:5060")
	def(&g.Accept, "known")
	def(&g.KeepaliveMisses, 3)
	def(&g.RTPPorts, "30000-30500")
	def(&g.Realm, g.Domain)
}

func applyGB28181Env(g *GB28181Config) {
	if g == nil {
		return
	}
	if v := os.Getenv("SNOWHUB_GB28181_PASSWORD"); v != "" {
		g.Password, g.PasswordFile = v, ""
	}
}

func readGB28181Secrets(g *GB28181Config, read func(path string, value *string, file string)) {
	if g == nil {
		return
	}
	read("gb28181.password_file", &g.Password, g.PasswordFile)
	for i := range g.Devices {
		d := &g.Devices[i]
		read(pathf("gb28181.devices[%d].password_file", i), &d.Password, d.PasswordFile)
	}
}

// validateGB28181 checks the section against the tree: ids of 20 digits,
// a password for every device that may register, places that exist.
func validateGB28181(p *problems, c *Config, villages map[string]string, townships map[string]bool) {
	g := c.GB28181
	if g == nil {
		return
	}
	if g.ID == "" {
		p.add("gb28181.id", "the hub's 20-digit SIP id is needed (the SIP 服务器 ID devices are given)")
	} else if !gbIDRE.MatchString(g.ID) {
		p.add("gb28181.id", "%q: a GB/T 28181 id is 20 digits", g.ID)
	}
	switch {
	case g.Domain == "":
		p.add("gb28181.domain", "the SIP domain is needed (SIP 服务器域, by custom the id's first 10 digits)")
	case strings.ContainsAny(g.Domain, " \t@:;<>\""):
		p.add("gb28181.domain", "%q is not a SIP domain", g.Domain)
	}
	if _, port, err := net.SplitHostPort(g.Listen); err != nil {
		p.add("gb28181.listen", "%q is not host:port", g.Listen)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		p.add("gb28181.listen", "%q: the port is not a number from 0 to 65535", g.Listen)
	}
	if !slices.Contains(GBAcceptModes, g.Accept) {
		p.add("gb28181.accept", "%q: use known, any or hold", g.Accept)
	}
	if g.KeepaliveMisses < 1 || g.KeepaliveMisses > 100 {
		p.add("gb28181.keepalive_misses", "%d: use 1 to 100 (default 3)", g.KeepaliveMisses)
	}
	if msg := checkPortRange(g.RTPPorts); msg != "" {
		p.add("gb28181.rtp_ports", "%s", msg)
	}
	shared := g.Password != ""
	if shared && len(g.Password) < MinGBPassword {
		p.add("gb28181.password", "too short: at least %d characters", MinGBPassword)
	}
	if !shared && g.Accept == "any" {
		p.add("gb28181.password", "accept: any takes devices with the shared password: set password, password_file or SNOWHUB_GB28181_PASSWORD")
	}
	seen := map[string]string{}
	for i, d := range g.Devices {
		base := pathf("gb28181.devices[%d]", i)
		switch {
		case !gbIDRE.MatchString(d.ID):
			p.add(base+".id", "%q: a GB/T 28181 id is 20 digits", d.ID)
		case d.ID == g.ID:
			p.add(base+".id", "%q is the hub's own id", d.ID)
		case seen[d.ID] != "":
			p.add(base+".id", "duplicate device %q (first at %s)", d.ID, seen[d.ID])
		default:
			seen[d.ID] = base
		}
		switch {
		case d.Password != "" && len(d.Password) < MinGBPassword:
			p.add(base+".password", "too short: at least %d characters", MinGBPassword)
		case d.Password == "" && !shared:
			p.add(base+".password_file", "no password: set this device's password_file, or gb28181.password_file for all")
		}
		validatePlace(p, base, d.Township, d.Village, villages, townships)
	}
	seenCh := map[string]string{}
	for i, ch := range g.Channels {
		base := pathf("gb28181.channels[%d]", i)
		switch {
		case !gbIDRE.MatchString(ch.ID):
			p.add(base+".id", "%q: a GB/T 28181 id is 20 digits", ch.ID)
		case seenCh[ch.ID] != "":
			p.add(base+".id", "duplicate channel %q (first at %s)", ch.ID, seenCh[ch.ID])
		default:
			seenCh[ch.ID] = base
		}
		if ch.Township == "" && ch.Village == "" {
			p.add(base+".village", "a channel entry places the channel: give its village or township")
		}
		validatePlace(p, base, ch.Township, ch.Village, villages, townships)
	}
}

// validateCivilCodes checks the townships' and villages' civil_code:
// digits, and no two places with the same code (a channel would stand in
// both).
func validateCivilCodes(p *problems, c *Config) {
	seen := map[string]string{}
	check := func(path, code string) {
		if code == "" {
			return
		}
		if !civilRE.MatchString(code) {
			p.add(path, "%q: a 行政区划代码 is 6 to 12 digits (township 9, village 12)", code)
			return
		}
		if first, dup := seen[code]; dup {
			p.add(path, "civil_code %q is also %s", code, first)
			return
		}
		seen[code] = path
	}
	for i, t := range c.Townships {
		check(pathf("townships[%d].civil_code", i), t.CivilCode)
		for j, v := range t.Villages {
			check(pathf("townships[%d].villages[%d].civil_code", i, j), v.CivilCode)
		}
	}
}

var civilRE = regexp.MustCompile(`^[0-9]{6,12}$`)

// validatePlace checks an optional township and village, and that the
// village is in the township when both are given.
func validatePlace(p *problems, base, township, village string, villages map[string]string, townships map[string]bool) {
	if township != "" && !townships[township] {
		p.add(base+".township", "unknown township %q", township)
	}
	if village == "" {
		return
	}
	in, ok := villages[village]
	switch {
	case !ok:
		p.add(base+".village", "unknown village %q", village)
	case township != "" && townships[township] && in != township:
		p.add(base+".village", "village %q is in township %q, not %q", village, in, township)
	}
}

// checkPortRange reads "LOW-HIGH" of UDP ports.
func checkPortRange(s string) string {
	lo, hi, ok := strings.Cut(s, "-")
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if !ok || err1 != nil || err2 != nil {
		return strconv.Quote(s) + " is not a port range like 30000-30500"
	}
	if a < 1024 || b > 65535 || a > b {
		return strconv.Quote(s) + ": ports from 1024 to 65535, the lower first"
	}
	return ""
}
