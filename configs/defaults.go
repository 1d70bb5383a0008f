package configs

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultDeadlines are the time limits of each step by severity: machine
// speed for critical alarms, and the county's own rhythm (a working day to
// name someone, five days to close) for minor ones.
func DefaultDeadlines() map[string]StepLimits {
	m, h, d := time.Minute, time.Hour, 24*time.Hour
	return map[string]StepLimits{
		"critical": {Dispatch: Dur(m), Accept: Dur(5 * m), Assign: Dur(15 * m), Resolve: Dur(2 * h), Evaluate: Dur(d), Review: Dur(3 * d), Report: Dur(30 * m), Hold: Dur(30 * m)},
		"major":    {Dispatch: Dur(10 * m), Accept: Dur(30 * m), Assign: WD(1), Resolve: Dur(d), Evaluate: Dur(3 * d), Review: Dur(7 * d), Report: Dur(2 * h)},
		"minor":    {Dispatch: Dur(h), Accept: Dur(d), Assign: WD(1), Resolve: Dur(5 * d), Evaluate: Dur(7 * d), Review: Dur(14 * d), Report: WD(1)},
	}
}

// DefaultClasses are the deadline classes of the six tickets: easy matters
// in 5 days, 12345 tickets and general disputes in 7, hard ones in 30
// working days.
func DefaultClasses() map[string]ClassLimits {
	d := 24 * time.Hour
	return map[string]ClassLimits{
		"simple":        {Resolve: Dur(5 * d), Max: Dur(10 * d)},
		"hotline_12345": {Resolve: Dur(7 * d), Max: Dur(14 * d)},
		"general":       {Resolve: Dur(7 * d), Max: Dur(14 * d)},
		"hard":          {Resolve: WD(30), Max: WD(60)},
	}
}

func def[T comparable](v *T, d T) {
	var zero T
	if *v == zero {
		*v = d
	}
}

// applyDefaults fills every setting the file left out.
func applyDefaults(c *Config) {
	def(&c.Listen, "127.0.0.1:8080")
	def(&c.DataDir, "./var")
	def(&c.Log.Level, "info")
	def(&c.Log.Format, "text")

	m := &c.MQTT
	def(&m.EmbeddedListen, "127.0.0.1:1883")
	def(&m.ClientID, "snowhub")
	def(&m.TopicPrefix, "snowbright")
	def(&m.Z2MPrefix, "zigbee2mqtt")
	def(&m.MaxPayload, 64<<10)
	def(&m.DeviceRateLimit, 50)
	def(&m.Workers, 8)

	in := &c.Influx
	def(&in.URL, "http://127.0.0.1:8086")
	def(&in.Org, "snowbright")
	def(&in.Bucket, "snowhub")
	def(&in.BatchSize, 5000)
	def(&in.FlushInterval, time.Second)
	def(&in.SpoolMaxBytes, int64(1<<30))

	cd := &c.Camera
	// MaxConnecting 0 stays 0: "follow the cameras" (DefaultMaxConnecting,
	// applied where the camera manager is built), so a reload that adds
	// cameras is not reported as a changed restart key.
	def(&cd.BackoffMin, time.Second)
	def(&cd.BackoffMax, time.Minute)
	def(&cd.StallAfter, 5*time.Second)
	def(&cd.OfflineAfter, 10*time.Second)
	def(&cd.Settle, 10*time.Second)
	def(&cd.ProbeInterval, time.Minute)
	def(&cd.ProbeTimeout, 10*time.Second)
	def(&cd.MediaCheckInterval, 15*time.Minute)
	def(&cd.Grace, 5*time.Second)
	def(&cd.ViewerLinger, 30*time.Second)
	def(&cd.SampleEvery, 10*time.Second)
	for i := range c.Cameras {
		def(&c.Cameras[i].Transport, "auto")
		def(&c.Cameras[i].Name, c.Cameras[i].ID)
	}
	for i := range c.Sensors {
		def(&c.Sensors[i].Name, c.Sensors[i].ID)
	}

	a := &c.Alerts
	def(&a.GroupMin, 3)
	def(&a.GroupWindow, time.Minute)
	def(&a.FlapCount, 5)
	def(&a.FlapWindow, 10*time.Minute)
	def(&a.Storm.Window, time.Minute)
	applyCountyOutageDefaults(&a.CountyOutage)
	if a.Storm.PerDevice == nil {
		a.Storm.PerDevice = []string{"panic"}
	}
	def(&a.OnOverdue, "supervise")
	def(&a.OnUnsatisfied, "county")
	def(&a.MaxHold, Dur(7*24*time.Hour))
	def(&a.KeepInMemory, Dur(90*24*time.Hour))
	def(&a.NoteLimit, 4000)
	def(&a.Calendar.TimeZone, "Asia/Shanghai")
	if len(a.Calendar.Workdays) == 0 {
		a.Calendar.Workdays = []string{"mon", "tue", "wed", "thu", "fri"}
	}
	dl := DefaultDeadlines()
	if a.Deadlines == nil {
		a.Deadlines = map[string]StepLimits{}
	}
	for sev, d := range dl {
		cur := a.Deadlines[sev]
		def(&cur.Dispatch, d.Dispatch)
		def(&cur.Accept, d.Accept)
		def(&cur.Assign, d.Assign)
		def(&cur.Resolve, d.Resolve)
		def(&cur.Evaluate, d.Evaluate)
		def(&cur.Review, d.Review)
		def(&cur.Report, d.Report)
		def(&cur.Hold, d.Hold)
		def(&cur.Hold, a.MaxHold)
		a.Deadlines[sev] = cur
	}
	if a.Classes == nil {
		a.Classes = map[string]ClassLimits{}
	}
	for name, cl := range DefaultClasses() {
		if _, ok := a.Classes[name]; !ok {
			a.Classes[name] = cl
		}
	}
	for name, cl := range a.Classes {
		if cl.Max.IsZero() && !cl.Resolve.IsZero() {
			cl.Max = Span{D: 2 * cl.Resolve.D, WD: 2 * cl.Resolve.WD}
			a.Classes[name] = cl
		}
	}
	for i := range a.Rules {
		def(&a.Rules[i].Severity, "major")
	}

	applyMaintenanceDefaults(&c.Maintenance)
	def(&c.Auth.IdleTimeout, 30*time.Minute)
	def(&c.Auth.SessionLifetime, 12*time.Hour)
	def(&c.Auth.LockoutFailures, 5)
	def(&c.Auth.LockoutWindow, 15*time.Minute)
	def(&c.Auth.LockoutFor, 15*time.Minute)
	def(&c.Audit.Keep, AuditKeepMin)
	def(&c.Audit.MaxBytes, 1<<30)
	if c.Auth.RequireTwoFactor == nil {
		c.Auth.RequireTwoFactor = []string{RoleAdmin, RoleSecurityAdmin, RoleAuditor, RoleOperator}
	}
	def(&c.Dashboard.History, 10000)
	def(&c.Dashboard.ClientQueue, 256)
	applyGB28181Defaults(c.GB28181)
}

// EnvName is the variable that overrides a user's token:
// SNOWHUB_USER_<NAME>_TOKEN, the name upper-cased, other characters as "_".
func EnvName(user string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(user) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return "SNOWHUB_USER_" + b.String() + "_TOKEN"
}

// applyEnv lets secrets come from the environment, which wins over the file.
func applyEnv(c *Config) {
	if v := os.Getenv("SNOWHUB_MQTT_PASSWORD"); v != "" {
		c.MQTT.Password, c.MQTT.PasswordFile = v, ""
	}
	if v := os.Getenv("SNOWHUB_INFLUX_TOKEN"); v != "" {
		c.Influx.Token, c.Influx.TokenFile = v, ""
	}
	applyGB28181Env(c.GB28181)
	for i := range c.Users {
		if v := os.Getenv(EnvName(c.Users[i].Name)); v != "" {
			c.Users[i].Token, c.Users[i].TokenFile = v, ""
		}
		if v := os.Getenv(TOTPEnvName(c.Users[i].Name)); v != "" {
			c.Users[i].TOTPSecret, c.Users[i].TOTPSecretFile = v, ""
		}
	}
}

// readSecrets reads *_file keys (relative to the configuration's directory).
func readSecrets(p *problems, c *Config, dir string) {
	read := func(path string, value *string, file string) {
		if file == "" {
			return
		}
		if *value != "" {
			p.add(path, "set the secret or its _file, not both")
			return
		}
		if !filepath.IsAbs(file) {
			file = filepath.Join(dir, file)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			p.add(path, "cannot read secret: %v", err)
			return
		}
		*value = strings.TrimRight(string(b), "\r\n")
		if *value == "" {
			p.add(path, "secret file %s is empty", file)
		}
	}
	read("mqtt.password_file", &c.MQTT.Password, c.MQTT.PasswordFile)
	read("influx.token_file", &c.Influx.Token, c.Influx.TokenFile)
	for i := range c.MQTT.DeviceUsers {
		u := &c.MQTT.DeviceUsers[i]
		read(pathf("mqtt.device_users[%d].password_file", i), &u.Password, u.PasswordFile)
	}
	for i := range c.Users {
		u := &c.Users[i]
		read(pathf("users[%d].token_file", i), &u.Token, u.TokenFile)
		read(pathf("users[%d].totp_secret_file", i), &u.TOTPSecret, u.TOTPSecretFile)
	}
	readGB28181Secrets(c.GB28181, read)
}

// DefaultMaxConnecting is camera.max_connecting when the file gives none
// (0), for the cameras a hub watches:
// one connection slot per 40 cameras, between 32 and 256. A check over a
// rural link takes 0.5-1.5 s, so 10,000 cameras probed every minute keep
// 80-250 checks in flight, and a county coming back after a power cut
// reconnects in minutes, not a quarter of an hour (docs/cameras.md).
func DefaultMaxConnecting(cameras int) int {
	return min(max(cameras/40, 32), 256)
}
