package vendorfake

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"net/url"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func post(t *testing.T, u string, body any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(u, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out
}

func dingURL(d *DingTalk, token, secret string, ts time.Time) string {
	ms := ts.UnixMilli()
	return d.RobotURL(token) + "&timestamp=" + strconv.FormatInt(ms, 10) + "&sign=" + url.QueryEscape(DingSign(secret, ms))
}

func TestDingTalkChecksSignatureWindowAndRate(t *testing.T) {
	d := NewDingTalk()
	defer d.Close()
	c := &clock{t: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)}
	d.Now = c.now
	d.AddRobot("T1", "SECgood", "")
	text := map[string]any{"msgtype": "text", "text": map[string]string{"content": "测试"}}
	code := func(u string) int { return int(post(t, u, text)["errcode"].(float64)) }

	if got := code(dingURL(d, "T1", "SECwrong", c.t)); got != DingSecurity {
		t.Errorf("wrong secret: errcode %d, want %d", got, DingSecurity)
	}
	if got := code(dingURL(d, "T1", "SECgood", c.t.Add(-61*time.Minute))); got != DingSecurity {
		t.Errorf("timestamp 61 min old: errcode %d, want %d", got, DingSecurity)
	}
	if got := code(dingURL(d, "T1", "SECgood", c.t.Add(-59*time.Minute))); got != 0 {
		t.Errorf("timestamp 59 min old: errcode %d, want 0", got)
	}
	if got := code(dingURL(d, "T9", "SECgood", c.t)); got != DingTokenMissing {
		t.Errorf("unknown token: errcode %d", got)
	}
	for i := 2; i <= 20; i++ {
		if got := code(dingURL(d, "T1", "SECgood", c.t)); got != 0 {
			t.Fatalf("message %d: errcode %d", i, got)
		}
	}
	if got := code(dingURL(d, "T1", "SECgood", c.t)); got != DingTooFast {
		t.Fatalf("21st in a minute: errcode %d, want %d", got, DingTooFast)
	}
	c.t = c.t.Add(2 * time.Minute) // the window passed, the block did not
	if got := code(dingURL(d, "T1", "SECgood", c.t)); got != DingTooFast {
		t.Fatalf("inside the 10-minute block: errcode %d, want %d", got, DingTooFast)
	}
	c.t = c.t.Add(9 * time.Minute)
	if got := code(dingURL(d, "T1", "SECgood", c.t)); got != 0 {
		t.Fatalf("after the block: errcode %d", got)
	}
	long := map[string]any{"msgtype": "text", "text": map[string]string{"content": strings.Repeat("长", 7000)}}
	if got := int(post(t, dingURL(d, "T1", "SECgood", c.t), long)["errcode"].(float64)); got != DingTooLong {
		t.Errorf("21,000-byte body: errcode %d, want %d", got, DingTooLong)
	}
	if n := len(d.Messages()); n != 21 {
		t.Errorf("accepted %d, want 21", n)
	}
}

func TestWeComRateAndSizes(t *testing.T) {
	f := NewWeCom()
	defer f.Close()
	c := &clock{t: time.Now()}
	f.Now = c.now
	f.AddRobot("K1")
	send := func(typ, content string) int {
		body := map[string]any{"msgtype": typ, typ: map[string]string{"content": content}}
		return int(post(t, f.RobotURL("K1"), body)["errcode"].(float64))
	}
	if got := send("text", strings.Repeat("a", 2049)); got != WeComTooLong {
		t.Errorf("2,049-byte text: %d", got)
	}
	if got := send("markdown", strings.Repeat("a", 4097)); got != WeComTooLong {
		t.Errorf("4,097-byte markdown: %d", got)
	}
	if got := send("markdown", strings.Repeat("a", 4096)); got != 0 {
		t.Errorf("4,096-byte markdown: %d", got)
	}
	for i := 2; i <= 20; i++ {
		if got := send("text", "ok"); got != 0 {
			t.Fatalf("message %d: %d", i, got)
		}
	}
	if got := send("text", "ok"); got != WeComFreqLimit {
		t.Fatalf("21st: %d, want %d", got, WeComFreqLimit)
	}
	c.t = c.t.Add(61 * time.Second)
	if got := send("text", "ok"); got != 0 {
		t.Fatalf("next minute: %d", got)
	}
	if got := int(post(t, f.URL+"/cgi-bin/webhook/send?key=nope", map[string]any{"msgtype": "text"})["errcode"].(float64)); got != WeComBadKey {
		t.Errorf("unknown key: %d", got)
	}
	if got := MaxInWindow(f.Messages(), "K1", time.Minute); got != 20 {
		t.Errorf("MaxInWindow = %d", got)
	}
}

func TestMaxInWindow(t *testing.T) {
	t0 := time.Unix(0, 0)
	var msgs []Received
	for i := range 30 {
		msgs = append(msgs, Received{At: t0.Add(time.Duration(i) * 3 * time.Second), Target: "a"})
	}
	// One every 3 s: 20 in any 60 s span.
	if got := MaxInWindow(msgs, "a", time.Minute); got != 20 {
		t.Errorf("got %d, want 20", got)
	}
}
