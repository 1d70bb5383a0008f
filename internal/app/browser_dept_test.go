package app

import (
	"strings"
	"testing"
	"time"

	"snowhub/internal/event"
)

// A summoned department (吹哨报到) works on its own page: it sees the matter
// it was summoned to and no other, with what is asked of it and by when;
// it reports in and then finishes with a note, and the township's matter
// records both.
func TestDepartmentDesk(t *testing.T) {
	e := startUI(t, uiOptions{})
	mine := alarm(t, e, "smoke-0001")  // zhaoren: summoned below
	other := alarm(t, e, "smoke-0002") // xiangong: never summoned
	step := func(token, id, action string, body any) {
		t.Helper()
		if code, b := e.post(token, "/api/v1/incidents/"+id+"/"+action, body, nil); code != 200 {
			t.Fatalf("%s %s: %d %s", action, id, code, b)
		}
	}
	if mine.State == "opened" {
		step(uiOps, mine.ID, "dispatch", map[string]string{"note": "请处置"})
	}
	step(uiZhaoren, mine.ID, "accept", map[string]string{"note": "收到"})
	step(uiZhaoren, mine.ID, "summon", map[string]any{"departments": []string{"gongdian"}, "note": "东街线路起火，请断电"})

	b := newBrowser(t)
	b.open(e.base + "/department?token=" + uiDept)
	sel := `.card[data-id="` + mine.ID + `"]`
	b.waitJS("the summoned matter with what is asked and its deadline", `(() => { const c = document.querySelector('`+sel+`'); return !!c &&
	  c.textContent.includes('需要本部门：东街线路起火，请断电') && c.querySelector('.dl').textContent.includes('报到时限') && !!c.querySelector('button[data-action="report"]'); })()`, 15*time.Second)
	if got := eval[string](b, `document.querySelector('`+sel+` .status').textContent`); !strings.Contains(got, "昭仁街道 东街社区") {
		t.Errorf("the card does not say where to go: %q", got)
	}
	if eval[bool](b, `!!document.querySelector('.card[data-id="`+other.ID+`"]')`) {
		t.Error("the department sees a matter it was not summoned to")
	}
	if got := eval[string](b, `[...document.querySelectorAll('header nav a')].map(a => a.textContent).join(',')`); got != "部门报到台" {
		t.Errorf("a department's navigation: %q, want its desk only", got)
	}
	b.axe("department")
	b.screenshot("department-desk")

	b.click(sel + ` button[data-action="report"]`)
	b.waitJS("reported in, 办结 offered", `(() => { const c = document.querySelector('`+sel+`'); return c.querySelector('.dl').textContent.includes('已报到') && !c.querySelector('button[data-action="report"]') && !!c.querySelector('button[data-action="done"]'); })()`, 10*time.Second)
	b.click(sel + ` button[data-action="done"]`)
	b.click(sel + ` form button[type=submit]`)
	b.waitJS("an empty note refused in Chinese", `document.querySelector('`+sel+` form .err').textContent.includes('请填写办结情况')`, 5*time.Second)
	b.fill(sel+` form textarea[name=note]`, "已断电并抢修，14:20 恢复供电")
	b.click(sel + ` form button[type=submit]`)
	b.waitJS("done, with the note shown", `(() => { const c = document.querySelector('`+sel+`'); return c.querySelector('.dl').textContent.includes('已办结') && c.textContent.includes('已断电并抢修') && !c.querySelector('button[data-action="done"]'); })()`, 10*time.Second)
	b.screenshot("department-desk-done")

	var got event.Incident
	e.get(uiZhaoren, "/api/v1/incidents/"+mine.ID, &got)
	if len(got.Summoned) != 1 || got.Summoned[0].ReportedAt.IsZero() || got.Summoned[0].DoneAt.IsZero() || got.Summoned[0].Note != "已断电并抢修，14:20 恢复供电" {
		t.Errorf("the township's matter records %+v", got.Summoned)
	}

	var topo struct {
		Townships []struct {
			Villages []struct {
				Name             string
				Cameras, Sensors []string
			}
		}
	}
	e.get(uiDept, "/api/v1/topology", &topo)
	for _, tw := range topo.Townships {
		for _, v := range tw.Villages {
			if len(v.Cameras)+len(v.Sensors) > 0 {
				t.Errorf("the department's topology lists %s's devices", v.Name)
			}
		}
	}

	// Another role on the page is told it is a department's.
	b.open(e.base + "/department?token=" + uiZhaoren)
	b.waitJS("a township told whose page it is", `document.querySelector('main').textContent.includes('此页面供被召集的部门使用')`, 10*time.Second)
}
