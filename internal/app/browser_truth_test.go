package app

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"snowhub/internal/event"
)

// raise makes an incident by hand (制单) as the county and returns it.
func raise(t *testing.T, e *e2eEnv, body map[string]any) event.Incident {
	t.Helper()
	code, b := e.post(uiOps, "/api/v1/incidents", body, nil)
	if code != 201 {
		t.Fatalf("制单 %v: %d %s", body, code, b)
	}
	var inc event.Incident
	if err := json.Unmarshal([]byte(b), &inc); err != nil {
		t.Fatal(err)
	}
	return inc
}

// TestWallAckKeyedByIncident: two alarms with the same title; 确认 on the
// front tile acknowledges the one the tile shows (the newer), not the one
// that held the tile before it.
func TestWallAckKeyedByIncident(t *testing.T) {
	e := startUI(t, uiOptions{})
	b := newBrowser(t)
	b.open(e.base + "/?token=" + uiOps)
	b.waitJS("tiles", `document.querySelectorAll('.tile[data-slot]:not(.empty)').length === 3`, 15*time.Second)
	same := map[string]any{"title": "河道有人电鱼", "village": "v-zr-01", "source": "wall", "severity": "major", "cameras": []string{"cam-gst"}}
	first := raise(t, e, same)
	b.waitJS("the first alarm on the front tile", `snowhubWall.front()?.incident === '`+first.ID+`' && !!document.querySelector('.tile.alarm button[data-action="acknowledge"]')`, 10*time.Second)
	second := raise(t, e, same)
	b.waitJS("the second alarm on the front tile", `snowhubWall.front()?.incident === '`+second.ID+`'`, 10*time.Second)
	b.click(`.tile.alarm button[data-action="acknowledge"]`)
	waitAPI(t, 10*time.Second, "an acknowledgement", func() bool {
		for _, i := range e.incidentsAll(uiOps) {
			if (i.ID == first.ID || i.ID == second.ID) && i.AcknowledgedBy != "" {
				return true
			}
		}
		return false
	})
	var a, s event.Incident
	e.get(uiOps, "/api/v1/incidents/"+first.ID, &a)
	e.get(uiOps, "/api/v1/incidents/"+second.ID, &s)
	if s.AcknowledgedBy == "" || a.AcknowledgedBy != "" {
		t.Fatalf("确认 on the tile showing %s acknowledged: first %s by %q, second %s by %q", second.ID, first.ID, a.AcknowledgedBy, second.ID, s.AcknowledgedBy)
	}
	// The first still waits, with its own 确认 in the ticker's drawer.
	b.click(`#incidents .inc[data-id="` + first.ID + `"]`)
	b.waitJS("the first's drawer with its 确认", `!document.getElementById('drawer').hidden && !!document.querySelector('#drawer button[data-action="acknowledge"][data-id="`+first.ID+`"]')`, 5*time.Second)
	b.click(`#drawer button[data-action="acknowledge"]`)
	waitAPI(t, 10*time.Second, "the first acknowledged", func() bool {
		e.get(uiOps, "/api/v1/incidents/"+first.ID, &a)
		return a.AcknowledgedBy != ""
	})
}

// TestWallTickerAlarmsOnTop: with 30 overdue routine matters (12345
// tickets past their accept deadline) open, a new critical alarm is in the
// top three of the ticker; a matter waiting for its rating (待评单) is not on
// the wall but counted, with a link to the workbench.
func TestWallTickerAlarmsOnTop(t *testing.T) {
	e := startUI(t, uiOptions{minorAccept: "1s"})
	var routine []event.Incident
	for n := 1; n <= 31; n++ {
		inc := raise(t, e, map[string]any{"title": fmt.Sprintf("12345 工单 %02d 路灯不亮", n), "village": "v-zr-01", "source": "hotline_12345", "ref": fmt.Sprintf("12345-%04d", n), "severity": "minor"})
		if inc.State != "dispatched" { // the hub dispatches a raised matter to its township itself
			t.Fatalf("raised %s: state %s, want dispatched", inc.ID, inc.State)
		}
		routine = append(routine, inc)
	}
	// One of them is done and waits for the people's rating: paperwork.
	paper := routine[30].ID
	for _, step := range []struct {
		action string
		body   map[string]string
	}{{"accept", nil}, {"resolve", map[string]string{"note": "已修复", "no_visit_reason": "远程复位"}}} {
		if code, body := e.post(uiZhaoren, "/api/v1/incidents/"+paper+"/"+step.action, step.body, nil); code != 200 {
			t.Fatalf("%s: %d %s", step.action, code, body)
		}
	}
	waitAPI(t, 15*time.Second, "30 matters overdue", func() bool {
		n := 0
		for _, i := range e.incidents(uiOps) {
			if i.Overdue && i.Source == "hotline_12345" {
				n++
			}
		}
		return n >= 30
	})
	b := newBrowser(t)
	b.open(e.base + "/?token=" + uiOps)
	b.waitJS("30 matters in the ticker", `document.querySelectorAll('#incidents .inc').length >= 30`, 15*time.Second)
	smoke := alarm(t, e, "smoke-0001")
	if smoke.Severity != "critical" {
		t.Fatalf("smoke alarm severity %s", smoke.Severity)
	}
	b.waitJS("the new alarm in the ticker", `!!document.querySelector('#incidents .inc[data-id="`+smoke.ID+`"]')`, 10*time.Second)
	pos := eval[int](b, `[...document.querySelectorAll('#incidents .inc')].findIndex(x => x.dataset.id === '`+smoke.ID+`')`)
	if pos < 0 || pos > 2 {
		b.screenshot("ticker-buried")
		t.Fatalf("the new critical alarm is number %d in the ticker, want the top three", pos+1)
	}
	if eval[bool](b, `!!document.querySelector('#incidents .inc[data-id="`+paper+`"]')`) {
		t.Errorf("a matter waiting for its rating (待评单) is on the wall")
	}
	b.waitJS("the paperwork counted with a link", `(() => { const a = document.querySelector('#paperwork a'); return !!a && a.textContent.includes('待评单 1'); })()`, 5*time.Second)
	// The drawer names the device as people know it: name, kind, village,
	// last reading and when (it said "设备 smoke-0001").
	b.click(`#incidents .inc[data-id="` + smoke.ID + `"]`)
	b.waitJS("the drawer naming the sensor", `(() => { const d = [...document.querySelectorAll('#drawer dt')].find(x => x.textContent === '设备'); const t = d?.nextElementSibling?.textContent || '';
	  return t.includes('东街 便民超市 烟感（烟感，smoke-0001）') && t.includes('东街社区') && /最近读数 1（\d\d:\d\d/.test(t); })()`, 5*time.Second)
	b.axe("wall-ticker")
	b.screenshot("wall-ticker")
}

// TestWallNamesReadable: 36 cameras on a 6×6 grid at 1920×1080, in the 4K
// wall mode and on a 390 px phone: every camera's name keeps at least 96 px.
func TestWallNamesReadable(t *testing.T) {
	e := startUI(t, uiOptions{extraCams: 33})
	b := newBrowser(t)
	minName := func(what string) float64 {
		t.Helper()
		b.waitJS(what+": 36 cameras on tiles", `document.querySelectorAll('.tile[data-slot]:not(.empty) .cap .name').length === 36`, 15*time.Second)
		return eval[float64](b, `Math.min(...[...document.querySelectorAll('.tile[data-slot]:not(.empty) .cap .name')].map(n => n.getBoundingClientRect().width))`)
	}
	b.open(e.base + "/?layout=6&token=" + uiOps)
	if w := minName("6×6 at 1080p"); w < 96 {
		b.screenshot("names-6x6")
		t.Errorf("6×6 at 1920×1080: the narrowest camera name is %.0f px, want at least 96", w)
	}
	// 制单 stays one word (not 制/单 on two lines).
	if h := eval[float64](b, `Math.max(...[...document.querySelectorAll('.tile .cap .raise')].map(x => x.getBoundingClientRect().height / parseFloat(getComputedStyle(x).lineHeight || 20)))`); h > 2 {
		t.Errorf("制单 wraps: %.1f lines", h)
	}
	b.axe("wall-6x6")
	b.screenshot("wall-6x6")

	b.size(3840, 2160)
	b.open(e.base + "/?wall=1&layout=6&token=" + uiOps)
	if w := minName("6×6 in the 4K wall mode"); w < 2*96 {
		b.screenshot("names-6x6-4k")
		t.Errorf("6×6 in the 4K wall mode: the narrowest camera name is %.0f px, want at least 192", w)
	}
	b.screenshot("wall-6x6-4k")

	b.size(390, 844)
	b.open(e.base + "/?layout=6&token=" + uiOps)
	if w := minName("6×6 on a phone"); w < 96 {
		b.screenshot("names-phone")
		t.Errorf("6×6 on a 390 px phone: the narrowest camera name is %.0f px, want at least 96", w)
	}
	b.screenshot("wall-phone")
}

// TestDesksSound: the township desk and the department page make the
// wall's sounds for a new incident, with its mute: the desk while the matter
// waits for its 接单, the department while a summons waits for its 报到.
func TestDesksSound(t *testing.T) {
	e := startUI(t, uiOptions{})
	b := newBrowser(t)
	desk := b.tab()
	desk.open(e.base + "/township/zhaoren?token=" + uiZhaoren)
	desk.waitJS("the desk with its mute", `!!document.querySelector('#own') && !!document.getElementById('mute')`, 10*time.Second)
	dept := b.tab()
	dept.open(e.base + "/department?token=" + uiDept)
	dept.waitJS("the department page with its mute", `!!document.getElementById('summons') && !!document.getElementById('mute')`, 10*time.Second)
	smoke := alarm(t, e, "smoke-0001")
	desk.waitJS("the desk sounding for the new alarm", `!!document.querySelector('.card[data-id="`+smoke.ID+`"]') && !document.getElementById('snd-critical').paused`, 10*time.Second)
	desk.click("#mute")
	desk.waitJS("muted", `document.getElementById('mute').getAttribute('aria-pressed') === 'true' && document.getElementById('snd-critical').paused`, 3*time.Second)
	desk.click("#mute")
	desk.waitJS("sounding again", `!document.getElementById('snd-critical').paused`, 3*time.Second)
	desk.axe("desk-sound")
	if code, body := e.post(uiZhaoren, "/api/v1/incidents/"+smoke.ID+"/accept", map[string]string{}, nil); code != 200 {
		t.Fatalf("accept: %d %s", code, body)
	}
	desk.waitJS("quiet once accepted", `document.getElementById('snd-critical').paused`, 10*time.Second)
	if code, body := e.post(uiZhaoren, "/api/v1/incidents/"+smoke.ID+"/summon", map[string]any{"departments": []string{"gongdian"}, "note": "请查看线路"}, nil); code != 200 {
		t.Fatalf("summon: %d %s", code, body)
	}
	dept.waitJS("the department sounding for its summons", `!!document.querySelector('[data-id="`+smoke.ID+`"]') && !document.getElementById('snd-critical').paused`, 10*time.Second)
	dept.axe("department-sound")
	if code, body := e.post(uiDept, "/api/v1/incidents/"+smoke.ID+"/report", map[string]string{}, nil); code != 200 {
		t.Fatalf("report: %d %s", code, body)
	}
	dept.waitJS("quiet once reported in", `document.getElementById('snd-critical').paused`, 10*time.Second)
}
