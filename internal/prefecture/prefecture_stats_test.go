package prefecture_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"snowhub/internal/event"
	"snowhub/internal/test/testenv"
)

// The figures of a view (GET /api/v1/stats, /stats/backlog) cover every
// viewed hub, asked of the owners over the broker, on real processes: one
// Mosquitto, owners north (zhaoren) and south (xiangong), view city.

type statsAnswer struct {
	Rows        []event.StatsRow    `json:"rows"`
	Unavailable []event.Unavailable `json:"unavailable"`
}

type backlogAnswer struct {
	event.Backlog
	Unavailable []event.Unavailable `json:"unavailable"`
}

// raw is a GET's status and body.
func raw(t *testing.T, base, token, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func mustGet(t *testing.T, h *hubProc, token, path string, out any) {
	t.Helper()
	code, body := raw(t, h.base, token, path)
	if code != 200 {
		t.Fatalf("GET %s%s: %d %s", h.base, path, code, body)
	}
	if err := json.Unmarshal([]byte(body), out); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, body)
	}
}

func step(t *testing.T, h *hubProc, token, id, action string, body map[string]any) {
	t.Helper()
	if code, b := post(t, h.base, token, "/api/v1/incidents/"+id+"/"+action, body, nil); code != 200 {
		t.Fatalf("%s %s at %s: %d %s", action, id, h.base, code, b)
	}
}

func TestPrefectureFigures(t *testing.T) {
	p := startPrefecture(t)
	from := time.Now().Add(-time.Hour).UTC()
	// Alarms in both owners' townships, stepped at their own desks: the
	// figures have times, ratings, scores and the unassigned row both
	// hubs share.
	for _, s := range []string{"smoke-zr-1", "smoke-zr-2", "smoke-zr-3", "smoke-xg-1", "smoke-xg-2"} {
		p.alarm(s)
	}
	testenv.WaitFor(t, 10*time.Second, "five incidents on the view", func() bool { return len(p.incidents(p.city, opsToken)) == 5 })
	north := byDevice(t, p.incidents(p.north, opsToken))
	south := byDevice(t, p.incidents(p.south, opsToken))
	step(t, p.north, deskToken, north["smoke-zr-1"].ID, "accept", nil)
	step(t, p.north, deskToken, north["smoke-zr-2"].ID, "accept", nil)
	step(t, p.north, deskToken, north["smoke-zr-1"].ID, "resolve", map[string]any{"note": "已处置", "no_visit_reason": "电话核实"})
	step(t, p.north, opsToken, north["smoke-zr-1"].ID, "evaluate", map[string]any{"rating": "satisfied", "method": "phone", "asked": "reporter"})
	step(t, p.north, opsToken, north["smoke-zr-1"].ID, "review", map[string]any{"score": 95})
	step(t, p.south, opsToken, south["smoke-xg-1"].ID, "accept", nil)
	step(t, p.south, opsToken, south["smoke-xg-1"].ID, "resolve", map[string]any{"note": "误报", "no_visit_reason": "电话核实"})
	to := time.Now().Add(time.Hour).UTC()
	window := func(group string) string {
		return "?" + url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}, "group": {group}}.Encode()
	}
	// The backlog's points: the local midnights of the next two days,
	// where every incident open now counts.
	bwindow := "?" + url.Values{"from": {from.Format(time.RFC3339)}, "to": {time.Now().Add(49 * time.Hour).UTC().Format(time.RFC3339)}, "group": {"township"}}.Encode()

	// complete checks that the view's figures, for the county and for the
	// zhaoren desk, equal the merge of the owners' own answers.
	complete := func(when string) {
		t.Helper()
		for _, group := range []string{"township", "village", "assignee", "department"} {
			var view, n, s statsAnswer
			mustGet(t, p.city, opsToken, "/api/v1/stats"+window(group), &view)
			mustGet(t, p.north, opsToken, "/api/v1/stats"+window(group), &n)
			mustGet(t, p.south, opsToken, "/api/v1/stats"+window(group), &s)
			want := event.MergeStats(n.Rows, s.Rows)
			if !reflect.DeepEqual(view.Rows, want) || view.Unavailable != nil {
				t.Errorf("%s, by %s: the view has\n%s\nwant the owners' merged\n%s\n(unavailable %+v)", when, group, js(view.Rows), js(want), view.Unavailable)
			}
			if group == "township" && (len(view.Rows) != 2 || view.Rows[1].Key != "zhaoren" || view.Rows[1].Opened != 3 || view.Rows[0].Opened != 2 ||
				view.Rows[1].MeanScore == nil || *view.Rows[1].MeanScore != 95) {
				t.Errorf("%s: township rows %s", when, js(view.Rows))
			}
			if group == "assignee" && (len(view.Rows) != 1 || view.Rows[0].Key != "" || view.Rows[0].Opened != 5 || view.Rows[0].StepsDone["accept"] != 3) {
				t.Errorf("%s: the unassigned row of both hubs: %s", when, js(view.Rows))
			}
		}
		var view, n, s backlogAnswer
		mustGet(t, p.city, opsToken, "/api/v1/stats/backlog"+bwindow, &view)
		mustGet(t, p.north, opsToken, "/api/v1/stats/backlog"+bwindow, &n)
		mustGet(t, p.south, opsToken, "/api/v1/stats/backlog"+bwindow, &s)
		want, err := event.MergeBacklog(n.Backlog, s.Backlog)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(view.Backlog, want) || view.Unavailable != nil {
			t.Errorf("%s: the view's backlog\n%s\nwant\n%s", when, js(view.Backlog), js(want))
		}
		if len(want.At) == 0 || want.Total.Open[len(want.At)-1] != 4 {
			t.Errorf("%s: the backlog counts %v open at the last point, want the 4 not reviewed", when, want.Total.Open)
		}
		// The zhaoren desk on the view: zhaoren's figures only, as north
		// gives them to it.
		for _, group := range []string{"township", "village"} {
			var view, own statsAnswer
			mustGet(t, p.city, deskToken, "/api/v1/stats"+window(group), &view)
			mustGet(t, p.north, deskToken, "/api/v1/stats"+window(group), &own)
			if !reflect.DeepEqual(view.Rows, own.Rows) || len(view.Rows) != 1 || !strings.Contains(view.Rows[0].Key, map[string]string{"township": "zhaoren", "village": "v-zr"}[group]) {
				t.Errorf("%s: zhaoren's desk by %s on the view\n%s\nat north\n%s", when, group, js(view.Rows), js(own.Rows))
			}
		}
		var desk backlogAnswer
		mustGet(t, p.city, deskToken, "/api/v1/stats/backlog"+bwindow, &desk)
		if len(desk.Rows) != 1 || desk.Rows[0].Key != "zhaoren" {
			t.Errorf("%s: zhaoren's desk's backlog on the view: %s", when, js(desk.Rows))
		}
		code, body := raw(t, p.city.base, opsToken, "/api/v1/stats"+window("township")+"&format=csv")
		if code != 200 || !strings.Contains(body, "township,zhaoren,") || !strings.Contains(body, "township,xiangong,") {
			t.Errorf("%s: the view's CSV: %d %s", when, code, body)
		}
	}
	complete("both owners up")

	// North killed (its last will): JSON answers with south's figures and
	// names north and its township; the CSV is refused whole, naming it.
	p.north.Kill()
	p.waitHubs(map[string]string{"north": event.HubUnreachable})
	var s statsAnswer
	mustGet(t, p.south, opsToken, "/api/v1/stats"+window("township"), &s)
	var view statsAnswer
	mustGet(t, p.city, opsToken, "/api/v1/stats"+window("township"), &view)
	if !reflect.DeepEqual(view.Rows, s.Rows) || len(view.Unavailable) != 1 || view.Unavailable[0].Hub != "north" ||
		!reflect.DeepEqual(view.Unavailable[0].Townships, []string{"zhaoren"}) || !strings.Contains(view.Unavailable[0].Reason, "不可达") {
		t.Errorf("north down: the view answers %s, unavailable %+v; want south's rows and north (zhaoren) named", js(view.Rows), view.Unavailable)
	}
	var bl backlogAnswer
	mustGet(t, p.city, opsToken, "/api/v1/stats/backlog"+bwindow, &bl)
	if len(bl.Unavailable) != 1 || bl.Unavailable[0].Hub != "north" || len(bl.Rows) != 1 || bl.Rows[0].Key != "xiangong" {
		t.Errorf("north down: the view's backlog %s, unavailable %+v", js(bl.Rows), bl.Unavailable)
	}
	for _, path := range []string{"/api/v1/stats" + window("township"), "/api/v1/stats/backlog" + bwindow} {
		if code, body := raw(t, p.city.base, opsToken, path+"&format=csv"); code != 503 || !strings.Contains(body, "north") {
			t.Errorf("north down: CSV %s: %d %s; want 503 naming north", path, code, body)
		}
	}
	// The zhaoren desk asks north only: nothing but the name of its hub.
	var desk statsAnswer
	mustGet(t, p.city, deskToken, "/api/v1/stats"+window("township"), &desk)
	if len(desk.Rows) != 0 || len(desk.Unavailable) != 1 || desk.Unavailable[0].Hub != "north" {
		t.Errorf("north down: zhaoren's desk gets %s, unavailable %+v", js(desk.Rows), desk.Unavailable)
	}

	// The 考单 board on the view names north and its township above the
	// figures (a real browser: the page's script renders it).
	if dom := dumpDOM(t, p.city.base+"/stats?token="+opsToken); !strings.Contains(dom, `所属中心 north（昭仁街道）`) ||
		!strings.Contains(dom, `<div class="missing" id="missing" role="alert"><strong>数据不全`) {
		t.Errorf("north down: the /stats page does not name north above the board:\n%.3000s", dom)
	}

	// North back: whole again.
	p.north.Start()
	p.waitHubs(map[string]string{"north": event.HubReachable})
	complete("north restarted")
	if dom := dumpDOM(t, p.city.base+"/stats?token="+opsToken); !strings.Contains(dom, `<div class="missing" id="missing" role="alert" hidden="">`) ||
		strings.Contains(dom, "所属中心 north") || !strings.Contains(dom, `data-key="zhaoren"`) {
		t.Errorf("north back: the /stats page still names a missing hub, or lacks zhaoren's row:\n%.3000s", dom)
	}
}

// dumpDOM loads a page in headless Chromium and returns its DOM once its
// scripts have run.
func dumpDOM(t *testing.T, page string) string {
	t.Helper()
	chromium := testenv.Chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := append(slices.Clone(testenv.ChromiumFlags), "--user-data-dir="+t.TempDir(), "--virtual-time-budget=15000", "--dump-dom", page)
	out, err := exec.CommandContext(ctx, chromium, args...).Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom %s: %v", page, err)
	}
	return string(out)
}

func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
