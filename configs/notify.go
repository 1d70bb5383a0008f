package configs

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
)

// NotifyConfig is notify: who is told of which incident step, through which
// channels (WeCom and DingTalk group robots, SMS, webhooks, MQTT out).
type NotifyConfig struct {
	// PublicURL is the hub's address as people's phones reach it; messages
	// link to the incident on the desk page under it. Empty: no link.
	PublicURL string          `yaml:"public_url"`
	TimeZone  string          `yaml:"time_zone"` // deadlines in messages; default Asia/Shanghai
	Channels  []NotifyChannel `yaml:"channels"`
	Routes    []NotifyRoute   `yaml:"routes"`
	Templates NotifyTemplates `yaml:"templates"`
	// Poll is how often the outbox is read when no wake-up came; default 1s.
	Poll time.Duration `yaml:"poll"`
}

// NotifyChannel is one way out: a group robot, an SMS account, a webhook
// receiver, or the MQTT broker.
type NotifyChannel struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"` // as people know it: 昭仁街道工作群
	Type string `yaml:"type"` // wecom | dingtalk | sms | webhook | mqtt
	URL  string `yaml:"url"`  // the full robot / gateway URL (DingTalk: .../robot/send?access_token=T)
	// Secret signs requests: the DingTalk robot's SEC… secret, the webhook's
	// HMAC key, the SMS AccessKey secret / SecretKey, the gateway's token.
	Secret     string        `yaml:"secret"`
	SecretFile string        `yaml:"secret_file"`
	Format     string        `yaml:"format"`      // robots: markdown (default) | text
	Keyword    string        `yaml:"keyword"`     // DingTalk/WeCom keyword security: put in every message
	RateLimit  int           `yaml:"rate_limit"`  // messages per rate_window; robots: 20
	RateWindow time.Duration `yaml:"rate_window"` // default 1m
	MaxBytes   int           `yaml:"max_bytes"`   // body cap; default by type (WeCom markdown 4096, text 2048; DingTalk 20000)
	Timeout    time.Duration `yaml:"timeout"`     // per request, default 10s

	// SMS.
	Provider     string        `yaml:"provider"`      // alibaba | tencent | http
	KeyID        string        `yaml:"key_id"`        // AccessKeyId (Alibaba) / SecretId (Tencent)
	SignName     string        `yaml:"sign_name"`     // the approved signature, e.g. 长武县综治中心
	TemplateCode string        `yaml:"template_code"` // the approved template (Alibaba SMS_…, Tencent id)
	AppID        string        `yaml:"app_id"`        // Tencent SmsSdkAppId
	Region       string        `yaml:"region"`        // Tencent, default ap-guangzhou
	DailyBudget  int           `yaml:"daily_budget"`  // per number per day, default 50 (Alibaba) / 10 (Tencent, http)
	Spacing      time.Duration `yaml:"same_content_spacing"`

	// MQTT out.
	Retain  bool `yaml:"retain"`  // keep each incident's last step retained
	Devices bool `yaml:"devices"` // also publish camera and sensor state changes
}

// NotifyRoute says which steps go to whom. An empty list matches all.
type NotifyRoute struct {
	Name       string   `yaml:"name"`
	Townships  []string `yaml:"townships"`
	Villages   []string `yaml:"villages"`
	Severities []string `yaml:"severities"`
	Steps      []string `yaml:"steps"` // open, dispatch, accept, assign, supervise, escalate, summon, reopen, unsatisfied, ...
	Sources    []string `yaml:"sources"`
	Tiers      []int    `yaml:"tiers"` // supervision tiers this route hears (empty: all)
	From       string   `yaml:"from"`  // time of day, "08:00"
	To         string   `yaml:"to"`    // "18:00"; from > to spans midnight
	Days       string   `yaml:"days"`  // workdays | offdays (alerts.calendar); empty: every day
	// Channels is a chain: the first that can deliver does; the next takes
	// over when one cannot (over its SMS budget, refused).
	Channels    []string      `yaml:"channels"`
	People      []string      `yaml:"people"` // person ids: @-mentions and SMS
	Phones      []string      `yaml:"phones"` // numbers outside the roster
	RepeatEvery time.Duration `yaml:"repeat_every"`
	RepeatMax   int           `yaml:"repeat_max"`
	Until       []string      `yaml:"until"` // the steps a repeat waits for; default: the next step of the process
}

// NotifyTemplates override the built-in Chinese messages (Go text/template
// over the fields listed by NotifyTemplateFields).
type NotifyTemplates struct {
	Notice string `yaml:"notice"` // one step, for group robots and webhooks' "text"
	SMS    string `yaml:"sms"`    // one step, short, for the SMS gateway and the clouds' "content" parameter
}

// NotifyChannelTypes are the kinds of channel.
var NotifyChannelTypes = []string{"wecom", "dingtalk", "sms", "webhook", "mqtt"}

// NotifySteps are the step names a route may select.
var NotifySteps = []string{"open", "dispatch", "accept", "assign", "resolve", "evaluate", "review", "escalate",
	"hold", "resume", "reopen", "reassign", "clear", "update", "overdue", "supervise", "summon", "report", "done",
	"extend", "approve_extension", "reject_extension", "remind", "acknowledge", "unsatisfied", "flapping", "storm", "release", "maintenance", "maintenance_end"}

// NotifyTemplateFields are the fields a template may use. Notify fills each
// of them for every step; a template naming another field is refused at load.
var NotifyTemplateFields = []string{"StepID", "Incident", "Action", "Step", "Severity", "SeverityName", "Title",
	"Kind", "Township", "TownshipName", "Village", "VillageName", "Place", "Deadline", "At", "Link", "Repeat",
	"Tier", "Assignee", "Mentions", "Note", "Source", "State", "By"}

// NotifyTemplateSample is the value templates are tried on at load.
func NotifyTemplateSample() map[string]any {
	return map[string]any{"StepID": "12", "Incident": "INC-1", "Action": "open", "Step": "新事件",
		"Severity": "critical", "SeverityName": "紧急", "Title": "烟雾报警", "Kind": "smoke", "Township": "zhaoren",
		"TownshipName": "昭仁街道", "Village": "v-zr-01", "VillageName": "东街社区", "Place": "昭仁街道 东街社区",
		"Deadline": "11-25 08:30", "At": "11-25 08:25:03", "Link": "https://hub/township/zhaoren?incident=INC-1",
		"Repeat": 0, "Tier": 0, "Assignee": "", "Mentions": []string{"13800000000"}, "Note": "", "Source": "rule",
		"State": "opened", "By": "system"}
}

// ParseNotifyTemplate parses and tries a template; its error names the
// template's own line (1-based) where text/template gives one.
func ParseNotifyTemplate(name, text string) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	if err := t.Execute(discard{}, NotifyTemplateSample()); err != nil {
		return nil, err
	}
	return t, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

var tmplLineRE = regexp.MustCompile(`^template: [^:]+:(\d+)(:\d+)?: (.*)$`)

// NotifyEnvSecret is the variable that overrides a channel's secret:
// SNOWHUB_NOTIFY_<ID>_SECRET.
func NotifyEnvSecret(id string) string {
	return "SNOWHUB_NOTIFY_" + strings.TrimSuffix(strings.TrimPrefix(EnvName(id), "SNOWHUB_USER_"), "_TOKEN") + "_SECRET"
}

// notifyLoad applies notify's defaults, environment and secret files, and
// validates it; called from validate so the rest of the loader needs no
// change for it.
func notifyLoad(p *problems, c *Config) {
	n := &c.Notify
	def(&n.TimeZone, "Asia/Shanghai")
	def(&n.Poll, time.Second)
	if _, err := time.LoadLocation(n.TimeZone); err != nil {
		p.add("notify.time_zone", "%q is not a time zone (like Asia/Shanghai)", n.TimeZone)
	}
	if n.PublicURL != "" {
		if u, err := url.Parse(n.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.add("notify.public_url", "%q is not an http(s) URL", n.PublicURL)
		}
	}
	dir := filepath.Dir(c.Path)
	channels := map[string]bool{}
	for i := range n.Channels {
		ch := &n.Channels[i]
		base := pathf("notify.channels[%d]", i)
		notifyChannelDefaults(ch)
		if v := os.Getenv(NotifyEnvSecret(ch.ID)); v != "" && ch.ID != "" {
			ch.Secret, ch.SecretFile = v, ""
		}
		if ch.SecretFile != "" {
			if ch.Secret != "" {
				p.add(base+".secret_file", "set the secret or its _file, not both")
			} else {
				file := ch.SecretFile
				if !filepath.IsAbs(file) {
					file = filepath.Join(dir, file)
				}
				b, err := os.ReadFile(file)
				if err != nil {
					p.add(base+".secret_file", "cannot read secret: %v", err)
				} else if ch.Secret = strings.TrimRight(string(b), "\r\n"); ch.Secret == "" {
					p.add(base+".secret_file", "secret file %s is empty", file)
				}
			}
		}
		switch {
		case ch.ID == "":
			p.add(base+".id", "a channel needs an id")
		case !idRE.MatchString(ch.ID):
			p.add(base+".id", "%q: ids are 1-64 letters, digits, '.', '_' or '-'", ch.ID)
		case channels[ch.ID]:
			p.add(base+".id", "duplicate channel id %q", ch.ID)
		}
		channels[ch.ID] = true
		if !slices.Contains(NotifyChannelTypes, ch.Type) {
			p.add(base+".type", "%q: use one of %s", ch.Type, strings.Join(NotifyChannelTypes, ", "))
			continue
		}
		if ch.Type != "mqtt" {
			if u, err := url.Parse(ch.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				p.add(base+".url", "%q is not an http(s) URL", RedactSecretURL(ch.URL))
			}
		}
		if ch.Format != "markdown" && ch.Format != "text" {
			p.add(base+".format", "%q: use markdown or text", ch.Format)
		}
		if ch.RateLimit < 0 || ch.MaxBytes < 0 || ch.DailyBudget < 0 || ch.RateWindow <= 0 || ch.Timeout <= 0 {
			p.add(base, "rate_limit, max_bytes and daily_budget must not be negative; rate_window and timeout must be positive")
		}
		switch ch.Type {
		case "dingtalk":
			if ch.Secret == "" {
				p.add(base+".secret", "a DingTalk robot is used with its signing secret (加签, SEC…): set secret, secret_file or %s", NotifyEnvSecret(ch.ID))
			}
			if u, err := url.Parse(ch.URL); err == nil && u.Query().Get("access_token") == "" {
				p.add(base+".url", "the robot URL carries its access_token (…/robot/send?access_token=…)")
			}
		case "wecom":
			if u, err := url.Parse(ch.URL); err == nil && u.Query().Get("key") == "" {
				p.add(base+".url", "the robot URL carries its key (…/cgi-bin/webhook/send?key=…)")
			}
		case "sms":
			switch ch.Provider {
			case "alibaba", "tencent":
				if ch.KeyID == "" || ch.Secret == "" || ch.SignName == "" || ch.TemplateCode == "" {
					p.add(base, "an %s SMS channel needs key_id, secret (or secret_file), sign_name and template_code", ch.Provider)
				}
				if ch.Provider == "tencent" && ch.AppID == "" {
					p.add(base+".app_id", "a Tencent SMS channel needs its SmsSdkAppId")
				}
			case "http":
			default:
				p.add(base+".provider", "%q: use alibaba, tencent or http", ch.Provider)
			}
		case "webhook":
			if ch.Secret == "" {
				p.add(base+".secret", "a webhook signs its body (HMAC-SHA256): set secret, secret_file or %s", NotifyEnvSecret(ch.ID))
			}
		}
	}
	people := map[string]bool{}
	for _, pp := range c.People {
		people[pp.ID] = pp.Phone != ""
	}
	townships, villages := map[string]bool{}, map[string]bool{}
	for _, t := range c.Townships {
		townships[t.ID] = true
		for _, v := range t.Villages {
			villages[v.ID] = true
		}
	}
	for i, r := range n.Routes {
		base := pathf("notify.routes[%d]", i)
		if len(r.Channels) == 0 {
			p.add(base+".channels", "a route needs at least one channel")
		}
		for j, id := range r.Channels {
			if !channels[id] {
				p.add(pathf("%s.channels[%d]", base, j), "no channel %q in notify.channels", id)
			}
		}
		for j, id := range r.Townships {
			if !townships[id] {
				p.add(pathf("%s.townships[%d]", base, j), "unknown township %q", id)
			}
		}
		for j, id := range r.Villages {
			if !villages[id] {
				p.add(pathf("%s.villages[%d]", base, j), "unknown village %q", id)
			}
		}
		for j, s := range r.Severities {
			if !slices.Contains(Severities, s) {
				p.add(pathf("%s.severities[%d]", base, j), "%q: use critical, major or minor", s)
			}
		}
		for _, list := range []struct {
			key  string
			vals []string
		}{{"steps", r.Steps}, {"until", r.Until}} {
			for j, s := range list.vals {
				if !slices.Contains(NotifySteps, s) {
					p.add(pathf("%s.%s[%d]", base, list.key, j), "%q: use one of %s", s, strings.Join(NotifySteps, ", "))
				}
			}
		}
		for j, id := range r.People {
			hasPhone, ok := people[id]
			switch {
			case !ok:
				p.add(pathf("%s.people[%d]", base, j), "no person %q in people", id)
			case !hasPhone:
				p.add(pathf("%s.people[%d]", base, j), "person %q has no phone to text or @", id)
			}
		}
		for j, ph := range r.Phones {
			if !phoneRE.MatchString(ph) {
				p.add(pathf("%s.phones[%d]", base, j), "%q is not a phone number (11 digits, or +86…)", ph)
			}
		}
		for _, tod := range []struct{ key, v string }{{"from", r.From}, {"to", r.To}} {
			if tod.v != "" && !todRE.MatchString(tod.v) {
				p.add(base+"."+tod.key, "%q is not a time of day like 08:00", tod.v)
			}
		}
		if r.Days != "" && r.Days != "workdays" && r.Days != "offdays" {
			p.add(base+".days", "%q: use workdays or offdays (empty: every day)", r.Days)
		}
		if (r.From == "") != (r.To == "") {
			p.add(base, "from and to go together")
		}
		if r.RepeatEvery < 0 || r.RepeatMax < 0 {
			p.add(base, "repeat_every and repeat_max must not be negative")
		}
		if r.RepeatMax > 0 && r.RepeatEvery == 0 {
			p.add(base+".repeat_every", "repeat_max needs repeat_every")
		}
	}
	for _, tp := range []struct{ key, text string }{{"notify.templates.notice", n.Templates.Notice}, {"notify.templates.sms", n.Templates.SMS}} {
		if tp.text == "" {
			continue
		}
		if _, err := ParseNotifyTemplate(tp.key, tp.text); err != nil {
			line := p.line(tp.key)
			msg := err.Error()
			if m := tmplLineRE.FindStringSubmatch(msg); m != nil {
				// A block scalar (|) starts on the line after its key.
				off, _ := strconv.Atoi(m[1])
				if strings.Contains(tp.text, "\n") {
					line += off
				}
				msg = m[3]
			}
			p.addAt(line, tp.key, "template: %s (fields: %s)", msg, strings.Join(NotifyTemplateFields, ", "))
		}
	}
}

var phoneRE = regexp.MustCompile(`^\+?[0-9]{6,15}$`)

func notifyChannelDefaults(ch *NotifyChannel) {
	def(&ch.Name, ch.ID)
	def(&ch.RateWindow, time.Minute)
	def(&ch.Timeout, 10*time.Second)
	switch ch.Type {
	case "wecom", "dingtalk":
		def(&ch.Format, "markdown")
		def(&ch.RateLimit, 20)
		switch {
		case ch.Type == "dingtalk":
			def(&ch.MaxBytes, 20000)
		case ch.Format == "text":
			def(&ch.MaxBytes, 2048)
		default:
			def(&ch.MaxBytes, 4096)
		}
	case "sms":
		def(&ch.Format, "text")
		def(&ch.Spacing, 30*time.Second)
		switch ch.Provider {
		case "alibaba":
			def(&ch.URL, "https://dysmsapi.aliyuncs.com/")
			def(&ch.DailyBudget, 50)
		case "tencent":
			def(&ch.URL, "https://sms.tencentcloudapi.com/")
			def(&ch.Region, "ap-guangzhou")
			def(&ch.DailyBudget, 10)
		default:
			def(&ch.DailyBudget, 10)
		}
	default:
		def(&ch.Format, "text")
	}
}

// RedactSecretURL hides the credential a robot URL carries (access_token,
// key) so it can be logged or shown in an error.
func RedactSecretURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	q := u.Query()
	for _, k := range []string{"access_token", "key", "token", "sign"} {
		if q.Has(k) {
			q.Set(k, "***")
		}
	}
	u.RawQuery = q.Encode()
	if u.User != nil {
		u.User = url.User("***")
	}
	return u.String()
}

// String keeps secrets out of logs when a channel is printed.
func (ch NotifyChannel) String() string {
	return fmt.Sprintf("%s(%s %s)", ch.ID, ch.Type, RedactSecretURL(ch.URL))
}
