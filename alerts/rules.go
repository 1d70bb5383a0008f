package alerts

import (
	"bytes"
	"slices"
	"strings"
	"text/template"
	"time"

	"snowhub/configs"
)

// rule is a configured or default rule, ready to evaluate.
type rule struct {
	configs.Rule
	title *template.Template
}

// Default titles, by rule type; {{.Village}} and {{.DeviceName}} are names.
const (
	titleAlarm     = "{{.Village}} {{.DeviceName}} 报警"
	titleThreshold = "{{.Village}} {{.DeviceName}} 超限 {{.Value}}"
	titleOffline   = "{{.Village}} {{.DeviceName}} 离线"
	titleDegraded  = "{{.Village}} {{.DeviceName}} 画面异常"
	titleEvent     = "{{.Village}} {{.DeviceName}} {{.Event}}"
	titleRate      = "{{.Village}} {{.DeviceName}} 频繁报警"
	titleOutage    = "{{.Village}} 多个设备离线"
)

func f(v float64) *float64 { return &v }

// defaultRules make a plain configuration useful: alarms from alarm
// sensors, thresholds for levels and temperatures, and devices that go
// quiet. Camera offline limits depend on whether the camera is at a key
// crossing (see engine.cameraOffline).
func defaultRules() []configs.Rule {
	return []configs.Rule{
		{Name: "smoke", Type: "alarm", Kinds: []string{"smoke"}, Severity: "critical", Title: "{{.Village}} {{.DeviceName}} 烟雾报警"},
		{Name: "panic", Type: "alarm", Kinds: []string{"panic"}, Severity: "critical", Title: "{{.Village}} {{.DeviceName}} 一键报警"},
		{Name: "gas", Type: "alarm", Kinds: []string{"gas"}, Severity: "critical", Title: "{{.Village}} {{.DeviceName}} 燃气泄漏"},
		{Name: "leak", Type: "alarm", Kinds: []string{"leak"}, Severity: "major", Title: "{{.Village}} {{.DeviceName}} 漏水报警"},
		{Name: "power", Type: "alarm", Kinds: []string{"power"}, Severity: "major", Title: "{{.Village}} {{.DeviceName}} 断电"},
		{Name: "water-high", Type: "threshold", Kinds: []string{"water_level"}, Above: f(3.0), For: 30 * time.Second, Severity: "major", Title: "{{.Village}} {{.DeviceName}} 水位超警戒 {{.Value}} m"},
		{Name: "temperature-high", Type: "threshold", Kinds: []string{"temperature"}, Above: f(60), For: time.Minute, Severity: "major", Title: "{{.Village}} {{.DeviceName}} 温度过高 {{.Value}} ℃"},
		{Name: "sensor-offline", Type: "offline", Kinds: sensorKinds(), For: 10 * time.Minute, Severity: "minor", Title: titleOffline},
		{Name: "camera-offline", Type: "offline", Kinds: []string{"camera"}, For: 2 * time.Minute, Severity: "minor", Title: titleOffline},
		{Name: "camera-degraded", Type: "degraded", Kinds: []string{"camera"}, For: 10 * time.Minute, Severity: "minor", Title: titleDegraded},
		{Name: "camera-tamper", Type: "camera_event", Kinds: []string{"camera"}, Event: "tamper", Severity: "major", Title: "{{.Village}} {{.DeviceName}} 遮挡/破坏"},
	}
}

func sensorKinds() []string { return append([]string(nil), configs.SensorKinds...) }

func compileRules(cfg *configs.Config) []*rule {
	var src []configs.Rule
	if !cfg.Alerts.NoDefaults {
		src = defaultRules()
	}
	src = append(src, cfg.Alerts.Rules...)
	out := make([]*rule, 0, len(src))
	for _, r := range src {
		title := r.Title
		if title == "" {
			title = map[string]string{"alarm": titleAlarm, "threshold": titleThreshold, "offline": titleOffline,
				"degraded": titleDegraded, "camera_event": titleEvent, "rate": titleRate}[r.Type]
		}
		t, err := template.New(r.Name).Option("missingkey=zero").Parse(title)
		if err != nil {
			t = template.Must(template.New(r.Name).Parse(r.Name))
		}
		out = append(out, &rule{Rule: r, title: t})
	}
	return out
}

// applies reports whether a rule covers a device of a kind.
func (r *rule) applies(kind, device string) bool {
	if len(r.Devices) > 0 && !slices.Contains(r.Devices, device) {
		return false
	}
	return len(r.Kinds) == 0 || slices.Contains(r.Kinds, kind)
}

// violates is a threshold check.
func (r *rule) violates(v float64) bool {
	return (r.Above != nil && v > *r.Above) || (r.Below != nil && v < *r.Below)
}

// inWindow reports whether t falls in the rule's time of day window
// (which may cross midnight); no window means always. The time of day is
// the county's (the calendar's zone), never the process's TZ: a hub whose
// machine runs in UTC watches 22:00–06:00 in Beijing time all the same.
func (r *rule) inWindow(t time.Time, zone *time.Location) bool {
	if r.From == "" || r.To == "" {
		return true
	}
	hm := t.In(zone).Format("15:04")
	if r.From <= r.To {
		return hm >= r.From && hm < r.To
	}
	return hm >= r.From || hm < r.To
}

type titleData struct {
	Device, DeviceName, Village, Township, Kind, Rule, Event string
	Value                                                    any
}

func (r *rule) render(d titleData) string {
	// Device names usually start with their village ("东街社区 烟感"):
	// the village is said once, not twice.
	if d.Village != "" && strings.Contains(d.DeviceName, d.Village) {
		d.Village = ""
	}
	var b bytes.Buffer
	if err := r.title.Execute(&b, d); err != nil {
		return r.Name + " " + d.Device
	}
	return sayOnce(strings.Join(strings.Fields(b.String()), " "), strings.Join(strings.Fields(d.DeviceName), " "))
}

// sayOnce joins a device's name and the rule's words after it where they
// overlap: a panic button named "北街社区一键报警" under the rule's "一键报警"
// reads "北街社区一键报警", a gauge "水库 水位" under "水位超警戒" reads
// "水库 水位超警戒". An overlap of one character ("烟感" and "烟雾报警") is a
// coincidence, not a repetition.
func sayOnce(title, name string) string {
	i := strings.Index(title, name)
	if name == "" || i < 0 {
		return title
	}
	head, rest := title[:i+len(name)], strings.TrimPrefix(title[i+len(name):], " ")
	if w, after, _ := strings.Cut(rest, " "); len([]rune(w)) >= 2 && strings.Contains(name, w) {
		return strings.TrimSpace(head + " " + after) // "北街社区 一键报警 按钮" under "一键报警"
	}
	nr, rr := []rune(name), []rune(rest)
	for k := min(len(nr), len(rr)); k >= 2; k-- {
		if string(nr[len(nr)-k:]) == string(rr[:k]) {
			return strings.TrimSpace(head + string(rr[k:]))
		}
	}
	return title
}
