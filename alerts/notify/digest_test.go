package notify

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"snowhub/configs"
)

func TestDigestFitsTheCapAndListsEveryID(t *testing.T) {
	r, err := newRenderer(configs.NotifyConfig{TimeZone: "Asia/Shanghai", PublicURL: "https://hub.example.cn"}, testNames{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		n        int
		markdown bool
		max      int
	}{
		{"WeCom markdown, 300 incidents", 300, true, 4096},
		{"WeCom text, 300 incidents", 300, false, 2048},
		{"DingTalk, 300 incidents", 300, true, 20000},
		{"WeCom markdown, 60 incidents (full lines)", 60, true, 4096},
		{"one incident", 1, true, 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ns []*Notice
			var ids []string
			for i := range tt.n {
				town := []string{"zhaoren", "xianggong"}[i%2]
				s := openStep(i, town, []string{"minor", "major", "critical"}[i%3])
				s.Title = strings.Repeat("很长的标题", 10)
				ns = append(ns, &Notice{Step: s})
				ids = append(ids, s.Incident)
			}
			msgs := r.digest(ns, tt.markdown, tt.max, "告警")
			var texts []string
			carried := 0
			for i, m := range msgs {
				if len(m.Text) > tt.max {
					t.Errorf("part %d is %d bytes, cap %d", i+1, len(m.Text), tt.max)
				}
				if !strings.Contains(m.Text, "告警") {
					t.Errorf("part %d lacks the keyword", i+1)
				}
				if len(msgs) > 1 && !strings.Contains(m.Text, fmt.Sprintf("（%d/%d）", i+1, len(msgs))) {
					t.Errorf("part %d is not numbered", i+1)
				}
				texts = append(texts, m.Text)
				carried += len(m.Notices)
			}
			if miss := missing(ids, texts); len(miss) > 0 {
				t.Errorf("%d ids in no part, e.g. %s", len(miss), miss[0])
			}
			if carried != tt.n {
				t.Errorf("parts carry %d notices, want %d", carried, tt.n)
			}
			first := msgs[0].Text
			if tt.n == 300 && !strings.Contains(first, "昭仁街道：紧急 50 · 重要 50 · 一般 50") {
				t.Errorf("counts by township and severity missing:\n%s", first[:min(len(first), 600)])
			}
			// Most severe first, across the parts.
			lastCrit, firstMajor := -1, -1
			for i, l := range strings.Split(strings.Join(texts, "\n"), "\n") {
				if !strings.Contains(l, "INC-") {
					continue
				}
				if strings.Contains(l, "紧急") {
					lastCrit = i
				}
				if strings.Contains(l, "重要") && firstMajor < 0 {
					firstMajor = i
				}
			}
			if tt.n > 2 && (lastCrit < 0 || firstMajor < 0 || lastCrit > firstMajor) {
				t.Errorf("紧急 lines end at %d, 重要 lines begin at %d", lastCrit, firstMajor)
			}
		})
	}
}

func TestNoticeTextAndTemplate(t *testing.T) {
	c := configs.NotifyConfig{TimeZone: "Asia/Shanghai", PublicURL: "https://hub.example.cn/"}
	r, _ := newRenderer(c, testNames{})
	s := openStep(3, "zhaoren", "critical")
	s.Deadline = time.Date(2026, 11, 25, 0, 30, 0, 0, time.UTC)
	r.now = func() time.Time { return s.Deadline.Add(-time.Minute) }
	n := &Notice{Step: s, People: []Person{{Name: "李网格", Phone: "13800000001"}}}
	_, text := r.noticeText(n, true)
	for _, want := range []string{"【紧急】烟雾报警", "昭仁街道 东街社区", "新事件", "11-25 08:30 前",
		"https://hub.example.cn/township/zhaoren?incident=INC-zh-0003", "@13800000001", "步骤 s3"} {
		if !strings.Contains(text, want) {
			t.Errorf("notice lacks %q:\n%s", want, text)
		}
	}
	c.Templates.Notice = "{{.SeverityName}}｜{{.Place}}｜{{.Title}}｜{{.Deadline}}"
	r, err := newRenderer(c, testNames{})
	if err != nil {
		t.Fatal(err)
	}
	if _, text := r.noticeText(n, true); text != "紧急｜昭仁街道 东街社区｜烟雾报警｜11-25 08:30" {
		t.Errorf("template gave %q", text)
	}
	// Every field configs promises a template is filled.
	f := r.fields(n, oneLine)
	for _, k := range configs.NotifyTemplateFields {
		if _, ok := f[k]; !ok {
			t.Errorf("field %s promised to templates is not filled", k)
		}
	}
	if len(f) != len(configs.NotifyTemplateFields) {
		t.Errorf("fields() has %d keys, configs lists %d", len(f), len(configs.NotifyTemplateFields))
	}
}

// Reminders repeat with the same step id until the awaited step is taken;
// an acknowledgement stops them too.
func TestRepeatsUntilAcceptedOrAcknowledged(t *testing.T) {
	src := NewMemSource()
	hook := newHookRecorder(t, "s3cret")
	cfg := parseNotify(t, `  channels:
    - {id: hook, type: webhook, url: "`+hook.URL+`", secret: s3cret}
  routes:
    - {channels: [hook], steps: [open], repeat_every: 150ms, repeat_max: 20, until: [accept]}
`)
	startNotifier(t, t.TempDir(), cfg, src, nil)
	a, b := openStep(1, "zhaoren", "critical"), openStep(2, "xianggong", "major")
	src.Add(a, b)
	waitFor(t, 5*time.Second, "two reminders each", func() bool { return hook.count(a.ID) >= 3 && hook.count(b.ID) >= 3 })
	acc := a
	acc.ID, acc.Action = "s1-accept", "accept"
	ack := b
	ack.ID, ack.Action = "s2-ack", "acknowledge"
	src.Add(acc, ack)
	time.Sleep(100 * time.Millisecond)
	na, nb := hook.count(a.ID), hook.count(b.ID)
	time.Sleep(600 * time.Millisecond)
	if hook.count(a.ID) != na || hook.count(b.ID) != nb {
		t.Errorf("reminders went on after accept (%d→%d) / acknowledge (%d→%d)", na, hook.count(a.ID), nb, hook.count(b.ID))
	}
	for _, r := range hook.repeats(a.ID) {
		if r < 0 || r > 20 {
			t.Errorf("repeat number %d", r)
		}
	}
}

func TestRecordLine(t *testing.T) {
	at := time.Date(2026, 11, 25, 0, 14, 3, 0, time.UTC)
	tests := []struct {
		r    Record
		want string
	}{
		{Record{Type: "dingtalk", ChannelName: "昭仁街道群", Result: "delivered", Action: "open", At: at}, "钉钉 昭仁街道群 已送达 08:14:03（新事件）"},
		{Record{Type: "wecom", ChannelName: "相公镇群", Result: "delivered", Action: "supervise", Digest: true, Repeat: 2, At: at},
			"企业微信 相公镇群 已送达 08:14:03（督办，汇总，第2次提醒）"},
		{Record{Type: "sms", ChannelName: "阿里云短信", To: "13800000001", Result: "moved", Action: "open", At: at, Detail: "isv.BUSINESS_LIMIT_CONTROL 触发天级流控Permits:50"},
			"短信 阿里云短信 13800000001 转下一渠道 08:14:03（新事件）：isv.BUSINESS_LIMIT_CONTROL 触发天级流控Permits:50"},
	}
	for _, tt := range tests {
		if got := tt.r.Line(nil); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}

func TestRouteMatching(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	sat := time.Date(2026, 11, 28, 23, 30, 0, 0, loc) // Saturday night
	mon := time.Date(2026, 11, 30, 10, 0, 0, 0, loc)  // Monday morning
	step := func(at time.Time, town, sev, action string, tier int) *Step {
		return &Step{At: at, Township: town, Severity: sev, Action: action, Tier: tier}
	}
	tests := []struct {
		name  string
		route configs.NotifyRoute
		s     *Step
		want  bool
	}{
		{"empty matches all", configs.NotifyRoute{}, step(mon, "zhaoren", "minor", "open", 0), true},
		{"empty skips update", configs.NotifyRoute{}, step(mon, "zhaoren", "minor", "update", 0), false},
		{"named update", configs.NotifyRoute{Steps: []string{"update"}}, step(mon, "zhaoren", "minor", "update", 0), true},
		{"acknowledge to a group", configs.NotifyRoute{Channels: []string{"zr-ding"}}, step(mon, "zhaoren", "critical", "acknowledge", 0), false},
		{"acknowledge to SMS after a webhook", configs.NotifyRoute{Channels: []string{"hook", "sms"}}, step(mon, "zhaoren", "critical", "acknowledge", 0), false},
		{"acknowledge named", configs.NotifyRoute{Steps: []string{"open", "acknowledge"}, Channels: []string{"zr-ding"}}, step(mon, "zhaoren", "critical", "acknowledge", 0), true},
		{"acknowledge to a webhook", configs.NotifyRoute{Channels: []string{"hook"}}, step(mon, "zhaoren", "critical", "acknowledge", 0), true},
		{"other township", configs.NotifyRoute{Townships: []string{"zhaoren"}}, step(mon, "xianggong", "critical", "open", 0), false},
		{"severity", configs.NotifyRoute{Severities: []string{"critical"}}, step(mon, "zhaoren", "major", "open", 0), false},
		{"night window across midnight", configs.NotifyRoute{From: "22:00", To: "07:00"}, step(sat, "zhaoren", "major", "open", 0), true},
		{"night window, morning", configs.NotifyRoute{From: "22:00", To: "07:00"}, step(mon, "zhaoren", "major", "open", 0), false},
		{"workdays, Saturday", configs.NotifyRoute{Days: "workdays"}, step(sat, "zhaoren", "major", "open", 0), false},
		{"offdays, Saturday", configs.NotifyRoute{Days: "offdays"}, step(sat, "zhaoren", "major", "open", 0), true},
		{"tier 3 only, tier 2", configs.NotifyRoute{Steps: []string{"supervise"}, Tiers: []int{3}}, step(mon, "zhaoren", "major", "supervise", 2), false},
		{"tier 3 only, tier 3", configs.NotifyRoute{Steps: []string{"supervise"}, Tiers: []int{3}}, step(mon, "zhaoren", "major", "supervise", 3), true},
		{"unsatisfied", configs.NotifyRoute{Steps: []string{"unsatisfied"}}, &Step{At: mon, Action: "evaluate", Rating: "unsatisfied"}, true},
		{"satisfied is not unsatisfied", configs.NotifyRoute{Steps: []string{"unsatisfied"}}, &Step{At: mon, Action: "evaluate", Rating: "satisfied"}, false},
	}
	chans := []configs.NotifyChannel{{ID: "zr-ding", Type: "dingtalk"}, {ID: "hook", Type: "webhook"}, {ID: "sms", Type: "sms"}}
	r := &renderer{}
	for _, tt := range tests {
		rt := newRoutes([]configs.NotifyRoute{tt.route}, chans)[0]
		if got := rt.matches(tt.s, r.action(tt.s), loc, weekdays(loc)); got != tt.want {
			t.Errorf("%s: matches = %v, want %v", tt.name, got, tt.want)
		}
	}
}
