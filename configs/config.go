// Package configs defines snowhub's configuration: its types, their defaults,
// a strict loader that reports every problem with file, line and key path,
// and validation of the whole tree.
package configs

import "time"

// Config is the whole hub configuration. Field names follow the YAML keys of
// docs/configuration.md; unknown keys are errors.
type Config struct {
	Listen    string       `yaml:"listen"`
	DataDir   string       `yaml:"data_dir"`
	Log       LogConfig    `yaml:"log"`
	MQTT      MQTTConfig   `yaml:"mqtt"`
	Influx    InfluxConfig `yaml:"influx"`
	County    Area         `yaml:"county"`
	Townships []Township   `yaml:"townships"`
	Cameras   []Camera     `yaml:"cameras"`
	Sensors   []Sensor     `yaml:"sensors"`
	Users     []User       `yaml:"users"`
	// Auth is how people log in as themselves: sessions, lockout
	// (docs/accounts.md).
	Auth AuthConfig `yaml:"auth"`
	// Audit is how long the audit trail is kept (docs/accounts.md).
	Audit AuditConfig `yaml:"audit"`
	// People are the grid workers and cadres an incident can be assigned
	// to (派人); departments are those summoned into a matter.
	People      []Person          `yaml:"people"`
	Departments []Department      `yaml:"departments"`
	Camera      CameraDefaults    `yaml:"camera"`
	Alerts      AlertsConfig      `yaml:"alerts"`
	Dashboard   DashboardConfig   `yaml:"dashboard"`
	Notify      NotifyConfig      `yaml:"notify"`
	Maintenance MaintenanceConfig `yaml:"maintenance"`
	// Hub places this hub in a prefecture of several hubs (hub.go).
	Hub HubConfig `yaml:"hub"`
	// Hubs is the prefecture's list of hubs, the same file on every hub:
	// who owns which townships, who views whom, where each serves live
	// video. hub.id picks this hub's entry (hubs.go).
	Hubs []HubEntry `yaml:"hubs"`
	// GB28181 makes the hub the upper platform of GB/T 28181 devices
	// (gb28181.go); absent: no SIP server.
	GB28181 *GB28181Config `yaml:"gb28181"`

	// Path is the file the configuration was loaded from ("" for embedded).
	Path string `yaml:"-"`
}

type LogConfig struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
}

type MQTTConfig struct {
	Broker          string       `yaml:"broker"` // empty: embedded broker on EmbeddedListen
	EmbeddedListen  string       `yaml:"embedded_listen"`
	ClientID        string       `yaml:"client_id"`
	Username        string       `yaml:"username"`
	Password        string       `yaml:"password"`
	PasswordFile    string       `yaml:"password_file"`
	CAFile          string       `yaml:"ca_file"`
	CertFile        string       `yaml:"cert_file"`
	KeyFile         string       `yaml:"key_file"`
	TopicPrefix     string       `yaml:"topic_prefix"` // default "snowbright"
	Z2MPrefix       string       `yaml:"z2m_prefix"`   // default "zigbee2mqtt"
	DeadLetterTopic string       `yaml:"dead_letter_topic"`
	MaxPayload      int          `yaml:"max_payload"`  // bytes, default 64 KiB
	DeviceRateLimit float64      `yaml:"device_rate"`  // messages per second per device, default 50
	Workers         int          `yaml:"workers"`      // handler pool, default 8
	Townships       []string     `yaml:"townships"`    // share subscriptions for several hubs; empty: all
	DeviceUsers     []DeviceUser `yaml:"device_users"` // embedded broker credentials when not on loopback
	// EmbeddedCertFile and EmbeddedKeyFile put the embedded broker's
	// listener behind TLS; EmbeddedClientCAFile also asks devices for a
	// client certificate signed by that CA.
	EmbeddedCertFile     string `yaml:"embedded_cert_file"`
	EmbeddedKeyFile      string `yaml:"embedded_key_file"`
	EmbeddedClientCAFile string `yaml:"embedded_client_ca_file"`
}

// DeviceUser is an MQTT login of devices or a gateway. It may publish only
// the topics of its own devices: those named, those of its villages, and
// the Zigbee2MQTT sensors whose friendly name begins with Z2MPrefix. It
// subscribes to nothing of the hub's (docs/mqtt.md, "Who may publish what").
type DeviceUser struct {
	Username     string   `yaml:"username"`
	Password     string   `yaml:"password"`
	PasswordFile string   `yaml:"password_file"`
	Devices      []string `yaml:"devices"`    // sensor and camera ids
	Villages     []string `yaml:"villages"`   // every device of these villages
	Z2MPrefix    string   `yaml:"z2m_prefix"` // a gateway: its sensors' friendly names begin with this
}

type InfluxConfig struct {
	URL           string        `yaml:"url"`
	Token         string        `yaml:"token"`
	TokenFile     string        `yaml:"token_file"`
	Org           string        `yaml:"org"`
	Bucket        string        `yaml:"bucket"`
	BatchSize     int           `yaml:"batch_size"`      // default 5000
	FlushInterval time.Duration `yaml:"flush_interval"`  // default 1s
	SpoolMaxBytes int64         `yaml:"spool_max_bytes"` // default 1 GiB
}

// Area is a named node of the administrative tree. It is also part of the
// API (GET /api/v1/topology's county), hence its JSON names.
type Area struct {
	ID   string `yaml:"id" json:"id"`
	Name string `yaml:"name" json:"name"`
}

type Township struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// CivilCode is the township's 行政区划代码 (9 digits, e.g. 610428101):
	// a GB/T 28181 channel whose catalog CivilCode begins with it stands
	// in this township (docs/gb28181.md).
	CivilCode string    `yaml:"civil_code"`
	Villages  []Village `yaml:"villages"`
}

type Village struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	// CivilCode is the village's 行政区划代码 (12 digits, e.g.
	// 610428101201): a GB/T 28181 channel whose CivilCode begins with it
	// stands in this village.
	CivilCode string `yaml:"civil_code"`
	Grids     []Grid `yaml:"grids"`
	Cadre     string `yaml:"cadre"` // person id of the township cadre who answers for it (包村干部)
}

// Grid is the smallest unit of the tree (网格).
type Grid struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
}

// Person is someone an incident can be assigned to.
type Person struct {
	ID       string `yaml:"id"`
	Name     string `yaml:"name"`
	Role     string `yaml:"role"`     // grid_head | grid_worker | keeper | village_police | cadre | other
	Township string `yaml:"township"` // needed only without a village (a township cadre)
	Village  string `yaml:"village"`
	Grid     string `yaml:"grid"`
	Phone    string `yaml:"phone"`
}

// Department is summoned into matters (街区吹哨、部门报到).
type Department struct {
	ID    string   `yaml:"id"`
	Name  string   `yaml:"name"`
	Kinds []string `yaml:"kinds"` // incident kinds it usually answers
}

type Camera struct {
	ID        string `yaml:"id"`
	Name      string `yaml:"name"`
	Village   string `yaml:"village"`
	URL       string `yaml:"url"`
	Transport string `yaml:"transport"` // auto | tcp | udp
	Watch     bool   `yaml:"watch"`
	// SubstreamURL: the camera's sub-stream, or "auto" to derive it from
	// url (Hikvision, Dahua, Uniview URL forms). Empty: no sub-stream.
	SubstreamURL string  `yaml:"substream_url"`
	FPS          float64 `yaml:"fps"` // expected rate; 0: learn it
	Key          bool    `yaml:"key"` // a key crossing: its outage is an incident sooner
	Grid         string  `yaml:"grid"`
	Lat          float64 `yaml:"lat"`
	Lon          float64 `yaml:"lon"`
}

type Sensor struct {
	ID      string `yaml:"id"`
	Name    string `yaml:"name"`
	Kind    string `yaml:"kind"`
	Village string `yaml:"village"`
	Z2M     string `yaml:"z2m"`    // Zigbee2MQTT friendly name
	Camera  string `yaml:"camera"` // the camera that looks at it, for the wall
	Grid    string `yaml:"grid"`
	// ReportInterval is how often the sensor reports; three missed reports
	// make it offline (cause "silent"). 0: the default of its kind.
	ReportInterval time.Duration `yaml:"report_interval"`
}

type User struct {
	Name       string `yaml:"name"`
	Role       string `yaml:"role"` // operator | township | technician | admin | village | department | security_admin | auditor | display | hub
	Township   string `yaml:"township"`
	Village    string `yaml:"village"`    // role village
	Department string `yaml:"department"` // role department
	Token      string `yaml:"token"`
	TokenFile  string `yaml:"token_file"`
	// PasswordHash lets the person log in with name and password
	// (POST /api/v1/login): the argon2id PHC string that
	// `snowhub -hash-password` prints. A user needs a token, a
	// password_hash, or both.
	PasswordHash string `yaml:"password_hash"`
	// TOTPSecret is the base32 secret of the person's authenticator app
	// (RFC 6238, 30 s, 6 digits): with it a login needs the code too.
	// Usually from TOTPSecretFile or SNOWHUB_USER_<NAME>_TOTP.
	TOTPSecret     string `yaml:"totp_secret"`
	TOTPSecretFile string `yaml:"totp_secret_file"`
}

// AuditConfig keeps the audit trail: records older than Keep are
// removed (the chain stays checkable from an anchor); MaxBytes is the
// trail's budget, past which the hub warns (it never removes a record
// younger than Keep: the Cybersecurity Law asks for six months).
type AuditConfig struct {
	Keep     time.Duration `yaml:"keep"`      // default 4320h (180 days), at least that
	MaxBytes int64         `yaml:"max_bytes"` // default 1 GiB
}

// AuthConfig is how people log in (docs/accounts.md). Every field is read
// per request, so a reload applies at once.
type AuthConfig struct {
	// IdleTimeout ends a session unused this long; default 30m.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// SessionLifetime ends a session this long after login, used or not;
	// default 12h (a shift and its handover).
	SessionLifetime time.Duration `yaml:"session_lifetime"`
	// LockoutFailures failed logins of one name within LockoutWindow lock
	// it for LockoutFor; defaults 5, 15m, 15m.
	LockoutFailures int           `yaml:"lockout_failures"`
	LockoutWindow   time.Duration `yaml:"lockout_window"`
	LockoutFor      time.Duration `yaml:"lockout_for"`
	// SecureCookies marks the session cookie Secure even on plain HTTP:
	// for a hub behind a reverse proxy that serves it over TLS. A request
	// that reaches the hub over TLS gets a Secure cookie anyway.
	SecureCookies bool `yaml:"secure_cookies"`
	// RequireTwoFactor are the roles whose password logins must use a
	// second factor (TOTP): a session of one without it may only enrol
	// one. Default admin, security_admin, auditor, operator (等保 2.0
	// level 3: two kinds of authentication for administrators); [] for
	// none. Bearer tokens are not logins and are not affected.
	RequireTwoFactor []string `yaml:"require_2fa"`
}

// CameraDefaults tunes ingest and the health model for all cameras.
type CameraDefaults struct {
	MaxConnecting int `yaml:"max_connecting"` // hub-wide concurrent connection attempts and checks, the floor; default: cameras/40 within 32-256
	// MaxChecks is the ceiling the connection slots may grow to while
	// answers are slow and the CPU idle; default: half the process's file
	// descriptors, at most 4,096.
	MaxChecks     int           `yaml:"max_checks"`
	BackoffMin    time.Duration `yaml:"backoff_min"`    // default 1s
	BackoffMax    time.Duration `yaml:"backoff_max"`    // default 60s
	StallAfter    time.Duration `yaml:"stall_after"`    // default 5s
	OfflineAfter  time.Duration `yaml:"offline_after"`  // default 10s: a watched camera without frames, a probe-mode camera whose failed checks (at least two) span this long, is offline
	Settle        time.Duration `yaml:"settle"`         // default 10s
	ProbeInterval time.Duration `yaml:"probe_interval"` // default 60s
	ProbeTimeout  time.Duration `yaml:"probe_timeout"`  // default 10s
	// MediaCheckInterval: a probe-mode camera's media (PLAY to a keyframe)
	// is checked this often and whenever its liveness changes; liveness
	// (DESCRIBE, no media) every probe_interval. Default 15m.
	MediaCheckInterval time.Duration `yaml:"media_check_interval"`
	// Grace after a connect before a camera may be declared stalled or
	// slow (or two keyframe intervals, if longer). Default 5s.
	Grace        time.Duration `yaml:"grace"`
	ViewerLinger time.Duration `yaml:"viewer_linger"` // default 30s
	SampleEvery  time.Duration `yaml:"sample_every"`  // health sample to the time series, default 10s
}

// AlertsConfig holds incident rules, deadlines and grouping.
type AlertsConfig struct {
	Rules      []Rule                `yaml:"rules"` // added to the defaults per sensor kind
	NoDefaults bool                  `yaml:"no_default_rules"`
	Deadlines  map[string]StepLimits `yaml:"deadlines"` // by severity: critical | major | minor
	// HoldForCounty lists severities whose incidents wait for the county to dispatch.
	HoldForCounty []string      `yaml:"hold_for_county"`
	GroupMin      int           `yaml:"group_min"`    // devices of one village offline within GroupWindow, default 3
	GroupWindow   time.Duration `yaml:"group_window"` // default 1m
	FlapCount     int           `yaml:"flap_count"`   // default 5
	FlapWindow    time.Duration `yaml:"flap_window"`  // default 10m
	// Storm groups alarms of one kind in one village into one incident.
	Storm StormConfig `yaml:"storm"`
	// CountyOutage makes an outage wider than a village one matter for the
	// technicians (outage.go).
	CountyOutage CountyOutageConfig `yaml:"county_outage"`

	// The closed loop.
	OnOverdue      string                 `yaml:"on_overdue"`      // supervise (default) | take_over
	SuperviseEvery Span                   `yaml:"supervise_every"` // between tiers; default: the step's own limit
	MaxHold        Span                   `yaml:"max_hold"`        // default 7d (critical: deadlines.critical.hold)
	Calendar       Calendar               `yaml:"calendar"`
	Classes        map[string]ClassLimits `yaml:"classes"`
	SelfEvaluation bool                   `yaml:"self_evaluation"` // may the resolver evaluate? default false
	OnUnsatisfied  string                 `yaml:"on_unsatisfied"`  // reopen | county (default) | none
	KeepInMemory   Span                   `yaml:"keep_in_memory"`  // reviewed incidents leave memory after, default 90d
	NoteLimit      int                    `yaml:"note_limit"`      // characters, default 4000
}

// StormConfig groups an alarm storm (a fire sets off a village's smoke
// sensors, a flood its leak sensors): alarms of the same rule in the same
// village within Window of the first join one incident listing the
// devices, so the desk hears of one matter, not hundreds.
type StormConfig struct {
	Window time.Duration `yaml:"window"` // counted from the first alarm; default 60s
	// PerDevice lists incident kinds (sensor kinds, camera events) that
	// stay one incident per device: each panic button is a person asking
	// for help. Default [panic]; [] groups every kind.
	PerDevice []string `yaml:"per_device"`
}

// StepLimits are the time limits of each step, by severity. Any limit takes
// working days (1wd).
type StepLimits struct {
	Dispatch Span `yaml:"dispatch"`
	Accept   Span `yaml:"accept"`
	Assign   Span `yaml:"assign"` // name someone and send them on site, from accept
	Resolve  Span `yaml:"resolve"`
	Evaluate Span `yaml:"evaluate"`
	Review   Span `yaml:"review"`
	Report   Span `yaml:"report"` // a summoned department's 报到
	Hold     Span `yaml:"hold"`   // longest hold; default alerts.max_hold
}

// ClassLimits override a severity's limits for the steps they name.
type ClassLimits struct {
	Accept  Span `yaml:"accept"`
	Assign  Span `yaml:"assign"`
	Resolve Span `yaml:"resolve"`
	Max     Span `yaml:"max"` // longest resolve with extensions (疑难延期); default twice resolve
}

// Calendar is the county's working week and holidays.
type Calendar struct {
	TimeZone      string   `yaml:"time_zone"`      // default Asia/Shanghai
	Workdays      []string `yaml:"workdays"`       // default mon..fri
	Holidays      []string `yaml:"holidays"`       // 2026-10-01
	ExtraWorkdays []string `yaml:"extra_workdays"` // weekend days worked (调休)
	DayStart      string   `yaml:"day_start"`      // unused by the arithmetic; for pages
}

// Rule turns device events into incidents.
type Rule struct {
	Name     string        `yaml:"name"`
	Type     string        `yaml:"type"`    // threshold | alarm | offline | degraded | rate | camera_event
	Kinds    []string      `yaml:"kinds"`   // sensor kinds, or "camera"
	Devices  []string      `yaml:"devices"` // empty: all devices of Kinds
	Above    *float64      `yaml:"above"`
	Below    *float64      `yaml:"below"`
	For      time.Duration `yaml:"for"`
	Count    int           `yaml:"count"`  // rate: n events
	Within   time.Duration `yaml:"within"` // rate: within w
	Event    string        `yaml:"event"`  // camera_event: motion | tamper | line_crossing | plate
	From     string        `yaml:"from"`   // time-of-day window "22:00"
	To       string        `yaml:"to"`     // "06:00"
	Severity string        `yaml:"severity"`
	Title    string        `yaml:"title"` // text/template over the device and value
}

type DashboardConfig struct {
	AllowedOrigins []string `yaml:"allowed_origins"`
	History        int      `yaml:"history"`      // websocket events kept for ?since=, default 10000
	ClientQueue    int      `yaml:"client_queue"` // per client, default 256
}
