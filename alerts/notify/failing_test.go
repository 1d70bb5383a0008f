package notify

import (
	"strings"
	"testing"
	"time"

	"snowhub/alerts/notify/vendorfake"
)

// A wrong DingTalk secret: the robot answers 310000, the channel shows
// failing (Status, Ready for /readyz, the metric), the notices stay queued
// and nothing is lost; a reload with the right secret delivers the backlog.
// The secret never appears in what the channel reports.
func TestWrongDingTalkSecretThenReload(t *testing.T) {
	ding := vendorfake.NewDingTalk()
	defer ding.Close()
	ding.AddRobot("zr", "SECright", "")
	yaml := func(secret string) string {
		return `  channels:
    - {id: zr-ding, name: 昭仁街道群, type: dingtalk, url: "` + ding.RobotURL("zr") + `", secret: ` + secret + `}
  routes:
    - {townships: [zhaoren], channels: [zr-ding]}
`
	}
	src := NewMemSource()
	n := startNotifier(t, t.TempDir(), parseNotify(t, yaml("SECwrong")), src, nil)
	var ids []string
	for i := range 5 {
		s := openStep(i, "zhaoren", "major")
		ids = append(ids, s.Incident)
		src.Add(s)
	}
	waitFor(t, 5*time.Second, "the channel failing", func() bool { return n.Ready() != nil })
	st := n.Status()[0]
	if st.State != "failing" || !strings.Contains(st.LastError, "310000") {
		t.Fatalf("status %+v", st)
	}
	if err := n.Ready().Error(); !strings.Contains(err, "昭仁街道群") || strings.Contains(err, "SECwrong") {
		t.Errorf("Ready() = %q", err)
	}
	if len(ding.Messages()) != 0 {
		t.Fatalf("the robot accepted %d messages with a wrong signature", len(ding.Messages()))
	}
	waitFor(t, 5*time.Second, "the backlog counted", func() bool { return n.Status()[0].Queued == 5 })

	if err := n.Update(parseNotify(t, yaml("SECright"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the backlog delivered", func() bool {
		var texts []string
		for _, m := range ding.Messages() {
			texts = append(texts, m.Content)
		}
		return len(missing(ids, texts)) == 0
	})
	waitFor(t, 2*time.Second, "the channel ok", func() bool { return n.Ready() == nil && n.Status()[0].Queued == 0 })
}

// A robot whose cap is smaller than configured (40058): the digest is split
// smaller until it fits, and every id arrives.
func TestTooLongSplitsSmaller(t *testing.T) {
	wc := vendorfake.NewWeCom()
	defer wc.Close()
	wc.AddRobot("k")
	// The steps wait before the notifier starts, so its first send is one
	// digest of all 80, longer than the robot takes (whether a live stream
	// of steps forms a long digest depends on timing).
	src := NewMemSource()
	var ids []string
	for i := range 80 {
		s := openStep(i, "zhaoren", "minor")
		ids = append(ids, s.Incident)
		src.Add(s)
	}
	n := startNotifier(t, t.TempDir(), parseNotify(t, `  channels:
    - {id: g, name: 群, type: wecom, url: "`+wc.RobotURL("k")+`", max_bytes: 16000, rate_limit: 3}
  routes:
    - {channels: [g]}
`), src, nil)
	waitFor(t, 10*time.Second, "every id", func() bool {
		var texts []string
		for _, m := range wc.Messages() {
			texts = append(texts, m.Content)
		}
		return len(missing(ids, texts)) == 0
	})
	if wc.Refused()["40058"] == 0 {
		t.Errorf("the fake never refused a long body; the test did not test the split")
	}
	if st := n.Status()[0]; st.State == "failing" {
		t.Errorf("status %+v", st)
	}
}

// A webhook that refuses a step for good (400) hands it to the route's
// next channel, and the history says so.
func TestRejectedFallsToNextChannel(t *testing.T) {
	gw := vendorfake.NewGateway("tok-123456")
	defer gw.Close()
	rejecting := newStatusServer(t, 400)
	src := NewMemSource()
	n := startNotifier(t, t.TempDir(), parseNotify(t, `  channels:
    - {id: hook, name: 12345平台, type: webhook, url: "`+rejecting+`", secret: s3cret}
    - {id: gw, name: 短信网关, type: sms, provider: http, url: "`+gw.URL+`", secret: tok-123456}
  routes:
    - {channels: [hook, gw], people: [li]}
`), src, nil)
	s := openStep(1, "zhaoren", "critical")
	src.Add(s)
	waitFor(t, 5*time.Second, "the text", func() bool { return len(gw.Messages()) == 1 })
	// The gateway has the text before the notifier has its answer and
	// records the delivery: wait for the record.
	var joined string
	waitFor(t, 5*time.Second, "both notices in the history", func() bool {
		lines, _ := n.HistoryLines(s.Incident)
		joined = strings.Join(lines, "\n")
		return strings.Contains(joined, "接口推送 12345平台 转下一渠道") && strings.Contains(joined, "短信 短信网关 13800000001 已送达")
	})
	if len(gw.Messages()) != 1 {
		t.Errorf("%d texts sent, want 1; history:\n%s", len(gw.Messages()), joined)
	}
}
