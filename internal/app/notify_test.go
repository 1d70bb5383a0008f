package app

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"snowhub/alerts/notify"
	"snowhub/alerts/notify/vendorfake"
	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
)

// The real process, notified through fakes of DingTalk, WeCom and a 12345
// webhook: a SIGKILL mid-storm loses no notice (every incident's open step
// reaches the webhook and its township's group after the restart, a repeat
// with the same step id); the DingTalk robot with a wrong secret shows in
// /readyz while its notices wait; a reload
// with the right secret delivers the backlog; and the incident's history
// lists the notices sent.
func TestNotifyRealProcess(t *testing.T) {
	mq := testenv.StartMosquitto(t)
	dir := t.TempDir()
	ding := vendorfake.NewDingTalk()
	defer ding.Close()
	ding.Window = time.Second
	ding.AddRobot("t1tok", "SECright-0123", "")
	wc := vendorfake.NewWeCom()
	defer wc.Close()
	wc.Window = time.Second
	wc.AddRobot("t2key")
	var mu sync.Mutex
	hooked := map[string][]string{} // incident → step ids, in arrival order
	hits := 0
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get(notify.SignatureHeader) != notify.Sign("hooksecret-123", body) {
			http.Error(w, "bad signature", http.StatusForbidden)
			return
		}
		time.Sleep(20 * time.Millisecond) // a slow receiver: the kill comes mid-storm
		var b notify.WebhookBody
		_ = json.Unmarshal(body, &b)
		mu.Lock()
		hooked[b.Incident] = append(hooked[b.Incident], r.Header.Get(notify.StepHeader))
		hits++
		mu.Unlock()
	}))
	defer hook.Close()

	port := testenv.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	const alarms = 40
	writeConfig := func(dingSecret string) string {
		var c strings.Builder
		fmt.Fprintf(&c, "listen: 127.0.0.1:%d\ndata_dir: %s\nmqtt: {broker: %q, client_id: snowhub-notify}\n", port, filepath.Join(dir, "data"), mq.URL)
		c.WriteString("influx: {url: \"http://127.0.0.1:1\"}\ncounty: {id: c, name: 长武县}\ntownships:\n" +
			"  - id: t1\n    name: 昭仁街道\n    villages: [{id: v1, name: 东街社区}]\n" +
			"  - id: t2\n    name: 相公镇\n    villages: [{id: v2, name: 相公村}]\nsensors:\n")
		for i := 0; i < alarms; i++ {
			fmt.Fprintf(&c, "  - {id: smoke-%02d, kind: smoke, village: v%d}\n", i, i%2+1)
		}
		// A notice per alarm is what this storm is about: smoke stays one
		// incident per device here instead of joining a storm (alerts.storm).
		c.WriteString("alerts: {storm: {per_device: [smoke]}}\n")
		c.WriteString("users:\n  - {name: ops, role: operator, token: " + opsToken + "}\n")
		fmt.Fprintf(&c, `notify:
  public_url: %s
  channels:
    - {id: t1-ding, name: 昭仁街道群, type: dingtalk, url: %q, secret: %s, rate_window: 1s}
    - {id: t2-wecom, name: 相公镇群, type: wecom, url: %q, rate_window: 1s}
    - {id: hook, name: 12345平台, type: webhook, url: %q, secret: hooksecret-123}
  routes:
    - {townships: [t1], channels: [t1-ding]}
    - {townships: [t2], channels: [t2-wecom]}
    - {channels: [hook]}
`, base, ding.RobotURL("t1tok"), dingSecret, wc.RobotURL("t2key"), hook.URL)
		path := filepath.Join(dir, "snowhub.yaml")
		if err := os.WriteFile(path+".tmp", []byte(c.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
		return path
	}
	path := writeConfig("SECwrong-0123")

	hub := testenv.NewHub(t, path, port)
	get := func(url string, out any) {
		req, _ := http.NewRequest("GET", base+url, nil)
		req.Header.Set("Authorization", "Bearer "+opsToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		defer resp.Body.Close()
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	list := func() []event.Incident {
		var l []event.Incident
		get("/api/v1/incidents?state=all", &l)
		return l
	}

	hub.Start()
	pub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(mq.URL).SetClientID("notify-pub"))
	if tok := pub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer pub.Disconnect(100)
	for i := 0; i < alarms; i++ {
		pub.Publish(fmt.Sprintf("snowbright/sensors/smoke-%02d/event", i), 1, false, `{"value":1}`).WaitTimeout(5 * time.Second)
	}
	testenv.WaitFor(t, 30*time.Second, "the storm under way at the webhook", func() bool { mu.Lock(); defer mu.Unlock(); return hits >= 10 })
	hub.Kill()
	mu.Lock()
	before := hits
	mu.Unlock()
	hub.Start()

	testenv.WaitFor(t, 30*time.Second, "every alarm an incident", func() bool { return len(list()) >= alarms })
	incs := list()
	var t1, t2 []string
	for _, inc := range incs {
		if inc.Township == "t1" {
			t1 = append(t1, inc.ID)
		} else {
			t2 = append(t2, inc.ID)
		}
	}
	texts := func(msgs []vendorfake.Received) string {
		var b strings.Builder
		for _, m := range msgs {
			b.WriteString(m.Content + "\n")
		}
		return b.String()
	}
	testenv.WaitFor(t, 30*time.Second, "every incident at the webhook and 相公镇's group", func() bool {
		mu.Lock()
		defer mu.Unlock()
		all := texts(wc.Messages())
		for _, id := range t2 {
			if !strings.Contains(all, id) {
				return false
			}
		}
		for _, inc := range incs {
			if len(hooked[inc.ID]) == 0 {
				return false
			}
		}
		return true
	})
	// Every committed step (but alarms folded into an open incident,
	// which the route does not name) reaches the webhook.
	var box []event.OutboxEntry
	get("/api/v1/outbox?after=0&limit=10000", &box)
	testenv.WaitFor(t, 20*time.Second, "every step at the webhook", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, en := range box {
			if en.Action == "update" {
				continue
			}
			found := false
			for _, s := range hooked[en.Incident.ID] {
				found = found || s == fmt.Sprint(en.ID)
			}
			if !found {
				return false
			}
		}
		return len(box) >= 2*alarms
	})
	mu.Lock()
	// A step delivered twice (sent before the kill, not yet recorded) comes
	// with the same step id, and a step id always with the same incident.
	byStep := map[string]string{}
	distinct := 0
	for id, steps := range hooked {
		for _, s := range steps {
			if prev, ok := byStep[s]; ok && prev != id {
				t.Errorf("step %s came with incidents %s and %s", s, prev, id)
			} else if !ok {
				distinct++
			}
			byStep[s] = id
		}
	}
	t.Logf("webhook: %d deliveries before the kill, %d in all, %d distinct steps of %d incidents", before, hits, distinct, len(incs))
	mu.Unlock()
	if got := vendorfake.MaxInWindow(wc.Messages(), "t2key", time.Second); got > 20 {
		t.Errorf("相公镇's group got %d messages in a second", got)
	}
	if strings.Contains(texts(wc.Messages()), "昭仁") {
		t.Errorf("相公镇's group saw 昭仁街道's incidents")
	}

	// The wrong secret: reported in /readyz (which the InfluxDB this test
	// leaves out makes 503 anyway).
	r, _ := readyz(base)
	if !strings.Contains(r["notify"], "昭仁街道群") || !strings.Contains(r["notify"], "310000") {
		t.Fatalf("/readyz %v", r)
	}
	if strings.Contains(r["notify"], "SECwrong") {
		t.Fatalf("/readyz shows the secret")
	}
	if n := len(ding.Messages()); n != 0 {
		t.Fatalf("DingTalk accepted %d messages signed with the wrong secret", n)
	}
	// And to the county workbench.
	var chans []notify.ChannelStatus
	get("/api/v1/notify/channels", &chans)
	if len(chans) != 3 || chans[0].ID != "t1-ding" || chans[0].State != "failing" || chans[0].Queued == 0 {
		t.Fatalf("/api/v1/notify/channels: %+v", chans)
	}
	writeConfig("SECright-0123")
	hub.Reload()
	testenv.WaitFor(t, 30*time.Second, "昭仁街道's backlog after the reload", func() bool {
		all := texts(ding.Messages())
		for _, id := range t1 {
			if !strings.Contains(all, id) {
				return false
			}
		}
		return true
	})
	testenv.WaitFor(t, 10*time.Second, "notify ready", func() bool { r, _ := readyz(base); return r["notify"] == "ok" })

	// The history lists the notices (the API may ask a fast poller to
	// slow down, so this waits too).
	var joined string
	testenv.WaitFor(t, 10*time.Second, "the notices in the incident's history", func() bool {
		var inc event.Incident
		get("/api/v1/incidents/"+t1[0], &inc)
		var lines []string
		for _, s := range inc.History {
			if s.Action == "notify" {
				lines = append(lines, s.Note)
			}
		}
		joined = strings.Join(lines, "\n")
		return strings.Contains(joined, "钉钉 昭仁街道群 已送达") && strings.Contains(joined, "接口推送 12345平台 已送达")
	})
	t.Logf("history of %s:\n%s", t1[0], joined)
}

func readyz(base string) (map[string]string, int) {
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return nil, 0
	}
	defer resp.Body.Close()
	var r map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&r)
	return r, resp.StatusCode
}
