package notify

import (
	"strings"
	"testing"
	"time"

	"snowhub/alerts/notify/vendorfake"
	"snowhub/internal/event"
)

// The steps of a matter the hub dispatched by itself, with the notes the
// engine writes in both languages: the township's group reads Chinese only
// (no run of three English words), a 督办 past its deadline says how long
// it has been late instead of "before" a time gone by, and an operator's
// 确认 on the wall reaches only a route that names it.
func TestMessagesToPeopleAreChinese(t *testing.T) {
	ding := vendorfake.NewDingTalk()
	defer ding.Close()
	ding.AddRobot("zr", "SECzr", "")
	ding.AddRobot("wall", "SECwall", "")
	cfg := parseNotify(t, `  public_url: https://hub.example.cn
  channels:
    - {id: zr-ding, name: 昭仁街道群, type: dingtalk, url: "`+ding.RobotURL("zr")+`", secret: SECzr}
    - {id: wall-ding, name: 指挥中心群, type: dingtalk, url: "`+ding.RobotURL("wall")+`", secret: SECwall}
  routes:
    - {townships: [zhaoren], channels: [zr-ding]}
    - {name: wall, steps: [acknowledge], channels: [wall-ding]}
`)
	// A clock that stands still (DingTalk checks the signature's time
	// against its own, so it is today's).
	now := time.Now()
	due := now.Add(-(2*time.Hour + 15*time.Minute))
	dueText := due.In(time.FixedZone("CST", 8*3600)).Format("01-02 15:04")
	src := NewMemSource()
	startNotifier(t, t.TempDir(), cfg, src, func(o *Options) { o.Now = func() time.Time { return now } })
	step := func(id, action, note string) Step {
		s := openStep(0, "zhaoren", "major")
		s.ID, s.Action, s.Note, s.At, s.Deadline, s.By = id, action, note, now, now.Add(30*time.Minute), "system"
		return s
	}
	super := step("s-super", "supervise", event.Bilingual("县联络办督办：接单 超期（期限 12-04 01:30）", "county liaison office, tier 1: accept overdue since 12-04 01:30"))
	super.Tier, super.Deadline = 1, due
	ack := step("s-ack", "acknowledge", event.Bilingual("已确认告警（不代替接单）", "alarm acknowledged (not an accept)"))
	ack.By = "county-ops"
	src.Add(step("s-open", "open", ""),
		step("s-dispatch", "dispatch", event.Bilingual("自动派单到镇", "automatic dispatch to the township desk")),
		super, ack,
		step("s-assign", "assign", event.Bilingual("派 李网格 实地走访", "sent on site")))
	var group []vendorfake.Received
	waitFor(t, 10*time.Second, "the township's group told of every step but the 确认", func() bool {
		group = nil
		for _, m := range ding.Messages() {
			if m.Target == "zr" {
				group = append(group, m)
			}
		}
		return len(group) >= 4 && strings.Contains(group[len(group)-1].Content, "s-assign")
	})
	var sawLate bool
	for _, m := range group {
		if runs := vendorfake.EnglishRuns(m.Content); len(runs) > 0 {
			t.Errorf("English %q in the group's message:\n%s", runs, m.Content)
		}
		if strings.Contains(m.Content, "s-ack") {
			t.Errorf("the wall's 确认 was posted to the township's group:\n%s", m.Content)
		}
		if strings.Contains(m.Content, "s-super") {
			sawLate = true
			if !strings.Contains(m.Content, dueText+"，已超时 2 小时 15 分") || strings.Contains(m.Content, dueText+" 前") {
				t.Errorf("a 督办 2 h 15 min late says:\n%s", m.Content)
			}
		}
	}
	if !sawLate {
		t.Errorf("no 督办 message in %d", len(group))
	}
	for _, want := range []string{"自动派单到镇", "派 李网格 实地走访", "县联络办督办"} {
		found := false
		for _, m := range group {
			found = found || strings.Contains(m.Content, want)
		}
		if !found {
			t.Errorf("the note %q is missing from the group's messages", want)
		}
	}
	waitFor(t, 10*time.Second, "the 确认 at the route that names it", func() bool {
		for _, m := range ding.Messages() {
			if m.Target == "wall" && strings.Contains(m.Content, "s-ack") {
				return true
			}
		}
		return false
	})

	r, err := newRenderer(cfg, testNames{})
	if err != nil {
		t.Fatal(err)
	}
	r.now = func() time.Time { return now }
	if sms := r.smsText(&Notice{Step: super}); !strings.Contains(sms, "已超时 2 小时 15 分") || strings.Contains(sms, "时限") {
		t.Errorf("SMS of a late 督办: %q", sms)
	}
	for d, want := range map[time.Duration]string{30 * time.Second: "已超时", 45 * time.Minute: "已超时 45 分",
		2*time.Hour + 15*time.Minute: "已超时 2 小时 15 分", 3 * time.Hour: "已超时 3 小时", 50 * time.Hour: "已超时 2 天 2 小时"} {
		if got := lateText(d); got != want {
			t.Errorf("lateText(%s) = %q, want %q", d, got, want)
		}
	}
}
