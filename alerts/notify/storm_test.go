package notify

import (
	"strings"
	"testing"
	"time"

	"snowhub/alerts/notify/vendorfake"
)

// The storm of the issue, with a minute shortened to one second: 200
// incidents in one second (10 s scaled) across two townships, one on
// DingTalk and one on WeCom. Each group gets at most 20 messages in any
// window, the robots never answer "too fast", every incident id reaches its
// own township's group, and no group sees the other township's.
func TestStormTwoTownships(t *testing.T) {
	const window = time.Second
	ding := vendorfake.NewDingTalk()
	defer ding.Close()
	ding.Window, ding.Block = window, 10*window
	ding.AddRobot("zr-token", "SECzhaoren", "")
	wc := vendorfake.NewWeCom()
	defer wc.Close()
	wc.Window = window
	wc.AddRobot("xg-key")

	cfg := parseNotify(t, `  public_url: https://hub.example.cn
  channels:
    - {id: zr-ding, name: 昭仁街道群, type: dingtalk, url: "`+ding.RobotURL("zr-token")+`", secret: SECzhaoren, rate_window: 1s}
    - {id: xg-wecom, name: 相公镇群, type: wecom, url: "`+wc.RobotURL("xg-key")+`", rate_window: 1s}
  routes:
    - {name: 昭仁, townships: [zhaoren], channels: [zr-ding]}
    - {name: 相公, townships: [xianggong], channels: [xg-wecom]}
`)
	src := NewMemSource()
	n := startNotifier(t, t.TempDir(), cfg, src, nil)

	var zr, xg []string
	sevs := []string{"critical", "major", "minor"}
	start := time.Now()
	for i := range 200 {
		town := "zhaoren"
		if i%2 == 1 {
			town = "xianggong"
		}
		s := openStep(i, town, sevs[i%3])
		if town == "zhaoren" {
			zr = append(zr, s.Incident)
		} else {
			xg = append(xg, s.Incident)
		}
		src.Add(s)
		time.Sleep(5 * time.Millisecond)
	}
	texts := func(msgs []vendorfake.Received) []string {
		var out []string
		for _, m := range msgs {
			out = append(out, m.Content)
		}
		return out
	}
	waitFor(t, 20*time.Second, "every id delivered", func() bool {
		return len(missing(zr, texts(ding.Messages()))) == 0 && len(missing(xg, texts(wc.Messages()))) == 0
	})
	t.Logf("all 200 ids delivered %s after the storm began; DingTalk %d messages, WeCom %d",
		time.Since(start).Round(time.Millisecond), len(ding.Messages()), len(wc.Messages()))

	if got := vendorfake.MaxInWindow(ding.Messages(), "zr-token", window); got > 20 {
		t.Errorf("DingTalk group got %d messages in one window; the robot accepts 20", got)
	}
	if got := vendorfake.MaxInWindow(wc.Messages(), "xg-key", window); got > 20 {
		t.Errorf("WeCom group got %d messages in one window; the robot accepts 20", got)
	}
	if r := ding.Refused(); len(r) > 0 {
		t.Errorf("DingTalk refused: %v", r)
	}
	if r := wc.Refused(); len(r) > 0 {
		t.Errorf("WeCom refused: %v", r)
	}
	for _, m := range ding.Messages() {
		if strings.Contains(m.Content, "INC-xi") || strings.Contains(m.Content, "相公") {
			t.Fatalf("昭仁 group saw 相公镇's incident: %s", m.Content)
		}
	}
	for _, m := range wc.Messages() {
		if strings.Contains(m.Content, "INC-zh") || strings.Contains(m.Content, "昭仁") {
			t.Fatalf("相公 group saw 昭仁街道's incident: %s", m.Content)
		}
		if len(m.Content) > 4096 {
			t.Errorf("WeCom markdown of %d bytes", len(m.Content))
		}
	}
	// A digest puts the most severe first.
	for _, m := range ding.Messages() {
		if strings.Contains(m.Content, "事件汇总") {
			c, mi := strings.Index(m.Content, "【紧急】"), strings.Index(m.Content, "【一般】")
			if c >= 0 && mi >= 0 && mi < c {
				t.Errorf("digest lists 一般 before 紧急:\n%s", m.Content)
			}
		}
	}
	lines, _ := n.HistoryLines(zr[0])
	if len(lines) == 0 || !strings.Contains(lines[0], "钉钉 昭仁街道群 已送达") {
		t.Errorf("history of %s: %q", zr[0], lines)
	}
}
