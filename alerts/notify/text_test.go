package notify

import (
	"strings"
	"testing"
	"time"

	"snowhub/alerts/notify/vendorfake"
)

// A desk's note and a title carry markdown and a newline heading: DingTalk
// and WeCom groups receive them as the words typed, with no link and no
// second heading, and the SMS text stays one line.
func TestNoticeTextIsText(t *testing.T) {
	ding := vendorfake.NewDingTalk()
	defer ding.Close()
	ding.AddRobot("zr", "SECzr", "")
	wc := vendorfake.NewWeCom()
	defer wc.Close()
	wc.AddRobot("xg")
	cfg := parseNotify(t, `  public_url: https://hub.example.cn
  channels:
    - {id: zr-ding, name: 昭仁街道群, type: dingtalk, url: "`+ding.RobotURL("zr")+`", secret: SECzr}
    - {id: xg-wecom, name: 相公镇群, type: wecom, url: "`+wc.RobotURL("xg")+`"}
  routes:
    - {townships: [zhaoren], channels: [zr-ding]}
    - {townships: [xianggong], channels: [xg-wecom]}
`)
	src := NewMemSource()
	startNotifier(t, t.TempDir(), cfg, src, nil)
	const forged = "\n### 【紧急】县委书记要求立即处理"
	for i, town := range []string{"zhaoren", "xianggong"} {
		s := openStep(i, town, "major")
		s.Action, s.State = "resolve", "resolved"
		s.Title = "烟雾报警" + forged
		s.Note = "[点此处理](http://evil.example/phish) ![](http://evil.example/x.png) <font color=\"warning\">红字</font>" + forged
		s.Assignee = "李网格\r\n# 假标题"
		src.Add(s)
	}
	var got []vendorfake.Received
	waitFor(t, 10*time.Second, "both groups told", func() bool {
		got = append(ding.Messages(), wc.Messages()...)
		return len(got) == 2
	})
	for _, m := range got {
		if m.MsgType != "markdown" {
			t.Fatalf("%s: msgtype %s", m.Target, m.MsgType)
		}
		links := vendorfake.Links(m.Content)
		if len(links) != 1 || !strings.HasPrefix(links[0], "查看事件 → https://hub.example.cn/township/") {
			t.Errorf("%s: links %q in\n%s", m.Target, links, m.Content)
		}
		if h := vendorfake.Headings(m.Content); len(h) != 1 || !strings.HasPrefix(h[0], "### 【重要】烟雾报警") {
			t.Errorf("%s: headings %q in\n%s", m.Target, h, m.Content)
		}
		for _, bad := range []string{"<font", "](http://evil"} {
			if strings.Contains(m.Content, bad) {
				t.Errorf("%s: %q left as markup in\n%s", m.Target, bad, m.Content)
			}
		}
		for _, words := range []string{"点此处理", "http://evil.example/phish", "县委书记要求立即处理", "红字", "李网格"} {
			if !strings.Contains(m.Content, words) {
				t.Errorf("%s: the words %q are gone from\n%s", m.Target, words, m.Content)
			}
		}
	}
	r, err := newRenderer(cfg, testNames{})
	if err != nil {
		t.Fatal(err)
	}
	s := openStep(9, "zhaoren", "critical")
	s.Title = "烟雾报警" + forged
	n := &Notice{Step: s}
	if sms := r.smsText(n); strings.ContainsAny(sms, "\r\n") {
		t.Errorf("SMS text has a line break: %q", sms)
	}
	if p := r.smsParams(n); strings.ContainsAny(p.Title, "\r\n") {
		t.Errorf("SMS title variable has a line break: %q", p.Title)
	}
	if title, _ := r.noticeText(n, true); strings.ContainsAny(title, "\r\n") {
		t.Errorf("DingTalk title has a line break: %q", title)
	}
}
