package app

import (
	"slices"
	"strings"
	"testing"
	"time"

	"snowhub/internal/event"
)

// TestDeskAndCountyCloseTheLoop walks one matter through the pages: the
// county raises it from a wall tile (制单), it goes late and the county
// sees it supervised while the township still acts; the desk accepts, names a grid worker from its
// roster and resolves with an inline note (an XSS payload stays text); the
// resolver is not offered 评单; a colleague records
// the people's rating with the method; the county reviews it with a score
// and sees the late step. Another township's desk gets 无权查看.
func TestDeskAndCountyCloseTheLoop(t *testing.T) {
	e := startUI(t, uiOptions{minorAccept: "4s"})
	b := newBrowser(t)
	// 制单 from a wall tile: its camera and village are filled in.
	wall := b.tab()
	wall.open(e.base + "/?token=" + uiOps)
	wall.waitJS("the tile's 制单 button", `!!document.querySelector('.tile [data-raise="cam-gst"]')`, 15*time.Second)
	wall.click(`.tile [data-raise="cam-gst"]`)
	wall.waitJS("the 制单 dialog", `!!document.querySelector('dialog.raise[open]') && document.querySelector('dialog.raise select[name=village]').value === 'v-zr-01'`, 3*time.Second)
	wall.fill(`dialog.raise input[name=title]`, `312国道昭仁路口 两车剐蹭 <b>堵塞</b>`)
	wall.axe("wall-raise-dialog")
	wall.screenshot("wall-raise-dialog")
	wall.click(`dialog.raise button[type=submit]`)
	var inc event.Incident
	waitAPI(t, 10*time.Second, "the raised incident", func() bool {
		for _, i := range e.incidentsAll(uiOps) {
			if i.Source == "wall" {
				inc = i
			}
		}
		return inc.ID != ""
	})
	if inc.Village != "v-zr-01" || len(inc.Cameras) != 1 || inc.Cameras[0] != "cam-gst" || inc.Title != "312国道昭仁路口 两车剐蹭 <b>堵塞</b>" {
		t.Fatalf("raised incident = %+v", inc)
	}
	wall.waitJS("in the ticker, as text", `[...document.querySelectorAll('#incidents .inc')].some(x => x.textContent.includes('<b>堵塞</b>')) && !document.querySelector('#incidents b')`, 5*time.Second)
	sel := `.card[data-id="` + inc.ID + `"]`

	county := b.tab()
	county.open(e.base + "/county?token=" + uiOps)
	if inc.State == "opened" {
		county.waitJS("the incident waiting for dispatch", `!!document.querySelector('#q-dispatch `+sel+`')`, 10*time.Second)
		county.click(`#q-dispatch ` + sel + ` button[data-action="dispatch"]`)
		county.click(`#q-dispatch ` + sel + ` form button[type=submit]`)
	}
	// Late: supervised (督办), and the township keeps its buttons.
	county.waitJS("supervised on the county workbench", `!!document.querySelector('#q-supervised `+sel+`')`, 20*time.Second)
	county.weight("county")
	county.axe("county")
	county.screenshot("county-workbench")
	// The drawer: the whole story, and the camera live.
	county.click(`#q-supervised ` + sel + ` button.linkish`)
	county.waitJS("the drawer with live video", `!document.getElementById('drawer').hidden && document.querySelector('#drawer video.live')?.currentTime > 0.5`, 20*time.Second)
	county.axe("county-drawer")
	county.screenshot("county-drawer")
	county.click("#drawer .close")

	// 督办中 says whom to call (the township's cadre and the number), and
	// 催办 presses the matter with a note; an empty one is refused in words.
	county.waitJS("the owner's contact on the supervised card", `document.querySelector('#q-supervised `+sel+`').textContent.includes('李秀英 13900000002')`, 5*time.Second)
	county.click(`#q-supervised ` + sel + ` button[data-action="remind"]`)
	county.click(`#q-supervised ` + sel + ` form button[type=submit]`)
	county.waitJS("an empty 催办 refused", `document.querySelector('#q-supervised `+sel+` form .err')?.textContent === '请填写催办内容'`, 3*time.Second)
	county.fill(`#q-supervised `+sel+` form textarea`, "请今日下班前接单")
	county.click(`#q-supervised ` + sel + ` form button[type=submit]`)
	waitAPI(t, 10*time.Second, "催办 recorded", func() bool {
		var got event.Incident
		e.get(uiOps, "/api/v1/incidents/"+inc.ID, &got)
		return got.Reminders == 1
	})

	desk := b.tab()
	desk.open(e.base + "/township/zhaoren?token=" + uiZhaoren)
	desk.waitJS("the late incident with its accept button", `!!document.querySelector('`+sel+` button[data-action="accept"]') && document.querySelector('`+sel+` .dl').textContent.includes('接单时限')`, 10*time.Second)
	desk.weight("desk")
	desk.axe("desk")
	desk.click(sel + ` button[data-action="accept"]`)
	desk.waitJS("accepted", `!!document.querySelector('`+sel+` button[data-action="assign"]')`, 10*time.Second)

	// 派人 from the roster.
	desk.click(sel + ` button[data-action="assign"]`)
	desk.waitJS("the roster", `[...document.querySelectorAll('`+sel+` form select[name=person] option')].some(o => o.textContent.includes('王建国'))`, 5*time.Second)
	eval[bool](desk, `(() => { const s = document.querySelector('`+sel+` form select[name=person]'); s.value = 'p-zr-1'; return true; })()`)
	desk.click(sel + ` form button[type=submit]`)
	desk.waitJS("assigned", `document.querySelector('`+sel+`').textContent.includes('派人：王建国')`, 10*time.Second)

	// 办结 with an inline note: an empty one is refused in the form, the
	// counter counts, and markup stays text.
	desk.click(sel + ` button[data-action="resolve"]`)
	desk.click(sel + ` form button[type=submit]`)
	desk.waitJS("an empty note refused in the form", `document.querySelector('`+sel+` form .err').textContent === '请填写办理结果'`, 3*time.Second)
	const payload = `<img src=x onerror="window.__xss=1">已到场，门锁损坏，已更换`
	desk.fill(sel+` form textarea`, payload)
	desk.waitJS("the counter", `document.querySelector('`+sel+` form .counter').textContent.startsWith('`+itoa(len([]rune(payload)))+` / 4000')`, 3*time.Second)
	desk.screenshot("desk-resolve-form")
	desk.click(sel + ` form button[type=submit]`)
	desk.waitJS("resolved", `!!document.querySelector('`+sel+` button[data-action="reopen"]')`, 10*time.Second)
	desk.waitJS("the note shown as text", `document.querySelector('`+sel+`').textContent.includes('<img src=x')`, 5*time.Second)
	if eval[bool](desk, `window.__xss === 1 || !!document.querySelector('`+sel+` img')`) {
		t.Fatal("the note's markup ran in the page")
	}

	// The resolver may not rate the work: the hub offers it no 评单 (and
	// refuses one, alerts' tests), a colleague at the same desk does.
	if eval[bool](desk, `!!document.querySelector('`+sel+` button[data-action="evaluate"]')`) {
		t.Fatal("the resolver is offered 评单 of its own work")
	}
	desk.screenshot("desk-resolved-no-self-evaluation")

	// A colleague records the people's rating: 满意, by phone, the reporter.
	visits := b.tab()
	visits.open(e.base + "/township/zhaoren?token=" + uiVisits)
	visits.waitJS("the evaluate button", `!!document.querySelector('`+sel+` button[data-action="evaluate"]')`, 10*time.Second)
	visits.click(sel + ` button[data-action="evaluate"]`)
	visits.click(sel + ` form button[data-rating="satisfied"]`)
	visits.click(sel + ` form button[data-method="phone"]`)
	visits.click(sel + ` form button[data-asked="reporter"]`)
	visits.fill(sel+` form textarea`, "电话回访，报事人满意")
	visits.screenshot("desk-evaluate-form")
	visits.click(sel + ` form button[type=submit]`)
	waitAPI(t, 10*time.Second, "evaluated", func() bool {
		var got event.Incident
		e.get(uiOps, "/api/v1/incidents/"+inc.ID, &got)
		inc = got
		return got.State == "evaluated"
	})
	if len(inc.Ratings) == 0 || inc.Ratings[0].Rating != "satisfied" || inc.Ratings[0].Method != "phone" || inc.Ratings[0].Asked != "reporter" {
		t.Fatalf("ratings = %+v", inc.Ratings)
	}

	// 考单 on the county workbench, with the late step shown.
	county.waitJS("waiting for review", `!!document.querySelector('#q-review `+sel+`')`, 10*time.Second)
	county.click(`#q-review ` + sel + ` button[data-action="review"]`)
	county.waitJS("the timeliness in the review form", `document.querySelector('#q-review `+sel+` form').textContent.includes('接单：超时')`, 3*time.Second)
	county.fill(`#q-review `+sel+` form input[name=score]`, "85")
	county.screenshot("county-review-form")
	county.click(`#q-review ` + sel + ` form button[type=submit]`)
	county.waitJS("the review done", `!document.querySelector('#q-review `+sel+`')`, 10*time.Second)
	waitAPI(t, 10*time.Second, "reviewed", func() bool {
		var got event.Incident
		e.get(uiOps, "/api/v1/incidents/"+inc.ID, &got)
		inc = got
		return got.State == "reviewed"
	})
	if inc.Score == nil || *inc.Score != 85 {
		t.Fatalf("score = %v", inc.Score)
	}
	late := false
	for _, s := range inc.LateSteps {
		late = late || s.Step == "accept"
	}
	if !late {
		t.Errorf("late_steps = %+v, want accept", inc.LateSteps)
	}

	// The 考单 board shows this matter's figures exactly: one raised, one
	// closed, accepted late (0 % on time), assigned and resolved on time,
	// satisfied, scored 85. A township sees its own rows only.
	stats := b.tab()
	stats.open(e.base + "/stats?token=" + uiOps)
	stats.waitJS("the zhaoren row", `!!document.querySelector('#stats-table tr[data-key="zhaoren"]')`, 10*time.Second)
	row := eval[[]string](stats, `[...document.querySelector('#stats-table tr[data-key="zhaoren"]').children].map(td => td.textContent)`)
	want := []string{"昭仁街道", "1", "1", "0", "0", "0", "100.0%", "0.0%", "100.0%", "100.0%", "100.0%", "100.0%", "1", "1", "0", "0", "1", "100.0%", "85.0"}
	for i, w := range want {
		if i >= len(row) || row[i] != w {
			t.Errorf("考单 row = %q, want %q (column %d)", row, want, i)
			break
		}
	}
	// The backlog over time: drawn from /api/v1/stats/backlog, with the
	// total's age lines in the legend.
	stats.waitJS("the backlog chart", `(document.querySelector('#c-trend svg')?.textContent || '').includes('超30天')`, 10*time.Second)
	stats.click("#csv")
	stats.waitJS("the CSV with a byte-order mark", `typeof window.__lastCsv === 'string' && window.__lastCsv.startsWith('\ufeff分组 group,编号 key,名称 name,') && window.__lastCsv.includes('zhaoren,昭仁街道')`, 5*time.Second)
	stats.weight("stats")
	stats.axe("stats")
	stats.screenshot("stats")
	own := b.tab()
	own.open(e.base + "/stats?token=" + uiXiang)
	own.waitJS("the board for xiangong", `document.querySelector('#stats-t')?.textContent.includes('按乡镇')`, 10*time.Second)
	if eval[bool](own, `!!document.querySelector('#stats-table tr[data-key="zhaoren"]')`) {
		t.Error("xiangong's board shows zhaoren's row")
	}

	// Another township's desk: a clear 无权查看.
	other := b.tab()
	other.open(e.base + "/township/zhaoren?token=" + uiXiang)
	other.waitJS("无权查看", `document.querySelector('.forbidden h2')?.textContent === '无权查看'`, 10*time.Second)
	other.axe("desk-forbidden")
	other.screenshot("desk-forbidden")
	desk.screenshot("desk")

	// 疑难延期 offers what the class allows, each with the deadline it gives
	// (a hard case: 30 working days; never more than its maximum), and the
	// county's 驳回 shows what was asked, needs a reason and keeps the deadline.
	hard := raise(t, e, map[string]any{"title": "宅基地边界纠纷", "village": "v-zr-01", "source": "petition", "class": "hard"})
	if code, body := e.post(uiZhaoren, "/api/v1/incidents/"+hard.ID+"/accept", nil, &hard); code != 200 {
		t.Fatalf("accept: %d %s", code, body)
	}
	hs := `.card[data-id="` + hard.ID + `"]`
	desk.open(e.base + "/township/zhaoren?token=" + uiZhaoren)
	desk.waitJS("the extend button", `!!document.querySelector('`+hs+` button[data-action="extend"]')`, 10*time.Second)
	desk.click(hs + ` button[data-action="extend"]`)
	offered := eval[[]string](desk, `[...document.querySelectorAll('`+hs+` form select[name=by] option')].map(o => o.value)`)
	var lengths []string
	for _, o := range hard.ExtendOptions {
		lengths = append(lengths, o.By)
	}
	if len(lengths) == 0 || !slices.Equal(offered, lengths) || !slices.Contains(offered, "30wd") {
		t.Fatalf("the desk offers %v, the hub %v", offered, lengths)
	}
	if txt := eval[string](desk, `document.querySelector('`+hs+` form').textContent`); !strings.Contains(txt, "30 个工作日（至 ") || !strings.Contains(txt, "本类事项最长办理至") {
		t.Errorf("the extend form: %q", txt)
	}
	desk.fill(hs+` form textarea[name=cause]`, "双方各执一词")
	desk.fill(hs+` form textarea[name=crux]`, "历史证据缺失")
	eval[bool](desk, `(() => { const s = document.querySelector('`+hs+` form select[name=by]'); s.value = '10wd'; return true; })()`)
	desk.click(hs + ` form button[type=submit]`)
	waitAPI(t, 10*time.Second, "the extension waiting", func() bool {
		var got event.Incident
		e.get(uiOps, "/api/v1/incidents/"+hard.ID, &got)
		return got.Extension != nil && !got.Extension.Approved
	})
	county.open(e.base + "/county?token=" + uiOps)
	county.waitJS("the 驳回 button", `!!document.querySelector('`+hs+` button[data-action="reject_extension"]')`, 10*time.Second)
	county.click(hs + ` button[data-action="reject_extension"]`)
	if txt := eval[string](county, `document.querySelector('`+hs+` form').textContent`); !strings.Contains(txt, "疑难原因：双方各执一词") || !strings.Contains(txt, "症结：历史证据缺失") || !strings.Contains(txt, "申请延至") {
		t.Errorf("the 驳回 form does not say what was asked: %q", txt)
	}
	county.click(hs + ` form button[type=submit]`)
	county.waitJS("an empty 驳回 refused", `document.querySelector('`+hs+` form .err')?.textContent === '请填写驳回理由'`, 3*time.Second)
	county.fill(hs+` form textarea[name=reason]`, "证据可调取，按期办结")
	county.axe("county-reject-extension")
	county.click(hs + ` form button[type=submit]`)
	waitAPI(t, 10*time.Second, "驳回 recorded, the deadline kept", func() bool {
		var got event.Incident
		e.get(uiOps, "/api/v1/incidents/"+hard.ID, &got)
		return got.Extension == nil && got.Deadline.Equal(hard.Deadline) && got.History[len(got.History)-1].Action == "reject_extension"
	})
}

// incidentsAll lists every incident, whatever its state.
func (e *e2eEnv) incidentsAll(token string) []event.Incident {
	var list []event.Incident
	e.get(token, "/api/v1/incidents", &list)
	return list
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}
