package app

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"snowhub/alerts/notify/vendorfake"
	"snowhub/internal/event"
)

// A smoke alarm over MQTT is dispatched to its township by the hub itself,
// acknowledged on the wall, left past its accept deadline (督办), then
// accepted and a grid worker sent on site: the township's DingTalk group
// reads every step in Chinese (no run of three English words), the 督办
// says it is late instead of "before" a time gone by, and the wall's 确认
// is not posted to the group.
func TestTownshipMessagesAreChinese(t *testing.T) {
	ding := vendorfake.NewDingTalk()
	defer ding.Close()
	ding.AddRobot("zr", "SECzr-0123", "")
	e := startTruth(t, []string{"c1"}, func(sim string) string {
		return fmt.Sprintf(`alerts:
  deadlines:
    critical: {accept: 3s}
townships:
  - id: zhaoren
    name: 昭仁街道
    villages:
      - {id: v-zr-01, name: 东街社区}
people:
  - {id: p-li, name: 李网格, role: grid_worker, village: v-zr-01, phone: "13800000001"}
cameras:
  - {id: cam-1, name: 东街社区 路口, village: v-zr-01, url: %q, transport: tcp, watch: true}
sensors:
  - {id: smoke-0001, name: 东街社区 烟感, kind: smoke, village: v-zr-01, camera: cam-1}
users:
  - {name: county-ops, role: operator, token: %s}
  - {name: zhaoren-desk, role: township, township: zhaoren, token: %s}
notify:
  channels:
    - {id: zr-ding, name: 昭仁街道群, type: dingtalk, url: %q, secret: SECzr-0123, rate_window: 1s}
  routes:
    - {townships: [zhaoren], channels: [zr-ding]}
`, sim+"/c1", opsToken, zhaorenToken, ding.RobotURL("zr"))
	})
	waitTruth(t, 30*time.Second, "the camera online", func() bool { return e.cameras(opsToken)["cam-1"].State == "online" })
	publish(t, e.mq.URL, "snowbright/sensors/smoke-0001/event", `{"value":1}`)
	t.Cleanup(func() {
		if t.Failed() {
			_, _, l := e.raw(opsToken, "/api/v1/incidents?state=all")
			_, _, d := e.raw(opsToken, "/api/v1/sensors")
			t.Logf("incidents: %.2000s\nsensors: %.2000s", l, d)
		}
	})
	var inc event.Incident
	waitTruth(t, 30*time.Second, "the alarm an incident", func() bool {
		for _, i := range e.incidentsAll(opsToken) {
			if i.Device == "smoke-0001" {
				inc = i
				return true
			}
		}
		return false
	})
	if code, body := e.post(opsToken, "/api/v1/incidents/"+inc.ID+"/acknowledge", map[string]any{}, nil); code != 200 {
		t.Fatalf("确认: %d %s", code, body)
	}
	has := func(words ...string) bool {
		for _, m := range ding.Messages() {
			all := true
			for _, w := range words {
				all = all && strings.Contains(m.Content, w)
			}
			if all {
				return true
			}
		}
		return false
	}
	waitTruth(t, 30*time.Second, "the 督办 in the group", func() bool { return has(inc.ID, "督办") })
	if code, body := e.post(zhaorenToken, "/api/v1/incidents/"+inc.ID+"/accept", map[string]any{}, nil); code != 200 {
		t.Fatalf("接单: %d %s", code, body)
	}
	if code, body := e.post(zhaorenToken, "/api/v1/incidents/"+inc.ID+"/assign", map[string]any{"person": "p-li"}, nil); code != 200 {
		t.Fatalf("派人: %d %s", code, body)
	}
	waitTruth(t, 30*time.Second, "the 派人 in the group", func() bool { return has(inc.ID, "已派人") })

	msgs := ding.Messages()
	for _, m := range msgs {
		if runs := vendorfake.EnglishRuns(m.Content); len(runs) > 0 {
			t.Errorf("English %q in the group's message:\n%s", runs, m.Content)
		}
		if strings.Contains(m.Content, "已确认") {
			t.Errorf("the wall's 确认 was posted to the township's group:\n%s", m.Content)
		}
		if strings.Contains(m.Content, "督办") && (!strings.Contains(m.Content, "已超时") || strings.Contains(m.Content, " 前")) {
			t.Errorf("a late 督办 reads:\n%s", m.Content)
		}
	}
	for _, words := range [][]string{{"自动派单到镇"}, {"派 李网格 实地走访"}, {"县联络办督办", "接单"}} {
		if !has(words...) {
			t.Errorf("no message says %q (of %d)", words, len(msgs))
		}
	}
}
