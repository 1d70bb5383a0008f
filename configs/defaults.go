package configs

import (
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultDeadlines are the time limits of each step by severity: machine
// speed for critical alarms, and the county's own rhythm (a working day to
// accept, five days to close) for minor ones.
func DefaultDeadlines() map[string]StepLimits {
	return map[string]StepLimits{
		"critical": {Dispatch: time.Minute, Accept: 5 * time.Minute, Resolve: 2 * time.Hour, Evaluate: 24 * time.Hour, Review: 72 * time.Hour},
		"major":    {Dispatch: 10 * time.Minute, Accept: 30 * time.Minute, Resolve: 24 * time.Hour, Evaluate: 72 * time.Hour, Review: 7 * 24 * time.Hour},
		"minor":    {Dispatch: time.Hour, Accept: 24 * time.Hour, Resolve: 120 * time.Hour, Evaluate: 7 * 24 * time.Hour, Review: 14 * 24 * time.Hour},
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
	def(&cd.MaxConnecting, 32)
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
	dl := DefaultDeadlines()
	if a.Deadlines == nil {
		a.Deadlines = map[string]StepLimits{}
	}
	for sev, d := range dl {
		cur := a.Deadlines[sev]
		def(&cur.Dispatch, d.Dispatch)
		def(&cur.Accept, d.Accept)
		def(&cur.Resolve, d.Resolve)
		def(&cur.Evaluate, d.Evaluate)
		def(&cur.Review, d.Review)
		a.Deadlines[sev] = cur
	}
	for i := range a.Rules {
		def(&a.Rules[i].Severity, "major")
	}

	def(&c.Dashboard.History, 10000)
	def(&c.Dashboard.ClientQueue, 256)
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
	for i := range c.Users {
		if v := os.Getenv(EnvName(c.Users[i].Name)); v != "" {
			c.Users[i].Token, c.Users[i].TokenFile = v, ""
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
	}
}
