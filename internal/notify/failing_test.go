package notify

import (
	"strings"
	"testing"
	"time"

	"snowhub/internal/notify/vendorfake"
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
